//! Verified reads: whole small blobs hashed up front, larger ones group by group via the outboard.

use std::fs::{self, File};
use std::io::{self, Cursor, Read, Seek, SeekFrom};
use std::ops::Range;

use blake3::hazmat::ChainingValue;

use super::LocalBlobStore;
use crate::outboard::Outboard;
use crate::tree::{GROUP_LEN, GroupHasher, group_cv};
use crate::{BlobError, BlobId, BlobReader, CorruptKind, check_range};

const VERIFY_BUF_LEN: usize = 256 * 1024;

impl LocalBlobStore {
    pub(super) fn open_verified(
        &self,
        id: &BlobId,
        range: Option<Range<u64>>,
    ) -> Result<BlobReader, BlobError> {
        let (mut file, file_len) = self.open_blob(id)?;
        let corrupt = |kind| BlobError::Corrupt { id: *id, kind };
        if file_len <= GROUP_LEN {
            // One group or less: hash it all before handing out a single byte.
            let mut bytes = Vec::with_capacity(file_len as usize);
            let path = self.blob_path(id);
            file.read_to_end(&mut bytes)
                .map_err(|e| BlobError::io("read blob", &path, e))?;
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
            file_pos: 0,
            cvs: outboard.cvs,
            len: outboard.len,
            pos: range.start,
            end: range.end,
            group: Vec::with_capacity(GROUP_LEN as usize),
            group_start: 0,
            failed: None,
        }))
    }

    pub(super) fn verify_blob(&self, id: &BlobId) -> Result<(), BlobError> {
        let (mut file, _) = self.open_blob(id)?;
        let path = self.blob_path(id);
        let mut hasher = GroupHasher::new();
        let mut buf = vec![0u8; VERIFY_BUF_LEN];
        loop {
            match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => hasher.update(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(BlobError::io("read blob", &path, e)),
            }
        }
        let tree = hasher.finalize();
        let corrupt = |kind| BlobError::Corrupt { id: *id, kind };
        if BlobId::from(tree.root) != *id {
            return Err(corrupt(CorruptKind::ContentMismatch));
        }
        if !tree.cvs.is_empty() {
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

    fn open_blob(&self, id: &BlobId) -> Result<(File, u64), BlobError> {
        let path = self.blob_path(id);
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(BlobError::NotFound(*id)),
            Err(e) => return Err(BlobError::io("open blob", &path, e)),
        };
        let len = file
            .metadata()
            .map_err(|e| BlobError::io("stat blob", &path, e))?
            .len();
        Ok((file, len))
    }

    fn load_outboard(&self, id: &BlobId) -> Result<Outboard, BlobError> {
        let path = self.outboard_path(id);
        let corrupt = |kind| BlobError::Corrupt { id: *id, kind };
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(corrupt(CorruptKind::OutboardMissing));
            }
            Err(e) => return Err(BlobError::io("read outboard", &path, e)),
        };
        Outboard::decode_checked(&bytes, id).map_err(corrupt)
    }
}

/// Streams `pos..end` of a multi-group blob, verifying each group before releasing its bytes.
struct GroupReader {
    id: BlobId,
    file: File,
    file_pos: u64,
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

impl GroupReader {
    fn corrupt(&mut self, kind: CorruptKind) -> io::Error {
        self.failed = Some(kind.clone());
        BlobError::Corrupt { id: self.id, kind }.into_io()
    }

    fn load_group(&mut self, index: u64) -> io::Result<()> {
        let start = index * GROUP_LEN;
        let group_len = (self.len - start).min(GROUP_LEN) as usize;
        if self.file_pos != start {
            self.file.seek(SeekFrom::Start(start))?;
        }
        self.group.clear();
        self.group.resize(group_len, 0);
        self.group_start = start;
        if let Err(e) = self.file.read_exact(&mut self.group) {
            self.group.clear();
            self.file_pos = u64::MAX;
            return Err(if e.kind() == io::ErrorKind::UnexpectedEof {
                let found = self.file.metadata().map(|m| m.len()).unwrap_or(0);
                self.corrupt(CorruptKind::LengthMismatch {
                    expected: self.len,
                    found,
                })
            } else {
                e
            });
        }
        self.file_pos = start + group_len as u64;
        if group_cv(start, &self.group) != self.cvs[index as usize] {
            self.group.clear();
            let end = start + group_len as u64;
            return Err(self.corrupt(CorruptKind::GroupMismatch { start, end }));
        }
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
