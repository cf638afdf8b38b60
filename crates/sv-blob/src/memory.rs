//! `MemoryBlobStore`: blobs in a `HashMap` behind a lock, for tests.

use std::collections::HashMap;
use std::io::{self, Read};
use std::ops::Range;
use std::sync::{Arc, RwLock};

use crate::{BlobError, BlobId, BlobReader, BlobStore, PutOutcome, check_range};

/// An in-memory blob store for tests; holds whole blobs in memory.
#[derive(Debug, Default, Clone)]
pub struct MemoryBlobStore {
    blobs: Arc<RwLock<HashMap<BlobId, Arc<[u8]>>>>,
}

impl MemoryBlobStore {
    pub fn new() -> MemoryBlobStore {
        MemoryBlobStore::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<BlobId, Arc<[u8]>>> {
        // A panic while holding the lock cannot leave the map half-updated (single inserts).
        self.blobs.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<BlobId, Arc<[u8]>>> {
        self.blobs.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// Reads a sub-slice of a shared blob without copying it.
struct SliceReader {
    bytes: Arc<[u8]>,
    pos: usize,
    end: usize,
}

impl Read for SliceReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.end - self.pos);
        buf[..n].copy_from_slice(&self.bytes[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl BlobStore for MemoryBlobStore {
    fn put(&self, reader: &mut dyn Read) -> Result<PutOutcome, BlobError> {
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes).map_err(BlobError::Source)?;
        self.put_bytes(&bytes)
    }

    fn put_bytes(&self, bytes: &[u8]) -> Result<PutOutcome, BlobError> {
        let id = BlobId::of(bytes);
        let len = bytes.len() as u64;
        let mut map = self.write();
        let created = !map.contains_key(&id);
        if created {
            map.insert(id, Arc::from(bytes));
        }
        Ok(PutOutcome { id, len, created })
    }

    fn get(&self, id: &BlobId, range: Option<Range<u64>>) -> Result<BlobReader, BlobError> {
        let bytes = self
            .read()
            .get(id)
            .cloned()
            .ok_or(BlobError::NotFound(*id))?;
        let range = check_range(range, bytes.len() as u64)?;
        Ok(Box::new(SliceReader {
            bytes,
            pos: range.start as usize,
            end: range.end as usize,
        }))
    }

    fn len(&self, id: &BlobId) -> Result<Option<u64>, BlobError> {
        Ok(self.read().get(id).map(|b| b.len() as u64))
    }

    fn verify(&self, id: &BlobId) -> Result<(), BlobError> {
        let bytes = self
            .read()
            .get(id)
            .cloned()
            .ok_or(BlobError::NotFound(*id))?;
        if BlobId::of(&bytes) != *id {
            return Err(BlobError::Corrupt {
                id: *id,
                kind: crate::CorruptKind::ContentMismatch,
            });
        }
        Ok(())
    }

    fn list(&self) -> Result<Vec<BlobId>, BlobError> {
        let mut ids: Vec<BlobId> = self.read().keys().copied().collect();
        ids.sort();
        Ok(ids)
    }

    fn delete(&self, id: &BlobId) -> Result<bool, BlobError> {
        Ok(self.write().remove(id).is_some())
    }
}
