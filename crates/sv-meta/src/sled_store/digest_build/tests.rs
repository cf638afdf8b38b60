//! The digest build on open: a store from before digests gets them, once.

use sv_model::study::{InstanceFacts, StudyDigest};
use sv_model::{Audit, AuditAction, Record, RecordId, Timestamp};
use sv_testkit::meta_conformance::facts;

use super::DIGESTS_BUILT;
use crate::codec::{decode_digest, encode_digest};
use crate::sled_store::{SledMetaStore, T};
use crate::{MetaStore, keys};

fn record(s: &SledMetaStore) -> RecordId {
    let r = Record {
        id: RecordId::new_random(),
        name: "digests".into(),
        created: Timestamp::now(),
        owner_email: None,
    };
    s.create_record(&r).unwrap();
    r.id
}

/// An instance whose study and series attributes agree with its siblings', so the digest
/// does not depend on the order instances were folded in.
fn instance(study: &str, series: &str, sop: &str, class: &str) -> InstanceFacts {
    let mut f = facts(study, series, sop, &format!("bytes of {sop}"), false);
    f.sop_class_uid = class.into();
    f.study.description = Some(format!("study {study}"));
    f.series.modality = Some(format!("M{series}"));
    f
}

fn add(s: &SledMetaStore, rid: RecordId, f: &InstanceFacts, replace: bool) {
    s.add_instance(rid, f, replace, &Audit::now(AuditAction::Updated, None))
        .unwrap();
}

/// Two records: studies with several series and classes, a replace that moves an instance
/// to another study (leaving that one empty), a deleted study and a re-made one.
fn populate(s: &SledMetaStore) -> Vec<RecordId> {
    let (a, b) = (record(s), record(s));
    add(s, a, &instance("1", "1.1", "1.1.1", "ct"), false);
    add(s, a, &instance("1", "1.1", "1.1.2", "ct"), false);
    add(s, a, &instance("1", "1.2", "1.2.1", "sr"), false);
    add(s, a, &instance("2", "2.1", "2.1.1", "ct"), false);
    add(s, a, &instance("1", "1.2", "2.1.1", "ko"), true);
    add(s, a, &instance("3", "3.1", "3.1.1", "mr"), false);
    let gone = s.study_thing(a, "3").unwrap().unwrap();
    s.delete_thing(a, gone, None, &Audit::now(AuditAction::Deleted, None))
        .unwrap();
    add(s, a, &instance("3", "3.1", "3.1.2", "mr"), false);
    add(s, b, &instance("4", "4.1", "4.1.1", "ct"), false);
    vec![a, b]
}

fn all_digests(
    s: &SledMetaStore,
    records: &[RecordId],
) -> Vec<Vec<(sv_model::ThingId, StudyDigest)>> {
    records
        .iter()
        .map(|rid| s.study_digests(*rid).unwrap())
        .collect()
}

#[test]
fn a_store_without_digests_gets_them_built_on_open_once() {
    let dir = tempfile::tempdir().unwrap();
    let s = SledMetaStore::open(dir.path()).unwrap();
    let records = populate(&s);
    let before = all_digests(&s, &records);
    assert_eq!(
        before.iter().map(Vec::len).collect::<Vec<_>>(),
        [3, 1],
        "studies 1, 2 (empty) and the re-made 3; study 4"
    );
    // What a store of the previous release looks like: no tree, no marker.
    assert!(s.db.drop_tree(T::StudyDigests.name()).unwrap());
    let meta = s.db.open_tree("meta").unwrap();
    assert!(meta.remove(DIGESTS_BUILT).unwrap().is_some());
    s.db.flush().unwrap();
    drop((meta, s));

    let s = SledMetaStore::open(dir.path()).unwrap();
    assert_eq!(all_digests(&s, &records), before);

    // Opening again does not rebuild: a digest changed underneath stays as it is.
    let (tid, mut d) = before[1][0].clone();
    d.instance_count += 7;
    let key = keys::record_thing(records[1], tid);
    s.tree(T::StudyDigests)
        .insert(key.as_slice(), encode_digest(&d))
        .unwrap();
    s.db.flush().unwrap();
    drop(s);
    let s = SledMetaStore::open(dir.path()).unwrap();
    let stored = s.tree(T::StudyDigests).get(&key).unwrap().unwrap();
    assert_eq!(decode_digest(&stored).unwrap(), d);
}
