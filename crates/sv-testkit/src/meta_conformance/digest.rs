//! Study digests: one per live study thing, changed with every instance added, replaced or
//! deleted, carrying the study thing's version.

use sv_model::study::StudyDigest;

use super::*;

const CT: &str = "1.2.840.10008.5.1.4.1.1.2";
const SR: &str = "1.2.840.10008.5.1.4.1.1.88.11";

/// An instance of SOP class `class` whose series has modality `modality`.
fn instance(study: &str, series: &str, sop: &str, class: &str, modality: &str) -> InstanceFacts {
    let mut f = facts(study, series, sop, &format!("bytes of {sop}"), false);
    f.sop_class_uid = class.into();
    f.series.modality = Some(modality.into());
    f
}

fn add(s: &dyn MetaStore, rid: RecordId, f: &InstanceFacts, replace: bool) -> AddInstanceOutcome {
    s.add_instance(rid, f, replace, &audit(AuditAction::Updated))
        .unwrap()
}

fn digest(s: &dyn MetaStore, rid: RecordId, tid: ThingId) -> StudyDigest {
    s.study_digest(rid, tid)
        .unwrap()
        .expect("a live study has a digest")
}

/// (series UID, count) of each series, by UID.
fn series_counts(d: &StudyDigest) -> Vec<(&str, u32)> {
    d.series
        .iter()
        .map(|s| (s.series_instance_uid.as_str(), s.instance_count))
        .collect()
}

fn classes(d: &StudyDigest) -> Vec<(&str, u32)> {
    d.sop_classes
        .iter()
        .map(|(c, n)| (c.as_str(), *n))
        .collect()
}

/// The digest carries the study thing's current version and the time of that version.
fn assert_follows_header(s: &dyn MetaStore, rid: RecordId, tid: ThingId) {
    let header = s.thing_header(rid, tid).unwrap().unwrap();
    let d = digest(s, rid, tid);
    assert_eq!(
        (d.version, d.updated),
        (header.version, header.updated.timestamp)
    );
}

pub fn digest_holds_the_first_instance(fx: &mut dyn MetaFixture) {
    let s = fx.store();
    let rid = new_record(s);
    let mut f = instance("10.1", "10.1.1", "10.1.1.1", CT, "CT");
    f.study.description = Some("Chest".into());
    f.study.accession_number = Some("A10".into());
    f.series.body_part = Some("CHEST".into());
    let (tid, version, created, _) = stored(add(s, rid, &f, false));
    assert!(created);
    let d = digest(s, rid, tid);
    assert_eq!(d.study_instance_uid, "10.1");
    assert_eq!(d.version, version);
    assert_eq!(d.study, f.study);
    assert_eq!(d.instance_count, 1);
    assert_eq!(series_counts(&d), [("10.1.1", 1)]);
    assert_eq!(d.series[0].attributes, f.series);
    assert_eq!(classes(&d), [(CT, 1)]);
    assert_follows_header(s, rid, tid);
    assert_eq!(s.study_digests(rid).unwrap(), vec![(tid, d)]);
}

pub fn digest_counts_instances_by_series_and_class(fx: &mut dyn MetaFixture) {
    let (rid, tid, d) = {
        let s = fx.store();
        let rid = new_record(s);
        let (tid, ..) = stored(add(
            s,
            rid,
            &instance("11.1", "11.1.2", "1", CT, "CT"),
            false,
        ));
        for (series, sop, class, modality) in [
            ("11.1.2", "2", CT, "CT"),
            ("11.1.1", "3", SR, "SR"),
            ("11.1.2", "4", CT, "CT"),
            ("11.1.1", "5", CT, "SR"),
        ] {
            let f = instance("11.1", series, sop, class, modality);
            assert_eq!(stored(add(s, rid, &f, false)).0, tid);
        }
        let d = digest(s, rid, tid);
        assert_eq!(d.instance_count, 5);
        assert_eq!(series_counts(&d), [("11.1.1", 2), ("11.1.2", 3)]);
        assert_eq!(classes(&d), [(CT, 4), (SR, 1)]);
        assert_eq!(d.modalities().collect::<Vec<_>>(), ["SR", "CT"]);
        assert_follows_header(s, rid, tid);
        (rid, tid, d)
    };
    fx.reopen();
    assert_eq!(fx.store().study_digest(rid, tid).unwrap(), Some(d));
}

pub fn duplicate_instance_leaves_the_digest_unchanged(fx: &mut dyn MetaFixture) {
    let s = fx.store();
    let rid = new_record(s);
    let f = instance("12.1", "12.1.1", "12.1.1.1", CT, "CT");
    let (tid, version, ..) = stored(add(s, rid, &f, false));
    add(
        s,
        rid,
        &instance("12.1", "12.1.1", "12.1.1.2", CT, "CT"),
        false,
    );
    let before = digest(s, rid, tid);
    assert_ne!(before.version, version);
    for replace in [false, true] {
        assert_eq!(
            add(s, rid, &f, replace),
            AddInstanceOutcome::Duplicate { thing_id: tid }
        );
    }
    assert_eq!(digest(s, rid, tid), before);
    assert_follows_header(s, rid, tid);
}

pub fn replace_moves_the_digest_counts(fx: &mut dyn MetaFixture) {
    let s = fx.store();
    let rid = new_record(s);
    let (tid, ..) = stored(add(
        s,
        rid,
        &instance("13.1", "13.1.1", "1", CT, "CT"),
        false,
    ));
    add(s, rid, &instance("13.1", "13.1.1", "2", CT, "CT"), false);
    // A conflict refused changes nothing.
    let mut other = instance("13.1", "13.1.2", "2", SR, "SR");
    other.blob_id = BlobId::of(b"other bytes");
    let before = digest(s, rid, tid);
    assert!(matches!(
        add(s, rid, &other, false),
        AddInstanceOutcome::Conflict { .. }
    ));
    assert_eq!(digest(s, rid, tid), before);
    // Replaced by an instance of another series and SOP class: the counts move.
    let (_, version, _, replaced) = stored(add(s, rid, &other, true));
    assert!(replaced);
    let d = digest(s, rid, tid);
    assert_eq!(d.version, version);
    assert_eq!(d.instance_count, 2);
    assert_eq!(series_counts(&d), [("13.1.1", 1), ("13.1.2", 1)]);
    assert_eq!(classes(&d), [(CT, 1), (SR, 1)]);
    // Replaced again, into another study: it leaves this one's digest for the other's.
    let mut moved = instance("13.2", "13.2.1", "2", SR, "SR");
    moved.blob_id = BlobId::of(b"moved bytes");
    let (new_tid, _, created, _) = stored(add(s, rid, &moved, true));
    assert!(created && new_tid != tid);
    let old = digest(s, rid, tid);
    assert_eq!(old.instance_count, 1);
    assert_eq!(series_counts(&old), [("13.1.1", 1)]);
    assert_eq!(classes(&old), [(CT, 1)]);
    let new = digest(s, rid, new_tid);
    assert_eq!(
        (new.study_instance_uid.as_str(), new.instance_count),
        ("13.2", 1)
    );
    assert_eq!(classes(&new), [(SR, 1)]);
    assert_follows_header(s, rid, tid);
    assert_follows_header(s, rid, new_tid);
    // Its last instance gone, a study keeps an empty digest while it lives.
    let mut last = instance("13.2", "13.2.1", "1", CT, "CT");
    last.blob_id = BlobId::of(b"last bytes");
    stored(add(s, rid, &last, true));
    let emptied = digest(s, rid, tid);
    assert_eq!(emptied.instance_count, 0);
    assert!(emptied.series.is_empty() && emptied.sop_classes.is_empty());
    assert_eq!(emptied.study_instance_uid, "13.1");
    assert_follows_header(s, rid, tid);
}

pub fn digest_version_follows_the_study_thing(fx: &mut dyn MetaFixture) {
    let s = fx.store();
    let rid = new_record(s);
    let (tid, v1, ..) = stored(add(
        s,
        rid,
        &instance("14.1", "14.1.1", "1", CT, "CT"),
        false,
    ));
    assert_follows_header(s, rid, tid);
    let (_, v2, ..) = stored(add(
        s,
        rid,
        &instance("14.1", "14.1.1", "2", CT, "CT"),
        false,
    ));
    assert_ne!(v1, v2);
    assert_eq!(digest(s, rid, tid).version, v2);
    assert_follows_header(s, rid, tid);
    // Any new version of the study thing, not only an instance, stamps the digest.
    let header = s.thing_header(rid, tid).unwrap().unwrap();
    let updated = s
        .update_thing(rid, tid, header.version, &update(""))
        .unwrap();
    assert_eq!(digest(s, rid, tid).version, updated.version);
    assert_follows_header(s, rid, tid);
    assert_eq!(digest(s, rid, tid).instance_count, 2);
}

pub fn deleted_study_has_no_digest(fx: &mut dyn MetaFixture) {
    let s = fx.store();
    let rid = new_record(s);
    let f = instance("15.1", "15.1.1", "15.1.1.1", CT, "CT");
    let (gone, ..) = stored(add(s, rid, &f, false));
    let (kept, ..) = stored(add(
        s,
        rid,
        &instance("15.2", "15.2.1", "1", CT, "CT"),
        false,
    ));
    s.delete_thing(rid, gone, None, &audit(AuditAction::Deleted))
        .unwrap();
    assert_eq!(s.study_digest(rid, gone).unwrap(), None);
    let listed: Vec<_> = s
        .study_digests(rid)
        .unwrap()
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(listed, [kept]);
    // Sending the deleted study again: whichever thing is live for its UID has the digest
    // of its instances, and the deleted one still has none.
    add(s, rid, &f, false);
    add(
        s,
        rid,
        &instance("15.1", "15.1.1", "15.1.1.2", CT, "CT"),
        false,
    );
    assert_eq!(s.study_digest(rid, gone).unwrap(), None);
    if let Some(live) = s.study_thing(rid, "15.1").unwrap() {
        let n = s.study_instances(rid, live).unwrap().len() as u32;
        assert_eq!(digest(s, rid, live).instance_count, n);
        assert_follows_header(s, rid, live);
    }
    let live: BTreeSet<_> = s
        .study_digests(rid)
        .unwrap()
        .into_iter()
        .map(|e| e.0)
        .collect();
    for tid in &live {
        let header = s.thing_header(rid, *tid).unwrap().unwrap();
        assert_eq!(header.state, ThingState::Active);
    }
    assert!(!live.contains(&gone));
}

pub fn digests_stay_in_their_record(fx: &mut dyn MetaFixture) {
    let s = fx.store();
    let (a, b) = (new_record(s), new_record(s));
    let f = instance("16.1", "16.1.1", "16.1.1.1", CT, "CT");
    let (in_a, ..) = stored(add(s, a, &f, false));
    let (in_b, ..) = stored(add(s, b, &f, false));
    assert_ne!(in_a, in_b);
    let tids = |rid| -> Vec<ThingId> {
        s.study_digests(rid)
            .unwrap()
            .into_iter()
            .map(|e| e.0)
            .collect()
    };
    assert_eq!((tids(a), tids(b)), (vec![in_a], vec![in_b]));
    assert_eq!(s.study_digest(b, in_a).unwrap(), None);
    assert_eq!(s.study_digest(a, in_b).unwrap(), None);
    assert!(tids(new_record(s)).is_empty());
}

pub fn unknown_thing_has_no_digest(fx: &mut dyn MetaFixture) {
    let s = fx.store();
    let rid = new_record(s);
    add(s, rid, &instance("17.1", "17.1.1", "1", CT, "CT"), false);
    assert_eq!(s.study_digest(rid, ThingId::new_random()).unwrap(), None);
    let other = new_thing(TypeId::new_random(), "<x/>", 0, vec![]);
    s.create_thing(rid, &other).unwrap();
    assert_eq!(s.study_digest(rid, other.id).unwrap(), None);
    assert_eq!(s.study_digests(rid).unwrap().len(), 1);
}
