//! sv-hvxml's integration tests, one binary: round trips, schema validation with xmllint,
//! snapshots, hostile input and the thing envelope.

mod envelope;
mod hostile;
mod properties;
mod schema;
mod snapshots;
mod study_round_trip;
mod support;
