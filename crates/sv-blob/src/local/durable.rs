//! Durable file-system steps: temp files that clean up after themselves, directory fsync.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::counts::Counters;
use super::fs::{FileRef, Fs, Open, Site, write_all_at};
use super::trace::{self, Step};
use crate::BlobError;

/// A file under the store's `tmp/` directory, removed on drop unless it was renamed away.
#[derive(Debug)]
pub(crate) struct TempFile {
    pub(crate) path: PathBuf,
    pub(crate) file: FileRef,
    fs: Arc<dyn Fs>,
    /// Where the next write goes.
    end: u64,
}

impl TempFile {
    /// Creates a new, uniquely named file in `dir`.
    pub(crate) fn create(
        fs: &Arc<dyn Fs>,
        dir: &Path,
        counts: &Counters,
    ) -> Result<TempFile, BlobError> {
        let mut random = [0u8; 16];
        getrandom::fill(&mut random).map_err(|e| {
            BlobError::io("name temp file in", dir, io::Error::other(e.to_string()))
        })?;
        let name: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let path = dir.join(format!("{name}.tmp"));
        let file = fs
            .open(&path, Open::CreateNew)
            .map_err(|e| BlobError::io("create temp file", &path, e))?;
        counts.file_created();
        Ok(TempFile {
            path,
            file,
            fs: fs.clone(),
            end: 0,
        })
    }

    /// Appends all of `bytes`.
    pub(crate) fn write_all(&mut self, bytes: &[u8]) -> Result<(), BlobError> {
        write_all_at(&*self.file, bytes, self.end)
            .map_err(|e| BlobError::io("write temp file", &self.path, e))?;
        self.end += bytes.len() as u64;
        Ok(())
    }

    /// Flushes the file's bytes, and the metadata needed to read them back, to disk
    /// (fdatasync: a new file's size is included; its times are not worth a journal write).
    pub(crate) fn sync(&self, counts: &Counters, site: Site) -> Result<(), BlobError> {
        trace::record(|| Step::SyncFile(self.path.clone()));
        counts.file_synced();
        self.file
            .sync_data(site)
            .map_err(|e| BlobError::io("fsync temp file", &self.path, e))
    }

    /// Renames the file to `dest` (replacing what is there); the caller fsyncs `dest`'s
    /// directory to make the new entry durable.
    pub(crate) fn rename_to(&self, dest: &Path) -> Result<(), BlobError> {
        trace::record(|| Step::Publish {
            from: self.path.clone(),
            to: dest.to_path_buf(),
        });
        self.fs
            .rename(&self.path, dest)
            .map_err(|e| BlobError::io("rename temp file to", dest, e))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        // Gone already after a rename; any leftover is swept at the next open.
        let _ = self.fs.remove_file(&self.path);
    }
}

/// Fsyncs a directory so that entries created, renamed or removed in it are durable.
pub(crate) fn sync_dir(
    fs: &dyn Fs,
    counts: &Counters,
    dir: &Path,
    site: Site,
) -> Result<(), BlobError> {
    trace::record(|| Step::SyncDir(dir.to_path_buf()));
    counts.dir_synced();
    fs.sync_dir(dir, site)
        .map_err(|e| BlobError::io("fsync directory", dir, e))
}

/// Creates `dir` and its missing parents up to (not including) `base`, fsyncing each parent that
/// gained an entry.
pub(crate) fn create_dirs_durable(
    fs: &dyn Fs,
    counts: &Counters,
    base: &Path,
    dir: &Path,
) -> Result<(), BlobError> {
    for parent in create_dirs(fs, base, dir)? {
        sync_dir(fs, counts, &parent, Site::StoreDir)?;
    }
    Ok(())
}

/// Creates `dir` and its missing parents up to (not including) `base`; returns the parents that
/// gained an entry, which the caller must fsync before relying on the new directories.
pub(crate) fn create_dirs(fs: &dyn Fs, base: &Path, dir: &Path) -> Result<Vec<PathBuf>, BlobError> {
    if dir == base || fs.is_dir(dir) {
        return Ok(Vec::new());
    }
    let parent = dir.parent().unwrap_or(base);
    let mut to_sync = create_dirs(fs, base, parent)?;
    match fs.create_dir(dir) {
        Ok(()) => to_sync.push(parent.to_path_buf()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(BlobError::io("create directory", dir, e)),
    }
    Ok(to_sync)
}

/// Writes the layout marker `bytes` to `dest` atomically and durably: temp file in `tmp_dir`,
/// fsync, rename, directory fsync.
pub(crate) fn write_marker_durable(
    fs: &Arc<dyn Fs>,
    counts: &Counters,
    tmp_dir: &Path,
    dest: &Path,
    bytes: &[u8],
) -> Result<(), BlobError> {
    let mut temp = TempFile::create(fs, tmp_dir, counts)?;
    temp.write_all(bytes)?;
    temp.sync(counts, Site::LayoutFile)?;
    temp.rename_to(dest)?;
    sync_dir(
        &**fs,
        counts,
        dest.parent().expect("dest has a parent"),
        Site::LayoutDir,
    )
}
