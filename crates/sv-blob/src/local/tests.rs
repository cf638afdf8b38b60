//! What a put or a read makes durable, and in which order, checked on the recorded steps
//! (`trace.rs`): the answers a caller builds metadata on must rest on durable entries.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::ThreadId;

use super::trace::{Step, on_move, on_publish, steps_under};
use super::{LocalBlobStore, LocalOptions};
use crate::BlobStore;
use crate::tree::GROUP_LEN;

fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// A one-shot latch: `open` once, `wait` until it is.
#[derive(Default)]
struct Latch(Mutex<bool>, Condvar);

impl Latch {
    fn open(&self) {
        *self.0.lock().unwrap() = true;
        self.1.notify_all();
    }

    fn wait(&self) {
        let mut open = self.0.lock().unwrap();
        while !*open {
            open = self.1.wait(open).unwrap();
        }
    }
}

fn with_outboards() -> LocalOptions {
    LocalOptions {
        whole_verify_max: GROUP_LEN,
        ..LocalOptions::default()
    }
}

fn by(thread: ThreadId, steps: &[(ThreadId, Step)]) -> Vec<Step> {
    steps
        .iter()
        .filter(|(t, _)| *t == thread)
        .map(|(_, s)| s.clone())
        .collect()
}

/// A put that finds its bytes already linked by a racing put, which has not fsynced the
/// directory yet, must not answer before that entry is durable: it fsyncs the directory itself.
/// (A big blob: files are where directory entries matter.)
#[test]
fn a_dedup_put_makes_the_racing_writers_entry_durable_before_answering() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalBlobStore::open_with(dir.path(), with_outboards()).unwrap());
    let linked = Arc::new(Latch::default());
    let resume = Arc::new(Latch::default());
    let first = Arc::new(std::sync::atomic::AtomicBool::new(true));
    on_publish(store.root(), {
        let (linked, resume, first) = (linked.clone(), resume.clone(), first.clone());
        move |_| {
            if first.swap(false, std::sync::atomic::Ordering::SeqCst) {
                linked.open();
                resume.wait();
            }
        }
    });
    let data = bytes(3 * GROUP_LEN as usize, 1);
    let racer = std::thread::spawn({
        let (store, data) = (store.clone(), data.clone());
        move || store.put_bytes(&data).unwrap()
    });
    // The racer has linked the blob and is held before its directory fsync.
    linked.wait();
    let racer_thread = racer.thread().id();

    let ours = store.put_bytes(&data).unwrap();
    assert!(!ours.created, "the bytes were already linked");
    let blob_dir = store.blob_path(&ours.id).parent().unwrap().to_path_buf();
    let steps = steps_under(store.root());
    assert!(
        !by(racer_thread, &steps).contains(&Step::SyncDir(blob_dir.clone())),
        "the racer is still held before its directory fsync"
    );
    assert!(
        by(std::thread::current().id(), &steps).contains(&Step::SyncDir(blob_dir)),
        "the dedup put answered before the blob's directory entry was durable"
    );

    resume.open();
    let theirs = racer.join().unwrap();
    assert!(theirs.created);
    assert_eq!(theirs.id, ours.id);
}

/// Every outboard written (by a put, a dedup put that repairs it, a read that rebuilds it)
/// has its bytes fsynced before it is renamed into place, and its directory fsynced after.
#[test]
fn outboards_are_fsynced_then_renamed_then_their_directory_fsynced() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalBlobStore::open_with(dir.path(), with_outboards()).unwrap();
    let data = bytes(3 * GROUP_LEN as usize + 7, 2);
    // This test's root is its own: every step under it is this test's (a put writes its
    // outboard on a second thread, so steps are not filtered by thread).
    let all = || -> Vec<Step> {
        steps_under(store.root())
            .into_iter()
            .map(|(_, s)| s)
            .collect()
    };

    let check = |what: &str, since: usize, outboard: &Path| {
        let steps = all();
        let steps = &steps[since..];
        let published = steps
            .iter()
            .position(|s| matches!(s, Step::Publish { to, .. } if to == outboard))
            .unwrap_or_else(|| panic!("{what}: the outboard was not renamed into place"));
        let Step::Publish { from, .. } = &steps[published] else {
            unreachable!()
        };
        assert!(
            steps[..published].contains(&Step::SyncFile(from.clone())),
            "{what}: the outboard was renamed before its bytes were fsynced: {steps:?}"
        );
        let parent = outboard.parent().unwrap().to_path_buf();
        assert!(
            steps[published..].contains(&Step::SyncDir(parent)),
            "{what}: the outboard's directory was not fsynced after the rename: {steps:?}"
        );
    };
    let mine = || all().len();

    let since = mine();
    let id = store.put_bytes(&data).unwrap().id;
    let outboard = store.outboard_path(&id);
    check("put", since, &outboard);

    std::fs::remove_file(&outboard).unwrap();
    let since = mine();
    assert!(!store.put_bytes(&data).unwrap().created);
    check("repair on a dedup put", since, &outboard);

    std::fs::remove_file(&outboard).unwrap();
    let since = mine();
    let mut read = Vec::new();
    std::io::Read::read_to_end(&mut store.get(&id, None).unwrap(), &mut read).unwrap();
    assert_eq!(read, data);
    check("rebuild on a read", since, &outboard);
}

/// The segment the record of `id` is in, and where that record ends.
fn record_end(store: &LocalBlobStore, id: &crate::BlobId) -> (std::path::PathBuf, u64) {
    let (path, payload, len) = store.locate(id).unwrap();
    assert!(path.starts_with(store.root().join("segments")), "{path:?}");
    (path, payload + len)
}

/// True when a sync of `segment` that covered its first `end` bytes had returned.
fn durable_through(steps: &[(ThreadId, Step)], segment: &Path, end: u64) -> bool {
    steps.iter().any(|(_, s)| {
        matches!(s, Step::Durable { path, end: synced } if path == segment && *synced >= end)
    })
}

/// A lone put returns only after an fdatasync of its segment covered its record.
#[test]
fn a_single_put_is_durable_when_it_returns() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalBlobStore::open(dir.path()).unwrap();
    for (i, len) in [40_000usize, 512 * 1024, 0, 1].into_iter().enumerate() {
        let put = store.put_bytes(&bytes(len, i as u8)).unwrap();
        assert!(put.created);
        let (segment, end) = record_end(&store, &put.id);
        let steps = steps_under(store.root());
        assert!(
            by(std::thread::current().id(), &steps).contains(&Step::Append {
                to: segment.clone(),
                end
            }),
            "len {len}: the record was appended by this put"
        );
        assert!(
            durable_through(&steps, &segment, end),
            "len {len}: the put answered before its record was synced: {steps:?}"
        );
    }
}

/// Writers that append while no sync has started share one: N puts, one fdatasync. Each
/// writer is held after its append until all have appended, so the first to sync covers all.
#[test]
fn concurrent_puts_share_one_fdatasync() {
    const WRITERS: usize = 6;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalBlobStore::open(dir.path()).unwrap());
    let all_appended = Arc::new(std::sync::Barrier::new(WRITERS));
    on_publish(store.root(), {
        let all_appended = all_appended.clone();
        move |_| {
            all_appended.wait();
        }
    });
    let before = store.io_counts();
    let writers: Vec<_> = (0..WRITERS)
        .map(|i| {
            let store = store.clone();
            std::thread::spawn(move || store.put_bytes(&bytes(40_000 + i, i as u8)).unwrap())
        })
        .collect();
    let puts: Vec<_> = writers.into_iter().map(|t| t.join().unwrap()).collect();
    let counts = store.io_counts().since(&before);
    assert!(puts.iter().all(|p| p.created));
    assert_eq!(
        (counts.file_syncs, counts.dir_syncs, counts.files_created),
        (1, 0, 0),
        "{WRITERS} puts appended before any sync started must share one fdatasync"
    );
    let steps = steps_under(store.root());
    for put in &puts {
        let (segment, end) = record_end(&store, &put.id);
        assert!(durable_through(&steps, &segment, end));
    }
}

/// A put that finds its bytes already appended by a racing put, whose sync has not started,
/// must not answer before that record is durable: with no sync in flight, it leads one.
#[test]
fn a_dedup_put_waits_until_the_racing_writers_record_is_durable() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalBlobStore::open(dir.path()).unwrap());
    let appended = Arc::new(Latch::default());
    let resume = Arc::new(Latch::default());
    let first = Arc::new(std::sync::atomic::AtomicBool::new(true));
    on_publish(store.root(), {
        let (appended, resume, first) = (appended.clone(), resume.clone(), first.clone());
        move |_| {
            if first.swap(false, std::sync::atomic::Ordering::SeqCst) {
                appended.open();
                resume.wait();
            }
        }
    });
    let data = bytes(3000, 4);
    let racer = std::thread::spawn({
        let (store, data) = (store.clone(), data.clone());
        move || store.put_bytes(&data).unwrap()
    });
    appended.wait();
    let racer_thread = racer.thread().id();

    let ours = store.put_bytes(&data).unwrap();
    assert!(!ours.created, "the bytes were already appended");
    let (segment, end) = record_end(&store, &ours.id);
    let steps = steps_under(store.root());
    assert!(
        !by(racer_thread, &steps).contains(&Step::SyncFile(segment.clone())),
        "the racer is still held before its sync"
    );
    assert!(
        durable_through(&steps, &segment, end),
        "the dedup put answered before the racer's record was durable: {steps:?}"
    );

    resume.open();
    let theirs = racer.join().unwrap();
    assert!(theirs.created);
    assert_eq!(theirs.id, ours.id);
}

/// A delete returns once its tombstone is durable.
#[test]
fn a_delete_is_durable_when_it_returns() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalBlobStore::open(dir.path()).unwrap();
    let id = store.put_bytes(&bytes(5000, 9)).unwrap().id;
    let (segment, _) = record_end(&store, &id);
    assert!(store.delete(&id).unwrap());
    let steps = steps_under(store.root());
    let tombstone_end = steps
        .iter()
        .rev()
        .find_map(|(_, s)| match s {
            Step::Append { to, end } if *to == segment => Some(*end),
            _ => None,
        })
        .unwrap();
    assert!(durable_through(&steps, &segment, tombstone_end));
}

/// A delete that lands between compaction reading a live record and appending its copy wins:
/// the copy is not made (the index no longer points at the old place), so the blob stays
/// deleted, also after a reopen.
#[test]
fn a_delete_racing_a_compaction_move_stays_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let options = LocalOptions {
        segment_len: 64 * 1024,
        ..LocalOptions::default()
    };
    let store = Arc::new(LocalBlobStore::open_with(dir.path(), options).unwrap());
    let ids: Vec<_> = (0..30u8)
        .map(|i| store.put_bytes(&bytes(5000, i)).unwrap().id)
        .collect();
    // Segment 1 mostly dead; its first live record is deleted while being moved.
    for id in &ids[1..10] {
        store.delete(id).unwrap();
    }
    let victim = ids[0];
    let fired = Arc::new(std::sync::atomic::AtomicBool::new(false));
    on_move(store.root(), {
        let (store, fired) = (Arc::downgrade(&store), fired.clone());
        move |_| {
            if !fired.swap(true, std::sync::atomic::Ordering::SeqCst) {
                assert!(store.upgrade().unwrap().delete(&victim).unwrap());
            }
        }
    });
    let report = store.compact(0.5).unwrap();
    assert!(fired.load(std::sync::atomic::Ordering::SeqCst));
    assert!(report.segments_rewritten >= 1, "{report:?}");
    assert_eq!(
        store.len(&victim).unwrap(),
        None,
        "the move brought it back"
    );
    for id in &ids[10..] {
        store.verify(id).unwrap();
    }
    drop(store);
    let store = LocalBlobStore::open_with(dir.path(), options).unwrap();
    assert_eq!(store.len(&victim).unwrap(), None, "back after a reopen");
    for id in &ids[10..] {
        store.verify(id).unwrap();
    }
}

/// Puts that defer their sync are covered by one fdatasync, read back verified once synced,
/// and say what they still need.
#[test]
fn unsynced_puts_share_one_sync() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalBlobStore::open(dir.path()).unwrap();
    let (a, b) = (bytes(600_000, 1), bytes(40_000, 2));
    let first = store.put_bytes_unsynced(&a).unwrap();
    let second = store.put_bytes_unsynced(&b).unwrap();
    assert!(first.needs_sync() && second.needs_sync());
    let before = store.io_counts();
    store.sync_puts(&[first, second]).unwrap();
    assert_eq!(store.io_counts().since(&before).file_syncs, 1);
    // Synced already: no second sync.
    store.sync_puts(&[first]).unwrap();
    assert_eq!(store.io_counts().since(&before).file_syncs, 1);
    for (put, want) in [(first, &a), (second, &b)] {
        let mut got = Vec::new();
        std::io::Read::read_to_end(&mut store.get(&put.outcome.id, None).unwrap(), &mut got)
            .unwrap();
        assert_eq!(&got, want);
    }
    // Bytes already stored come back durable.
    let again = store.put_bytes_unsynced(&a).unwrap();
    assert!(!again.needs_sync());
    assert!(!again.outcome.created);
}

/// Without segments an unsynced put is the durable file put, and a big blob always is.
#[test]
fn file_puts_are_durable_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let options = LocalOptions {
        small_blobs_in_segments: false,
        ..LocalOptions::default()
    };
    let store = LocalBlobStore::open_with(dir.path(), options).unwrap();
    let put = store.put_bytes_unsynced(&bytes(50_000, 3)).unwrap();
    assert!(!put.needs_sync());
    assert!(store.blob_path(&put.outcome.id).is_file());
    let store = LocalBlobStore::open(dir.path().join("other")).unwrap();
    let big = store.put_bytes_unsynced(&bytes(3 << 20, 4)).unwrap();
    assert!(!big.needs_sync());
}
