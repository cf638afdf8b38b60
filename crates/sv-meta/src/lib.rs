//! Metadata store behind a trait, with its sled 0.34 implementation and, behind the
//! `postgres` feature, a PostgreSQL one (`PgMetaStore`) for deployments of several nodes.
//!
//! Architecture invariants:
//! - sled appears nowhere in the public API (types, errors): callers see [`MetaStore`] and
//!   [`MetaError`], so another engine (PostgreSQL) can replace it behind the same trait;
//! - every mutating method returns only when its change is durable (sled flush, then fsync of
//!   its files, shared by concurrent writers through group commit) and every multi-tree change
//!   is one transaction;
//! - stored values carry a format version marker and the database directory a schema version
//!   (`<dir>/meta-v1/`; a PostgreSQL database lists its applied migrations); unknown versions
//!   are refused, never guessed at;
//! - named blobs live in their own relation with reference counts changed in the same
//!   transaction, so a blob that is still named is never unreferenced;
//! - adding a DICOM instance to a study costs O(1) metadata in the number of instances: facts
//!   are stored per instance, and the study's digest (the study-level facts searches match on,
//!   one per live study thing) grows with series and SOP classes only;
//! - a study's digest changes in the transaction that changes the study, so digests exist
//!   exactly for live study things and carry their current version.
//!
//! ```
//! use sv_meta::{MetaStore, SledMetaStore};
//! use sv_model::{Record, RecordId, Timestamp};
//!
//! let dir = tempfile::tempdir()?;
//! let store = SledMetaStore::open(dir.path())?;
//! let record = Record {
//!     id: RecordId::new_random(),
//!     name: "me".into(),
//!     created: Timestamp::now(),
//!     owner_email: None,
//! };
//! store.create_record(&record)?;
//! assert_eq!(store.record(record.id)?, Some(record));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod codec;
mod durability;
mod error;
mod feed;
mod fsck;
mod invalidation;
mod keys;
#[cfg(feature = "postgres")]
mod migrate;
#[cfg(feature = "postgres")]
mod pg_store;
mod query;
mod sled_store;
mod store;
mod study;
mod thing_rules;

pub use codec::CodecError;
pub use error::{EngineError, MetaError};
pub use feed::{Change, ChangeOp, ChangePage};
pub use fsck::{FsckProblem, FsckReport, fsck};
pub use invalidation::{Invalidation, InvalidationSink};
#[cfg(feature = "postgres")]
pub use migrate::{
    CopyProgress, CopyReport, MigrateError, Mismatch, RecordOutcome, RowCounts, VerifyReport,
    copy_to_postgres, verify_copy,
};
#[cfg(feature = "postgres")]
pub use pg_store::{DEFAULT_POOL_SIZE, PG_SCHEMA_VERSION, PgMetaStore};
pub use query::{Page, StateFilter, ThingCursor, ThingQuery, ThingUpdate};
pub use sled_store::{CACHE_BYTES, SCHEMA_VERSION, SledMetaStore};
pub use store::MetaStore;

/// A collector's mark on a blob ([`MetaStore::collection_marks`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CollectionMark {
    pub blob_id: sv_model::BlobId,
    /// The blob is gone from the blob store; `false` while the collector is at it.
    pub deleted: bool,
    /// New at every marking and every deletion, never reused (even once a mark is cleared and
    /// the blob marked again): a writer clears only the mark it saw deleted, never a later one.
    pub generation: u64,
}

/// What a garbage collector's deletion step did with a blob it chose
/// ([`MetaStore::collect_marked`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    /// Deleted now; its length in bytes.
    Deleted(u64),
    /// Already gone from the blob store.
    Gone,
    /// Left in place: a writer holds it, or a name refers to it.
    Kept,
}
pub use study::{AddInstanceOutcome, InstanceIndexEntry};

/// The content type given to DICOM instance blobs by `add_instance`.
pub const DICOM_CONTENT_TYPE: &str = "application/dicom";
