//! Puts: a blob up to the small bound is buffered, hashed and appended to the segment log; a
//! longer source spills to a temp file, hashed while it streams, and is published as a file.

use std::io::{self, Read};

use super::LocalBlobStore;
use super::durable::{TempFile, create_dirs, sync_dir};
use super::files::remove_if_present;
use super::fs::{Site, read_exact_at};
use super::segment::{Appended, Found, Mode};
use super::trace::{self, Step};
use crate::outboard::Outboard;
use crate::tree::{GroupHasher, TreeHash};
use crate::{BlobError, BlobId, PutOutcome, UnsyncedPut};

/// Bytes read from the source per step once it spilled to a temp file.
const READ_BUF_LEN: usize = 256 * 1024;

/// What a put found at a blob's file path.
enum FileCopy {
    Absent,
    /// An intact copy, now durable (directory fsynced, outboard repaired).
    Intact,
    /// A copy that does not hash to its id (or has the wrong length).
    Damaged,
}

impl LocalBlobStore {
    pub(super) fn put_stream(&self, reader: &mut dyn Read) -> Result<PutOutcome, BlobError> {
        let mut head = Vec::new();
        if self.small_blobs_in_segments {
            let limit = self.whole_verify_max;
            (&mut *reader)
                .take(limit + 1)
                .read_to_end(&mut head)
                .map_err(BlobError::Source)?;
            if head.len() as u64 <= limit {
                return self.put_small(&head);
            }
        }
        self.put_file(head, reader)
    }

    /// [`crate::BlobStore::put_bytes_unsynced`]: a small blob new to the store is appended to
    /// the segment log without waiting for its sync; everything else (a big blob, a dedup, a
    /// heal) is stored durably at once.
    pub(super) fn put_unsynced(&self, bytes: &[u8]) -> Result<UnsyncedPut, BlobError> {
        if !self.small_blobs_in_segments || bytes.len() as u64 > self.whole_verify_max {
            return self.put_stream(&mut &bytes[..]).map(UnsyncedPut::durable);
        }
        self.append_small(bytes, false)
    }

    /// [`crate::BlobStore::sync_puts`]: waits for a sync that covers each pending put.
    pub(super) fn sync_unsynced(&self, puts: &[UnsyncedPut]) -> Result<(), BlobError> {
        // The latest point first: one sync of the active segment covers every earlier one.
        let mut points: Vec<_> = puts.iter().filter_map(UnsyncedPut::sync_point).collect();
        points.sort_by_key(|p| std::cmp::Reverse((p.seq, p.end)));
        for point in points {
            self.log.wait_durable_to(point.seq, point.end)?;
        }
        Ok(())
    }

    /// Appends a small blob to the segment log, unless it is stored already (in a segment, or
    /// as a layout-1 file); returns once it is durable.
    fn put_small(&self, bytes: &[u8]) -> Result<PutOutcome, BlobError> {
        self.append_small(bytes, true).map(|put| put.outcome)
    }

    /// [`LocalBlobStore::put_small`], which returns before the sync of a record it appended
    /// unless `wait` (or a damaged layout-1 copy must go once the record is durable).
    fn append_small(&self, bytes: &[u8], wait: bool) -> Result<UnsyncedPut, BlobError> {
        let id = BlobId::of(bytes);
        let outcome = |created| PutOutcome {
            id,
            len: bytes.len() as u64,
            created,
        };
        if let Some(found) = self.log.lookup(&id) {
            return self
                .dedup_record(&id, bytes, found)
                .map(|created| UnsyncedPut::durable(outcome(created)));
        }
        let tree = TreeHash {
            root: id.hash(),
            len: bytes.len() as u64,
            cvs: Vec::new(),
        };
        let damaged_file = match self.check_file_copy(&id, &tree)? {
            FileCopy::Intact => return Ok(UnsyncedPut::durable(outcome(false))),
            FileCopy::Damaged => true,
            FileCopy::Absent => false,
        };
        let created = match self.log.append_blob(&id, bytes, Mode::New)? {
            Appended::New(new) => {
                trace::after_publish(&new.path);
                if !wait && !damaged_file {
                    return Ok(UnsyncedPut::pending(outcome(true), new.loc.sync_point()));
                }
                self.log.wait_durable(new.loc)?;
                true
            }
            // A racing put appended the same bytes first.
            Appended::Found(found) => self.dedup_record(&id, bytes, found)?,
            Appended::Skipped => unreachable!("only compaction moves records"),
        };
        if damaged_file {
            // The index now shadows the damaged layout-1 file; should this unlink be lost in
            // a crash, the file is shadowed again after the next open.
            remove_if_present(&*self.fs, &self.blob_path(&id))?;
        }
        Ok(UnsyncedPut::durable(outcome(created)))
    }

    /// A put of bytes the index already names: checks the stored copy (a re-upload heals a
    /// damaged one by appending a fresh copy) and waits until the copy named is durable (it
    /// may be a racing put's, whose sync has not finished). True when a fresh copy was written.
    fn dedup_record(&self, id: &BlobId, bytes: &[u8], found: Found) -> Result<bool, BlobError> {
        let mut found = found;
        loop {
            if self.read_record(id, &found).is_ok() {
                self.log.wait_durable(found.loc)?;
                return Ok(false);
            }
            match self.log.append_blob(id, bytes, Mode::Heal(found.loc))? {
                Appended::New(new) => {
                    trace::after_publish(&new.path);
                    self.log.wait_durable(new.loc)?;
                    return Ok(true);
                }
                // Someone else put a fresh copy meanwhile: check that one.
                Appended::Found(other) => found = other,
                Appended::Skipped => unreachable!("only compaction moves records"),
            }
        }
    }

    /// Streams the rest of `reader` after `head` to a temp file and publishes it as a file
    /// (with an outboard when it is big): the layout-1 write path.
    fn put_file(&self, head: Vec<u8>, reader: &mut dyn Read) -> Result<PutOutcome, BlobError> {
        // Dropping `temp` on any early return removes it: a failed put leaves nothing behind.
        let mut temp = TempFile::create(&self.fs, &self.tmp, &self.counts)?;
        let mut hasher = GroupHasher::new();
        hasher.update(&head);
        temp.write_all(&head)?;
        drop(head);
        let mut buf = vec![0u8; READ_BUF_LEN];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(BlobError::Source(e)),
            };
            hasher.update(&buf[..n]);
            temp.write_all(&buf[..n])?;
        }
        let tree = hasher.finalize();
        let id = BlobId::from(tree.root);
        let outcome = |created| PutOutcome {
            id,
            len: tree.len,
            created,
        };
        if let Some(found) = self.log.lookup(&id) {
            // A record already (written when the small bound was larger, so it fits in
            // memory): dedup there.
            let mut bytes = vec![0u8; tree.len as usize];
            read_exact_at(&*temp.file, &mut bytes, 0)
                .map_err(|e| BlobError::io("read temp file", &temp.path, e))?;
            return self.dedup_record(&id, &bytes, found).map(outcome);
        }
        let final_path = self.blob_path(&id);
        let dir = final_path.parent().expect("blob path has a parent");
        let damaged = match self.check_file_copy(&id, &tree)? {
            FileCopy::Intact => return Ok(outcome(false)),
            FileCopy::Damaged => true,
            FileCopy::Absent => false,
        };
        let new_dir_parents = create_dirs(&*self.fs, &self.blobs, dir)?;
        self.make_durable(&temp, &id, &tree, &new_dir_parents)?;
        let replace = || temp.rename_to(&final_path);
        let created = if damaged {
            replace()?;
            true
        } else {
            // hard_link publishes without clobbering: of two racing puts exactly one creates.
            trace::record(|| Step::Publish {
                from: temp.path.clone(),
                to: final_path.clone(),
            });
            match self.fs.hard_link(&temp.path, &final_path) {
                Ok(()) => true,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    if self
                        .fs
                        .file_len(&final_path)
                        .is_ok_and(|len| len == tree.len)
                    {
                        false
                    } else {
                        replace()?;
                        true
                    }
                }
                Err(e) => return Err(BlobError::io("link temp file to", &final_path, e)),
            }
        };
        trace::after_publish(&final_path);
        sync_dir(&*self.fs, &self.counts, dir, Site::BlobDir)?;
        Ok(outcome(created))
    }

    /// Looks at the blob's file path. An intact copy there is made durable before the answer:
    /// the entry may be one a racing put linked and has not yet fsynced (or one a killed
    /// process left so), and the caller is about to name this blob in metadata. A writer's
    /// bytes are fsynced before it links them.
    fn check_file_copy(&self, id: &BlobId, tree: &TreeHash) -> Result<FileCopy, BlobError> {
        let path = self.blob_path(id);
        match self.fs.file_len(&path) {
            // Stored already, unless the stored copy no longer hashes to its id: then the
            // bytes just received, which do, replace it (a re-upload heals a damaged blob).
            Ok(len) if len == tree.len => {
                let intact = self
                    .hash_file(id)
                    .is_ok_and(|t| BlobId::from(t.root) == *id);
                if !intact {
                    return Ok(FileCopy::Damaged);
                }
                self.repair_outboard(id, tree)?;
                let dir = path.parent().expect("blob path has a parent");
                sync_dir(&*self.fs, &self.counts, dir, Site::DedupDir)?;
                Ok(FileCopy::Intact)
            }
            // Same id, wrong length: the stored copy is damaged.
            Ok(_) => Ok(FileCopy::Damaged),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(FileCopy::Absent),
            Err(e) => Err(BlobError::io("stat blob", &path, e)),
        }
    }

    /// Makes everything the blob's visibility depends on durable: its bytes, any directories just
    /// created for it, and its outboard; all of them finish before the caller links the blob.
    ///
    /// On the calling thread, one after another: a directory fsync right after the file's costs
    /// little wall time, far less CPU than a thread would. Only an outboard (blobs over
    /// `whole_verify_max`, whose own write is long anyway) is written on a second thread, so
    /// its fsync overlaps the blob's.
    fn make_durable(
        &self,
        temp: &TempFile,
        id: &BlobId,
        tree: &TreeHash,
        new_dir_parents: &[std::path::PathBuf],
    ) -> Result<(), BlobError> {
        let durable = |temp: &TempFile| {
            temp.sync(&self.counts, Site::BlobFile)?;
            new_dir_parents
                .iter()
                .try_for_each(|parent| sync_dir(&*self.fs, &self.counts, parent, Site::BlobNewDir))
        };
        if !self.has_outboard(tree.len) {
            return durable(temp);
        }
        std::thread::scope(|s| {
            let outboard = s.spawn(|| self.write_outboard(id, tree));
            let result = durable(temp);
            let written = outboard
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            result.and(written)
        })
    }

    /// Writes the outboard: its bytes are fsynced before it is renamed into place, so a
    /// visible outboard is never one whose bytes a crash can lose. Its directory entry is made
    /// durable by the caller's fsync of the blob's directory (the same directory), which every
    /// caller does next.
    ///
    /// Should a crash keep the blob's entry but lose this one, the first read rebuilds the
    /// outboard from the blob after hashing it whole against its id (`read.rs`), so no reader
    /// ever trusts an unverified byte: saving a third sequential fsync on every put is safe.
    pub(super) fn write_outboard(&self, id: &BlobId, tree: &TreeHash) -> Result<(), BlobError> {
        let outboard = Outboard {
            len: tree.len,
            cvs: tree.cvs.clone(),
        };
        let mut temp = TempFile::create(&self.fs, &self.tmp, &self.counts)?;
        temp.write_all(&outboard.encode())?;
        temp.sync(&self.counts, Site::OutboardFile)?;
        temp.rename_to(&self.outboard_path(id))
    }

    /// On dedup, puts back an outboard that went missing or bad (the fresh tree is trusted);
    /// the caller fsyncs the directory.
    fn repair_outboard(&self, id: &BlobId, tree: &TreeHash) -> Result<(), BlobError> {
        if !self.has_outboard(tree.len) {
            return Ok(());
        }
        let path = self.outboard_path(id);
        let intact = self
            .fs
            .read(&path)
            .is_ok_and(|bytes| Outboard::decode_checked(&bytes, id).is_ok());
        if intact {
            Ok(())
        } else {
            self.write_outboard(id, tree)
        }
    }
}
