//! Consistency checks, concurrent writers, large values, reopening.

use super::*;

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
