//! The study index's reads wait for a concurrent `add_instance` of the same SOP to be durable.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use sv_model::{Audit, AuditAction, Record, RecordId, Timestamp};
use sv_testkit::meta_conformance::facts;

use crate::MetaStore;
use crate::sled_store::SledMetaStore;

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

/// A re-sent instance is answered `duplicate` from `instance()`: while the first upload's
/// change is committed but its sync has not finished, that read must not answer, or a
/// crash right after the duplicate's 2xx would lose the instance both answers acknowledged.
#[test]
fn an_instance_read_racing_its_writer_answers_only_once_the_write_is_durable() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledMetaStore::open(dir.path()).unwrap());
    let rid = RecordId::new_random();
    store
        .create_record(&Record {
            id: rid,
            name: "durable reads".into(),
            created: Timestamp::now(),
            owner_email: None,
        })
        .unwrap();
    let f = facts("1.2.3", "1.2.3.1", "1.2.3.1.1", "first upload", false);

    // Hold the next sync (the writer's) at its start, after the transaction committed.
    let (held, release) = (Arc::new(Latch::default()), Arc::new(Latch::default()));
    let armed = Arc::new(AtomicBool::new(true));
    store.commits.set_before_sync({
        let (held, release, armed) = (held.clone(), release.clone(), armed.clone());
        move || {
            if armed.swap(false, Ordering::SeqCst) {
                held.open();
                release.wait();
            }
        }
    });
    let writer = std::thread::spawn({
        let (store, f) = (store.clone(), f.clone());
        move || {
            store
                .add_instance(rid, &f, false, &Audit::now(AuditAction::Updated, None))
                .unwrap()
        }
    });
    held.wait();
    let syncs_before = store.durable_syncs();

    // Let the writer's sync go once this thread waits for it (or, should it not wait at all,
    // once it has answered: then the check below fails instead of hanging).
    let answered = Arc::new(AtomicBool::new(false));
    let releaser = std::thread::spawn({
        let (store, release, answered) = (store.clone(), release.clone(), answered.clone());
        move || {
            while store.commits.waiting() == 0 && !answered.load(Ordering::SeqCst) {
                std::thread::yield_now();
            }
            release.open();
        }
    });
    let found = store.instance(rid, &f.sop_instance_uid).unwrap();
    let durable_when_answered = store.durable_syncs() > syncs_before;
    answered.store(true, Ordering::SeqCst);
    releaser.join().unwrap();
    writer.join().unwrap();

    let (_, read) = found.expect("the committed instance is read");
    assert_eq!(read.blob_id, f.blob_id);
    assert!(
        durable_when_answered,
        "the read answered before the writer's sync had finished"
    );
}

/// A read of a SOP nobody is writing does not wait for (or run) a sync.
#[test]
fn an_instance_read_with_no_writer_of_its_sop_runs_no_sync() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledMetaStore::open(dir.path()).unwrap();
    let rid = RecordId::new_random();
    store
        .create_record(&Record {
            id: rid,
            name: "plain reads".into(),
            created: Timestamp::now(),
            owner_email: None,
        })
        .unwrap();
    let f = facts("1.2.4", "1.2.4.1", "1.2.4.1.1", "stored", false);
    store
        .add_instance(rid, &f, false, &Audit::now(AuditAction::Updated, None))
        .unwrap();
    let syncs = store.durable_syncs();
    assert!(store.instance(rid, &f.sop_instance_uid).unwrap().is_some());
    assert!(store.instance(rid, "1.2.4.1.9").unwrap().is_none());
    assert_eq!(store.durable_syncs(), syncs);
}
