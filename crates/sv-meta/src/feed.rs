//! The change feed: per-record sequence numbers for every create, update and delete
//! (HealthVault's GetRecordOperations), written in the same transaction as the change.

use sv_model::{ThingId, Timestamp, TypeId, VersionStamp};

/// What a change did to a thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeOp {
    Create,
    Update,
    Delete,
}

impl ChangeOp {
    /// HealthVault's spelling: `Create`, `Update`, `Delete`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ChangeOp::Create => "Create",
            ChangeOp::Update => "Update",
            ChangeOp::Delete => "Delete",
        }
    }
}

/// One entry of a record's change feed. Sequence numbers start at 1 and are dense.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub seq: u64,
    pub op: ChangeOp,
    pub thing_id: ThingId,
    pub type_id: TypeId,
    /// The version the change produced.
    pub version: VersionStamp,
    pub at: Timestamp,
}

/// A page of the change feed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChangePage {
    /// Changes with `seq > since`, oldest first, at most `limit`.
    pub changes: Vec<Change>,
    /// The record's latest sequence number (0 when nothing happened yet).
    pub latest_seq: u64,
}
