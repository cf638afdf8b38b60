//! Dev-only helpers: fixture paths, temporary stores, backend conformance suites, and a
//! throwaway PostgreSQL server ([`pg`]).

pub mod blob_conformance;
pub mod fixtures;
pub mod meta_conformance;
pub mod pg;
pub mod schema;
