//! Preview bytes kept in memory, by blob id, once read and verified.
//!
//! Blobs are content-addressed (`BlobId` is the blake3 of the bytes) and the blob store hands
//! out only bytes it has verified against their id, so bytes remembered under an id are never
//! stale: whatever metadata names that id names exactly these bytes. A preview request whose
//! bytes are here is answered without touching the disk or a blocking thread.
//!
//! Bounded by total bytes ([`PREVIEW_CACHE_BYTES`]); a preview bigger than a sixteenth of that
//! is read every time rather than push out dozens of others. Eviction is CLOCK (FIFO with a
//! second chance for entries read since they were last passed), so the previews of the study
//! being looked at stay while a scroll through another series streams past.

use std::collections::{HashMap, VecDeque};
use std::io::Read;
use std::sync::{Arc, Mutex, MutexGuard};

use sv_blob::{BlobError, BlobId};

use crate::{Vault, VaultError};

/// How many bytes of previews are kept in memory (previews are about 50 KB: some 650 of them).
pub const PREVIEW_CACHE_BYTES: usize = 32 << 20;

/// Verified preview bytes by blob id, at most `capacity` bytes in all.
pub(crate) struct PreviewBytes {
    capacity: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The bytes, and whether they were read since the clock hand last passed them.
    entries: HashMap<BlobId, (Arc<[u8]>, bool)>,
    /// The clock: ids in the order they will be considered for eviction.
    order: VecDeque<BlobId>,
    bytes: usize,
}

impl Default for PreviewBytes {
    fn default() -> Self {
        PreviewBytes::with_capacity(PREVIEW_CACHE_BYTES)
    }
}

impl PreviewBytes {
    fn with_capacity(capacity: usize) -> PreviewBytes {
        PreviewBytes {
            capacity,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get(&self, id: &BlobId) -> Option<Arc<[u8]>> {
        let mut state = self.lock();
        let (bytes, referenced) = state.entries.get_mut(id)?;
        *referenced = true;
        Some(bytes.clone())
    }

    /// Keeps `bytes`, which the caller verified are the blob `id`.
    fn put(&self, id: BlobId, bytes: Arc<[u8]>) {
        if bytes.len() > self.capacity / 16 {
            return;
        }
        let mut state = self.lock();
        if state.entries.contains_key(&id) {
            return;
        }
        while state.bytes + bytes.len() > self.capacity {
            let Some(oldest) = state.order.pop_front() else {
                break;
            };
            let Some((old, referenced)) = state.entries.get_mut(&oldest) else {
                continue;
            };
            if *referenced {
                *referenced = false;
                state.order.push_back(oldest);
            } else {
                let len = old.len();
                state.entries.remove(&oldest);
                state.bytes -= len;
            }
        }
        state.bytes += bytes.len();
        state.order.push_back(id);
        state.entries.insert(id, (bytes, false));
    }
}

impl std::fmt::Debug for PreviewBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("PreviewBytes")
            .field("entries", &state.entries.len())
            .field("bytes", &state.bytes)
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl Vault {
    /// The bytes of preview blob `id` if they are in memory (never blocks).
    pub fn cached_preview(&self, id: &BlobId) -> Option<Arc<[u8]>> {
        self.inner.previews.get(id)
    }

    /// Reads preview blob `id` whole, verified against its id, and keeps it in memory for
    /// [`Vault::cached_preview`] (blocking: file IO). `length` is the expected size, a hint.
    pub fn read_preview_blocking(&self, id: &BlobId, length: u64) -> Result<Arc<[u8]>, VaultError> {
        let mut bytes = Vec::with_capacity(usize::try_from(length).unwrap_or(0));
        self.inner
            .blobs
            .get(id, None)?
            .read_to_end(&mut bytes)
            .map_err(BlobError::Source)?;
        let bytes: Arc<[u8]> = bytes.into();
        self.inner.previews.put(*id, bytes.clone());
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(n: u8, len: usize) -> (BlobId, Arc<[u8]>) {
        let bytes = vec![n; len];
        (BlobId::of(&bytes), bytes.into())
    }

    #[test]
    fn bytes_are_kept_within_the_capacity() {
        let cache = PreviewBytes::with_capacity(1600);
        let blobs: Vec<_> = (0..20).map(|n| blob(n, 100)).collect();
        for (id, bytes) in &blobs {
            cache.put(*id, bytes.clone());
        }
        let kept: Vec<bool> = blobs
            .iter()
            .map(|(id, _)| cache.get(id).is_some())
            .collect();
        assert_eq!(kept[..4], [false; 4], "oldest out first");
        assert_eq!(kept[4..], [true; 16]);
        assert_eq!(cache.lock().bytes, 1600);
        let (id, bytes) = &blobs[19];
        assert_eq!(cache.get(id).as_deref(), Some(&bytes[..]));
    }

    #[test]
    fn read_entries_get_a_second_chance() {
        let cache = PreviewBytes::with_capacity(1600);
        let blobs: Vec<_> = (0..17).map(|n| blob(n, 100)).collect();
        for (id, bytes) in &blobs[..16] {
            cache.put(*id, bytes.clone());
        }
        assert!(cache.get(&blobs[0].0).is_some());
        cache.put(blobs[16].0, blobs[16].1.clone());
        assert!(cache.get(&blobs[0].0).is_some(), "read since it was put");
        assert!(cache.get(&blobs[1].0).is_none(), "never read: evicted");
        assert!(cache.get(&blobs[16].0).is_some());
        assert_eq!(cache.lock().bytes, 1600);
    }

    #[test]
    fn a_preview_read_once_is_then_served_from_memory() {
        let dir = tempfile::tempdir().unwrap();
        let vault = Vault::open(dir.path(), crate::VaultConfig::default()).unwrap();
        let bytes = b"not really a jpeg, but bytes all the same".repeat(100);
        let id = vault.inner.blobs.put_bytes(&bytes).unwrap().id;
        assert!(vault.cached_preview(&id).is_none(), "not read yet");
        let read = vault
            .read_preview_blocking(&id, bytes.len() as u64)
            .unwrap();
        assert_eq!(&read[..], &bytes[..]);
        let cached = vault.cached_preview(&id).unwrap();
        assert!(
            Arc::ptr_eq(&read, &cached),
            "the same allocation, not a copy"
        );

        let absent = BlobId::of(b"never stored");
        assert!(matches!(
            vault.read_preview_blocking(&absent, 12),
            Err(VaultError::Blob(BlobError::NotFound(_)))
        ));
        assert!(vault.cached_preview(&absent).is_none());
    }

    #[test]
    fn big_previews_are_not_kept() {
        let cache = PreviewBytes::with_capacity(1600);
        let (small, small_bytes) = blob(1, 100);
        let (big, big_bytes) = blob(2, 101);
        cache.put(small, small_bytes);
        cache.put(big, big_bytes);
        assert!(cache.get(&small).is_some());
        assert!(
            cache.get(&big).is_none(),
            "over a sixteenth of the capacity"
        );
    }
}
