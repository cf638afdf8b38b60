//! Metadata store behind a trait, with its sled 0.34 implementation.
