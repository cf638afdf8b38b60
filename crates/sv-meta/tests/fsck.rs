//! `fsck` finds what goes wrong underneath the API: a corrupt blob file, a reference count
//! that disagrees with the names, an index entry pointing nowhere, a study digest missing,
//! stray or disagreeing with its instances, a gap in the change feed.

use std::path::Path;

use sv_blob::{BlobId, BlobStore, LocalBlobStore};
use sv_meta::{FsckProblem, FsckReport, MetaStore, SledMetaStore, fsck};
use sv_model::{Audit, AuditAction, Record, RecordId, ThingId, Timestamp};
use sv_testkit::meta_conformance::facts;

/// A store with one record holding one instance (DICOM and preview blobs really stored).
fn populated(dir: &Path) -> (RecordId, LocalBlobStore) {
    let blobs = LocalBlobStore::open(dir.join("blobs")).unwrap();
    let meta = SledMetaStore::open(dir.join("meta")).unwrap();
    let rid = RecordId::new_random();
    let record = Record {
        id: rid,
        name: "fsck".into(),
        created: Timestamp::now(),
        owner_email: None,
    };
    meta.create_record(&record).unwrap();
    let f = facts("9.1", "9.1.1", "9.1.1.1", "dicom bytes", true);
    assert_eq!(blobs.put_bytes(b"dicom bytes").unwrap().id, f.blob_id);
    blobs.put_bytes(b"preview of dicom bytes").unwrap();
    meta.add_instance(rid, &f, false, &Audit::now(AuditAction::Updated, None))
        .unwrap();
    assert!(fsck(&meta, &blobs).unwrap().is_clean());
    (rid, blobs)
}

/// Changes the sled database underneath the store, then runs `fsck` on it.
fn tamper(dir: &Path, blobs: &LocalBlobStore, f: impl FnOnce(&sled::Db)) -> FsckReport {
    {
        let db = sled::open(dir.join("meta/meta-v1")).unwrap();
        f(&db);
        db.flush().unwrap();
    }
    let meta = SledMetaStore::open(dir.join("meta")).unwrap();
    fsck(&meta, blobs).unwrap()
}

#[test]
fn a_corrupt_blob_file_is_a_problem() {
    let dir = tempfile::tempdir().unwrap();
    let (_, blobs) = populated(dir.path());
    // Wherever the store keeps the bytes (a segment record or a file), overwrite them.
    let (path, offset, len) = blobs.locate(&BlobId::of(b"dicom bytes")).unwrap();
    assert_eq!(len, 11);
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&file, b"dicom bytez", offset).unwrap();
    let meta = SledMetaStore::open(dir.path().join("meta")).unwrap();
    let report = fsck(&meta, &blobs).unwrap();
    assert!(
        matches!(
            report.problems.as_slice(),
            [FsckProblem::CorruptBlob { .. }]
        ),
        "{report:?}"
    );
}

#[test]
fn a_wrong_reference_count_is_a_problem() {
    let dir = tempfile::tempdir().unwrap();
    let (_, blobs) = populated(dir.path());
    let id = BlobId::of(b"dicom bytes");
    let report = tamper(dir.path(), &blobs, |db| {
        let refcounts = db.open_tree("refcounts").unwrap();
        refcounts.insert(id.as_bytes(), vec![1u8, 5]).unwrap(); // format v1, count 5
    });
    let want = FsckProblem::RefcountMismatch {
        blob: id,
        stored: 5,
        names: 1,
    };
    assert_eq!(report.problems, vec![want]);
}

#[test]
fn an_index_entry_without_facts_is_a_problem() {
    let dir = tempfile::tempdir().unwrap();
    let (_, blobs) = populated(dir.path());
    let report = tamper(dir.path(), &blobs, |db| {
        db.open_tree("instances").unwrap().clear().unwrap();
    });
    // The study's digest still counts the instance that is gone.
    assert!(
        matches!(
            report.problems.as_slice(),
            [
                FsckProblem::DanglingInstance { .. },
                FsckProblem::StudyDigestMismatch { .. }
            ]
        ),
        "{report:?}"
    );
}

#[test]
fn a_digest_missing_or_kept_for_another_thing_is_a_problem() {
    let dir = tempfile::tempdir().unwrap();
    let (rid, blobs) = populated(dir.path());
    let meta = SledMetaStore::open(dir.path().join("meta")).unwrap();
    let study = meta.study_thing(rid, "9.1").unwrap().unwrap();
    drop(meta);
    let stray = ThingId::new_random();
    let report = tamper(dir.path(), &blobs, |db| {
        let digests = db.open_tree("study_digests").unwrap();
        let key = |tid: ThingId| [rid.as_bytes().as_slice(), tid.as_bytes()].concat();
        let value = digests.remove(key(study)).unwrap().unwrap();
        digests.insert(key(stray), value).unwrap();
    });
    assert_eq!(
        report.problems,
        vec![
            FsckProblem::MissingStudyDigest {
                record: rid,
                thing: study
            },
            FsckProblem::StrayStudyDigest {
                record: rid,
                thing: stray
            }
        ]
    );
}

#[test]
fn a_digest_behind_its_instances_is_a_problem() {
    let dir = tempfile::tempdir().unwrap();
    let (rid, blobs) = populated(dir.path());
    let meta = SledMetaStore::open(dir.path().join("meta")).unwrap();
    let study = meta.study_thing(rid, "9.1").unwrap().unwrap();
    drop(meta);
    let key = [rid.as_bytes().as_slice(), study.as_bytes()].concat();
    let mut old = None;
    tamper(dir.path(), &blobs, |db| {
        old = db.open_tree("study_digests").unwrap().get(&key).unwrap();
    });
    // A second instance in another series, of another class.
    let meta = SledMetaStore::open(dir.path().join("meta")).unwrap();
    let mut f = facts("9.1", "9.1.2", "9.1.2.1", "more bytes", false);
    f.sop_class_uid = "1.2.840.10008.5.1.4.1.1.88.11".into();
    blobs.put_bytes(b"more bytes").unwrap();
    meta.add_instance(rid, &f, false, &Audit::now(AuditAction::Updated, None))
        .unwrap();
    assert!(fsck(&meta, &blobs).unwrap().is_clean());
    drop(meta);
    // The digest as it was before that instance.
    let report = tamper(dir.path(), &blobs, |db| {
        let old = old.take().unwrap();
        db.open_tree("study_digests")
            .unwrap()
            .insert(&key, old)
            .unwrap();
    });
    let want = FsckProblem::StudyDigestMismatch {
        record: rid,
        thing: study,
    };
    assert_eq!(report.problems, vec![want]);
}

#[test]
fn a_gap_in_the_feed_is_a_problem() {
    let dir = tempfile::tempdir().unwrap();
    let (rid, blobs) = populated(dir.path());
    let report = tamper(dir.path(), &blobs, |db| {
        let feed = db.open_tree("feed").unwrap();
        let mut key = rid.as_bytes().to_vec();
        key.extend_from_slice(&1u64.to_be_bytes());
        assert!(feed.remove(key).unwrap().is_some());
    });
    assert!(
        matches!(
            report.problems.as_slice(),
            [FsckProblem::FeedGap {
                expected: 1,
                found: 2,
                ..
            }]
        ),
        "{report:?}"
    );
}
