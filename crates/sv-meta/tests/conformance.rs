//! Runs the shared metadata store conformance suite against the sled store.

use sv_meta::{MetaStore, SledMetaStore};
use sv_testkit::meta_conformance::MetaFixture;

/// A sled store in a temporary directory, reopenable.
struct SledFixture {
    store: Option<SledMetaStore>,
    dir: tempfile::TempDir,
}

impl SledFixture {
    fn new() -> SledFixture {
        let dir = tempfile::tempdir().expect("create temp dir");
        let store = SledMetaStore::open(dir.path()).expect("open sled store");
        SledFixture {
            store: Some(store),
            dir,
        }
    }
}

impl MetaFixture for SledFixture {
    fn store(&self) -> &dyn MetaStore {
        self.store.as_ref().expect("store is open")
    }

    fn reopen(&mut self) {
        drop(self.store.take());
        self.store = Some(SledMetaStore::open(self.dir.path()).expect("reopen sled store"));
    }
}

sv_testkit::meta_store_conformance!(SledFixture::new());
