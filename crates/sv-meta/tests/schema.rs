//! The on-disk format is versioned: a newer schema directory or schema key is refused, and a
//! value with an unknown format marker is reported as corrupt, never decoded as garbage.

use sv_meta::{MetaError, MetaStore, SCHEMA_VERSION, SledMetaStore};
use sv_model::RecordId;

#[test]
fn a_newer_schema_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(format!("meta-v{}", SCHEMA_VERSION + 1))).unwrap();
    match SledMetaStore::open(dir.path()) {
        Err(MetaError::NewerSchema { found, .. }) => assert_eq!(found, SCHEMA_VERSION + 1),
        other => panic!("expected NewerSchema, got {other:?}"),
    }
}

#[test]
fn a_newer_schema_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(SledMetaStore::open(dir.path()).unwrap());
    {
        let db = sled::open(dir.path().join("meta-v1")).unwrap();
        let meta = db.open_tree("meta").unwrap();
        meta.insert(b"schema", vec![1u8, 2]).unwrap(); // format v1, schema 2
        db.flush().unwrap();
    }
    assert!(matches!(
        SledMetaStore::open(dir.path()),
        Err(MetaError::NewerSchema { found: 2, .. })
    ));
}

#[test]
fn unknown_value_versions_are_corrupt_not_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let rid = RecordId::new_random();
    drop(SledMetaStore::open(dir.path()).unwrap());
    {
        let db = sled::open(dir.path().join("meta-v1")).unwrap();
        let records = db.open_tree("records").unwrap();
        records.insert(rid.as_bytes(), vec![9u8, 1, 2, 3]).unwrap();
        db.flush().unwrap();
    }
    let store = SledMetaStore::open(dir.path()).unwrap();
    let err = store.record(rid).unwrap_err();
    assert!(
        matches!(
            err,
            MetaError::Corrupt {
                tree: "records",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(store.records().is_err());
}

#[test]
fn a_second_open_of_the_same_directory_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let _first = SledMetaStore::open(dir.path()).unwrap();
    assert!(matches!(
        SledMetaStore::open(dir.path()),
        Err(MetaError::Engine { .. })
    ));
}

#[test]
fn the_store_is_shareable_across_threads() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<std::sync::Arc<dyn MetaStore>>();
    shareable::<SledMetaStore>();
}
