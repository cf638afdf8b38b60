//! Local-store behaviour beyond the shared suite: corruption, truncation, crashes, locking, layout.

use std::fs::{self, OpenOptions};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use sv_blob::tree::GROUP_LEN;
use sv_blob::{BlobError, BlobId, BlobStore, CorruptKind, LAYOUT, LocalBlobStore, is_corrupt_io};
use sv_testkit::blob_conformance::{TempLocalStore, read_all, test_bytes};

const G: u64 = GROUP_LEN;

fn try_read(
    store: &dyn BlobStore,
    id: &BlobId,
    range: Option<std::ops::Range<u64>>,
) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    store
        .get(id, range)
        .map_err(BlobError::into_io)?
        .read_to_end(&mut out)?;
    Ok(out)
}

fn flip_byte(path: &Path, offset: u64) {
    let mut bytes = fs::read(path).unwrap();
    bytes[offset as usize] ^= 0x40;
    fs::write(path, bytes).unwrap();
}

/// Flips the stored byte at `offset` of blob `id`, wherever the store keeps it (a segment
/// record or a file).
fn flip_stored(store: &LocalBlobStore, id: &BlobId, offset: u64) {
    let (path, start, len) = store.locate(id).expect("the blob is stored");
    assert!(offset < len);
    flip_byte(&path, start + offset);
}

fn corrupt_kind(err: BlobError) -> CorruptKind {
    match err {
        BlobError::Corrupt { kind, .. } => kind,
        other => panic!("expected corruption, got {other}"),
    }
}

/// Every regular file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn flipped_byte_fails_only_the_affected_group() {
    let store = TempLocalStore::with_outboards();
    let bytes = test_bytes(5 * G as usize + 100, 1);
    let id = store.put_bytes(&bytes).unwrap().id;
    flip_stored(&store, &id, 2 * G + 10);

    let err = try_read(&*store, &id, Some(2 * G..2 * G + 20)).unwrap_err();
    assert!(is_corrupt_io(&err), "{err}");
    let kind = match BlobError::from_io(&err) {
        Some(BlobError::Corrupt { id: bad, kind }) if *bad == id => kind.clone(),
        other => panic!("expected corruption of {id}, got {other:?}"),
    };
    assert_eq!(
        kind,
        CorruptKind::GroupMismatch {
            start: 2 * G,
            end: 3 * G
        }
    );
    assert!(is_corrupt_io(&try_read(&*store, &id, None).unwrap_err()));
    assert!(is_corrupt_io(
        &try_read(&*store, &id, Some(G..3 * G)).unwrap_err()
    ));

    // Ranges that do not touch the damaged group still read, and correctly.
    assert_eq!(
        read_all(&*store, &id, Some(0..2 * G)),
        &bytes[..2 * G as usize]
    );
    assert_eq!(
        read_all(&*store, &id, Some(3 * G..5 * G + 100)),
        &bytes[3 * G as usize..]
    );
    assert_eq!(
        corrupt_kind(store.verify(&id).unwrap_err()),
        CorruptKind::ContentMismatch
    );
}

#[test]
fn bytes_before_a_bad_group_are_handed_out_and_the_bad_group_never_is() {
    let store = TempLocalStore::with_outboards();
    let bytes = test_bytes(3 * G as usize, 2);
    let id = store.put_bytes(&bytes).unwrap().id;
    flip_stored(&store, &id, G + 1);
    let mut reader = store.get(&id, None).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let err = loop {
        match reader.read(&mut buf) {
            Ok(0) => panic!("read to the end of a corrupt blob"),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => break e,
        }
    };
    assert!(is_corrupt_io(&err));
    assert_eq!(got, &bytes[..G as usize]);
    // The reader stays failed.
    assert!(is_corrupt_io(&reader.read(&mut buf).unwrap_err()));
}

/// A damaged copy of the same length is not taken for the blob: putting the right bytes again
/// replaces it, small (hashed whole) or big (with an outboard).
#[test]
fn putting_the_bytes_again_heals_a_damaged_blob() {
    let store = TempLocalStore::with_outboards();
    for len in [3000, 3 * G as usize + 7] {
        let bytes = test_bytes(len, 11);
        let id = store.put_bytes(&bytes).unwrap().id;
        flip_stored(&store, &id, len as u64 - 2);
        assert!(store.verify(&id).is_err(), "the damage is there");
        let again = store.put(&mut &bytes[..]).unwrap();
        assert_eq!(again.id, id);
        assert!(again.created, "the damaged copy was replaced");
        store.verify(&id).unwrap();
        assert_eq!(read_all(&*store, &id, None), bytes);
        // An intact copy is left alone.
        assert!(!store.put_bytes(&bytes).unwrap().created);
    }
}

#[test]
fn flipped_byte_in_a_small_blob_fails_get_and_verify() {
    let store = TempLocalStore::with_outboards();
    let id = store.put_bytes(&test_bytes(3000, 3)).unwrap().id;
    flip_stored(&store, &id, 2999);
    for range in [None, Some(0..10)] {
        let err = store
            .get(&id, range)
            .err()
            .expect("corrupt small blob was served");
        assert_eq!(corrupt_kind(err), CorruptKind::ContentMismatch);
    }
    assert!(store.verify(&id).unwrap_err().is_corrupt());
}

#[test]
fn truncated_blob_is_corrupt() {
    let store = TempLocalStore::with_outboards();
    let bytes = test_bytes(4 * G as usize + 7, 4);
    let id = store.put_bytes(&bytes).unwrap().id;
    let path = store.blob_path(&id);
    OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(3 * G + 5)
        .unwrap();
    let err = store
        .get(&id, Some(0..10))
        .err()
        .expect("truncated blob was served");
    assert_eq!(
        corrupt_kind(err),
        CorruptKind::LengthMismatch {
            expected: 4 * G + 7,
            found: 3 * G + 5
        }
    );
    assert!(store.verify(&id).unwrap_err().is_corrupt());

    // Re-putting the right bytes replaces the damaged copy.
    let put = store.put_bytes(&bytes).unwrap();
    assert!(put.created);
    assert_eq!(read_all(&*store, &id, None), bytes);
    store.verify(&id).unwrap();
}

#[test]
fn truncation_while_reading_is_caught() {
    let store = TempLocalStore::with_outboards();
    let bytes = test_bytes(4 * G as usize, 5);
    let id = store.put_bytes(&bytes).unwrap().id;
    let mut reader = store.get(&id, None).unwrap();
    let mut first = vec![0u8; 10];
    reader.read_exact(&mut first).unwrap();
    OpenOptions::new()
        .write(true)
        .open(store.blob_path(&id))
        .unwrap()
        .set_len(2 * G)
        .unwrap();
    let mut rest = Vec::new();
    let err = reader.read_to_end(&mut rest).unwrap_err();
    assert!(is_corrupt_io(&err), "{err}");
    assert_eq!(rest.len() as u64, 2 * G - 10);
}

#[test]
fn bad_outboard_is_corrupt_missing_one_is_rebuilt_and_a_re_put_repairs_it() {
    let store = TempLocalStore::with_outboards();
    let bytes = test_bytes(3 * G as usize + 1, 6);
    let id = store.put_bytes(&bytes).unwrap().id;
    let outboard = store.outboard_path(&id);
    assert!(outboard.is_file());

    flip_byte(&outboard, 40);
    assert!(matches!(
        corrupt_kind(store.get(&id, Some(0..1)).err().unwrap()),
        CorruptKind::OutboardInvalid(_)
    ));
    assert!(store.verify(&id).unwrap_err().is_corrupt());
    assert!(!store.put_bytes(&bytes).unwrap().created);
    assert_eq!(
        read_all(&*store, &id, Some(G..G + 5)),
        &bytes[G as usize..][..5]
    );

    // An outboard lost in a crash is rebuilt on read, from the blob verified whole.
    fs::remove_file(&outboard).unwrap();
    assert_eq!(
        read_all(&*store, &id, Some(G..G + 5)),
        &bytes[G as usize..][..5]
    );
    assert!(outboard.exists(), "the rebuilt outboard is kept");
    store.verify(&id).unwrap();

    // But never from a damaged blob.
    fs::remove_file(&outboard).unwrap();
    flip_stored(&store, &id, 3);
    assert_eq!(
        corrupt_kind(store.get(&id, Some(G..G + 5)).err().unwrap()),
        CorruptKind::ContentMismatch
    );
    assert!(!outboard.exists(), "nothing is rebuilt from bad bytes");
    flip_stored(&store, &id, 3);
    assert!(!store.put(&mut &bytes[..]).unwrap().created);
    assert_eq!(read_all(&*store, &id, None), bytes);
    store.verify(&id).unwrap();
}

#[test]
fn small_blobs_have_no_outboard_and_list_ignores_sidecars() {
    let store = TempLocalStore::with_outboards();
    let small = store.put_bytes(&test_bytes(G as usize, 7)).unwrap().id;
    let big = store.put_bytes(&test_bytes(G as usize + 1, 7)).unwrap().id;
    assert!(!store.outboard_path(&small).exists());
    assert!(store.outboard_path(&big).exists());
    fs::write(store.blob_path(&big).with_file_name("stray.txt"), b"x").unwrap();
    let mut want = vec![small, big];
    want.sort();
    assert_eq!(store.list().unwrap(), want);
    assert_eq!(
        store.blob_path(&small).strip_prefix(store.root()).unwrap(),
        Path::new("blobs")
            .join(&small.to_string()[..2])
            .join(&small.to_string()[2..4])
            .join(small.to_string())
    );
}

#[test]
fn crashed_temp_files_are_swept_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    drop(LocalBlobStore::open(&root).unwrap());
    fs::write(root.join("tmp").join("0123.tmp"), test_bytes(5000, 8)).unwrap();
    fs::create_dir(root.join("tmp").join("odd-dir")).unwrap();
    let store = LocalBlobStore::open(&root).unwrap();
    assert!(fs::read_dir(root.join("tmp")).unwrap().next().is_none());
    assert!(store.list().unwrap().is_empty());
}

#[test]
fn second_open_of_a_root_is_refused_until_the_first_closes() {
    let dir = tempfile::tempdir().unwrap();
    let first = LocalBlobStore::open(dir.path()).unwrap();
    assert!(matches!(
        LocalBlobStore::open(dir.path()),
        Err(BlobError::Locked { .. })
    ));
    let id = first.put_bytes(b"kept across reopen").unwrap().id;
    drop(first);
    let again = LocalBlobStore::open(dir.path()).unwrap();
    assert_eq!(read_all(&again, &id, None), b"kept across reopen");
}

#[test]
fn layout_marker_is_written_and_unknown_layouts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(LocalBlobStore::open(dir.path()).unwrap());
    assert_eq!(
        fs::read_to_string(dir.path().join("LAYOUT"))
            .unwrap()
            .trim_end(),
        LAYOUT
    );
    fs::write(dir.path().join("LAYOUT"), "studyvault-blob-layout 99\n").unwrap();
    match LocalBlobStore::open(dir.path()) {
        Err(BlobError::UnsupportedLayout { found, .. }) => {
            assert_eq!(found, "studyvault-blob-layout 99")
        }
        other => panic!("unknown layout accepted: {other:?}"),
    }
}

/// Streams `bytes` and, at every read, asserts that nothing is visible under `blobs/`.
struct WatchingReader<'a> {
    bytes: &'a [u8],
    blobs_dir: PathBuf,
    fail_at_end: bool,
}

impl Read for WatchingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        assert!(
            files_under(&self.blobs_dir).is_empty(),
            "partial blob visible"
        );
        if self.bytes.is_empty() && self.fail_at_end {
            return Err(io::Error::other("source failed at the last moment"));
        }
        let n = buf.len().min(self.bytes.len()).min(50_000);
        buf[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        Ok(n)
    }
}

#[test]
fn nothing_partial_is_visible_at_the_final_path() {
    let store = TempLocalStore::with_outboards();
    let bytes = test_bytes(3 * G as usize + 99, 9);
    let blobs_dir = store.root().join("blobs");
    let mut failing = WatchingReader {
        bytes: &bytes,
        blobs_dir: blobs_dir.clone(),
        fail_at_end: true,
    };
    assert!(matches!(store.put(&mut failing), Err(BlobError::Source(_))));
    assert!(files_under(&blobs_dir).is_empty());
    assert!(files_under(&store.root().join("tmp")).is_empty());

    let mut ok = WatchingReader {
        bytes: &bytes,
        blobs_dir: blobs_dir.clone(),
        fail_at_end: false,
    };
    let put = store.put(&mut ok).unwrap();
    assert_eq!(files_under(&blobs_dir).len(), 2, "blob and its outboard");
    assert!(files_under(&store.root().join("tmp")).is_empty());
    assert_eq!(read_all(&*store, &put.id, None), bytes);
}

#[test]
fn racing_identical_puts_create_exactly_once() {
    let store = TempLocalStore::with_outboards();
    let bytes = test_bytes(2 * G as usize + 3, 10);
    let created = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|_| s.spawn(|| store.put_bytes(&bytes).unwrap().created))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|c| *c)
            .count()
    });
    assert_eq!(created, 1);
    store.verify(&BlobId::of(&bytes)).unwrap();
    assert_eq!(read_all(&*store, &BlobId::of(&bytes), None), bytes);
}

#[test]
fn a_failed_direct_read_leaves_no_unverified_bytes_in_the_buffer() {
    let store = TempLocalStore::with_outboards();
    let bytes = test_bytes(3 * G as usize, 11);
    let id = store.put_bytes(&bytes).unwrap().id;
    flip_stored(&store, &id, G + 5);
    let mut reader = store.get(&id, None).unwrap();
    // A buffer larger than the blob takes the zero-copy path: whole groups read in place.
    let mut buf = vec![0xAAu8; 4 * G as usize];
    let err = reader.read(&mut buf).unwrap_err();
    assert!(is_corrupt_io(&err));
    assert!(
        buf.iter().all(|&b| b == 0 || b == 0xAA),
        "unverified bytes left in the buffer"
    );
}

#[test]
fn by_default_blobs_up_to_a_mebibyte_are_verified_whole_without_an_outboard() {
    let store = TempLocalStore::new();
    let limit = sv_blob::LocalOptions::default().whole_verify_max as usize;
    let bytes = test_bytes(limit, 12);
    let id = store.put_bytes(&bytes).unwrap().id;
    let bigger = store.put_bytes(&test_bytes(limit + 1, 12)).unwrap().id;
    assert!(
        !store.outboard_path(&id).exists(),
        "no outboard at the limit"
    );
    assert!(
        store.outboard_path(&bigger).exists(),
        "an outboard above it"
    );
    assert_eq!(
        read_all(&*store, &id, Some(3 * G..3 * G + 9)),
        &bytes[3 * G as usize..][..9]
    );
    // Verified whole: a flipped byte anywhere fails every read of the blob.
    flip_stored(&store, &id, 10);
    assert!(matches!(
        corrupt_kind(store.get(&id, Some(3 * G..3 * G + 9)).err().unwrap()),
        CorruptKind::ContentMismatch
    ));
    assert!(store.verify(&id).unwrap_err().is_corrupt());
}
