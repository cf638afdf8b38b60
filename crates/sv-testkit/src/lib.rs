//! Dev-only helpers: fixture paths, temporary stores, backend conformance suites.

pub mod blob_conformance;
pub mod meta_conformance;
