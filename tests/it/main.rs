//! Workspace integration tests: the real `studyvault` binary on a loopback port.

mod cli;
mod server;
mod tour;
