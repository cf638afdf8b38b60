//! `fsck` finds what goes wrong underneath the API: a corrupt blob file, a reference count
//! that disagrees with the names, an index entry pointing nowhere, a gap in the change feed.

use std::path::Path;

use sv_blob::{BlobId, BlobStore, LocalBlobStore};
use sv_meta::{FsckProblem, FsckReport, MetaStore, SledMetaStore, fsck};
use sv_model::{Audit, AuditAction, Record, RecordId, Timestamp};
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
    let path = blobs.blob_path(&BlobId::of(b"dicom bytes"));
    std::fs::write(&path, b"dicom bytez").unwrap();
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
    assert!(
        matches!(
            report.problems.as_slice(),
            [FsckProblem::DanglingInstance { .. }]
        ),
        "{report:?}"
    );
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
