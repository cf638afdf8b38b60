//! Content-addressed blob store: BlobId = blake3, durable segments and files, verified reads.
//!
//! Architecture invariants:
//! - this crate knows nothing of DICOM, things or records: it stores bytes under their blake3 hash;
//! - a small blob lives in a segment record, which is in the index only once written whole, and
//!   a put returns only once a sync of the segment covered the record;
//! - a big blob visible at its final path is complete and durable (temp file, fsync, link,
//!   directory fsync), and its outboard is durable with it (or rebuilt, verified, on read);
//!   every outboard is fsynced before it is renamed into place;
//! - a put returns only once the blob is durable, also when it found the bytes already stored
//!   (a racing put may have appended or linked them and not yet synced): it waits for that
//!   sync, or makes it;
//! - a deleted blob stays deleted across crashes and compactions (the tombstone rule, in
//!   `local/compact.rs` and ARCHITECTURE.md);
//! - a reader never hands out bytes it has not verified against the id: blobs up to
//!   [`LocalOptions::whole_verify_max`] are hashed whole before the first byte, larger ones
//!   group by group against the outboard, which is itself checked to merge to the id;
//! - the API is synchronous `std::io`; async callers run it on blocking threads.
//!
//! ```
//! use sv_blob::{BlobStore, LocalBlobStore};
//! use std::io::Read;
//!
//! let dir = tempfile::tempdir()?;
//! let store = LocalBlobStore::open(dir.path())?;
//! let put = store.put(&mut &b"hello"[..])?;
//! assert!(put.created);
//! let mut out = String::new();
//! store.get(&put.id, Some(1..4))?.read_to_string(&mut out)?;
//! assert_eq!(out, "ell");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod id;
mod local;
mod memory;
mod outboard;
pub mod tree;

use std::ops::Range;

pub use error::{BlobError, CorruptKind, is_corrupt_io};
pub use id::{BlobId, HexDigits, ParseBlobIdError};
pub use local::{IoCounts, LAYOUT, LAYOUT_1, LocalBlobStore, LocalOptions};
pub use memory::MemoryBlobStore;
/// The outboard format, shared with remote stores (sv-blob-s3) so both read each other's.
pub use outboard::Outboard;

/// A stream of blob bytes; verification failures surface as `io::Error`s wrapping
/// [`BlobError::Corrupt`] (see [`is_corrupt_io`] and [`BlobError::from_io`]).
pub type BlobReader = Box<dyn std::io::Read + Send + 'static>;

/// The result of a put.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PutOutcome {
    pub id: BlobId,
    pub len: u64,
    /// False when the bytes were already stored (dedup): nothing new was written.
    pub created: bool,
}

/// A put that has stored its bytes, maybe not durably yet ([`BlobStore::put_bytes_unsynced`]).
/// [`BlobStore::sync_puts`] makes it durable; nothing may name the blob before that.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "an unsynced put must be made durable with `BlobStore::sync_puts`"]
pub struct UnsyncedPut {
    pub outcome: PutOutcome,
    /// What the store must sync for the bytes to be durable; `None` once they are.
    pending: Option<SyncPoint>,
}

/// Where an unsynced put ends in the store's log: segment `seq`, byte `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SyncPoint {
    pub(crate) seq: u64,
    pub(crate) end: u64,
}

impl UnsyncedPut {
    /// A put whose bytes are durable already.
    pub fn durable(outcome: PutOutcome) -> UnsyncedPut {
        UnsyncedPut {
            outcome,
            pending: None,
        }
    }

    pub(crate) fn pending(outcome: PutOutcome, point: SyncPoint) -> UnsyncedPut {
        UnsyncedPut {
            outcome,
            pending: Some(point),
        }
    }

    /// False once the bytes are known durable.
    pub fn needs_sync(&self) -> bool {
        self.pending.is_some()
    }

    pub(crate) fn sync_point(&self) -> Option<SyncPoint> {
        self.pending
    }
}

/// What a [`BlobStore::compact`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompactReport {
    /// Segment files rewritten and removed.
    pub segments_rewritten: u64,
    /// Bytes of the removed segments less the bytes appended to carry their live records and
    /// needed tombstones forward.
    pub bytes_reclaimed: u64,
    /// Live records appended again.
    pub records_moved: u64,
    /// Tombstones appended again, because an older segment may still hold a deleted record.
    pub tombstones_kept: u64,
}

/// A content-addressed store of immutable blobs.
pub trait BlobStore: Send + Sync + std::fmt::Debug {
    /// Streams `reader` to the end and stores its bytes durably under their blake3 hash.
    ///
    /// Any error from `reader` aborts the put: nothing is stored, and the error comes back as
    /// [`BlobError::Source`].
    fn put(&self, reader: &mut dyn std::io::Read) -> Result<PutOutcome, BlobError>;

    /// Stores bytes already in memory.
    fn put_bytes(&self, bytes: &[u8]) -> Result<PutOutcome, BlobError> {
        self.put(&mut &bytes[..])
    }

    /// Stores bytes already in memory like [`BlobStore::put_bytes`], but may return before
    /// they are durable, so that several puts share one sync: [`BlobStore::sync_puts`] them
    /// before any metadata names them. Stores that have no cheaper way store durably here.
    fn put_bytes_unsynced(&self, bytes: &[u8]) -> Result<UnsyncedPut, BlobError> {
        self.put_bytes(bytes).map(UnsyncedPut::durable)
    }

    /// Returns once every put in `puts` is durable (one sync covers the puts appended before
    /// it began).
    fn sync_puts(&self, puts: &[UnsyncedPut]) -> Result<(), BlobError> {
        debug_assert!(
            puts.iter().all(|p| !p.needs_sync()),
            "a store that defers syncs must override sync_puts"
        );
        Ok(())
    }

    /// Streams the blob, or `range` of it, verifying as it reads.
    ///
    /// [`BlobError::NotFound`] when absent; [`BlobError::RangeNotSatisfiable`] when `range` is
    /// empty or reaches past the end.
    fn get(&self, id: &BlobId, range: Option<Range<u64>>) -> Result<BlobReader, BlobError>;

    /// The blob's length, or `None` when it is not stored.
    fn len(&self, id: &BlobId) -> Result<Option<u64>, BlobError>;

    /// Re-hashes the whole blob; [`BlobError::Corrupt`] on any mismatch.
    fn verify(&self, id: &BlobId) -> Result<(), BlobError>;

    /// Every stored id, sorted.
    fn list(&self) -> Result<Vec<BlobId>, BlobError>;

    /// Removes the blob; false when it was not there.
    fn delete(&self, id: &BlobId) -> Result<bool, BlobError>;

    /// Reclaims the space of deleted blobs where the store keeps many blobs in one file:
    /// rewrites the files whose live bytes are below `min_live_ratio` (0.0 to 1.0) of their
    /// size. Safe while other threads use the store. Stores with nothing to reclaim do nothing.
    fn compact(&self, min_live_ratio: f64) -> Result<CompactReport, BlobError> {
        let _ = min_live_ratio;
        Ok(CompactReport::default())
    }

    /// True when the blob is stored.
    fn contains(&self, id: &BlobId) -> Result<bool, BlobError> {
        Ok(self.len(id)?.is_some())
    }
}

/// Checks `range` against a blob of `len` bytes; `None` means the whole blob.
pub fn check_range(range: Option<Range<u64>>, len: u64) -> Result<Range<u64>, BlobError> {
    match range {
        None => Ok(0..len),
        Some(r) if r.start < r.end && r.end <= len => Ok(r),
        Some(_) => Err(BlobError::RangeNotSatisfiable { len }),
    }
}
