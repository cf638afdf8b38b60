//! Blobs stored as files (`blobs/ab/cd/<hex>`): big blobs, and small ones layout 1 wrote.

use std::io;
use std::path::{Path, PathBuf};

use super::LocalBlobStore;
use super::durable::sync_dir;
use super::fs::{Fs, Site};
use crate::{BlobError, BlobId};

impl LocalBlobStore {
    pub(super) fn list_file_ids(&self) -> Result<Vec<BlobId>, BlobError> {
        let mut ids = Vec::new();
        let fs = &*self.fs;
        for (a, dir_a) in hex_subdirs(fs, &self.blobs)? {
            for (b, dir_b) in hex_subdirs(fs, &dir_a)? {
                let entries = fs
                    .read_dir(&dir_b)
                    .map_err(|e| BlobError::io("list", &dir_b, e))?;
                for entry in entries {
                    let Some(name) = entry.name.to_str() else {
                        continue;
                    };
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
        let existed = remove_if_present(&*self.fs, &path)?;
        // The blob goes first so that a visible blob never lacks its outboard.
        remove_if_present(&*self.fs, &self.outboard_path(id))?;
        if existed {
            let dir = path.parent().expect("blob path has a parent");
            sync_dir(&*self.fs, &self.counts, dir, Site::DeleteDir)?;
        }
        Ok(existed)
    }

    pub(super) fn file_len(&self, id: &BlobId) -> Result<Option<u64>, BlobError> {
        let path = self.blob_path(id);
        match self.fs.file_len(&path) {
            Ok(len) => Ok(Some(len)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(BlobError::io("stat blob", &path, e)),
        }
    }
}

/// Subdirectories of `dir` named by two lowercase hex digits.
fn hex_subdirs(fs: &dyn Fs, dir: &Path) -> Result<Vec<(String, PathBuf)>, BlobError> {
    let mut out = Vec::new();
    let entries = fs
        .read_dir(dir)
        .map_err(|e| BlobError::io("list", dir, e))?;
    for entry in entries {
        let Ok(name) = entry.name.into_string() else {
            continue;
        };
        let is_hex =
            name.len() == 2 && name.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'));
        if is_hex && entry.is_dir {
            let path = dir.join(&name);
            out.push((name, path));
        }
    }
    Ok(out)
}

pub(super) fn remove_if_present(fs: &dyn Fs, path: &Path) -> Result<bool, BlobError> {
    match fs.remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(BlobError::io("remove", path, e)),
    }
}
