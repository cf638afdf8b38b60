//! The per-instance study index: building studies, duplicates, conflicts, replacement.

use super::*;

pub fn add_instance_builds_a_study(fx: &mut dyn MetaFixture) {
    let s = fx.store();
    let rid = new_record(s);
    let add = |f: &InstanceFacts| {
        s.add_instance(rid, f, false, &audit(AuditAction::Updated))
            .unwrap()
    };
    let (tid, v1, created, _) = stored(add(&facts("1.9", "1.9.2", "1.9.2.2", "i2", true)));
    assert!(created);
    let (tid2, v2, created2, replaced) =
        stored(add(&facts("1.9", "1.9.1", "1.9.1.1", "i1", false)));
    assert_eq!((tid2, created2, replaced), (tid, false, false));
    stored(add(&facts("1.9", "1.9.2", "1.9.2.1", "i3", true)));
    let (other, ..) = stored(add(&facts("1.8", "1.8.1", "1.8.1.1", "i4", false)));
    assert_ne!(other, tid);
    assert_eq!(s.study_thing(rid, "1.9").unwrap(), Some(tid));
    assert_eq!(s.study_thing(rid, "1.7").unwrap(), None);
    let order: Vec<_> = s
        .study_instances(rid, tid)
        .unwrap()
        .into_iter()
        .map(|f| f.sop_instance_uid)
        .collect();
    assert_eq!(order, ["1.9.1.1", "1.9.2.1", "1.9.2.2"]);
    let series: Vec<_> = s
        .series_instances(rid, tid, "1.9.2")
        .unwrap()
        .into_iter()
        .map(|f| f.sop_instance_uid)
        .collect();
    assert_eq!(series, ["1.9.2.1", "1.9.2.2"]);
    assert!(
        s.series_instances(rid, tid, "1.9").unwrap().is_empty(),
        "a series is not a prefix"
    );
    let (owner, f) = s.instance(rid, "1.9.2.2").unwrap().unwrap();
    assert_eq!(
        (owner, f),
        (tid, facts("1.9", "1.9.2", "1.9.2.2", "i2", true))
    );
    let thing = s.thing(rid, tid).unwrap().unwrap();
    assert_eq!(thing.type_id, TypeId::MEDICAL_IMAGE_STUDY);
    assert!(thing.data_xml.is_empty());
    let names: Vec<_> = thing.blobs.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "1.9.1.1",
            "1.9.2.1",
            "1.9.2.1.preview.jpg",
            "1.9.2.2",
            "1.9.2.2.preview.jpg"
        ]
    );
    let dicom = thing.blob("1.9.2.2").unwrap();
    assert_eq!(
        (dicom.content_type.as_str(), dicom.blob_id),
        ("application/dicom", BlobId::of(b"i2"))
    );
    assert_eq!(
        thing.blob("1.9.2.2.preview.jpg").unwrap().content_type,
        "image/jpeg"
    );
    assert_eq!((refs(s, b"i2"), refs(s, b"preview of i2")), (1, 1));
    let versions = s.versions(rid, tid).unwrap();
    assert_eq!(versions.len(), 3);
    assert_eq!((versions[0].version, versions[1].version), (v1, v2));
    let ops: Vec<_> = s
        .changes(rid, 0, 10)
        .unwrap()
        .changes
        .iter()
        .map(|c| c.op)
        .collect();
    use ChangeOp::{Create, Update};
    assert_eq!(ops, [Create, Update, Update, Create]);
    let studies: Vec<_> = s.studies(rid).unwrap();
    assert_eq!(
        studies,
        vec![("1.8".to_owned(), other), ("1.9".to_owned(), tid)]
    );
    assert_eq!(s.instance_index(rid).unwrap().len(), 4);
    let bad = facts("1.9", "1.9.1", "a/b", "bad", false);
    assert!(matches!(
        s.add_instance(rid, &bad, false, &audit(AuditAction::Updated)),
        Err(MetaError::Invalid { .. })
    ));
    let nowhere = s.add_instance(
        RecordId::new_random(),
        &facts("1", "2", "3", "x", false),
        false,
        &audit(AuditAction::Updated),
    );
    assert!(matches!(nowhere, Err(MetaError::RecordNotFound(_))));
}

pub fn duplicate_instance_writes_nothing(fx: &mut dyn MetaFixture) {
    let s = fx.store();
    let rid = new_record(s);
    let f = facts("2.1", "2.1.1", "2.1.1.1", "dup", true);
    let (tid, v, ..) = stored(
        s.add_instance(rid, &f, false, &audit(AuditAction::Updated))
            .unwrap(),
    );
    for replace in [false, true] {
        let again = s
            .add_instance(rid, &f, replace, &audit(AuditAction::Updated))
            .unwrap();
        assert_eq!(again, AddInstanceOutcome::Duplicate { thing_id: tid });
    }
    assert_eq!(s.thing(rid, tid).unwrap().unwrap().version, v);
    assert_eq!(s.changes(rid, 0, 10).unwrap().latest_seq, 1);
    assert_eq!(s.versions(rid, tid).unwrap().len(), 1);
    assert_eq!(refs(s, b"dup"), 1);
}

pub fn conflicting_instance_is_refused_unless_replaced(fx: &mut dyn MetaFixture) {
    let s = fx.store();
    let rid = new_record(s);
    let up = audit(AuditAction::Updated);
    let old = facts("3.1", "3.1.1", "3.1.1.1", "old", true);
    let (tid, ..) = stored(s.add_instance(rid, &old, false, &up).unwrap());
    let new = facts("3.1", "3.1.1", "3.1.1.1", "new", false);
    let refused = s.add_instance(rid, &new, false, &up).unwrap();
    assert_eq!(
        refused,
        AddInstanceOutcome::Conflict {
            thing_id: tid,
            existing: BlobId::of(b"old")
        }
    );
    assert_eq!(s.changes(rid, 0, 10).unwrap().latest_seq, 1);
    let (tid2, _, created, replaced) = stored(s.add_instance(rid, &new, true, &up).unwrap());
    assert_eq!((tid2, created, replaced), (tid, false, true));
    assert_eq!(
        (refs(s, b"old"), refs(s, b"preview of old"), refs(s, b"new")),
        (0, 0, 1)
    );
    let names: Vec<_> = s
        .named_blobs(rid, tid)
        .unwrap()
        .into_iter()
        .map(|b| (b.name.to_string(), b.blob_id))
        .collect();
    assert_eq!(names, vec![("3.1.1.1".to_owned(), BlobId::of(b"new"))]);
    assert_eq!(s.instance(rid, "3.1.1.1").unwrap(), Some((tid, new)));
    // Moving to another series of the same study leaves nothing behind in the old one.
    let moved = facts("3.1", "3.1.2", "3.1.1.1", "moved", false);
    stored(s.add_instance(rid, &moved, true, &up).unwrap());
    assert!(s.series_instances(rid, tid, "3.1.1").unwrap().is_empty());
    assert_eq!(s.study_instances(rid, tid).unwrap(), vec![moved]);
}

pub fn replace_moves_an_instance_between_studies(fx: &mut dyn MetaFixture) {
    let s = fx.store();
    let rid = new_record(s);
    let up = audit(AuditAction::Updated);
    let (a, ..) = stored(
        s.add_instance(rid, &facts("4.1", "4.1.1", "4.9", "a", false), false, &up)
            .unwrap(),
    );
    let (b, ..) = stored(
        s.add_instance(rid, &facts("4.2", "4.2.1", "4.9", "b", false), true, &up)
            .unwrap(),
    );
    assert_ne!(a, b);
    assert!(s.study_instances(rid, a).unwrap().is_empty());
    assert!(s.named_blobs(rid, a).unwrap().is_empty());
    assert_eq!(
        s.versions(rid, a).unwrap().len(),
        2,
        "the old study gets a new version"
    );
    assert_eq!(s.instance(rid, "4.9").unwrap().unwrap().0, b);
    assert_eq!((refs(s, b"a"), refs(s, b"b")), (0, 1));
}

/// The one question ingest asks before storing: is there a record, and a live instance?
pub fn live_instance_answers_what_ingest_asks(fx: &mut dyn MetaFixture) {
    let s = fx.store();
    let nobody = RecordId::new_random();
    assert!(
        matches!(
            s.live_instance(nobody, "6.1.1.1"),
            Err(MetaError::RecordNotFound(r)) if r == nobody
        ),
        "no record"
    );
    let rid = new_record(s);
    assert_eq!(s.live_instance(rid, "6.1.1.1").unwrap(), None, "not yet");
    let f = facts("6.1", "6.1.1", "6.1.1.1", "six", true);
    let up = audit(AuditAction::Updated);
    let (tid, ..) = stored(s.add_instance(rid, &f, false, &up).unwrap());
    assert_eq!(
        s.live_instance(rid, "6.1.1.1").unwrap(),
        Some((tid, f.clone()))
    );
    assert_eq!(
        s.live_instance(rid, "6.1.1.2").unwrap(),
        None,
        "another SOP"
    );
    assert_eq!(
        s.live_instance(rid, "6.1.1.1\0").unwrap(),
        None,
        "a UID no store holds"
    );
    s.delete_thing(rid, tid, None, &audit(AuditAction::Deleted))
        .unwrap();
    assert_eq!(
        s.live_instance(rid, "6.1.1.1").unwrap(),
        None,
        "an instance of a deleted study is new again"
    );
    let other = new_record(s);
    s.add_instance(other, &f, false, &up).unwrap();
    assert_eq!(
        s.live_instance(rid, "6.1.1.1").unwrap(),
        None,
        "records are apart"
    );
}

pub fn deleted_study_is_not_reused(fx: &mut dyn MetaFixture) {
    let s = fx.store();
    let rid = new_record(s);
    let up = audit(AuditAction::Updated);
    let f = facts("5.1", "5.1.1", "5.1.1.1", "five", false);
    let (old, ..) = stored(s.add_instance(rid, &f, false, &up).unwrap());
    s.delete_thing(rid, old, None, &audit(AuditAction::Deleted))
        .unwrap();
    assert_eq!(s.study_thing(rid, "5.1").unwrap(), None);
    let (new, _, created, _) = stored(s.add_instance(rid, &f, false, &up).unwrap());
    assert!(
        created && new != old,
        "re-sending a deleted study makes a new one"
    );
    assert_eq!(s.study_thing(rid, "5.1").unwrap(), Some(new));
    assert_eq!(s.instance(rid, "5.1.1.1").unwrap().unwrap().0, new);
    assert_eq!(refs(s, b"five"), 2, "the tombstone keeps its names");
}
