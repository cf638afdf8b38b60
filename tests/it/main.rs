//! Workspace integration tests: the real `studyvault` binary on a loopback port.

mod access_matrix;
mod auth;
mod bad_input;
mod browser;
mod cli;
mod crash;
mod dicomweb;
mod fhir;
mod fhir_graphql;
mod http;
mod lifecycle;
mod mail;
mod rendered;
mod server;
mod tour;
mod uploads;
mod wado_uri;
