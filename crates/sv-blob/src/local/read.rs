//! Verified reads: segment records and small files hashed whole up front, larger files group by
//! group via the outboard.

use std::io::{self, Cursor, Read};
use std::ops::Range;

use blake3::hazmat::ChainingValue;

use super::LocalBlobStore;
use super::durable::sync_dir;
use super::fs::{FileRef, Site, read_exact_at};
use super::segment::Found;
use crate::outboard::Outboard;
use crate::tree::{GROUP_LEN, GroupHasher, TreeHash, group_cv};
use crate::{BlobError, BlobId, BlobReader, CorruptKind, check_range};

const VERIFY_BUF_LEN: usize = 256 * 1024;

impl LocalBlobStore {
    pub(super) fn open_verified(
        &self,
        id: &BlobId,
        range: Option<Range<u64>>,
    ) -> Result<BlobReader, BlobError> {
        if let Some(found) = self.log.lookup(id) {
            let mut bytes = self.read_record(id, &found)?;
            let range = check_range(range, bytes.len() as u64)?;
            bytes.truncate(range.end as usize);
            let mut cursor = Cursor::new(bytes);
            cursor.set_position(range.start);
            return Ok(Box::new(cursor));
        }
        let (file, file_len) = self.open_blob(id)?;
        let corrupt = |kind| BlobError::Corrupt { id: *id, kind };
        if !self.has_outboard(file_len) {
            // Small enough to hash whole before handing out a single byte.
            let mut bytes = Vec::with_capacity(file_len as usize);
            let path = self.blob_path(id);
            let mut buf = vec![0u8; VERIFY_BUF_LEN.min(file_len as usize + 1)];
            loop {
                match file.read_at(&mut buf, bytes.len() as u64) {
                    Ok(0) => break,
                    Ok(n) => bytes.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(BlobError::io("read blob", &path, e)),
                }
            }
            if BlobId::of(&bytes) != *id {
                return Err(corrupt(CorruptKind::ContentMismatch));
            }
            let range = check_range(range, bytes.len() as u64)?;
            bytes.truncate(range.end as usize);
            let mut cursor = Cursor::new(bytes);
            cursor.set_position(range.start);
            return Ok(Box::new(cursor));
        }
        let outboard = self.load_outboard(id)?;
        if outboard.len != file_len {
            return Err(corrupt(CorruptKind::LengthMismatch {
                expected: outboard.len,
                found: file_len,
            }));
        }
        let range = check_range(range, outboard.len)?;
        Ok(Box::new(GroupReader {
            id: *id,
            file,
            cvs: outboard.cvs,
            len: outboard.len,
            pos: range.start,
            end: range.end,
            group: Vec::with_capacity(GROUP_LEN as usize),
            group_start: 0,
            failed: None,
        }))
    }

    /// The payload of a segment record, hashed whole against `id` before it is returned.
    pub(super) fn read_record(&self, id: &BlobId, found: &Found) -> Result<Vec<u8>, BlobError> {
        let corrupt = |kind| BlobError::Corrupt { id: *id, kind };
        let mut bytes = vec![0u8; found.loc.len as usize];
        match read_exact_at(&*found.file, &mut bytes, found.loc.payload_offset()) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                let file_len = found.file.len().unwrap_or(0);
                return Err(corrupt(CorruptKind::LengthMismatch {
                    expected: found.loc.len,
                    found: file_len.saturating_sub(found.loc.payload_offset()),
                }));
            }
            Err(e) => return Err(BlobError::io("read segment", &found.path, e)),
        }
        if BlobId::of(&bytes) != *id {
            return Err(corrupt(CorruptKind::ContentMismatch));
        }
        Ok(bytes)
    }

    pub(super) fn verify_blob(&self, id: &BlobId) -> Result<(), BlobError> {
        if let Some(found) = self.log.lookup(id) {
            return self.read_record(id, &found).map(drop);
        }
        let tree = self.hash_file(id)?;
        let corrupt = |kind| BlobError::Corrupt { id: *id, kind };
        if BlobId::from(tree.root) != *id {
            return Err(corrupt(CorruptKind::ContentMismatch));
        }
        if self.has_outboard(tree.len) {
            // The content is right; the outboard must be too, or ranged reads would fail.
            let outboard = self.load_outboard(id)?;
            if outboard.cvs != tree.cvs {
                return Err(corrupt(CorruptKind::OutboardInvalid(
                    "differs from the content",
                )));
            }
        }
        Ok(())
    }

    fn open_blob(&self, id: &BlobId) -> Result<(FileRef, u64), BlobError> {
        let path = self.blob_path(id);
        let file = match self.fs.open(&path, super::fs::Open::Read) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(BlobError::NotFound(*id)),
            Err(e) => return Err(BlobError::io("open blob", &path, e)),
        };
        let len = file
            .len()
            .map_err(|e| BlobError::io("stat blob", &path, e))?;
        Ok((file, len))
    }

    fn load_outboard(&self, id: &BlobId) -> Result<Outboard, BlobError> {
        let path = self.outboard_path(id);
        let corrupt = |kind| BlobError::Corrupt { id: *id, kind };
        let bytes = match self.fs.read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return self.rebuild_outboard(id),
            Err(e) => return Err(BlobError::io("read outboard", &path, e)),
        };
        Outboard::decode_checked(&bytes, id).map_err(corrupt)
    }

    /// A blob whose outboard's directory entry did not survive a crash: hash the blob whole;
    /// only if it matches its id is the outboard written again (durably) and used.
    fn rebuild_outboard(&self, id: &BlobId) -> Result<Outboard, BlobError> {
        let tree = self.hash_file(id)?;
        if BlobId::from(tree.root) != *id {
            return Err(BlobError::Corrupt {
                id: *id,
                kind: CorruptKind::ContentMismatch,
            });
        }
        self.write_outboard(id, &tree)?;
        let path = self.outboard_path(id);
        let dir = path.parent().expect("outboard path has a parent");
        sync_dir(&*self.fs, &self.counts, dir, Site::OutboardRebuildDir)?;
        Ok(Outboard {
            len: tree.len,
            cvs: tree.cvs,
        })
    }

    /// The group tree of the stored file, read in big steps.
    pub(super) fn hash_file(&self, id: &BlobId) -> Result<TreeHash, BlobError> {
        let (file, _) = self.open_blob(id)?;
        let path = self.blob_path(id);
        let mut hasher = GroupHasher::new();
        let mut buf = vec![0u8; VERIFY_BUF_LEN];
        let mut pos = 0;
        loop {
            match file.read_at(&mut buf, pos) {
                Ok(0) => break,
                Ok(n) => {
                    hasher.update(&buf[..n]);
                    pos += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(BlobError::io("read blob", &path, e)),
            }
        }
        Ok(hasher.finalize())
    }
}

/// Streams `pos..end` of a multi-group blob, verifying each group before releasing its bytes.
struct GroupReader {
    id: BlobId,
    file: FileRef,
    cvs: Vec<ChainingValue>,
    len: u64,
    pos: u64,
    end: u64,
    /// The verified group that starts at `group_start` (empty before the first load).
    group: Vec<u8>,
    group_start: u64,
    /// Once verification failed, every later read fails the same way.
    failed: Option<CorruptKind>,
}

/// Most whole groups read straight into the caller's buffer per call.
const MAX_DIRECT_GROUPS: u64 = 16;

impl GroupReader {
    fn corrupt(&mut self, kind: CorruptKind) -> io::Error {
        self.failed = Some(kind.clone());
        BlobError::Corrupt { id: self.id, kind }.into_io()
    }

    fn group_len(&self, index: u64) -> u64 {
        (self.len - index * GROUP_LEN).min(GROUP_LEN)
    }

    /// Reads the whole groups starting at `start` into `dst` and verifies each one. On failure
    /// `dst` is zeroed, so unverified bytes never reach the caller even if it ignores the error.
    fn read_verified(&mut self, start: u64, dst: &mut [u8]) -> io::Result<()> {
        let result = self.read_verified_inner(start, dst);
        if result.is_err() {
            dst.fill(0);
        }
        result
    }

    fn read_verified_inner(&mut self, start: u64, dst: &mut [u8]) -> io::Result<()> {
        if let Err(e) = read_exact_at(&*self.file, dst, start) {
            return Err(if e.kind() == io::ErrorKind::UnexpectedEof {
                let found = self.file.len().unwrap_or(0);
                self.corrupt(CorruptKind::LengthMismatch {
                    expected: self.len,
                    found,
                })
            } else {
                e
            });
        }
        for (i, group) in dst.chunks(GROUP_LEN as usize).enumerate() {
            let group_start = start + i as u64 * GROUP_LEN;
            if group_cv(group_start, group) != self.cvs[(group_start / GROUP_LEN) as usize] {
                let end = group_start + group.len() as u64;
                return Err(self.corrupt(CorruptKind::GroupMismatch {
                    start: group_start,
                    end,
                }));
            }
        }
        Ok(())
    }

    /// Bytes of the whole groups from `pos` (a group start) that fit in `room` and in the range.
    fn direct_len(&self, room: usize) -> usize {
        let mut total = 0u64;
        let mut index = self.pos / GROUP_LEN;
        while index < self.pos / GROUP_LEN + MAX_DIRECT_GROUPS && index * GROUP_LEN < self.len {
            let next = total + self.group_len(index);
            if self.pos + next > self.end || next > room as u64 {
                break;
            }
            total = next;
            index += 1;
        }
        total as usize
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
            if self.pos.is_multiple_of(GROUP_LEN) {
                // Fast path: whole groups go straight into the caller's buffer, no copy.
                let n = self.direct_len(buf.len());
                if n > 0 {
                    self.read_verified(self.pos, &mut buf[..n])?;
                    self.pos += n as u64;
                    return Ok(n);
                }
            }
            let index = self.pos / GROUP_LEN;
            let mut group = std::mem::take(&mut self.group);
            group.clear();
            group.resize(self.group_len(index) as usize, 0);
            let loaded = self.read_verified(index * GROUP_LEN, &mut group);
            self.group_start = index * GROUP_LEN;
            self.group = group;
            if let Err(e) = loaded {
                self.group.clear();
                return Err(e);
            }
        }
        let at = (self.pos - self.group_start) as usize;
        let available = (self.group.len() - at).min((self.end - self.pos) as usize);
        let n = available.min(buf.len());
        buf[..n].copy_from_slice(&self.group[at..at + n]);
        self.pos += n as u64;
        Ok(n)
    }
}
