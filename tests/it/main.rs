//! Workspace integration tests: the real `studyvault` binary on a loopback port.

mod access_matrix;
mod auth;
mod bad_input;
#[cfg(feature = "s3")]
mod blobs_s3;
mod browser;
mod cli;
mod crash;
mod dicomweb;
mod fhir;
mod fhir_graphql;
mod gc;
mod http;
mod lifecycle;
mod mail;
#[cfg(feature = "s3")]
mod migrate;
#[cfg(feature = "s3")]
mod nodes;
mod rendered;
mod server;
mod tour;
mod uploads;
mod wado_uri;
