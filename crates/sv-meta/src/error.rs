//! `MetaError`: what a metadata store operation can fail with. Expected outcomes (conflict,
//! not found, already exists) are distinct variants; the storage engine stays opaque.

use std::path::PathBuf;

use sv_model::{RecordId, ThingId, TokenId, VersionStamp};

use crate::codec::CodecError;

/// The storage engine's own error, kept opaque so no engine type leaks into the API.
pub type EngineError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything a [`crate::MetaStore`] operation can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetaError {
    /// The thing changed since `expected` was read: `current` is its version now.
    #[error("version stamp is stale: the thing is now at version {current}")]
    Conflict { current: VersionStamp },
    #[error("record {0} not found")]
    RecordNotFound(RecordId),
    /// The thing does not exist, or is deleted and the operation needs it live.
    #[error("thing {0} not found")]
    ThingNotFound(ThingId),
    /// The thing has no blob by that name (the name is not repeated: it may be a UID).
    #[error("thing {thing} has no blob by that name")]
    BlobNameNotFound { thing: ThingId },
    #[error("{what} {id} already exists")]
    AlreadyExists { what: &'static str, id: String },
    /// The caller passed something the store cannot keep (no patient data in `reason`).
    #[error("invalid {what}: {reason}")]
    Invalid {
        what: &'static str,
        reason: &'static str,
    },
    #[error("token {0} not found")]
    TokenNotFound(TokenId),
    /// A stored value does not decode: the database is damaged or from a newer build.
    #[error("corrupt metadata in {tree}")]
    Corrupt {
        tree: &'static str,
        #[source]
        source: CodecError,
    },
    /// The database on disk was written by a newer schema than this build understands.
    #[error("metadata schema {found} in '{}' is newer than the supported {supported}", path.display())]
    NewerSchema {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    /// The storage engine failed.
    #[error("could not {op} the metadata database")]
    Engine {
        op: &'static str,
        #[source]
        source: EngineError,
    },
    #[error("could not {op} '{}'", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A blob this change names is being collected, or was since the writer stored it (a
    /// shared store's garbage collector marked it; see [`crate::MetaStore::mark_for_collection`]).
    /// Nothing was written: the writer waits for the deletion to end, stores the blob again
    /// if it is gone, clears the marks ([`crate::MetaStore::unmark_collected`]) and retries.
    #[error("a blob this change names is being garbage collected")]
    BlobCollected,
    /// The durable flush this write waited for failed (the writer that ran it got the cause).
    #[error("the durable flush of the metadata database failed")]
    SyncFailed,
}

impl MetaError {
    /// True for a stale version stamp.
    pub fn is_conflict(&self) -> bool {
        matches!(self, MetaError::Conflict { .. })
    }

    /// True when the record, thing, blob name or token does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            MetaError::RecordNotFound(_)
                | MetaError::ThingNotFound(_)
                | MetaError::BlobNameNotFound { .. }
                | MetaError::TokenNotFound(_)
        )
    }

    pub(crate) fn corrupt(tree: &'static str) -> impl FnOnce(CodecError) -> MetaError {
        move |source| MetaError::Corrupt { tree, source }
    }

    pub(crate) fn engine(
        op: &'static str,
    ) -> impl FnOnce(Box<dyn std::error::Error + Send + Sync>) -> MetaError {
        move |source| MetaError::Engine { op, source }
    }
}
