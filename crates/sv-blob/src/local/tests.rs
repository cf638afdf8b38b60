//! What a put or a read makes durable, and in which order, checked on the recorded steps
//! (`trace.rs`): the answers a caller builds metadata on must rest on durable entries.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::ThreadId;

use super::trace::{Step, on_publish, steps_under};
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

fn by(thread: ThreadId, steps: &[(ThreadId, Step)]) -> Vec<Step> {
    steps
        .iter()
        .filter(|(t, _)| *t == thread)
        .map(|(_, s)| s.clone())
        .collect()
}

/// A put that finds its bytes already linked by a racing put, which has not fsynced the
/// directory yet, must not answer before that entry is durable: it fsyncs the directory itself.
#[test]
fn a_dedup_put_makes_the_racing_writers_entry_durable_before_answering() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalBlobStore::open(dir.path()).unwrap());
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
    let data = bytes(3000, 1);
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
    let options = LocalOptions {
        whole_verify_max: GROUP_LEN,
    };
    let store = LocalBlobStore::open_with(dir.path(), options).unwrap();
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
