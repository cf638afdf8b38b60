//! Streaming put: hash while the bytes go up, then publish them under their id.
//!
//! A source that ends within one part ([`PART_LEN`]) is held in memory (as a multipart upload
//! would hold its part anyway) and PUT once to its final key. A longer one streams as a
//! multipart upload to `tmp/<random>`, [`PARTS_IN_FLIGHT`] parts at a time, and is copied to
//! its final key once its id is known (Garage links the same data blocks: no second upload).
//! Either way the final key is looked at first (HEAD): a blob stored already, at the right
//! length, is not written again.

use std::io::{self, Read};

use bytes::Bytes;
use object_store::path::Path;
use object_store::{ObjectStoreExt as _, WriteMultipart};
use sv_blob::tree::{GroupHasher, TreeHash};
use sv_blob::{BlobError, BlobId, PutOutcome};

use crate::Inner;
use sv_blob::Outboard;

/// Bytes per multipart part (S3 wants at least 5 MiB for all but the last); also the most a
/// put holds in memory before it starts a multipart upload.
pub(crate) const PART_LEN: usize = 8 << 20;
/// Parts uploading at once: a big put holds at most this many parts and the one filling.
const PARTS_IN_FLIGHT: usize = 2;
/// Bytes read from the source per step once the upload is multipart.
const READ_BUF_LEN: usize = 256 * 1024;

impl Inner {
    pub(crate) fn put_stream(&self, reader: &mut dyn Read) -> Result<PutOutcome, BlobError> {
        let mut first = Vec::new();
        reader
            .take(PART_LEN as u64)
            .read_to_end(&mut first)
            .map_err(BlobError::Source)?;
        let mut hasher = GroupHasher::new();
        hasher.update(&first);
        if first.len() < PART_LEN {
            let tree = hasher.finalize();
            return self.publish(&tree, Upload::Whole(Bytes::from(first)));
        }
        let tmp = self.tmp.clone().join(random_name()?);
        let tree = self.upload_parts(&tmp, reader, hasher, first)?;
        let published = self.publish(&tree, Upload::Temp(&tmp));
        // A temp object left by a failed delete costs space, not correctness: the `tmp/`
        // lifecycle rule collects it, so it does not fail a put that published.
        let _ = self.delete_key(&tmp);
        published
    }

    /// Streams `first` and the rest of `reader` to a multipart upload at `tmp`, hashing.
    fn upload_parts(
        &self,
        tmp: &Path,
        reader: &mut dyn Read,
        mut hasher: GroupHasher,
        first: Vec<u8>,
    ) -> Result<TreeHash, BlobError> {
        let upload = self
            .rt
            .block_on(self.store.put_multipart(tmp))
            .map_err(|e| self.error("start multipart upload", tmp, e))?;
        let mut parts = WriteMultipart::new_with_chunk_size(upload, PART_LEN);
        {
            let _runtime = self.rt.enter(); // parts upload as tasks on the runtime
            parts.put(Bytes::from(first));
        }
        let mut buf = vec![0u8; READ_BUF_LEN];
        let streamed = loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => break Err(BlobError::Source(e)),
            };
            hasher.update(&buf[..n]);
            if let Err(e) = self.rt.block_on(parts.wait_for_capacity(PARTS_IN_FLIGHT)) {
                break Err(self.error("upload part of", tmp, e));
            }
            let _runtime = self.rt.enter();
            parts.write(&buf[..n]);
        };
        if let Err(e) = streamed {
            // Best effort: an upload S3 did not abort is collected by the lifecycle rule.
            let _ = self.rt.block_on(parts.abort());
            return Err(e);
        }
        // On failure `finish` aborts the upload itself.
        self.rt
            .block_on(parts.finish())
            .map_err(|e| self.error("complete multipart upload", tmp, e))?;
        Ok(hasher.finalize())
    }

    /// Makes the hashed bytes visible at their final key, unless they are there already.
    fn publish(&self, tree: &TreeHash, upload: Upload<'_>) -> Result<PutOutcome, BlobError> {
        let id = BlobId::from(tree.root);
        let outcome = |created| PutOutcome {
            id,
            len: tree.len,
            created,
        };
        let key = self.blob_key(&id);
        // Same id and length: stored already (dedup). A wrong length is a damaged copy, which
        // the bytes just received, which do hash to the id, replace.
        if self.head("stat blob", &key)? == Some(tree.len) {
            self.repair_outboard(&id, tree)?;
            return Ok(outcome(false));
        }
        // The outboard first: a visible blob never lacks it (a crash in between leaves an
        // outboard without a blob, which the next put of these bytes overwrites).
        if self.has_outboard(tree.len) {
            self.write_outboard(&id, tree)?;
        }
        match upload {
            Upload::Whole(bytes) => {
                self.rt
                    .block_on(self.store.put(&key, bytes.into()))
                    .map_err(|e| self.error("write blob", &key, e))?;
            }
            Upload::Temp(tmp) => {
                self.rt
                    .block_on(self.store.copy(tmp, &key))
                    .map_err(|e| self.error("copy upload to", &key, e))?;
            }
        }
        Ok(outcome(true))
    }

    pub(crate) fn write_outboard(&self, id: &BlobId, tree: &TreeHash) -> Result<(), BlobError> {
        let key = self.outboard_key(id);
        let outboard = Outboard {
            len: tree.len,
            cvs: tree.cvs.clone(),
        };
        self.rt
            .block_on(self.store.put(&key, outboard.encode().into()))
            .map_err(|e| self.error("write outboard", &key, e))?;
        Ok(())
    }

    /// On dedup, puts back an outboard that went missing or bad (the fresh tree is trusted).
    fn repair_outboard(&self, id: &BlobId, tree: &TreeHash) -> Result<(), BlobError> {
        if !self.has_outboard(tree.len) {
            return Ok(());
        }
        let key = self.outboard_key(id);
        let intact = self
            .get_bytes("read outboard", &key)?
            .is_some_and(|bytes| Outboard::decode_checked(&bytes, id).is_ok());
        if intact {
            Ok(())
        } else {
            self.write_outboard(id, tree)
        }
    }
}

/// Where the bytes of a put are.
enum Upload<'a> {
    /// In memory, for one PUT.
    Whole(Bytes),
    /// Uploaded to this temp key.
    Temp(&'a Path),
}

/// 32 random hex digits: a temp key no other put uses.
fn random_name() -> Result<String, BlobError> {
    let mut random = [0u8; 16];
    getrandom::fill(&mut random).map_err(|e| BlobError::Io {
        op: "draw a random temp name",
        path: "tmp".into(),
        source: io::Error::other(e.to_string()),
    })?;
    Ok(random.iter().map(|b| format!("{b:02x}")).collect())
}
