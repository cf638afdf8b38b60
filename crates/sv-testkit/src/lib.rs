//! Dev-only helpers: fixture paths, temporary stores, backend conformance suites, and
//! throwaway PostgreSQL ([`pg`]) and Garage S3 ([`garage`]) servers.

pub mod blob_conformance;
pub mod fixtures;
pub mod garage;
pub mod meta_conformance;
pub mod pg;
pub mod schema;
