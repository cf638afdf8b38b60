//! Queries with key paging and filters, named blobs with their refcounts, the change feed.

use super::*;

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
