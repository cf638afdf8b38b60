//! Streaming put: hash while writing to a temp file, then publish durably.

use std::fs;
use std::io::{self, Read};

use super::LocalBlobStore;
use super::durable::{TempFile, create_dirs, sync_dir};
use super::trace::{self, Step};
use crate::outboard::Outboard;
use crate::tree::{GroupHasher, TreeHash};
use crate::{BlobError, BlobId, PutOutcome};

/// Bytes read from the source per step; the only per-put buffer.
const READ_BUF_LEN: usize = 256 * 1024;

impl LocalBlobStore {
    pub(super) fn put_stream(&self, reader: &mut dyn Read) -> Result<PutOutcome, BlobError> {
        // Dropping `temp` on any early return removes it: a failed put leaves nothing behind.
        let mut temp = TempFile::create(&self.tmp)?;
        let mut hasher = GroupHasher::new();
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
        let final_path = self.blob_path(&id);
        let dir = final_path.parent().expect("blob path has a parent");
        let damaged = match fs::metadata(&final_path) {
            // Stored already, unless the stored copy no longer hashes to its id: then the
            // bytes just received, which do, replace it (a re-upload heals a damaged blob).
            Ok(meta) if meta.len() == tree.len => {
                let intact = self
                    .hash_file(&id)
                    .is_ok_and(|t| BlobId::from(t.root) == id);
                if intact {
                    self.repair_outboard(&id, &tree)?;
                    // The entry may be one a racing put linked and has not yet made durable
                    // (or one a killed process left so): the caller is about to name this
                    // blob in metadata, so its entry (and a repaired outboard's) must be
                    // durable first. A writer's bytes are fsynced before it links them.
                    sync_dir(dir)?;
                    return Ok(outcome(false));
                }
                true
            }
            // Same id, wrong length: the stored copy is damaged; replace it with ours below.
            Ok(_) => true,
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(e) => return Err(BlobError::io("stat blob", &final_path, e)),
        };
        let new_dir_parents = create_dirs(&self.blobs, dir)?;
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
            match fs::hard_link(&temp.path, &final_path) {
                Ok(()) => true,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    if fs::metadata(&final_path).is_ok_and(|m| m.len() == tree.len) {
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
        sync_dir(dir)?;
        Ok(outcome(created))
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
            temp.sync()?;
            new_dir_parents
                .iter()
                .try_for_each(|parent| sync_dir(parent))
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
        let mut temp = TempFile::create(&self.tmp)?;
        temp.write_all(&outboard.encode())?;
        temp.sync()?;
        temp.rename_to(&self.outboard_path(id))
    }

    /// On dedup, puts back an outboard that went missing or bad (the fresh tree is trusted);
    /// the caller fsyncs the directory.
    fn repair_outboard(&self, id: &BlobId, tree: &TreeHash) -> Result<(), BlobError> {
        if !self.has_outboard(tree.len) {
            return Ok(());
        }
        let path = self.outboard_path(id);
        let intact =
            fs::read(&path).is_ok_and(|bytes| Outboard::decode_checked(&bytes, id).is_ok());
        if intact {
            Ok(())
        } else {
            self.write_outboard(id, tree)
        }
    }
}
