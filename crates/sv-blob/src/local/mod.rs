//! `LocalBlobStore`: small blobs as records in segment files, big ones as files under
//! `<root>/blobs/ab/cd/<hex>`, one process per root.
//!
//! Layout 2 of a root (ARCHITECTURE.md has the byte layout of a record):
//! - `LAYOUT`: the layout marker ([`LAYOUT`]); a layout-1 marker is migrated at open, others
//!   are refused;
//! - `lock`: held with an exclusive `File::try_lock` while the store is open;
//! - `tmp/`: files being written; anything left there at open time is a crash leftover and swept;
//! - `segments/<16 hex seq>.seg`: blobs up to [`LocalOptions::whole_verify_max`] (1 MiB by
//!   default), appended as self-checking records and made durable by group commit
//!   (`segment/`); tombstones of deleted ones;
//! - `blobs/ab/cd/<64 hex>`: bigger blobs, one complete file each (the 256 `ab` directories
//!   are made at open), with `<64 hex>.outboard` beside it. Its bytes are durable before the
//!   blob is linked, and one fsync of the shared directory then covers both entries; a crash
//!   that kept the blob's entry but not the outboard's is healed on first read, from the blob
//!   hashed whole. Small blobs written by layout 1 stay here too, and keep working: every
//!   lookup asks the segment index first, then the file path.
//!
//! Every file-system call goes through [`fs::Fs`] (`fs.rs`): `std` itself in production, the
//! simulated file system of `simfs.rs` in the power-loss tests (`powerloss.rs`), which crash
//! the store after every call of a workload and prove each named sync ([`fs::Site`]) needed.

mod compact;
mod counts;
mod durable;
mod files;
pub(crate) mod fs;
#[cfg(test)]
mod powerloss;
mod put;
mod read;
mod segment;
#[cfg(test)]
mod simfs;
#[cfg(test)]
mod tests;
mod trace;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::{BlobError, BlobId};
use counts::Counters;
pub use counts::IoCounts;
use durable::{create_dirs_durable, sync_dir, write_marker_durable};
use fs::{Fs, LockGuard, Site, StdFs};
use segment::SegmentLog;

/// The layout marker this version writes into `<root>/LAYOUT` and accepts.
pub const LAYOUT: &str = "studyvault-blob-layout 2";

/// The marker of layout 1 (every blob a file), which [`LocalBlobStore::open`] migrates.
pub const LAYOUT_1: &str = "studyvault-blob-layout 1";

const OUTBOARD_SUFFIX: &str = ".outboard";

/// How a [`LocalBlobStore`] stores and verifies blobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalOptions {
    /// Blobs up to this length are verified by hashing them whole on every read (a DICOM slice
    /// or a preview: cheap), get no outboard and are appended to segments; longer ones are
    /// files with an outboard, so ranges verify group by group. Never below one group.
    pub whole_verify_max: u64,
    /// A segment is sealed and the next one begun when a record would take it past this
    /// length (256 MiB by default). Small values let tests roll segments quickly.
    pub segment_len: u64,
    /// False writes every new blob as a file of its own, as layout 1 did (reads still look in
    /// segments): only for benchmarks that compare the two write paths.
    pub small_blobs_in_segments: bool,
}

impl Default for LocalOptions {
    fn default() -> Self {
        LocalOptions {
            whole_verify_max: 1 << 20,
            segment_len: 256 << 20,
            small_blobs_in_segments: true,
        }
    }
}

/// A durable, content-addressed blob store in a local directory.
#[derive(Debug)]
pub struct LocalBlobStore {
    root: PathBuf,
    /// Every file-system call goes through this: `std` itself, or a simulation in tests.
    fs: Arc<dyn Fs>,
    blobs: PathBuf,
    tmp: PathBuf,
    whole_verify_max: u64,
    small_blobs_in_segments: bool,
    log: SegmentLog,
    counts: Arc<Counters>,
    /// One compaction at a time.
    compacting: Mutex<()>,
    /// Holds the exclusive lock on `<root>/lock` for as long as the store lives.
    _lock: LockGuard,
}

impl LocalBlobStore {
    /// Opens (creating if needed) the store at `root`.
    ///
    /// Refuses a root locked by another process or handle ([`BlobError::Locked`]) and one with an
    /// unknown layout marker ([`BlobError::UnsupportedLayout`]); migrates a layout-1 root;
    /// sweeps leftover temp files; recovers the newest segment.
    pub fn open(root: impl AsRef<Path>) -> Result<LocalBlobStore, BlobError> {
        Self::open_with(root, LocalOptions::default())
    }

    /// Opens the store at `root` with `options`. Stores written with other options read fine:
    /// a blob is found wherever it was put, an outboard is ignored where a blob is verified
    /// whole, and rebuilt (from the blob verified whole) where one is expected but missing.
    pub fn open_with(
        root: impl AsRef<Path>,
        options: LocalOptions,
    ) -> Result<LocalBlobStore, BlobError> {
        Self::open_on(Arc::new(StdFs), root.as_ref(), options)
    }

    /// Opens the store at `root` of the file system `fs` (a simulated one, in tests).
    pub(crate) fn open_on(
        fs: Arc<dyn Fs>,
        root: &Path,
        options: LocalOptions,
    ) -> Result<LocalBlobStore, BlobError> {
        let root = root.to_path_buf();
        // Every blob under the root goes if the root's own entry, or that of a directory made
        // for it, does not survive a crash: each directory made here is fsynced into its parent.
        let made: Vec<PathBuf> = root
            .ancestors()
            .take_while(|dir| !dir.as_os_str().is_empty() && !fs.is_dir(dir))
            .map(Path::to_path_buf)
            .collect();
        fs.create_dir_all(&root)
            .map_err(|e| BlobError::io("create store root", &root, e))?;
        let counts = Arc::new(Counters::default());
        for dir in made.iter().rev() {
            let parent = dir.parent().filter(|p| !p.as_os_str().is_empty());
            sync_dir(
                &*fs,
                &counts,
                parent.unwrap_or(Path::new(".")),
                Site::StoreDir,
            )?;
        }
        let lock_path = root.join("lock");
        let lock = match fs.try_lock(&lock_path) {
            Ok(lock) => lock,
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(BlobError::Locked { path: root });
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(BlobError::io("lock", &lock_path, e));
            }
        };
        let segments = root.join("segments");
        check_layout(&fs, &counts, &root, &segments)?;
        let blobs = root.join("blobs");
        let tmp = root.join("tmp");
        create_dirs_durable(&*fs, &counts, &root, &blobs)?;
        create_dirs_durable(&*fs, &counts, &root, &tmp)?;
        let (log, _recovery) =
            SegmentLog::open(fs.clone(), segments, options.segment_len, counts.clone())?;
        let store = LocalBlobStore {
            fs,
            blobs,
            tmp,
            whole_verify_max: options.whole_verify_max.max(crate::tree::GROUP_LEN),
            small_blobs_in_segments: options.small_blobs_in_segments,
            log,
            counts,
            compacting: Mutex::new(()),
            root,
            _lock: lock,
        };
        store.create_top_dirs()?;
        store.sweep_tmp()?;
        Ok(store)
    }

    /// Creates the 256 first-level directories (`blobs/00` … `blobs/ff`) once, so that a put
    /// makes at most one directory (and fsyncs one parent) instead of two while the store is
    /// young: directory creation is the dearest step of a small put on ext4.
    fn create_top_dirs(&self) -> Result<(), BlobError> {
        let mut created = false;
        for byte in 0..=255u8 {
            let dir = self.blobs.join(format!("{byte:02x}"));
            match self.fs.create_dir(&dir) {
                Ok(()) => created = true,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(BlobError::io("create directory", &dir, e)),
            }
        }
        if created {
            sync_dir(&*self.fs, &self.counts, &self.blobs, Site::TopDirs)?;
        }
        Ok(())
    }

    /// Whether a blob of `len` bytes has an outboard (else it is verified whole).
    fn has_outboard(&self, len: u64) -> bool {
        len > self.whole_verify_max
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the blob `id` lives if it is stored as a file (a big blob, or a small one written
    /// by layout 1); see [`LocalBlobStore::locate`] for where it really is.
    pub fn blob_path(&self, id: &BlobId) -> PathBuf {
        let hex = id.to_hex();
        let hex = hex.as_str();
        self.blobs.join(&hex[0..2]).join(&hex[2..4]).join(hex)
    }

    /// Where the outboard of blob `id` lives.
    pub fn outboard_path(&self, id: &BlobId) -> PathBuf {
        let mut path = self.blob_path(id).into_os_string();
        path.push(OUTBOARD_SUFFIX);
        path.into()
    }

    /// Where the stored bytes of `id` are: the file holding them (a segment or the blob's own
    /// file), the offset of the first byte in it and the length. For tests and repair tools
    /// that need to reach the bytes underneath the API; `None` when the blob is not stored.
    pub fn locate(&self, id: &BlobId) -> Option<(PathBuf, u64, u64)> {
        if let Some(found) = self.log.lookup(id) {
            return Some((found.path, found.loc.payload_offset(), found.loc.len));
        }
        let path = self.blob_path(id);
        let len = self.fs.file_len(&path).ok()?;
        Some((path, 0, len))
    }

    /// Files created and syncs issued since the store was opened (its own opening included).
    pub fn io_counts(&self) -> IoCounts {
        self.counts.snapshot()
    }

    /// Removes every file under `tmp/`: with the lock held, none of them can be in use.
    fn sweep_tmp(&self) -> Result<(), BlobError> {
        let entries = (self.fs)
            .read_dir(&self.tmp)
            .map_err(|e| BlobError::io("list", &self.tmp, e))?;
        for entry in entries {
            let path = self.tmp.join(&entry.name);
            let removed = if entry.is_dir {
                self.fs.remove_dir_all(&path)
            } else {
                self.fs.remove_file(&path)
            };
            match removed {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(BlobError::io("remove stale temp file", &path, e)),
            }
        }
        Ok(())
    }

    fn list_ids(&self) -> Result<Vec<BlobId>, BlobError> {
        let mut ids = self.log.ids();
        ids.extend(self.list_file_ids()?);
        ids.sort();
        // A small layout-1 file healed into a segment may linger beside its new copy.
        ids.dedup();
        Ok(ids)
    }

    fn delete_blob(&self, id: &BlobId) -> Result<bool, BlobError> {
        let tombstone = self.log.delete(id)?;
        let file = self.delete_file(id)?;
        if let Some(loc) = tombstone {
            self.log.wait_durable(loc)?;
        }
        Ok(tombstone.is_some() || file)
    }

    fn blob_len(&self, id: &BlobId) -> Result<Option<u64>, BlobError> {
        match self.log.lookup(id) {
            Some(found) => Ok(Some(found.loc.len)),
            None => self.file_len(id),
        }
    }
}

/// Checks the layout marker: writes layout 2 into a new root, migrates a layout-1 root (its
/// files stay where they are; `segments/` is created, durably, before the marker changes, so a
/// crash in between leaves a valid layout-1 root), refuses anything else.
fn check_layout(
    fs: &Arc<dyn Fs>,
    counts: &Counters,
    root: &Path,
    segments: &Path,
) -> Result<(), BlobError> {
    let path = root.join("LAYOUT");
    let tmp = root.join("tmp");
    let write_marker = || {
        create_dirs_durable(&**fs, counts, root, &tmp)?;
        create_dirs_durable(&**fs, counts, root, segments)?;
        write_marker_durable(fs, counts, &tmp, &path, format!("{LAYOUT}\n").as_bytes())
    };
    let read = fs.read(&path).and_then(|bytes| {
        String::from_utf8(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    });
    match read {
        Ok(found) if found.trim_end() == LAYOUT => {
            create_dirs_durable(&**fs, counts, root, segments)
        }
        Ok(found) if found.trim_end() == LAYOUT_1 => write_marker(),
        Ok(found) => Err(BlobError::UnsupportedLayout {
            path,
            found: found.trim_end().chars().take(80).collect(),
            expected: LAYOUT,
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => write_marker(),
        Err(e) => Err(BlobError::io("read layout marker", &path, e)),
    }
}

impl crate::BlobStore for LocalBlobStore {
    fn put(&self, reader: &mut dyn io::Read) -> Result<crate::PutOutcome, BlobError> {
        self.put_stream(reader)
    }

    fn put_bytes_unsynced(&self, bytes: &[u8]) -> Result<crate::UnsyncedPut, BlobError> {
        self.put_unsynced(bytes)
    }

    fn sync_puts(&self, puts: &[crate::UnsyncedPut]) -> Result<(), BlobError> {
        self.sync_unsynced(puts)
    }

    fn get(
        &self,
        id: &BlobId,
        range: Option<std::ops::Range<u64>>,
    ) -> Result<crate::BlobReader, BlobError> {
        self.open_verified(id, range)
    }

    fn len(&self, id: &BlobId) -> Result<Option<u64>, BlobError> {
        self.blob_len(id)
    }

    fn verify(&self, id: &BlobId) -> Result<(), BlobError> {
        self.verify_blob(id)
    }

    fn list(&self) -> Result<Vec<BlobId>, BlobError> {
        self.list_ids()
    }

    fn delete(&self, id: &BlobId) -> Result<bool, BlobError> {
        self.delete_blob(id)
    }

    fn compact(&self, min_live_ratio: f64) -> Result<crate::CompactReport, BlobError> {
        self.compact_segments(min_live_ratio)
    }
}
