//! The segment log underneath the local store: what a put costs, recovery of a torn tail,
//! migration from layout 1, compaction and the tombstone rule, all through the public API
//! (plus `locate` to reach the bytes on disk).

use std::collections::BTreeSet;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use sv_blob::{
    BlobError, BlobId, BlobStore, CompactReport, LAYOUT, LAYOUT_1, LocalBlobStore, LocalOptions,
};
use sv_testkit::blob_conformance::{read_all, test_bytes};

fn small_segments(segment_len: u64) -> LocalOptions {
    LocalOptions {
        segment_len,
        ..LocalOptions::default()
    }
}

/// The segment files of a store root, by name.
fn segment_files(root: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(root.join("segments"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    out.sort();
    out
}

fn segment_bytes(root: &Path) -> u64 {
    segment_files(root)
        .iter()
        .map(|p| fs::metadata(p).unwrap().len())
        .sum()
}

fn is_missing(store: &LocalBlobStore, id: &BlobId) -> bool {
    matches!(store.get(id, None), Err(BlobError::NotFound(_)))
        && store.len(id).unwrap().is_none()
        && !store.list().unwrap().contains(id)
}

#[test]
fn a_small_put_creates_no_file_and_syncs_no_directory() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalBlobStore::open(dir.path()).unwrap();
    for (i, len) in [512 * 1024, 40 * 1024].into_iter().enumerate() {
        let before = store.io_counts();
        assert!(store.put_bytes(&test_bytes(len, i as u64)).unwrap().created);
        let cost = store.io_counts().since(&before);
        assert_eq!(
            (cost.files_created, cost.file_syncs, cost.dir_syncs),
            (0, 1, 0)
        );
    }
    // A big blob still takes the file path: temp file and outboard, both synced, then its
    // directory (and the parent of that directory, new in a young store).
    let before = store.io_counts();
    store.put_bytes(&test_bytes(2 << 20, 3)).unwrap();
    let cost = store.io_counts().since(&before);
    assert_eq!((cost.files_created, cost.file_syncs), (2, 2));
    assert!((1..=2).contains(&cost.dir_syncs), "{cost:?}");
}

/// Damages a segment file given the offset and length of a record's payload.
type Damage = fn(&Path, u64, u64);

/// Damages the end of the newest segment three ways a crash (or a stray writer) can; each time
/// reopening drops only the damaged record and keeps every earlier one, verified.
#[test]
fn a_torn_last_record_is_dropped_and_every_earlier_one_kept() {
    let cases: [(&str, Damage); 3] = [
        ("cut mid-payload", |seg, payload, len| {
            cut(seg, payload + len / 2)
        }),
        ("cut mid-header", |seg, payload, _| cut(seg, payload - 30)),
        ("garbage appended", |seg, _, _| {
            let mut f = OpenOptions::new().append(true).open(seg).unwrap();
            f.write_all(&test_bytes(100, 77)).unwrap();
        }),
    ];
    for (what, damage) in cases {
        let dir = tempfile::tempdir().unwrap();
        let blobs: Vec<Vec<u8>> = (0..5)
            .map(|i| test_bytes(3000 + i * 1000, i as u64))
            .collect();
        let store = LocalBlobStore::open(dir.path()).unwrap();
        let ids: Vec<BlobId> = blobs
            .iter()
            .map(|b| store.put_bytes(b).unwrap().id)
            .collect();
        let (segment, payload, len) = store.locate(&ids[4]).unwrap();
        drop(store);
        let intact_len = payload + len;
        damage(&segment, payload, len);

        let store = LocalBlobStore::open(dir.path()).unwrap();
        for (id, bytes) in ids.iter().zip(&blobs).take(4) {
            assert_eq!(read_all(&store, id, None), *bytes, "{what}");
            store.verify(id).unwrap();
        }
        let last_kept = what == "garbage appended";
        assert_eq!(!is_missing(&store, &ids[4]), last_kept, "{what}");
        let want_len = if last_kept { intact_len } else { payload - 64 };
        assert_eq!(
            fs::metadata(&segment).unwrap().len(),
            want_len,
            "{what}: cut there"
        );

        // Appending goes on from there, and the log reads back whole after another reopen.
        assert_eq!(store.put_bytes(&blobs[4]).unwrap().created, !last_kept);
        let extra = store.put_bytes(b"after recovery").unwrap().id;
        drop(store);
        let store = LocalBlobStore::open(dir.path()).unwrap();
        for (id, bytes) in ids.iter().zip(&blobs) {
            assert_eq!(read_all(&store, id, None), *bytes, "{what}");
        }
        assert_eq!(read_all(&store, &extra, None), b"after recovery");
    }
}

fn cut(path: &Path, len: u64) {
    OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

fn flip(path: &Path, offset: u64) {
    let mut bytes = fs::read(path).unwrap();
    bytes[offset as usize] ^= 0x10;
    fs::write(path, bytes).unwrap();
}

/// A record in the middle of the newest segment whose payload fails its check at open is
/// voided on disk, not taken for the end of the log: the records after it stay, and once the
/// segment is sealed (read by headers only) the voided one still does not come back.
#[test]
fn a_bad_payload_in_the_newest_segment_voids_only_that_record() {
    let dir = tempfile::tempdir().unwrap();
    let options = small_segments(64 * 1024);
    let blobs: Vec<Vec<u8>> = (0..4).map(|i| test_bytes(5000, 10 + i)).collect();
    let store = LocalBlobStore::open_with(dir.path(), options).unwrap();
    let ids: Vec<BlobId> = blobs
        .iter()
        .map(|b| store.put_bytes(b).unwrap().id)
        .collect();
    let (segment, payload, _) = store.locate(&ids[1]).unwrap();
    drop(store);
    flip(&segment, payload + 100);

    let store = LocalBlobStore::open_with(dir.path(), options).unwrap();
    assert!(is_missing(&store, &ids[1]));
    for i in [0, 2, 3] {
        assert_eq!(read_all(&store, &ids[i], None), blobs[i]);
    }
    // Fill the segment until it is sealed behind a newer one.
    for i in 0..20 {
        store.put_bytes(&test_bytes(5000, 100 + i)).unwrap();
    }
    assert!(segment_files(dir.path()).len() > 1);
    drop(store);
    let store = LocalBlobStore::open_with(dir.path(), options).unwrap();
    assert!(is_missing(&store, &ids[1]), "a voided record came back");
    for i in [0, 2, 3] {
        assert_eq!(read_all(&store, &ids[i], None), blobs[i]);
    }
}

/// Writes a store the way layout 1 did (every blob a file, no `segments/`, marker 1).
fn layout_1_store(root: &Path, blobs: &[Vec<u8>]) -> Vec<BlobId> {
    let files_only = LocalOptions {
        small_blobs_in_segments: false,
        ..LocalOptions::default()
    };
    let store = LocalBlobStore::open_with(root, files_only).unwrap();
    let ids = blobs
        .iter()
        .map(|b| store.put_bytes(b).unwrap().id)
        .collect();
    drop(store);
    fs::remove_dir_all(root.join("segments")).unwrap();
    fs::write(root.join("LAYOUT"), format!("{LAYOUT_1}\n")).unwrap();
    ids
}

#[test]
fn a_layout_1_store_is_migrated_and_its_files_keep_working() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let old: Vec<Vec<u8>> = vec![
        test_bytes(3000, 1),
        test_bytes(4000, 2),
        test_bytes(5000, 3),
        test_bytes(3 << 20, 4),
    ];
    let old_ids = layout_1_store(root, &old);
    assert!(!root.join("segments").exists());

    let store = LocalBlobStore::open(root).unwrap();
    assert_eq!(
        fs::read_to_string(root.join("LAYOUT")).unwrap().trim_end(),
        LAYOUT
    );
    assert!(root.join("segments").is_dir());
    for (id, bytes) in old_ids.iter().zip(&old) {
        assert_eq!(read_all(&store, id, None), *bytes);
        store.verify(id).unwrap();
        assert_eq!(
            store.locate(id).unwrap().0,
            store.blob_path(id),
            "still a file"
        );
        // Dedup against the file: nothing new is written (a big put streams to a temp file
        // before it knows its id, as in layout 1).
        let before = store.io_counts();
        assert!(!store.put_bytes(bytes).unwrap().created);
        if bytes.len() <= 1 << 20 {
            assert_eq!(store.io_counts().since(&before).files_created, 0);
        }
        assert_eq!(store.locate(id).unwrap().0, store.blob_path(id));
    }
    // Delete an old small blob; heal a damaged old one (the fresh copy goes to a segment).
    assert!(store.delete(&old_ids[0]).unwrap());
    assert!(is_missing(&store, &old_ids[0]));
    flip(&store.blob_path(&old_ids[1]), 10);
    assert!(store.verify(&old_ids[1]).unwrap_err().is_corrupt());
    assert!(store.put_bytes(&old[1]).unwrap().created);
    assert!(
        !store.blob_path(&old_ids[1]).exists(),
        "the damaged file is gone"
    );
    store.verify(&old_ids[1]).unwrap();
    // New blobs go to segments.
    let new = test_bytes(6000, 5);
    let new_id = store.put_bytes(&new).unwrap().id;
    assert!(
        store
            .locate(&new_id)
            .unwrap()
            .0
            .starts_with(root.join("segments"))
    );
    let mut want = vec![old_ids[1], old_ids[2], old_ids[3], new_id];
    want.sort();
    assert_eq!(store.list().unwrap(), want);
    drop(store);

    let store = LocalBlobStore::open(root).unwrap();
    assert_eq!(store.list().unwrap(), want);
    for (id, bytes) in [
        (old_ids[1], &old[1]),
        (old_ids[2], &old[2]),
        (old_ids[3], &old[3]),
        (new_id, &new),
    ] {
        assert_eq!(read_all(&store, &id, None), *bytes);
    }
    assert!(is_missing(&store, &old_ids[0]));
}

/// Puts `n` blobs of 5000 bytes (seeded from `seed`), returning ids and bytes.
fn put_many(store: &LocalBlobStore, n: u64, seed: u64) -> Vec<(BlobId, Vec<u8>)> {
    (0..n)
        .map(|i| {
            let bytes = test_bytes(5000, seed + i);
            (store.put_bytes(&bytes).unwrap().id, bytes)
        })
        .collect()
}

#[test]
fn compaction_reclaims_space_and_deleted_blobs_stay_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let options = small_segments(64 * 1024);
    let store = LocalBlobStore::open_with(dir.path(), options).unwrap();
    let blobs = put_many(&store, 48, 1000);
    assert!(segment_files(dir.path()).len() >= 4);
    let (deleted, kept): (Vec<_>, Vec<_>) = blobs.iter().partition(|(id, _)| {
        let n = id.as_bytes()[0];
        n % 5 != 0
    });
    for (id, _) in &deleted {
        assert!(store.delete(id).unwrap());
    }
    let before = segment_bytes(dir.path());

    let report = store.compact(0.5).unwrap();
    assert!(report.segments_rewritten >= 2, "{report:?}");
    assert!(report.bytes_reclaimed > 0, "{report:?}");
    let after = segment_bytes(dir.path());
    assert_eq!(after, before - report.bytes_reclaimed, "{report:?}");
    assert!(report.bytes_reclaimed > before / 3, "{before} -> {after}");
    let check = |store: &LocalBlobStore| {
        for (id, bytes) in &kept {
            assert_eq!(read_all(store, id, None), *bytes);
            store.verify(id).unwrap();
        }
        for (id, _) in &deleted {
            assert!(is_missing(store, id));
        }
        let want: BTreeSet<BlobId> = kept.iter().map(|(id, _)| *id).collect();
        assert_eq!(store.list().unwrap(), want.into_iter().collect::<Vec<_>>());
    };
    check(&store);
    // The copies may have sealed the segment that was active, dead but for them: again.
    store.compact(0.5).unwrap();
    check(&store);
    drop(store);
    let store = LocalBlobStore::open_with(dir.path(), options).unwrap();
    check(&store);
    // A deleted blob put again is created anew.
    assert!(store.put_bytes(&deleted[0].1).unwrap().created);
}

/// The tombstone rule: compacting the segment that holds a tombstone must carry it forward
/// while an older segment still holds the deleted record, or the record comes back at the
/// next open. Once that older segment is compacted too, the tombstone may go.
#[test]
fn a_tombstone_outlives_its_segment_while_an_older_one_holds_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let options = small_segments(64 * 1024);
    let store = LocalBlobStore::open_with(dir.path(), options).unwrap();
    let first = put_many(&store, 12, 2000); // segment 1, nearly full
    let victim = first[3].0;
    let second = put_many(&store, 12, 3000); // segment 2 (and the start of 3)
    assert!(store.locate(&victim).unwrap().0 != store.locate(&second[11].0).unwrap().0);
    assert!(store.delete(&victim).unwrap()); // its tombstone goes to the newest segment
    for (id, _) in &second {
        assert!(store.delete(id).unwrap());
    }
    let filler = put_many(&store, 30, 4000); // seal the segments holding the tombstones
    let segments_before = segment_files(dir.path());

    // Segment 1 is 11/12 live: kept. The later ones are dead but for their tombstones.
    let report = store.compact(0.5).unwrap();
    assert!(report.segments_rewritten >= 1, "{report:?}");
    assert!(report.tombstones_kept >= 1, "{report:?}");
    assert!(segment_files(dir.path()).contains(&segments_before[0]));
    drop(store);
    let store = LocalBlobStore::open_with(dir.path(), options).unwrap();
    assert!(
        is_missing(&store, &victim),
        "a compacted tombstone let its blob come back"
    );

    // Compact everything sealed: segment 1 goes, and so may the tombstone; still deleted.
    let report: CompactReport = store.compact(1.01).unwrap();
    assert!(report.segments_rewritten >= 1, "{report:?}");
    assert!(!segment_files(dir.path()).contains(&segments_before[0]));
    store.compact(1.01).unwrap();
    drop(store);
    let store = LocalBlobStore::open_with(dir.path(), options).unwrap();
    assert!(is_missing(&store, &victim));
    for (id, bytes) in first.iter().filter(|(id, _)| *id != victim).chain(&filler) {
        assert_eq!(read_all(&store, id, None), *bytes);
    }
    for (id, _) in &second {
        assert!(is_missing(&store, id));
    }
}

/// A crash after compaction appended its copies but before the unlink of the old segment
/// reached the disk leaves both: the old segment is back at open, and changes nothing.
#[test]
fn a_compaction_whose_unlink_was_lost_loses_nothing_and_resurrects_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let options = small_segments(64 * 1024);
    let store = LocalBlobStore::open_with(dir.path(), options).unwrap();
    let blobs = put_many(&store, 40, 5000);
    let (deleted, kept): (Vec<_>, Vec<_>) = blobs.iter().enumerate().partition(|(i, _)| i % 4 != 0);
    for (_, (id, _)) in &deleted {
        store.delete(id).unwrap();
    }
    let saved = tempfile::tempdir().unwrap();
    let old: Vec<PathBuf> = segment_files(dir.path());
    for path in &old {
        fs::copy(path, saved.path().join(path.file_name().unwrap())).unwrap();
    }
    assert!(store.compact(0.9).unwrap().segments_rewritten >= 2);
    drop(store);
    for path in &old {
        if !path.exists() {
            fs::copy(saved.path().join(path.file_name().unwrap()), path).unwrap();
        }
    }
    let store = LocalBlobStore::open_with(dir.path(), options).unwrap();
    for (_, (id, bytes)) in &kept {
        assert_eq!(read_all(&store, id, None), *bytes);
    }
    for (_, (id, _)) in &deleted {
        assert!(is_missing(&store, id));
    }
}

/// Three threads put, read and delete their own blobs (and one shared blob) while a fourth
/// compacts in a loop; afterwards, and after a reopen, exactly the blobs that should be there
/// are, intact.
#[test]
fn compaction_concurrent_with_puts_gets_and_deletes_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let options = small_segments(32 * 1024);
    let store = LocalBlobStore::open_with(dir.path(), options).unwrap();
    let shared = test_bytes(2500, 1);
    let done = std::sync::atomic::AtomicBool::new(false);
    let (kept, deleted, compacted) = std::thread::scope(|s| {
        let compactor = s.spawn(|| {
            let mut rewritten = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                rewritten += store.compact(0.9).unwrap().segments_rewritten;
            }
            rewritten
        });
        let workers: Vec<_> = (0..3u64)
            .map(|w| {
                let (store, shared) = (&store, &shared);
                s.spawn(move || {
                    let mut kept: Vec<(BlobId, Vec<u8>)> = Vec::new();
                    let mut deleted = Vec::new();
                    for i in 0..150u64 {
                        let bytes = test_bytes(1000 + (i as usize * 37) % 3000, w << 32 | i);
                        let put = store.put_bytes(&bytes).unwrap();
                        assert!(put.created);
                        kept.push((put.id, bytes));
                        store.put_bytes(shared).unwrap();
                        let probe = &kept[(i as usize * 7) % kept.len()];
                        assert_eq!(read_all(store, &probe.0, None), probe.1);
                        if i % 3 != 0 {
                            let (id, _) = kept.remove((i as usize * 13) % kept.len());
                            assert!(store.delete(&id).unwrap());
                            deleted.push(id);
                        }
                    }
                    (kept, deleted)
                })
            })
            .collect();
        let mut kept = vec![(BlobId::of(&shared), shared.clone())];
        let mut deleted = Vec::new();
        for worker in workers {
            let (k, d) = worker.join().unwrap();
            kept.extend(k);
            deleted.extend(d);
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        (kept, deleted, compactor.join().unwrap())
    });
    assert!(compacted > 0, "the compactor never ran into a candidate");
    let check = |store: &LocalBlobStore| {
        for (id, bytes) in &kept {
            assert_eq!(read_all(store, id, None), *bytes);
        }
        for id in &deleted {
            assert!(is_missing(store, id));
        }
        let want: BTreeSet<BlobId> = kept.iter().map(|(id, _)| *id).collect();
        assert_eq!(store.list().unwrap(), want.into_iter().collect::<Vec<_>>());
    };
    check(&store);
    store.compact(1.01).unwrap();
    check(&store);
    drop(store);
    check(&LocalBlobStore::open_with(dir.path(), options).unwrap());
}

/// A reader that located a record before compaction moved it and unlinked its segment still
/// reads it: the segment stays open under it.
#[test]
fn a_reader_opened_before_compaction_still_reads() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalBlobStore::open_with(dir.path(), small_segments(64 * 1024)).unwrap();
    let blobs = put_many(&store, 30, 6000);
    for (id, _) in &blobs[1..12] {
        store.delete(id).unwrap();
    }
    let (id, bytes) = &blobs[0];
    let mut reader = store.get(id, None).unwrap();
    let old_segment = store.locate(id).unwrap().0;
    assert!(store.compact(0.5).unwrap().segments_rewritten >= 1);
    assert!(!old_segment.exists());
    let mut got = Vec::new();
    std::io::Read::read_to_end(&mut reader, &mut got).unwrap();
    assert_eq!(got, *bytes);
    assert_eq!(read_all(&store, id, None), *bytes);
}

/// A sealed segment whose record header is damaged keeps the records before the damage; the
/// ones after it are lost to the index, and the segment is never compacted (what follows the
/// damage is unknown, so nothing may be dropped on its account).
#[test]
fn a_damaged_sealed_segment_keeps_what_precedes_the_damage_and_is_not_compacted() {
    let dir = tempfile::tempdir().unwrap();
    let options = small_segments(64 * 1024);
    let store = LocalBlobStore::open_with(dir.path(), options).unwrap();
    let blobs = put_many(&store, 30, 7000);
    let (first_segment, payload, _) = store.locate(&blobs[5].0).unwrap();
    assert_eq!(store.locate(&blobs[0].0).unwrap().0, first_segment);
    for (id, _) in &blobs[1..5] {
        store.delete(id).unwrap(); // dead records before the damage, tombstones after it
    }
    drop(store);
    flip(&first_segment, payload - 64 + 20); // the id inside blob 5's header

    let store = LocalBlobStore::open_with(dir.path(), options).unwrap();
    assert_eq!(read_all(&store, &blobs[0].0, None), blobs[0].1);
    for (id, _) in &blobs[1..12] {
        assert!(store.len(id).unwrap().is_none());
    }
    assert_ne!(store.locate(&blobs[12].0).unwrap().0, first_segment);
    for (id, bytes) in &blobs[12..] {
        assert_eq!(read_all(&store, id, None), *bytes);
    }
    store.compact(1.01).unwrap();
    assert!(
        first_segment.exists(),
        "a damaged segment was compacted away"
    );
    assert_eq!(read_all(&store, &blobs[0].0, None), blobs[0].1);
}
