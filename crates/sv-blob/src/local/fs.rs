//! The file-system operations the local store uses, behind a small trait: [`StdFs`] passes them
//! straight to `std` (the store in production), and in test builds `simfs.rs` simulates them,
//! with power loss.
//!
//! Every sync names its call site ([`Site`]): the real file system ignores the name; the
//! simulation can turn one site into a no-op, which is how the crash tests prove each sync is
//! needed.

use std::any::Any;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::Path;
use std::sync::Arc;

/// Each place the store syncs a file or a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Site {
    /// Group commit: the fdatasync of the active segment a put or delete waits for.
    SegmentCommit,
    /// Sealing a segment before the next one is created.
    SegmentSeal,
    /// `segments/` after a new segment file is created.
    SegmentCreateDir,
    /// Open: the newest segment after recovery (cut, voided records, a killed process's tail).
    RecoveryFile,
    /// Open: `segments/` (a killed process may have created the newest segment unsynced).
    RecoveryDir,
    /// `segments/` after compaction unlinked a segment.
    CompactionDir,
    /// A big blob's temp file, before it is linked into place.
    BlobFile,
    /// The parent of a directory just created for a big blob (`blobs/ab` for `ab/cd`).
    BlobNewDir,
    /// The blob's directory after linking (or renaming) it into place.
    BlobDir,
    /// The blob's directory when a put finds an intact copy already linked (dedup).
    DedupDir,
    /// An outboard's temp file, before it is renamed into place.
    OutboardFile,
    /// The blob's directory after a read rebuilt a missing outboard.
    OutboardRebuildDir,
    /// The blob's directory after a delete unlinked it.
    DeleteDir,
    /// The layout marker's temp file, before it is renamed into place.
    LayoutFile,
    /// The root after the layout marker is renamed into place.
    LayoutDir,
    /// The root after `segments/`, `blobs/` or `tmp/` is created.
    StoreDir,
    /// `blobs/` after the 256 first-level directories are created.
    TopDirs,
}

impl Site {
    /// Every site, for tests that disable them one by one.
    #[cfg(test)]
    pub(crate) const ALL: [Site; 17] = [
        Site::SegmentCommit,
        Site::SegmentSeal,
        Site::SegmentCreateDir,
        Site::RecoveryFile,
        Site::RecoveryDir,
        Site::CompactionDir,
        Site::BlobFile,
        Site::BlobNewDir,
        Site::BlobDir,
        Site::DedupDir,
        Site::OutboardFile,
        Site::OutboardRebuildDir,
        Site::DeleteDir,
        Site::LayoutFile,
        Site::LayoutDir,
        Site::StoreDir,
        Site::TopDirs,
    ];

    /// The site's name, as the tests print it.
    #[cfg(test)]
    pub(crate) fn name(self) -> &'static str {
        match self {
            Site::SegmentCommit => "segment-fdatasync",
            Site::SegmentSeal => "segment-seal-fdatasync",
            Site::SegmentCreateDir => "segment-create-dir-fsync",
            Site::RecoveryFile => "recovery-fdatasync",
            Site::RecoveryDir => "recovery-dir-fsync",
            Site::CompactionDir => "compaction-dir-fsync",
            Site::BlobFile => "blob-fdatasync",
            Site::BlobNewDir => "blob-new-dir-fsync",
            Site::BlobDir => "blob-dir-fsync",
            Site::DedupDir => "dedup-dir-fsync",
            Site::OutboardFile => "outboard-fdatasync",
            Site::OutboardRebuildDir => "outboard-rebuild-dir-fsync",
            Site::DeleteDir => "delete-dir-fsync",
            Site::LayoutFile => "layout-marker-fdatasync",
            Site::LayoutDir => "layout-marker-dir-fsync",
            Site::StoreDir => "store-dir-fsync",
            Site::TopDirs => "top-dirs-fsync",
        }
    }
}

/// How [`Fs::open`] opens a file (always for reading too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Open {
    /// An existing file, read only.
    Read,
    /// An existing file, read and write.
    Write,
    /// A new file; `AlreadyExists` if the name is taken.
    CreateNew,
}

/// A directory entry as [`Fs::read_dir`] lists it.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) name: std::ffi::OsString,
    pub(crate) is_dir: bool,
}

/// What holds a store root's lock; dropping it releases the lock.
pub(crate) struct LockGuard(#[allow(dead_code)] pub(crate) Box<dyn Any + Send + Sync>);

impl fmt::Debug for LockGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LockGuard")
    }
}

/// Exactly the file-system operations of the local store.
pub(crate) trait Fs: Send + Sync + fmt::Debug {
    fn create_dir_all(&self, path: &Path) -> io::Result<()>;
    fn create_dir(&self, path: &Path) -> io::Result<()>;
    fn is_dir(&self, path: &Path) -> bool;
    fn open(&self, path: &Path, how: Open) -> io::Result<FileRef>;
    /// Takes the exclusive lock on the file at `path` (created if missing) without waiting.
    fn try_lock(&self, path: &Path) -> Result<LockGuard, fs::TryLockError>;
    fn read_dir(&self, path: &Path) -> io::Result<Vec<Entry>>;
    /// The length of the file at `path`.
    fn file_len(&self, path: &Path) -> io::Result<u64>;
    /// The whole file at `path`.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// Renames `from` to `to`, replacing what is there.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// A second name `to` for `from`; `AlreadyExists` if `to` is taken.
    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()>;
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    fn remove_dir_all(&self, path: &Path) -> io::Result<()>;
    /// Makes the entries of directory `path` durable (`fsync` of the directory).
    fn sync_dir(&self, path: &Path, site: Site) -> io::Result<()>;
}

/// An open file of an [`Fs`], shared by the threads that read and append to it.
pub(crate) trait FsFile: Send + Sync + fmt::Debug {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize>;
    fn len(&self) -> io::Result<u64>;
    fn set_len(&self, len: u64) -> io::Result<()>;
    /// Makes the file's bytes and size durable (`fdatasync`).
    fn sync_data(&self, site: Site) -> io::Result<()>;
}

pub(crate) type FileRef = Arc<dyn FsFile>;

/// Reads exactly `buf.len()` bytes at `offset` (`UnexpectedEof` if the file is shorter).
pub(crate) fn read_exact_at(
    file: &dyn FsFile,
    mut buf: &mut [u8],
    mut offset: u64,
) -> io::Result<()> {
    while !buf.is_empty() {
        match file.read_at(buf, offset) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Writes all of `buf` at `offset`.
pub(crate) fn write_all_at(file: &dyn FsFile, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match file.write_at(buf, offset) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                buf = &buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The real file system: every call goes straight to `std`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct StdFs;

impl Fs for StdFs {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        fs::create_dir_all(path)
    }

    fn create_dir(&self, path: &Path) -> io::Result<()> {
        fs::create_dir(path)
    }

    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }

    fn open(&self, path: &Path, how: Open) -> io::Result<FileRef> {
        let mut options = OpenOptions::new();
        options.read(true);
        match how {
            Open::Read => {}
            Open::Write => {
                options.write(true);
            }
            Open::CreateNew => {
                options.write(true).create_new(true);
            }
        }
        Ok(Arc::new(StdFile(options.open(path)?)))
    }

    fn try_lock(&self, path: &Path) -> Result<LockGuard, fs::TryLockError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(fs::TryLockError::Error)?;
        file.try_lock()?;
        Ok(LockGuard(Box::new(file)))
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<Entry>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(path)? {
            let entry = entry?;
            out.push(Entry {
                name: entry.file_name(),
                is_dir: entry.file_type().is_ok_and(|t| t.is_dir()),
            });
        }
        Ok(out)
    }

    fn file_len(&self, path: &Path) -> io::Result<u64> {
        fs::metadata(path).map(|m| m.len())
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        fs::read(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::hard_link(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        fs::remove_dir_all(path)
    }

    fn sync_dir(&self, path: &Path, _site: Site) -> io::Result<()> {
        File::open(path)?.sync_all()
    }
}

/// A real open file.
#[derive(Debug)]
struct StdFile(File);

impl FsFile for StdFile {
    #[cfg(unix)]
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        std::os::unix::fs::FileExt::read_at(&self.0, buf, offset)
    }

    #[cfg(unix)]
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        std::os::unix::fs::FileExt::write_at(&self.0, buf, offset)
    }

    #[cfg(windows)]
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        std::os::windows::fs::FileExt::seek_read(&self.0, buf, offset)
    }

    #[cfg(windows)]
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        std::os::windows::fs::FileExt::seek_write(&self.0, buf, offset)
    }

    fn len(&self) -> io::Result<u64> {
        self.0.metadata().map(|m| m.len())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }

    fn sync_data(&self, _site: Site) -> io::Result<()> {
        self.0.sync_data()
    }
}
