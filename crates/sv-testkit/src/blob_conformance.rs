//! Conformance suite for `sv_blob::BlobStore` implementations: one `#[test]` per behaviour.
//!
//! ```ignore
//! sv_testkit::blob_store_conformance!(Box::new(sv_blob::MemoryBlobStore::new()));
//! sv_testkit::blob_store_conformance!(sv_testkit::blob_conformance::TempLocalStore::new());
//! ```
//!
//! The argument is evaluated once per test and must deref to a `BlobStore`.

use std::io::{self, Read};
use std::ops::Deref;

use sv_blob::{BlobError, BlobId, BlobStore, LocalBlobStore, LocalOptions, tree::GROUP_LEN};

/// Expands into one `#[test]` per blob store behaviour, each calling a function of this module
/// with a fresh store built by `$make` (an expression that derefs to a `BlobStore`).
#[macro_export]
macro_rules! blob_store_conformance {
    ($make:expr) => {
        $crate::blob_store_conformance!(@tests $make;
            round_trip, dedup_reports_not_created, empty_blob_is_empty_id, ranges_read_slices,
            ranges_across_group_boundaries, bad_ranges_are_not_satisfiable, missing_blob_is_not_found,
            delete_removes, list_returns_stored_ids, reader_error_stores_nothing, big_blob_round_trips,
            put_bytes_matches_put, verify_accepts_intact_blobs);
    };
    (@tests $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let store = $make;
                $crate::blob_conformance::$name(&*store);
            }
        )*
    };
}

/// A `LocalBlobStore` in a temporary directory that is removed on drop.
#[derive(Debug)]
pub struct TempLocalStore {
    store: LocalBlobStore,
    dir: tempfile::TempDir,
}

impl TempLocalStore {
    /// Opens a store in a fresh temporary directory; panics on failure (test helper).
    pub fn new() -> TempLocalStore {
        Self::with_options(LocalOptions::default())
    }

    /// A store whose blobs get outboards from two groups up, so small test blobs exercise
    /// group-by-group verification.
    pub fn with_outboards() -> TempLocalStore {
        Self::with_options(LocalOptions {
            whole_verify_max: GROUP_LEN,
            ..LocalOptions::default()
        })
    }

    /// Opens a store with `options` in a fresh temporary directory.
    pub fn with_options(options: LocalOptions) -> TempLocalStore {
        let dir = tempfile::tempdir().expect("create temp dir");
        let store = LocalBlobStore::open_with(dir.path().join("blobs"), options)
            .expect("open local blob store");
        TempLocalStore { store, dir }
    }

    /// The temporary directory holding the store root.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl Default for TempLocalStore {
    fn default() -> Self {
        Self::new()
    }
}

impl Deref for TempLocalStore {
    type Target = LocalBlobStore;
    fn deref(&self) -> &LocalBlobStore {
        &self.store
    }
}

/// Deterministic, non-repeating test bytes (`seed` varies the content).
pub fn test_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Reads the whole blob or range; panics on any error.
pub fn read_all(
    store: &dyn BlobStore,
    id: &BlobId,
    range: Option<std::ops::Range<u64>>,
) -> Vec<u8> {
    let mut out = Vec::new();
    store
        .get(id, range.clone())
        .unwrap_or_else(|e| panic!("get {id} {range:?}: {e}"))
        .read_to_end(&mut out)
        .unwrap_or_else(|e| panic!("read {id} {range:?}: {e}"));
    out
}

pub fn round_trip(store: &dyn BlobStore) {
    let bytes = test_bytes(10_000, 1);
    let put = store.put(&mut &bytes[..]).unwrap();
    assert_eq!(put.id, BlobId::of(&bytes));
    assert_eq!(put.len, bytes.len() as u64);
    assert!(put.created);
    assert_eq!(read_all(store, &put.id, None), bytes);
    assert_eq!(store.len(&put.id).unwrap(), Some(bytes.len() as u64));
    assert!(store.contains(&put.id).unwrap());
}

pub fn dedup_reports_not_created(store: &dyn BlobStore) {
    for len in [5, 3 * GROUP_LEN as usize + 11] {
        let bytes = test_bytes(len, 2);
        let first = store.put_bytes(&bytes).unwrap();
        let second = store.put(&mut &bytes[..]).unwrap();
        assert!(first.created);
        assert!(!second.created, "len {len}");
        assert_eq!((first.id, first.len), (second.id, second.len));
        assert_eq!(read_all(store, &first.id, None), bytes);
    }
    assert_eq!(store.list().unwrap().len(), 2);
}

pub fn empty_blob_is_empty_id(store: &dyn BlobStore) {
    let put = store.put(&mut io::empty()).unwrap();
    assert_eq!(put.id, BlobId::EMPTY);
    assert_eq!(put.len, 0);
    assert!(read_all(store, &BlobId::EMPTY, None).is_empty());
    assert_eq!(store.len(&BlobId::EMPTY).unwrap(), Some(0));
    assert!(matches!(
        store.get(&BlobId::EMPTY, Some(0..1)),
        Err(BlobError::RangeNotSatisfiable { len: 0 })
    ));
}

pub fn ranges_read_slices(store: &dyn BlobStore) {
    for len in [1000usize, 2 * GROUP_LEN as usize + 333] {
        let bytes = test_bytes(len, 3);
        let id = store.put_bytes(&bytes).unwrap().id;
        let l = len as u64;
        for r in [
            0..1,
            0..10,
            17..400,
            l / 2..l / 2 + 1,
            l - 10..l,
            0..l,
            l - 1..l,
        ] {
            let want = &bytes[r.start as usize..r.end as usize];
            assert_eq!(
                read_all(store, &id, Some(r.clone())),
                want,
                "len {len} range {r:?}"
            );
        }
    }
}

pub fn ranges_across_group_boundaries(store: &dyn BlobStore) {
    let g = GROUP_LEN;
    let bytes = test_bytes(5 * g as usize + 100, 4);
    let id = store.put_bytes(&bytes).unwrap().id;
    let l = bytes.len() as u64;
    for r in [
        g - 1..g + 1,
        g..2 * g,
        g - 5..3 * g + 5,
        4 * g..l,
        4 * g + 99..l,
        1..l - 1,
        2 * g..2 * g + 1,
    ] {
        let want = &bytes[r.start as usize..r.end as usize];
        assert_eq!(read_all(store, &id, Some(r.clone())), want, "range {r:?}");
    }
}

pub fn bad_ranges_are_not_satisfiable(store: &dyn BlobStore) {
    for len in [100usize, 2 * GROUP_LEN as usize + 1] {
        let id = store.put_bytes(&test_bytes(len, 5)).unwrap().id;
        let l = len as u64;
        #[allow(clippy::reversed_empty_ranges)]
        for r in [l..l + 1, 0..l + 1, 5..5, 10..3, l + 10..l + 20] {
            match store.get(&id, Some(r.clone())) {
                Err(BlobError::RangeNotSatisfiable { len: got }) => assert_eq!(got, l),
                Err(e) => panic!("range {r:?}: unexpected error {e}"),
                Ok(_) => panic!("range {r:?} of {l} bytes was accepted"),
            }
        }
    }
}

pub fn missing_blob_is_not_found(store: &dyn BlobStore) {
    let id = BlobId::of(b"never stored");
    assert!(matches!(store.get(&id, None), Err(BlobError::NotFound(got)) if got == id));
    assert!(matches!(
        store.get(&id, Some(0..1)),
        Err(BlobError::NotFound(_))
    ));
    assert!(matches!(store.verify(&id), Err(BlobError::NotFound(_))));
    assert_eq!(store.len(&id).unwrap(), None);
    assert!(!store.contains(&id).unwrap());
    assert!(!store.delete(&id).unwrap());
}

pub fn delete_removes(store: &dyn BlobStore) {
    let small = store.put_bytes(b"to be deleted").unwrap().id;
    let big = store
        .put_bytes(&test_bytes(3 * GROUP_LEN as usize, 6))
        .unwrap()
        .id;
    let keep = store.put_bytes(b"kept").unwrap().id;
    for id in [small, big] {
        assert!(store.delete(&id).unwrap());
        assert!(!store.delete(&id).unwrap());
        assert!(matches!(store.get(&id, None), Err(BlobError::NotFound(_))));
        assert_eq!(store.len(&id).unwrap(), None);
    }
    assert_eq!(store.list().unwrap(), vec![keep]);
    // Stored again after deletion: created anew.
    assert!(store.put_bytes(b"to be deleted").unwrap().created);
}

pub fn list_returns_stored_ids(store: &dyn BlobStore) {
    assert!(store.list().unwrap().is_empty());
    let mut ids: Vec<BlobId> = (0..20)
        .map(|i| {
            store
                .put_bytes(&test_bytes(100 + i * 37, i as u64))
                .unwrap()
                .id
        })
        .collect();
    ids.push(
        store
            .put_bytes(&test_bytes(2 * GROUP_LEN as usize + 1, 99))
            .unwrap()
            .id,
    );
    store.put_bytes(&test_bytes(100, 0)).unwrap();
    ids.sort();
    assert_eq!(store.list().unwrap(), ids);
}

/// Yields `good` bytes, then fails.
struct FailingReader {
    good: Vec<u8>,
    pos: usize,
}

impl Read for FailingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.good.len() {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "source went away",
            ));
        }
        let n = buf.len().min(self.good.len() - self.pos).min(10_000);
        buf[..n].copy_from_slice(&self.good[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

pub fn reader_error_stores_nothing(store: &dyn BlobStore) {
    for len in [0, 1000, 3 * GROUP_LEN as usize] {
        let good = test_bytes(len, 7);
        let mut reader = FailingReader {
            good: good.clone(),
            pos: 0,
        };
        match store.put(&mut reader) {
            Err(BlobError::Source(e)) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset),
            other => panic!("expected a source error, got {other:?}"),
        }
        assert_eq!(store.len(&BlobId::of(&good)).unwrap(), None);
    }
    assert!(store.list().unwrap().is_empty());
}

pub fn big_blob_round_trips(store: &dyn BlobStore) {
    let bytes = test_bytes(5 * 1024 * 1024 + 12_345, 8);
    // Fed in odd-sized pieces to cross group boundaries mid-read.
    let mut reader = io::Read::chain(&bytes[..777_777], &bytes[777_777..]);
    let put = store.put(&mut reader).unwrap();
    assert_eq!(put.id, BlobId::of(&bytes));
    assert_eq!(put.len, bytes.len() as u64);
    assert_eq!(read_all(store, &put.id, None), bytes);
    let mid = 3 * 1024 * 1024 + 5;
    assert_eq!(
        read_all(store, &put.id, Some(mid..mid + 200_000)),
        &bytes[mid as usize..][..200_000]
    );
    store.verify(&put.id).unwrap();
}

pub fn put_bytes_matches_put(store: &dyn BlobStore) {
    let bytes = test_bytes(GROUP_LEN as usize + 1, 9);
    let a = store.put_bytes(&bytes).unwrap();
    assert_eq!(a.id, BlobId::of(&bytes));
    assert!(a.created);
    assert!(!store.put(&mut &bytes[..]).unwrap().created);
}

pub fn verify_accepts_intact_blobs(store: &dyn BlobStore) {
    for len in [
        0,
        1,
        1024,
        GROUP_LEN as usize,
        GROUP_LEN as usize + 1,
        4 * GROUP_LEN as usize,
    ] {
        let id = store.put_bytes(&test_bytes(len, 10)).unwrap().id;
        store
            .verify(&id)
            .unwrap_or_else(|e| panic!("len {len}: {e}"));
    }
}
