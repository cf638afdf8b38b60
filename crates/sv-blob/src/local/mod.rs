//! `LocalBlobStore`: blobs as files under `<root>/blobs/ab/cd/<hex>`, one process per root.
//!
//! Layout of a root:
//! - `LAYOUT`: the layout marker ([`LAYOUT`]); other markers are refused;
//! - `lock`: held with an exclusive `File::try_lock` while the store is open;
//! - `tmp/`: files being written; anything left there at open time is a crash leftover and swept;
//! - `blobs/ab/cd/<64 hex>`: complete blobs (the 256 `ab` directories are made at open); `<64 hex>.outboard` beside every blob longer than one
//!   [`LocalOptions::whole_verify_max`] (1 MiB by default; smaller blobs are hashed whole on
//!   every read). Its bytes are durable before the blob is linked, and
//!   one fsync of the shared directory then covers both entries; a crash that kept the blob's
//!   entry but not the outboard's is healed on first read, from the blob hashed whole.

mod durable;
mod put;
mod read;
#[cfg(test)]
mod tests;
mod trace;

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use crate::{BlobError, BlobId};
use durable::{create_dirs_durable, sync_dir, write_file_durable};

/// The layout marker this version writes into `<root>/LAYOUT` and accepts.
pub const LAYOUT: &str = "studyvault-blob-layout 1";

const OUTBOARD_SUFFIX: &str = ".outboard";

/// How a [`LocalBlobStore`] verifies reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalOptions {
    /// Blobs up to this length are verified by hashing them whole on every read (a DICOM slice
    /// or a preview: cheap) and get no outboard, which saves a file, a write and an fsync per
    /// put; longer ones get an outboard so ranges verify group by group. Never below one group.
    pub whole_verify_max: u64,
}

impl Default for LocalOptions {
    fn default() -> Self {
        LocalOptions {
            whole_verify_max: 1 << 20,
        }
    }
}

/// A durable, content-addressed blob store in a local directory.
#[derive(Debug)]
pub struct LocalBlobStore {
    root: PathBuf,
    blobs: PathBuf,
    tmp: PathBuf,
    whole_verify_max: u64,
    /// Holds the exclusive lock on `<root>/lock` for as long as the store lives.
    _lock: File,
}

impl LocalBlobStore {
    /// Opens (creating if needed) the store at `root`.
    ///
    /// Refuses a root locked by another process or handle ([`BlobError::Locked`]) and one with an
    /// unknown layout marker ([`BlobError::UnsupportedLayout`]); sweeps leftover temp files.
    pub fn open(root: impl AsRef<Path>) -> Result<LocalBlobStore, BlobError> {
        Self::open_with(root, LocalOptions::default())
    }

    /// Opens the store at `root` with `options`. Stores written with other options read fine:
    /// an outboard is ignored where a blob is verified whole, and rebuilt (from the blob
    /// verified whole) where one is expected but missing.
    pub fn open_with(
        root: impl AsRef<Path>,
        options: LocalOptions,
    ) -> Result<LocalBlobStore, BlobError> {
        let root = root.as_ref().to_path_buf();
        fs::create_dir_all(&root).map_err(|e| BlobError::io("create store root", &root, e))?;
        let lock_path = root.join("lock");
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|e| BlobError::io("open lock file", &lock_path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(BlobError::Locked { path: root }),
            Err(fs::TryLockError::Error(e)) => return Err(BlobError::io("lock", &lock_path, e)),
        }
        let store = LocalBlobStore {
            blobs: root.join("blobs"),
            tmp: root.join("tmp"),
            whole_verify_max: options.whole_verify_max.max(crate::tree::GROUP_LEN),
            root,
            _lock: lock,
        };
        store.check_layout()?;
        create_dirs_durable(&store.root, &store.blobs)?;
        create_dirs_durable(&store.root, &store.tmp)?;
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
            match fs::create_dir(&dir) {
                Ok(()) => created = true,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(BlobError::io("create directory", &dir, e)),
            }
        }
        if created {
            sync_dir(&self.blobs)?;
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

    /// Where the blob `id` lives (whether or not it is stored).
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

    fn check_layout(&self) -> Result<(), BlobError> {
        let path = self.root.join("LAYOUT");
        match fs::read_to_string(&path) {
            Ok(found) if found.trim_end() == LAYOUT => Ok(()),
            Ok(found) => Err(BlobError::UnsupportedLayout {
                path,
                found: found.trim_end().chars().take(80).collect(),
                expected: LAYOUT,
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                create_dirs_durable(&self.root, &self.root.join("tmp"))?;
                write_file_durable(
                    &self.root.join("tmp"),
                    &path,
                    format!("{LAYOUT}\n").as_bytes(),
                )
            }
            Err(e) => Err(BlobError::io("read layout marker", &path, e)),
        }
    }

    /// Removes every file under `tmp/`: with the lock held, none of them can be in use.
    fn sweep_tmp(&self) -> Result<(), BlobError> {
        let entries = fs::read_dir(&self.tmp).map_err(|e| BlobError::io("list", &self.tmp, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| BlobError::io("list", &self.tmp, e))?;
            let path = entry.path();
            let removed = if entry.file_type().is_ok_and(|t| t.is_dir()) {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
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
        let mut ids = Vec::new();
        for (a, dir_a) in hex_subdirs(&self.blobs)? {
            for (b, dir_b) in hex_subdirs(&dir_a)? {
                let entries = fs::read_dir(&dir_b).map_err(|e| BlobError::io("list", &dir_b, e))?;
                for entry in entries {
                    let entry = entry.map_err(|e| BlobError::io("list", &dir_b, e))?;
                    let name = entry.file_name();
                    let Some(name) = name.to_str() else { continue };
                    let Ok(id) = name.parse::<BlobId>() else {
                        continue;
                    };
                    if name[0..2] == a && name[2..4] == b {
                        ids.push(id);
                    }
                }
            }
        }
        ids.sort();
        Ok(ids)
    }

    fn delete_blob(&self, id: &BlobId) -> Result<bool, BlobError> {
        let path = self.blob_path(id);
        let existed = remove_if_present(&path)?;
        // The blob goes first so that a visible blob never lacks its outboard.
        remove_if_present(&self.outboard_path(id))?;
        if existed {
            sync_dir(path.parent().expect("blob path has a parent"))?;
        }
        Ok(existed)
    }

    fn blob_len(&self, id: &BlobId) -> Result<Option<u64>, BlobError> {
        let path = self.blob_path(id);
        match fs::metadata(&path) {
            Ok(meta) => Ok(Some(meta.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(BlobError::io("stat blob", &path, e)),
        }
    }
}

/// Subdirectories of `dir` named by two lowercase hex digits.
fn hex_subdirs(dir: &Path) -> Result<Vec<(String, PathBuf)>, BlobError> {
    let mut out = Vec::new();
    let entries = fs::read_dir(dir).map_err(|e| BlobError::io("list", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| BlobError::io("list", dir, e))?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let is_hex =
            name.len() == 2 && name.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'));
        if is_hex && entry.file_type().is_ok_and(|t| t.is_dir()) {
            out.push((name, entry.path()));
        }
    }
    Ok(out)
}

fn remove_if_present(path: &Path) -> Result<bool, BlobError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(BlobError::io("remove", path, e)),
    }
}

impl crate::BlobStore for LocalBlobStore {
    fn put(&self, reader: &mut dyn io::Read) -> Result<crate::PutOutcome, BlobError> {
        self.put_stream(reader)
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
}
