//! Conformance suite for `sv_meta::MetaStore` implementations: one `#[test]` per behaviour.
//!
//! ```ignore
//! sv_testkit::meta_store_conformance!(MySledFixture::new());
//! ```
//!
//! The argument is evaluated once per test and must be a [`MetaFixture`]: a store that can
//! be closed and reopened on the same data.

use std::collections::BTreeSet;

use sv_blob::{BlobId, BlobStore, MemoryBlobStore};
use sv_meta::{
    AddInstanceOutcome, ChangeOp, MetaError, MetaStore, StateFilter, ThingQuery, ThingUpdate, fsck,
};
use sv_model::study::{InstanceFacts, PreviewRef};
use sv_model::{
    Audit, AuditAction, BlobName, NamedBlob, Record, RecordId, SecretHash, Share, Thing,
    ThingFlags, ThingId, ThingState, Timestamp, Token, TokenId, TypeId, VersionStamp,
};

/// A store under test that can be reopened on the same data.
pub trait MetaFixture {
    fn store(&self) -> &dyn MetaStore;
    /// Closes the store and opens it again.
    fn reopen(&mut self);
}

/// Expands into one `#[test]` per metadata store behaviour, each calling a function of this
/// module with a fresh fixture built by `$make`.
#[macro_export]
macro_rules! meta_store_conformance {
    ($make:expr) => {
        $crate::meta_store_conformance!(@tests $make;
            records_round_trip, things_round_trip_with_blobs, update_checks_the_version_stamp,
            delete_is_a_tombstone_that_keeps_blob_references, history_keeps_each_version,
            query_pages_by_key, query_filters_by_type_state_and_dates,
            named_blob_changes_keep_refcounts, feed_records_every_change_in_order,
            tokens_are_found_by_hash, shares_are_found_by_hash_and_revoked,
            add_instance_builds_a_study, duplicate_instance_writes_nothing,
            conflicting_instance_is_refused_unless_replaced, replace_moves_an_instance_between_studies,
            deleted_study_is_not_reused, fsck_tells_problems_from_leftovers,
            concurrent_updates_let_exactly_one_win, concurrent_instances_share_one_study,
            large_data_xml_round_trips, reopen_keeps_everything);
    };
    (@tests $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let mut fixture = $make;
                $crate::meta_conformance::$name(&mut fixture);
            }
        )*
    };
}

fn audit(action: AuditAction) -> Audit {
    Audit::now(action, None)
}

fn new_record(s: &dyn MetaStore) -> RecordId {
    let r = Record {
        id: RecordId::new_random(),
        name: "test".into(),
        created: Timestamp::now(),
    };
    s.create_record(&r).unwrap();
    r.id
}

/// A named blob for `bytes` (the conformance suite never needs the bytes themselves).
pub fn named(name: &str, bytes: &[u8]) -> NamedBlob {
    NamedBlob {
        name: BlobName::new(name).unwrap(),
        content_type: "text/plain".into(),
        length: bytes.len() as u64,
        blob_id: BlobId::of(bytes),
    }
}

/// A new active thing of `type_id` with `xml` and `blobs`, effective at `eff` µs.
pub fn new_thing(type_id: TypeId, xml: &str, eff: i64, blobs: Vec<NamedBlob>) -> Thing {
    let created = audit(AuditAction::Created);
    Thing {
        id: ThingId::new_random(),
        version: VersionStamp::new_random(),
        type_id,
        state: ThingState::Active,
        flags: ThingFlags::default(),
        eff_date: Timestamp::from_unix_micros(eff),
        created: created.clone(),
        updated: created,
        data_xml: xml.into(),
        blobs,
    }
}

fn update(xml: &str) -> ThingUpdate {
    ThingUpdate {
        data_xml: xml.into(),
        flags: ThingFlags(1),
        eff_date: Timestamp::from_unix_micros(7),
        version: VersionStamp::new_random(),
        audit: audit(AuditAction::Updated),
    }
}

/// Facts of one instance; `seed` picks the DICOM bytes, and a preview is added when `preview`.
pub fn facts(study: &str, series: &str, sop: &str, seed: &str, preview: bool) -> InstanceFacts {
    InstanceFacts {
        study_instance_uid: study.into(),
        series_instance_uid: series.into(),
        sop_instance_uid: sop.into(),
        sop_class_uid: "1.2.840.10008.5.1.4.1.1.2".into(),
        instance_number: Some(1),
        transfer_syntax_uid: "1.2.840.10008.1.2.1".into(),
        rows: Some(512),
        columns: Some(512),
        number_of_frames: None,
        study: Default::default(),
        series: Default::default(),
        blob_id: BlobId::of(seed.as_bytes()),
        length: seed.len() as u64,
        preview: preview.then(|| PreviewRef {
            blob_id: BlobId::of(format!("preview of {seed}").as_bytes()),
            length: 11 + seed.len() as u64,
            media_type: "image/jpeg".into(),
            width: 500,
            height: 500,
        }),
        preview_error: None,
        key_image_refs: Vec::new(),
        received: Timestamp::from_unix_micros(1),
    }
}

fn stored(outcome: AddInstanceOutcome) -> (ThingId, VersionStamp, bool, bool) {
    match outcome {
        AddInstanceOutcome::Stored {
            thing_id,
            version,
            created_study,
            replaced,
        } => (thing_id, version, created_study, replaced),
        other => panic!("expected Stored, got {other:?}"),
    }
}

fn refs(s: &dyn MetaStore, bytes: &[u8]) -> u64 {
    s.blob_refcount(&BlobId::of(bytes)).unwrap()
}

pub fn records_round_trip(fx: &mut dyn MetaFixture) {
    let s = fx.store();
    let r = Record {
        id: RecordId::new_random(),
        name: "Jane".into(),
        created: Timestamp::from_unix_micros(42),
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

pub fn query_pages_by_key(fx: &mut dyn MetaFixture) {
    let s = fx.store();
    let rid = new_record(s);
    let (a, b) = (TypeId::new_random(), TypeId::new_random());
    let mut want_a = BTreeSet::new();
    for i in 0..25 {
        let t = new_thing(a, "<a/>", i, vec![]);
        want_a.insert(t.id);
        s.create_thing(rid, &t).unwrap();
    }
    for i in 0..5 {
        s.create_thing(rid, &new_thing(b, "<b/>", i, vec![]))
            .unwrap();
    }
    s.create_thing(new_record(s), &new_thing(a, "<other record/>", 0, vec![]))
        .unwrap();
    let mut q = ThingQuery {
        limit: 10,
        ..ThingQuery::of_type(a)
    };
    let (mut got, mut pages) = (Vec::new(), 0);
    loop {
        let page = s.query(rid, &q).unwrap();
        pages += 1;
        assert!(page.things.len() <= 10);
        got.extend(page.things.iter().map(|t| t.id));
        match page.next {
            Some(next) => q.after = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert!(got.windows(2).all(|w| w[0] < w[1]), "key order, no repeats");
    assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), want_a);
    let exact = s
        .query(
            rid,
            &ThingQuery {
                limit: 5,
                ..ThingQuery::of_type(b)
            },
        )
        .unwrap();
    assert_eq!(
        (exact.things.len(), exact.next),
        (5, None),
        "no empty last page"
    );
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    let cursor_of = |ty| sv_meta::ThingCursor {
        type_id: ty,
        thing_id: ThingId::new_random(),
    };
    let after_hi = ThingQuery {
        after: Some(cursor_of(hi)),
        ..ThingQuery::of_type(lo)
    };
    assert!(
        s.query(rid, &after_hi).unwrap().things.is_empty(),
        "a later type's cursor ends the range"
    );
    let after_lo = ThingQuery {
        after: Some(cursor_of(lo)),
        limit: 100,
        ..ThingQuery::of_type(hi)
    };
    let n_hi = if hi == a { 25 } else { 5 };
    assert_eq!(
        s.query(rid, &after_lo).unwrap().things.len(),
        n_hi,
        "an earlier type's cursor starts it"
    );
    let all = s
        .query(
            rid,
            &ThingQuery {
                limit: 100,
                ..ThingQuery::default()
            },
        )
        .unwrap();
    assert_eq!(all.things.len(), 30);
}

pub fn query_filters_by_type_state_and_dates(fx: &mut dyn MetaFixture) {
    let s = fx.store();
    let rid = new_record(s);
    let ty = TypeId::new_random();
    let things: Vec<Thing> = (0..6)
        .map(|i| new_thing(ty, "<t/>", i * 10, vec![named("n", b"N")]))
        .collect();
    for t in &things {
        s.create_thing(rid, t).unwrap();
    }
    let del = audit(AuditAction::Deleted);
    s.delete_thing(rid, things[0].id, None, &del).unwrap();
    let count = |q: ThingQuery| {
        s.query(
            rid,
            &ThingQuery {
                type_id: Some(ty),
                ..q
            },
        )
        .unwrap()
        .things
        .len()
    };
    assert_eq!(count(ThingQuery::default()), 5);
    assert_eq!(
        count(ThingQuery {
            states: StateFilter::Deleted,
            ..Default::default()
        }),
        1
    );
    assert_eq!(
        count(ThingQuery {
            states: StateFilter::Any,
            ..Default::default()
        }),
        6
    );
    let eff = |min: Option<i64>, max: Option<i64>| ThingQuery {
        eff_date_min: min.map(Timestamp::from_unix_micros),
        eff_date_max: max.map(Timestamp::from_unix_micros),
        states: StateFilter::Any,
        ..Default::default()
    };
    assert_eq!(count(eff(Some(20), Some(40))), 3);
    assert_eq!(count(eff(None, Some(10))), 2);
    assert_eq!(count(eff(Some(51), None)), 0);
    let later = ThingQuery {
        updated_min: Some(del.timestamp),
        states: StateFilter::Any,
        ..Default::default()
    };
    assert_eq!(count(later), 1);
    let early = ThingQuery {
        updated_max: Some(Timestamp::UNIX_EPOCH),
        ..Default::default()
    };
    assert_eq!(count(early), 0);
    let with_blobs = s
        .query(
            rid,
            &ThingQuery {
                with_blobs: true,
                ..ThingQuery::of_type(ty)
            },
        )
        .unwrap();
    assert!(
        with_blobs
            .things
            .iter()
            .all(|t| t.blobs == vec![named("n", b"N")])
    );
    let without = s.query(rid, &ThingQuery::of_type(ty)).unwrap();
    assert!(without.things.iter().all(|t| t.blobs.is_empty()));
    assert!(
        s.query(rid, &ThingQuery::of_type(TypeId::new_random()))
            .unwrap()
            .things
            .is_empty()
    );
}

pub fn named_blob_changes_keep_refcounts(fx: &mut dyn MetaFixture) {
    let s = fx.store();
    let rid = new_record(s);
    let ty = TypeId::new_random();
    let t1 = new_thing(ty, "", 0, vec![named("a", b"shared")]);
    let t2 = new_thing(
        ty,
        "",
        0,
        vec![named("a", b"shared"), named("b", b"shared")],
    );
    s.create_thing(rid, &t1).unwrap();
    s.create_thing(rid, &t2).unwrap();
    assert_eq!(refs(s, b"shared"), 3);
    let up = audit(AuditAction::Updated);
    let stale = s.put_named_blob(
        rid,
        t1.id,
        Some(VersionStamp::new_random()),
        &named("a", b"new"),
        &up,
    );
    assert!(stale.unwrap_err().is_conflict());
    let v = s
        .put_named_blob(rid, t1.id, Some(t1.version), &named("a", b"new"), &up)
        .unwrap();
    assert_eq!((refs(s, b"shared"), refs(s, b"new")), (2, 1));
    assert_eq!(s.thing(rid, t1.id).unwrap().unwrap().version, v);
    let b = BlobName::new("b").unwrap();
    s.delete_named_blob(rid, t2.id, None, &b, &up).unwrap();
    assert_eq!(refs(s, b"shared"), 1);
    let again = s.delete_named_blob(rid, t2.id, None, &b, &up);
    assert!(matches!(again, Err(MetaError::BlobNameNotFound { .. })));
    s.delete_named_blob(rid, t2.id, None, &BlobName::new("a").unwrap(), &up)
        .unwrap();
    assert_eq!(refs(s, b"shared"), 0);
    assert_eq!(s.referenced_blobs().unwrap(), vec![(BlobId::of(b"new"), 1)]);
}

pub fn feed_records_every_change_in_order(fx: &mut dyn MetaFixture) {
    let s = fx.store();
    let rid = new_record(s);
    assert_eq!(s.changes(rid, 0, 10).unwrap().latest_seq, 0);
    let t = new_thing(TypeId::new_random(), "", 0, vec![]);
    s.create_thing(rid, &t).unwrap();
    let u = update("<u/>");
    s.update_thing(rid, t.id, t.version, &u).unwrap();
    let v3 = s
        .put_named_blob(
            rid,
            t.id,
            None,
            &named("x", b"X"),
            &audit(AuditAction::Updated),
        )
        .unwrap();
    let v4 = s
        .delete_thing(rid, t.id, None, &audit(AuditAction::Deleted))
        .unwrap();
    s.create_thing(
        new_record(s),
        &new_thing(TypeId::new_random(), "", 0, vec![]),
    )
    .unwrap();
    let page = s.changes(rid, 0, 100).unwrap();
    assert_eq!(page.latest_seq, 4);
    let seen: Vec<_> = page
        .changes
        .iter()
        .map(|c| (c.seq, c.op, c.version))
        .collect();
    assert_eq!(
        seen,
        vec![
            (1, ChangeOp::Create, t.version),
            (2, ChangeOp::Update, u.version),
            (3, ChangeOp::Update, v3),
            (4, ChangeOp::Delete, v4),
        ]
    );
    assert!(
        page.changes
            .iter()
            .all(|c| c.thing_id == t.id && c.type_id == t.type_id)
    );
    let tail = s.changes(rid, 2, 1).unwrap();
    assert_eq!(
        (tail.changes.len(), tail.changes[0].seq, tail.latest_seq),
        (1, 3, 4)
    );
    assert!(s.changes(rid, 4, 10).unwrap().changes.is_empty());
}

fn token(rid: RecordId, secret: &[u8]) -> Token {
    Token {
        id: TokenId::new_random(),
        record_id: rid,
        secret_hash: SecretHash::of(secret),
        label: "app".into(),
        grants: vec![sv_model::Grant {
            type_id: Some(TypeId::MEDICAL_IMAGE_STUDY),
            permissions: sv_model::Permissions::ALL,
        }],
        created: Timestamp::from_unix_micros(3),
        expires: Some(Timestamp::from_unix_micros(9)),
    }
}

pub fn tokens_are_found_by_hash(fx: &mut dyn MetaFixture) {
    let s = fx.store();
    let rid = new_record(s);
    let t = token(rid, b"secret");
    s.put_token(&t).unwrap();
    s.put_token(&token(new_record(s), b"other")).unwrap();
    assert_eq!(
        s.token_by_hash(&SecretHash::of(b"secret")).unwrap(),
        Some(t.clone())
    );
    assert_eq!(s.token_by_hash(&SecretHash::of(b"nope")).unwrap(), None);
    assert_eq!(s.tokens(rid).unwrap(), vec![t.clone()]);
    let rotated = Token {
        secret_hash: SecretHash::of(b"rotated"),
        ..t.clone()
    };
    s.put_token(&rotated).unwrap();
    assert_eq!(s.token_by_hash(&SecretHash::of(b"secret")).unwrap(), None);
    assert_eq!(s.tokens(rid).unwrap(), vec![rotated]);
    assert!(s.delete_token(rid, t.id).unwrap());
    assert!(!s.delete_token(rid, t.id).unwrap());
    assert!(s.tokens(rid).unwrap().is_empty());
    assert_eq!(s.token_by_hash(&SecretHash::of(b"rotated")).unwrap(), None);
    assert!(
        s.put_token(&token(RecordId::new_random(), b"x"))
            .unwrap_err()
            .is_not_found()
    );
}

pub fn shares_are_found_by_hash_and_revoked(fx: &mut dyn MetaFixture) {
    let s = fx.store();
    let rid = new_record(s);
    let share = Share {
        id: TokenId::new_random(),
        record_id: rid,
        thing_id: ThingId::new_random(),
        study_instance_uid: "1.2.3".into(),
        secret_hash: SecretHash::of(b"link"),
        email: Some("a@example.org".into()),
        passcode_hash: Some(SecretHash::of(b"1234")),
        note: None,
        allow_download: true,
        created: Timestamp::from_unix_micros(1),
        expires: Timestamp::from_unix_micros(100),
        revoked: None,
    };
    s.put_share(&share).unwrap();
    assert_eq!(
        s.share_by_hash(&SecretHash::of(b"link")).unwrap(),
        Some(share.clone())
    );
    assert_eq!(s.shares(rid).unwrap(), vec![share.clone()]);
    let at = Timestamp::from_unix_micros(50);
    let revoked = s.revoke_share(rid, share.id, at).unwrap().unwrap();
    assert_eq!(revoked.revoked, Some(at));
    let later = s
        .revoke_share(rid, share.id, Timestamp::from_unix_micros(60))
        .unwrap();
    assert_eq!(
        later.unwrap().revoked,
        Some(at),
        "the first revocation stands"
    );
    assert_eq!(
        s.share_by_hash(&SecretHash::of(b"link"))
            .unwrap()
            .unwrap()
            .revoked,
        Some(at)
    );
    assert_eq!(
        s.revoke_share(rid, TokenId::new_random(), at).unwrap(),
        None
    );
}

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

pub fn fsck_tells_problems_from_leftovers(fx: &mut dyn MetaFixture) {
    let s = fx.store();
    let blobs = MemoryBlobStore::new();
    let rid = new_record(s);
    for bytes in [&b"A"[..], b"i1", b"preview of i1", b"leftover"] {
        blobs.put_bytes(bytes).unwrap();
    }
    s.create_thing(
        rid,
        &new_thing(TypeId::new_random(), "", 0, vec![named("a", b"A")]),
    )
    .unwrap();
    s.add_instance(
        rid,
        &facts("6.1", "6.1.1", "6.1.1.1", "i1", true),
        false,
        &audit(AuditAction::Updated),
    )
    .unwrap();
    let report = fsck(s, &blobs).unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.unreferenced_blobs, vec![BlobId::of(b"leftover")]);
    assert_eq!((report.records, report.things, report.names), (1, 2, 3));
    blobs.delete(&BlobId::of(b"A")).unwrap();
    let report = fsck(s, &blobs).unwrap();
    assert_eq!(report.problems.len(), 1, "{report:?}");
    assert!(matches!(
        report.problems[0],
        sv_meta::FsckProblem::MissingBlob { .. }
    ));
}

pub fn concurrent_updates_let_exactly_one_win(fx: &mut dyn MetaFixture) {
    let s = fx.store();
    let rid = new_record(s);
    let t = new_thing(TypeId::new_random(), "<v1/>", 0, vec![]);
    s.create_thing(rid, &t).unwrap();
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                scope.spawn(move || {
                    s.update_thing(rid, t.id, t.version, &update(&format!("<w{i}/>")))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    let current = winners[0].version;
    for r in &results {
        if let Err(e) = r {
            assert!(
                matches!(e, MetaError::Conflict { current: c } if *c == current),
                "{e:?}"
            );
        }
    }
    assert_eq!(s.versions(rid, t.id).unwrap().len(), 2);
    assert_eq!(s.changes(rid, 0, 100).unwrap().latest_seq, 2);
}

pub fn concurrent_instances_share_one_study(fx: &mut dyn MetaFixture) {
    let s = fx.store();
    let rid = new_record(s);
    let outcomes: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                scope.spawn(move || {
                    let f = facts(
                        "8.1",
                        "8.1.1",
                        &format!("8.1.1.{i}"),
                        &format!("c{i}"),
                        true,
                    );
                    s.add_instance(rid, &f, false, &audit(AuditAction::Updated))
                        .unwrap()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| stored(h.join().unwrap()))
            .collect()
    });
    let studies: BTreeSet<_> = outcomes.iter().map(|o| o.0).collect();
    assert_eq!(studies.len(), 1, "one study thing for one StudyInstanceUID");
    assert_eq!(outcomes.iter().filter(|o| o.2).count(), 1, "created once");
    let tid = outcomes[0].0;
    assert_eq!(s.study_instances(rid, tid).unwrap().len(), 8);
    assert_eq!(s.versions(rid, tid).unwrap().len(), 8);
    let seqs: Vec<_> = s
        .changes(rid, 0, 100)
        .unwrap()
        .changes
        .iter()
        .map(|c| c.seq)
        .collect();
    assert_eq!(seqs, (1..=8).collect::<Vec<u64>>());
}

pub fn large_data_xml_round_trips(fx: &mut dyn MetaFixture) {
    let xml = format!("<big>{}</big>", "é<x a=\"1\"/>".repeat(40_000));
    let (rid, t) = {
        let s = fx.store();
        let rid = new_record(s);
        let t = new_thing(TypeId::new_random(), &xml, 0, vec![]);
        s.create_thing(rid, &t).unwrap();
        (rid, t)
    };
    fx.reopen();
    let s = fx.store();
    assert_eq!(s.thing(rid, t.id).unwrap().unwrap().data_xml, xml);
    assert_eq!(
        s.thing_at(rid, t.id, t.version).unwrap().unwrap().data_xml,
        xml
    );
}

pub fn reopen_keeps_everything(fx: &mut dyn MetaFixture) {
    let (rid, t, tid, tok) = {
        let s = fx.store();
        let rid = new_record(s);
        let t = new_thing(TypeId::new_random(), "<kept/>", 3, vec![named("n", b"N")]);
        s.create_thing(rid, &t).unwrap();
        let f = facts("7.1", "7.1.1", "7.1.1.1", "seven", true);
        let (tid, ..) = stored(
            s.add_instance(rid, &f, false, &audit(AuditAction::Updated))
                .unwrap(),
        );
        let tok = token(rid, b"kept");
        s.put_token(&tok).unwrap();
        (rid, t, tid, tok)
    };
    fx.reopen();
    let s = fx.store();
    assert!(s.record(rid).unwrap().is_some());
    assert_eq!(s.thing(rid, t.id).unwrap(), Some(t));
    assert_eq!(s.study_thing(rid, "7.1").unwrap(), Some(tid));
    assert_eq!(
        s.instance(rid, "7.1.1.1").unwrap().unwrap().1,
        facts("7.1", "7.1.1", "7.1.1.1", "seven", true)
    );
    assert_eq!(s.changes(rid, 0, 10).unwrap().latest_seq, 2);
    assert_eq!(refs(s, b"preview of seven"), 1);
    assert_eq!(
        s.token_by_hash(&SecretHash::of(b"kept")).unwrap(),
        Some(tok)
    );
    // And it keeps working: sequence numbers continue.
    s.create_thing(rid, &new_thing(TypeId::new_random(), "", 0, vec![]))
        .unwrap();
    assert_eq!(s.changes(rid, 0, 10).unwrap().latest_seq, 3);
}
