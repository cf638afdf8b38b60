//! Always-on counters of the durable file-system steps a store takes (relaxed atomics).

use std::sync::atomic::{AtomicU64, Ordering};

/// How many files a [`super::LocalBlobStore`] created and how many file and directory syncs it
/// issued since it was opened, so a benchmark can print syscalls per put.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IoCounts {
    /// Files created: temp files of big blobs and outboards, segment files, layout markers.
    pub files_created: u64,
    /// `fdatasync` calls on files (blob temp files, outboards, segments).
    pub file_syncs: u64,
    /// `fsync` calls on directories.
    pub dir_syncs: u64,
}

impl IoCounts {
    /// The counts from `earlier` to `self`.
    pub fn since(&self, earlier: &IoCounts) -> IoCounts {
        IoCounts {
            files_created: self.files_created - earlier.files_created,
            file_syncs: self.file_syncs - earlier.file_syncs,
            dir_syncs: self.dir_syncs - earlier.dir_syncs,
        }
    }
}

/// The live counters behind [`IoCounts`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    files_created: AtomicU64,
    file_syncs: AtomicU64,
    dir_syncs: AtomicU64,
}

impl Counters {
    pub(crate) fn file_created(&self) {
        self.files_created.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn file_synced(&self) {
        self.file_syncs.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn dir_synced(&self) {
        self.dir_syncs.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> IoCounts {
        IoCounts {
            files_created: self.files_created.load(Ordering::Relaxed),
            file_syncs: self.file_syncs.load(Ordering::Relaxed),
            dir_syncs: self.dir_syncs.load(Ordering::Relaxed),
        }
    }
}
