//! Blobs stored as files (`blobs/ab/cd/<hex>`): big blobs, and small ones layout 1 wrote.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::LocalBlobStore;
use super::durable::sync_dir;
use crate::{BlobError, BlobId};

impl LocalBlobStore {
    pub(super) fn list_file_ids(&self) -> Result<Vec<BlobId>, BlobError> {
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
        Ok(ids)
    }

    /// Removes the blob's file and outboard; true when the file was there.
    pub(super) fn delete_file(&self, id: &BlobId) -> Result<bool, BlobError> {
        let path = self.blob_path(id);
        let existed = remove_if_present(&path)?;
        // The blob goes first so that a visible blob never lacks its outboard.
        remove_if_present(&self.outboard_path(id))?;
        if existed {
            sync_dir(&self.counts, path.parent().expect("blob path has a parent"))?;
        }
        Ok(existed)
    }

    pub(super) fn file_len(&self, id: &BlobId) -> Result<Option<u64>, BlobError> {
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

pub(super) fn remove_if_present(path: &Path) -> Result<bool, BlobError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(BlobError::io("remove", path, e)),
    }
}
