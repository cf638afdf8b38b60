//! Metadata size of a study ingested one instance at a time: the logical bytes (keys and
//! values) per instance stay under 2 KB, and adding an instance never rewrites the study.

mod support;

use sv_meta::{MetaStore, SledMetaStore};
use sv_model::{Audit, AuditAction, Record, RecordId, Timestamp};

#[test]
fn a_thousand_instance_study_costs_under_2_kb_per_instance() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledMetaStore::open(dir.path()).unwrap();
    let rid = RecordId::new_random();
    let record = Record {
        id: rid,
        name: "size".into(),
        created: Timestamp::now(),
        owner_email: None,
    };
    store.create_record(&record).unwrap();
    let before = store.logical_size().unwrap();
    const N: u64 = 1000;
    for i in 0..N {
        let f = support::realistic_facts(1, i);
        store
            .add_instance(rid, &f, false, &Audit::now(AuditAction::Updated, None))
            .unwrap();
    }
    let per_instance = (store.logical_size().unwrap() - before) / N;
    eprintln!("logical metadata per instance: {per_instance} bytes");
    assert!(per_instance < 2048, "{per_instance} bytes per instance");
    let tid = store
        .study_thing(rid, &support::realistic_facts(1, 0).study_instance_uid)
        .unwrap()
        .unwrap();
    assert_eq!(store.study_instances(rid, tid).unwrap().len(), N as usize);
    assert_eq!(store.named_blobs(rid, tid).unwrap().len(), 2 * N as usize);
}
