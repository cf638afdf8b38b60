//! The fsyncs sled leaves out: its `flush` writes the log with `sync_file_range`, which
//! neither flushes the drive cache nor file metadata, and it never fsyncs its directory or
//! the files of large values. After each flush we fsync the log file ourselves, any snapshot
//! or large-value file not synced yet, and the directories whose entries changed.

use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use crate::MetaError;

/// Handles on sled's files, and which immutable files are already durable.
#[derive(Debug)]
pub(crate) struct DbFiles {
    dir: PathBuf,
    log: File,
    /// `(subdirectory, file name, length)` of files already fsynced; pruned to what is listed.
    synced: Mutex<HashSet<(&'static str, String, u64)>>,
}

fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> MetaError {
    let path = path.to_path_buf();
    move |source| MetaError::Io { op, path, source }
}

impl DbFiles {
    pub(crate) fn open(dir: &Path) -> Result<DbFiles, MetaError> {
        let log_path = dir.join("db");
        let log = File::open(&log_path).map_err(io("open", &log_path))?;
        let files = DbFiles {
            dir: dir.to_path_buf(),
            log,
            synced: Mutex::new(HashSet::new()),
        };
        // Whatever recovery or creation left behind becomes durable before the first answer;
        // the directories too, whatever their state.
        files.sync()?;
        fsync_dir(dir)?;
        Ok(files)
    }

    /// fsyncs the log, new snapshot and large-value files, and the directories that got new
    /// entries.
    pub(crate) fn sync(&self) -> Result<(), MetaError> {
        // fdatasync, as databases do for their logs: the data and what is needed to read it
        // back (the file size), without timestamps.
        self.log
            .sync_data()
            .map_err(io("fsync", &self.dir.join("db")))?;
        let mut synced = self.synced.lock().unwrap_or_else(PoisonError::into_inner);
        let snapshots =
            |n: &str| n == "conf" || n.starts_with("snap.") && !n.ends_with(".generating");
        if self.sync_new_files("", &mut synced, snapshots)? {
            fsync_dir(&self.dir)?;
        }
        let blobs = self.dir.join("blobs");
        if blobs.is_dir() && self.sync_new_files("blobs", &mut synced, |_| true)? {
            fsync_dir(&blobs)?;
        }
        Ok(())
    }

    /// fsyncs the files of `sub` that `wanted` selects and that were not synced yet; true when
    /// there were any (the directory then needs an fsync too).
    fn sync_new_files(
        &self,
        sub: &'static str,
        synced: &mut HashSet<(&'static str, String, u64)>,
        wanted: impl Fn(&str) -> bool,
    ) -> Result<bool, MetaError> {
        let dir = self.dir.join(sub);
        let mut listed = HashSet::new();
        let mut any = false;
        let entries = std::fs::read_dir(&dir).map_err(io("list", &dir))?;
        for entry in entries {
            let entry = entry.map_err(io("list", &dir))?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if !wanted(&name) {
                continue;
            }
            // Keyed by length too: a large-value file may still be growing when listed.
            let len = entry.metadata().map(|m| m.len()).unwrap_or(0);
            let key = (sub, name, len);
            if !synced.contains(&key) {
                let path = entry.path();
                match File::open(&path) {
                    Ok(f) => f.sync_all().map_err(io("fsync", &path))?,
                    // sled removes old snapshots and large values concurrently.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(io("open", &path)(e)),
                }
                any = true;
            }
            listed.insert(key);
        }
        synced.retain(|k| k.0 != sub || listed.contains(k));
        synced.extend(listed);
        Ok(any)
    }
}

fn fsync_dir(dir: &Path) -> Result<(), MetaError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("fsync", dir))
}
