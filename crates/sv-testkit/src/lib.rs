//! Dev-only helpers: fixture paths, temporary stores, backend conformance suites.

pub mod blob_conformance;
pub mod fixtures;
pub mod meta_conformance;
pub mod schema;
