//! studyvault domain types and their invariants; no IO, no serde.
