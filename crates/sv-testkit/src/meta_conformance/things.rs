//! Records and things: round trips, optimistic concurrency, tombstones, history.

use super::*;

pub fn records_round_trip(fx: &mut dyn MetaFixture) {
    let s = fx.store();
    let r = Record {
        id: RecordId::new_random(),
        name: "Jane".into(),
        created: Timestamp::from_unix_micros(42),
        owner_email: None,
    };
    s.create_record(&r).unwrap();
    assert!(matches!(
        s.create_record(&r),
        Err(MetaError::AlreadyExists { .. })
    ));
    assert_eq!(s.record(r.id).unwrap(), Some(r.clone()));
    assert_eq!(s.record(RecordId::new_random()).unwrap(), None);
    let other = new_record(s);
    let ids: BTreeSet<_> = s.records().unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(ids, BTreeSet::from([r.id, other]));
}

pub fn things_round_trip_with_blobs(fx: &mut dyn MetaFixture) {
    let s = fx.store();
    let rid = new_record(s);
    let ty = TypeId::new_random();
    let mut t = new_thing(ty, "<a/>", 5, vec![named("b", b"B"), named("", b"default")]);
    s.create_thing(rid, &t).unwrap();
    t.blobs.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(s.thing(rid, t.id).unwrap(), Some(t.clone()));
    let header = s.thing_header(rid, t.id).unwrap().unwrap();
    assert!(header.blobs.is_empty() && header.version == t.version);
    assert_eq!(s.named_blobs(rid, t.id).unwrap(), t.blobs);
    let b = BlobName::new("b").unwrap();
    assert_eq!(s.named_blob(rid, t.id, &b).unwrap(), Some(named("b", b"B")));
    assert_eq!(refs(s, b"B"), 1);
    assert!(matches!(
        s.create_thing(rid, &t),
        Err(MetaError::AlreadyExists { .. })
    ));
    let orphan = new_thing(ty, "", 0, vec![]);
    assert!(matches!(
        s.create_thing(RecordId::new_random(), &orphan),
        Err(MetaError::RecordNotFound(_))
    ));
    let twice = new_thing(ty, "", 0, vec![named("x", b"1"), named("x", b"2")]);
    assert!(matches!(
        s.create_thing(rid, &twice),
        Err(MetaError::Invalid { .. })
    ));
    assert_eq!(s.thing(rid, ThingId::new_random()).unwrap(), None);
    assert_eq!(
        s.thing(new_record(s), t.id).unwrap(),
        None,
        "records are separate"
    );
}

pub fn update_checks_the_version_stamp(fx: &mut dyn MetaFixture) {
    let s = fx.store();
    let rid = new_record(s);
    let t = new_thing(TypeId::new_random(), "<v1/>", 0, vec![named("n", b"N")]);
    s.create_thing(rid, &t).unwrap();
    let u = update("<v2/>");
    let after = s.update_thing(rid, t.id, t.version, &u).unwrap();
    assert_eq!(after.version, u.version);
    assert_eq!(after.data_xml, "<v2/>");
    assert_eq!(after.flags, ThingFlags(1));
    assert_eq!(after.created, t.created);
    assert_eq!(after.updated.action, AuditAction::Updated);
    assert_eq!(after.blobs, vec![named("n", b"N")]);
    assert_eq!(s.thing(rid, t.id).unwrap(), Some(after.clone()));
    match s.update_thing(rid, t.id, t.version, &update("<stale/>")) {
        Err(MetaError::Conflict { current }) => assert_eq!(current, u.version),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(s.thing(rid, t.id).unwrap().unwrap().data_xml, "<v2/>");
    let missing = s.update_thing(rid, ThingId::new_random(), u.version, &update(""));
    assert!(matches!(missing, Err(MetaError::ThingNotFound(_))));
}

pub fn delete_is_a_tombstone_that_keeps_blob_references(fx: &mut dyn MetaFixture) {
    let s = fx.store();
    let rid = new_record(s);
    let t = new_thing(TypeId::new_random(), "<x/>", 0, vec![named("n", b"kept")]);
    s.create_thing(rid, &t).unwrap();
    let stale = VersionStamp::new_random();
    let conflict = s.delete_thing(rid, t.id, Some(stale), &audit(AuditAction::Deleted));
    assert!(conflict.unwrap_err().is_conflict());
    let v = s
        .delete_thing(rid, t.id, Some(t.version), &audit(AuditAction::Deleted))
        .unwrap();
    let gone = s.thing(rid, t.id).unwrap().unwrap();
    assert_eq!((gone.state, gone.version), (ThingState::Deleted, v));
    assert_eq!(gone.updated.action, AuditAction::Deleted);
    assert_eq!(refs(s, b"kept"), 1, "a tombstone keeps its names");
    assert_eq!(s.named_blobs(rid, t.id).unwrap().len(), 1);
    let again = s.delete_thing(rid, t.id, None, &audit(AuditAction::Deleted));
    assert_eq!(again.unwrap(), v, "deleting twice changes nothing");
    let upd = s.update_thing(rid, t.id, v, &update(""));
    assert!(matches!(upd, Err(MetaError::ThingNotFound(_))));
    let put = s.put_named_blob(
        rid,
        t.id,
        None,
        &named("m", b"M"),
        &audit(AuditAction::Updated),
    );
    assert!(put.unwrap_err().is_not_found());
    let versions = s.versions(rid, t.id).unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[1].state, ThingState::Deleted);
    let missing = s.delete_thing(
        rid,
        ThingId::new_random(),
        None,
        &audit(AuditAction::Deleted),
    );
    assert!(matches!(missing, Err(MetaError::ThingNotFound(_))));
}

pub fn history_keeps_each_version(fx: &mut dyn MetaFixture) {
    let s = fx.store();
    let rid = new_record(s);
    let t = new_thing(TypeId::new_random(), "<one/>", 0, vec![named("a", b"A")]);
    s.create_thing(rid, &t).unwrap();
    let u = update("<two/>");
    s.update_thing(rid, t.id, t.version, &u).unwrap();
    let v3 = s
        .put_named_blob(
            rid,
            t.id,
            Some(u.version),
            &named("b", b"B"),
            &audit(AuditAction::Updated),
        )
        .unwrap();
    let v4 = s
        .delete_named_blob(
            rid,
            t.id,
            Some(v3),
            &BlobName::new("a").unwrap(),
            &audit(AuditAction::Updated),
        )
        .unwrap();
    let history: Vec<_> = s
        .versions(rid, t.id)
        .unwrap()
        .iter()
        .map(|v| v.version)
        .collect();
    assert_eq!(history, vec![t.version, u.version, v3, v4]);
    let first = s.thing_at(rid, t.id, t.version).unwrap().unwrap();
    assert_eq!(
        (first.data_xml.as_str(), first.blobs.clone()),
        ("<one/>", vec![named("a", b"A")])
    );
    let third = s.thing_at(rid, t.id, v3).unwrap().unwrap();
    assert_eq!(third.data_xml, "<two/>");
    assert_eq!(third.blobs, vec![named("a", b"A"), named("b", b"B")]);
    assert_eq!(
        s.thing_at(rid, t.id, v4).unwrap().unwrap().blobs,
        vec![named("b", b"B")]
    );
    assert_eq!(
        s.thing_at(rid, t.id, VersionStamp::new_random()).unwrap(),
        None
    );
    assert!(
        s.versions(rid, ThingId::new_random())
            .unwrap_err()
            .is_not_found()
    );
}
