//! Verified reads: small blobs hashed whole before the first byte, bigger ones streamed and
//! verified group by group against their outboard, as sv-blob's local store reads.

use std::io::{self, Cursor, Read};
use std::ops::Range;
use std::sync::Arc;

use blake3::hazmat::ChainingValue;
use bytes::Bytes;
use futures_util::StreamExt as _;
use futures_util::stream::BoxStream;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStoreExt as _};
use sv_blob::tree::{GROUP_LEN, GroupHasher, TreeHash, group_cv};
use sv_blob::{BlobError, BlobId, BlobReader, CorruptKind};

use crate::Inner;
use sv_blob::Outboard;
use sv_blob::check_range;

/// Times one read re-requests the rest of its range after the connection failed mid-body.
const MAX_RESUMES: u32 = 3;

impl Inner {
    pub(crate) fn open_verified(
        self: &Arc<Self>,
        id: &BlobId,
        range: Option<Range<u64>>,
    ) -> Result<BlobReader, BlobError> {
        let key = self.blob_key(id);
        let corrupt = |kind| BlobError::Corrupt { id: *id, kind };
        // The length first, so a bad range is a typed error and not the server's 416.
        let len = self
            .head("stat blob", &key)?
            .ok_or(BlobError::NotFound(*id))?;
        if !self.has_outboard(len) {
            check_range(range.clone(), len)?;
            let bytes = self
                .get_bytes("read blob", &key)?
                .ok_or(BlobError::NotFound(*id))?;
            // Small enough to hash whole before handing out a single byte.
            if BlobId::of(&bytes) != *id {
                return Err(corrupt(CorruptKind::ContentMismatch));
            }
            // The bytes hash to the id, so they are the blob, whatever the HEAD saw.
            let range = check_range(range, bytes.len() as u64)?;
            return Ok(Box::new(Cursor::new(
                bytes.slice(range.start as usize..range.end as usize),
            )));
        }
        let outboard = self.load_outboard(id)?;
        if outboard.len != len {
            return Err(corrupt(CorruptKind::LengthMismatch {
                expected: outboard.len,
                found: len,
            }));
        }
        let range = check_range(range, len)?;
        Ok(Box::new(GroupReader {
            inner: Arc::clone(self),
            id: *id,
            key,
            cvs: outboard.cvs,
            len,
            pos: range.start,
            end: range.end,
            stream: None,
            stream_pos: 0,
            pending: Bytes::new(),
            group: Vec::with_capacity(GROUP_LEN as usize),
            group_start: 0,
            failed: None,
            resumes: 0,
        }))
    }

    pub(crate) fn verify_blob(&self, id: &BlobId) -> Result<(), BlobError> {
        let corrupt = |kind| BlobError::Corrupt { id: *id, kind };
        let tree = self.hash_blob(id)?;
        if BlobId::from(tree.root) != *id {
            return Err(corrupt(CorruptKind::ContentMismatch));
        }
        if !self.has_outboard(tree.len) {
            return Ok(());
        }
        // The content is right; the outboard must be too, or ranged reads would fail. A
        // missing one is written from the tree just verified; a bad one is reported (a read
        // would rebuild it).
        let key = self.outboard_key(id);
        match self.get_bytes("read outboard", &key)? {
            None => self.write_outboard(id, &tree),
            Some(bytes) => match Outboard::decode_checked(&bytes, id) {
                Ok(outboard) if outboard.cvs == tree.cvs => Ok(()),
                Ok(_) => Err(corrupt(CorruptKind::OutboardInvalid(
                    "differs from the content",
                ))),
                Err(kind) => Err(corrupt(kind)),
            },
        }
    }

    /// The whole object at `key`, or `None` when there is none.
    pub(crate) fn get_bytes(
        &self,
        op: &'static str,
        key: &Path,
    ) -> Result<Option<Bytes>, BlobError> {
        let got = self.rt.block_on(async {
            let got = self.store.get(key).await?;
            got.bytes().await
        });
        match got {
            Ok(bytes) => Ok(Some(bytes)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error(op, key, e)),
        }
    }

    /// The outboard of a big blob; a missing or bad one is rebuilt from the blob, hashed whole
    /// and checked against its id.
    fn load_outboard(&self, id: &BlobId) -> Result<Outboard, BlobError> {
        let key = self.outboard_key(id);
        if let Some(bytes) = self.get_bytes("read outboard", &key)?
            && let Ok(outboard) = Outboard::decode_checked(&bytes, id)
        {
            return Ok(outboard);
        }
        let tree = self.hash_blob(id)?;
        if BlobId::from(tree.root) != *id {
            return Err(BlobError::Corrupt {
                id: *id,
                kind: CorruptKind::ContentMismatch,
            });
        }
        if self.has_outboard(tree.len) {
            self.write_outboard(id, &tree)?;
        }
        Ok(Outboard {
            len: tree.len,
            cvs: tree.cvs,
        })
    }

    /// The group tree of the stored blob, streamed.
    fn hash_blob(&self, id: &BlobId) -> Result<TreeHash, BlobError> {
        let key = self.blob_key(id);
        let hashed = self.rt.block_on(async {
            let mut body = self.store.get(&key).await?.into_stream();
            let mut hasher = GroupHasher::new();
            while let Some(chunk) = body.next().await {
                hasher.update(&chunk?);
            }
            Ok(hasher.finalize())
        });
        match hashed {
            Ok(tree) => Ok(tree),
            Err(object_store::Error::NotFound { .. }) => Err(BlobError::NotFound(*id)),
            Err(e) => Err(self.error("read blob", &key, e)),
        }
    }
}

/// Streams `pos..end` of a multi-group blob, verifying each group before releasing its bytes.
struct GroupReader {
    inner: Arc<Inner>,
    id: BlobId,
    key: Path,
    cvs: Vec<ChainingValue>,
    len: u64,
    pos: u64,
    end: u64,
    /// The body of a ranged GET; its next byte is at `stream_pos`, after `pending`'s.
    stream: Option<BoxStream<'static, object_store::Result<Bytes>>>,
    stream_pos: u64,
    pending: Bytes,
    /// The verified group that starts at `group_start` (empty before the first load).
    group: Vec<u8>,
    group_start: u64,
    /// Once verification failed, every later read fails the same way.
    failed: Option<CorruptKind>,
    resumes: u32,
}

impl GroupReader {
    fn corrupt(&mut self, kind: CorruptKind) -> io::Error {
        self.failed = Some(kind.clone());
        BlobError::Corrupt { id: self.id, kind }.into_io()
    }

    /// Requests the blob from `start` (a group start) to the end of the group holding the
    /// last byte of the range.
    fn open_stream(&mut self, start: u64) -> io::Result<()> {
        let end = self
            .end
            .div_ceil(GROUP_LEN)
            .saturating_mul(GROUP_LEN)
            .min(self.len);
        let options = GetOptions::new().with_range(Some(GetRange::Bounded(start..end)));
        let inner = &self.inner;
        match inner.rt.block_on(inner.store.get_opts(&self.key, options)) {
            Ok(got) => {
                self.stream = Some(got.into_stream());
                self.stream_pos = start;
                self.pending = Bytes::new();
                Ok(())
            }
            Err(object_store::Error::NotFound { .. }) => {
                Err(BlobError::NotFound(self.id).into_io())
            }
            Err(e) => Err(inner.error("read blob", &self.key, e).into_io()),
        }
    }

    /// The next piece of the body: `None` at its end.
    fn next_chunk(&mut self) -> io::Result<Option<Bytes>> {
        let stream = self.stream.as_mut().expect("a stream is open");
        match self.inner.rt.block_on(stream.next()) {
            None => Ok(None),
            Some(Ok(bytes)) => Ok(Some(bytes)),
            Some(Err(e)) => Err(self.inner.error("read blob", &self.key, e).into_io()),
        }
    }

    /// Loads group `index` into `group` and verifies it. On failure `group` is left empty, so
    /// unverified bytes never reach the caller.
    fn load_group(&mut self, index: u64) -> io::Result<()> {
        let start = index * GROUP_LEN;
        let group_len = (self.len - start).min(GROUP_LEN) as usize;
        self.group.clear();
        if self.stream.is_none() || self.stream_pos - self.pending.len() as u64 != start {
            self.open_stream(start)?;
        }
        while self.group.len() < group_len {
            if self.pending.is_empty() {
                match self.next_chunk() {
                    Ok(Some(bytes)) => {
                        self.stream_pos += bytes.len() as u64;
                        self.pending = bytes;
                    }
                    Ok(None) => {
                        self.stream = None;
                        let found = start + self.group.len() as u64;
                        self.group.clear();
                        return Err(self.corrupt(CorruptKind::LengthMismatch {
                            expected: self.len,
                            found,
                        }));
                    }
                    Err(e) => {
                        // The connection failed mid-body: ask again for the rest, a few times.
                        self.group.clear();
                        self.stream = None;
                        if self.resumes == MAX_RESUMES {
                            return Err(e);
                        }
                        self.resumes += 1;
                        self.open_stream(start)?;
                    }
                }
                continue;
            }
            let take = self.pending.len().min(group_len - self.group.len());
            self.group.extend_from_slice(&self.pending[..take]);
            self.pending = self.pending.slice(take..);
        }
        if group_cv(start, &self.group) != self.cvs[index as usize] {
            self.group.clear();
            return Err(self.corrupt(CorruptKind::GroupMismatch {
                start,
                end: start + group_len as u64,
            }));
        }
        self.group_start = start;
        Ok(())
    }
}

impl Read for GroupReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(kind) = &self.failed {
            let kind = kind.clone();
            return Err(self.corrupt(kind));
        }
        if self.pos >= self.end || buf.is_empty() {
            return Ok(0);
        }
        let loaded = self.group_start..self.group_start + self.group.len() as u64;
        if !loaded.contains(&self.pos) {
            self.load_group(self.pos / GROUP_LEN)?;
        }
        let at = (self.pos - self.group_start) as usize;
        let available = (self.group.len() - at).min((self.end - self.pos) as usize);
        let n = available.min(buf.len());
        buf[..n].copy_from_slice(&self.group[at..at + n]);
        self.pos += n as u64;
        Ok(n)
    }
}
