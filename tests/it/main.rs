//! Workspace integration tests: the real `studyvault` binary on a loopback port.

mod auth;
mod cli;
mod http;
mod server;
mod tour;
mod uploads;
