//! Runs the shared metadata store conformance suite against `PgMetaStore` on a real, throwaway
//! PostgreSQL (one cluster for this test binary, one database per test: see `sv_testkit::pg`),
//! then what only a shared database has: migrations, and two stores (two nodes) writing one
//! record at once.

use std::collections::BTreeSet;
use std::sync::Arc;

use sv_meta::{Collection, MetaError, MetaStore, PG_SCHEMA_VERSION, PgMetaStore};
use sv_model::{Audit, AuditAction, BlobId, Record, RecordId, Timestamp, TypeId};
use sv_testkit::meta_conformance::{MetaFixture, facts, named, new_thing};
use sv_testkit::pg::PgDatabase;

/// Connections per store: enough for the suite's eight concurrent writers to race for real.
const POOL: u32 = 8;

/// A store on its own database; reopening drops the pool and opens a new one on it.
struct PgFixture {
    store: Option<PgMetaStore>,
    db: PgDatabase,
}

impl PgFixture {
    fn new() -> PgFixture {
        let db = sv_testkit::pg::database();
        let store = PgMetaStore::open(db.url(), POOL).expect("open the postgres store");
        PgFixture {
            store: Some(store),
            db,
        }
    }
}

impl MetaFixture for PgFixture {
    fn store(&self) -> &dyn MetaStore {
        self.store.as_ref().expect("store is open")
    }

    fn reopen(&mut self) {
        drop(self.store.take());
        let store = PgMetaStore::open(self.db.url(), POOL).expect("reopen the postgres store");
        self.store = Some(store);
    }
}

sv_testkit::meta_store_conformance!(PgFixture::new());

fn record(s: &dyn MetaStore) -> RecordId {
    let r = Record {
        id: RecordId::new_random(),
        name: "two nodes".into(),
        created: Timestamp::now(),
        owner_email: None,
    };
    s.create_record(&r).unwrap();
    r.id
}

#[test]
fn migrations_are_recorded_and_applied_once() {
    let fx = PgFixture::new();
    drop(PgMetaStore::open(fx.db.url(), 2).expect("a second open"));
    let mut client = fx.db.connect();
    let versions: Vec<i32> = client
        .query(
            "SELECT version FROM sv_schema_migrations ORDER BY version",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let want: Vec<i32> = (1..=PG_SCHEMA_VERSION as i32).collect();
    assert_eq!(versions, want);
}

#[test]
fn a_newer_schema_is_refused() {
    let fx = PgFixture::new();
    let mut client = fx.db.connect();
    client
        .execute(
            "INSERT INTO sv_schema_migrations (version, description) VALUES ($1, 'from the future')",
            &[&(PG_SCHEMA_VERSION as i32 + 1)],
        )
        .unwrap();
    match PgMetaStore::open(fx.db.url(), 2) {
        Err(MetaError::NewerSchema {
            found, supported, ..
        }) => assert_eq!(
            (found, supported),
            (PG_SCHEMA_VERSION + 1, PG_SCHEMA_VERSION)
        ),
        other => panic!("expected NewerSchema, got {other:?}"),
    }
}

#[test]
fn an_unreachable_server_is_an_engine_error_without_the_password() {
    let err = PgMetaStore::open("postgresql://sv:hunter2@127.0.0.1:1/nowhere", 1).unwrap_err();
    assert!(matches!(err, MetaError::Engine { .. }), "{err:?}");
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
}

/// Two stores on one database are two API nodes: their writes to one record interleave, and
/// the record's feed stays one dense sequence in commit order, with exactly one study thing.
#[test]
fn two_nodes_keep_one_dense_feed() {
    let fx = PgFixture::new();
    let other = PgMetaStore::open(fx.db.url(), 4).expect("a second node");
    let nodes: [&dyn MetaStore; 2] = [fx.store(), &other];
    let rid = record(nodes[0]);
    let ty = TypeId::new_random();
    std::thread::scope(|scope| {
        for (n, node) in nodes.into_iter().enumerate() {
            for w in 0..3 {
                scope.spawn(move || {
                    for i in 0..5 {
                        let t = new_thing(ty, "<t/>", 0, vec![]);
                        node.create_thing(rid, &t).unwrap();
                        let sop = format!("9.1.{n}.{w}.{i}");
                        let f = facts("9.1", "9.1.1", &sop, &sop, true);
                        let audit = Audit::now(AuditAction::Updated, None);
                        node.add_instance(rid, &f, false, &audit).unwrap();
                    }
                });
            }
        }
    });
    let page = other.changes(rid, 0, 1000).unwrap();
    let seqs: Vec<u64> = page.changes.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, (1..=60).collect::<Vec<u64>>());
    assert_eq!(page.latest_seq, 60);
    let studies: BTreeSet<_> = fx.store().studies(rid).unwrap().into_iter().collect();
    assert_eq!(studies.len(), 1, "one study thing for one StudyInstanceUID");
    let tid = studies.into_iter().next().unwrap().1;
    assert_eq!(other.study_instances(rid, tid).unwrap().len(), 30);
    assert_eq!(
        fx.store()
            .study_digest(rid, tid)
            .unwrap()
            .unwrap()
            .instance_count,
        30
    );
}

/// An async caller that forgot to move the call to a blocking thread must not bring a worker
/// down: the synchronous client panics on a runtime's worker thread unless the store steps
/// aside first (`block_in_place`).
#[test]
fn an_async_worker_may_call_it_inline() {
    let db = sv_testkit::pg::database();
    let store = Arc::new(PgMetaStore::open(db.url(), 2).expect("open"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let on_worker = Arc::clone(&store);
    let rid = rt
        .block_on(rt.spawn(async move {
            let rid = record(&*on_worker);
            assert!(on_worker.record(rid).unwrap().is_some());
            rid
        }))
        .expect("the task did not panic");
    assert_eq!(store.records().unwrap().len(), 1);
    let opened = rt
        .block_on(rt.spawn(async move {
            let url = db.url().to_owned();
            let again = PgMetaStore::open(&url, 1).map(|s| s.record(rid).map(|r| r.is_some()));
            (db, again)
        }))
        .expect("opening on a worker did not panic");
    assert!(matches!(opened.1, Ok(Ok(true))));
}

/// What issue 12 asks of a new instance: at most three round trips to PostgreSQL, here one
/// for ingest's question and two for the transaction (`BEGIN`, the lock and the reads; the
/// writes and `COMMIT`). Counted by the store on a warm connection (statements prepared);
/// `cargo bench -p studyvault --features s3 --bench nodes` counts them on the wire.
#[test]
fn a_new_instance_costs_three_round_trips() {
    let fx = PgFixture::new();
    let store = PgMetaStore::open(fx.db.url(), 1).expect("a store of one connection");
    let rid = record(&store);
    let up = Audit::now(AuditAction::Updated, None);
    let ingest = |sop: &str| {
        let f = facts("7.1", "7.1.1", sop, sop, true);
        let before = store.round_trips();
        assert_eq!(store.live_instance(rid, sop).unwrap(), None);
        let asked = store.round_trips() - before;
        store.add_instance(rid, &f, false, &up).unwrap();
        (asked, store.round_trips() - before - asked)
    };
    // The first makes the study and prepares the statements.
    ingest("7.1.1.1");
    ingest("7.1.1.2");
    for i in 3..8 {
        assert_eq!(ingest(&format!("7.1.1.{i}")), (1, 2), "instance {i}");
    }
    let tid = store.study_thing(rid, "7.1").unwrap().unwrap();
    assert_eq!(store.study_instances(rid, tid).unwrap().len(), 7);
    let digest = store.study_digest(rid, tid).unwrap().unwrap();
    let thing = store.thing_header(rid, tid).unwrap().unwrap();
    assert_eq!(
        digest.version, thing.version,
        "the digest follows the study"
    );
    assert_eq!(
        store.versions(rid, tid).unwrap().len(),
        7,
        "a version per instance"
    );
}

/// A collector's marks across nodes: a blob marked for collection cannot be named by any node
/// until a writer has stored it again and cleared the mark; a named blob is never marked.
#[test]
fn marked_blobs_cannot_be_named_until_stored_again() {
    let fx = PgFixture::new();
    let other = PgMetaStore::open(fx.db.url(), 2).expect("a second node");
    let rid = record(fx.store());
    let up = Audit::now(AuditAction::Updated, None);
    let kept = named("kept", b"kept bytes");
    let thing = new_thing(TypeId::new_random(), "<t/>", 0, vec![kept.clone()]);
    fx.store().create_thing(rid, &thing).unwrap();
    let orphan = named("orphan", b"orphan bytes");
    let candidates = [kept.blob_id, orphan.blob_id];

    let marked = fx.store().mark_for_collection(&candidates).unwrap();
    assert_eq!(marked, [orphan.blob_id], "a named blob is not marked");
    let marks = other.collection_marks(&candidates).unwrap();
    assert_eq!(
        marks
            .iter()
            .map(|m| (m.blob_id, m.deleted))
            .collect::<Vec<_>>(),
        [(orphan.blob_id, false)]
    );
    // The other node's commit naming it is refused, and writes nothing.
    let refused = other.put_named_blob(rid, thing.id, None, &orphan, &up);
    assert!(
        matches!(refused, Err(MetaError::BlobCollected)),
        "{refused:?}"
    );
    let f = facts("8.1", "8.1.1", "8.1.1.1", "orphan bytes", false);
    assert_eq!(f.blob_id, orphan.blob_id);
    let refused = other.add_instance(rid, &f, false, &up);
    assert!(
        matches!(refused, Err(MetaError::BlobCollected)),
        "{refused:?}"
    );
    assert_eq!(other.thing(rid, thing.id).unwrap().unwrap().blobs, [kept]);
    assert_eq!(other.study_thing(rid, "8.1").unwrap(), None);

    // A writer cannot clear a mark whose deletion has not happened.
    other.unmark_collected(&marks).unwrap();
    assert_eq!(other.collection_marks(&candidates).unwrap(), marks);
    // Deleted: still refused until a writer, having stored it again, clears the mark.
    let deleted = fx
        .store()
        .collect_marked(&orphan.blob_id, &mut || Collection::Deleted(12))
        .unwrap();
    assert_eq!(deleted, Some(Collection::Deleted(12)));
    let again = other
        .collect_marked(&orphan.blob_id, &mut || panic!("deleted twice"))
        .unwrap();
    assert_eq!(again, None, "another collector finds the deletion done");
    let seen = other.collection_marks(&candidates).unwrap();
    assert_eq!(
        seen.iter()
            .map(|m| (m.blob_id, m.deleted))
            .collect::<Vec<_>>(),
        [(orphan.blob_id, true)]
    );
    assert!(matches!(
        other.add_instance(rid, &f, false, &up),
        Err(MetaError::BlobCollected)
    ));
    // The writer stores the blob again; meanwhile a collector marks and deletes it once more.
    // The writer's clearing of the deletion it saw leaves that new mark, which still refuses.
    fx.store().mark_for_collection(&[orphan.blob_id]).unwrap();
    let deleted = fx
        .store()
        .collect_marked(&orphan.blob_id, &mut || Collection::Deleted(12))
        .unwrap();
    assert_eq!(deleted, Some(Collection::Deleted(12)));
    other.unmark_collected(&seen).unwrap();
    assert!(
        matches!(
            other.add_instance(rid, &f, false, &up),
            Err(MetaError::BlobCollected)
        ),
        "a deletion after the writer stored the blob again refuses its commit"
    );
    let seen = other.collection_marks(&candidates).unwrap();
    other.unmark_collected(&seen).unwrap();
    other.add_instance(rid, &f, false, &up).unwrap();
    assert_eq!(other.blob_refcount(&orphan.blob_id).unwrap(), 1);
    assert_eq!(
        fx.store().mark_for_collection(&[orphan.blob_id]).unwrap(),
        []
    );
}

/// Marks a collector never finished are found by the next one; deleted ones are forgotten
/// once old.
#[test]
fn unfinished_and_old_marks_are_found() {
    let fx = PgFixture::new();
    let s = fx.store();
    let (a, b, c) = (BlobId::of(b"a"), BlobId::of(b"b"), BlobId::of(b"c"));
    s.mark_for_collection(&[a, b, c]).unwrap();
    assert_eq!(
        s.collect_marked(&b, &mut || Collection::Gone).unwrap(),
        Some(Collection::Gone)
    );
    assert_eq!(
        s.collect_marked(&c, &mut || Collection::Kept).unwrap(),
        Some(Collection::Kept)
    );
    assert_eq!(
        s.collection_marks(&[c]).unwrap(),
        [],
        "a blob kept loses its mark"
    );
    let later = Timestamp::from_unix_micros(Timestamp::now().unix_micros() + 1_000_000);
    let earlier = Timestamp::from_unix_micros(Timestamp::now().unix_micros() - 60_000_000);
    assert_eq!(s.unfinished_collections(later).unwrap(), [a]);
    assert_eq!(s.unfinished_collections(earlier).unwrap(), []);
    assert_eq!(s.forget_collections(earlier).unwrap(), 0);
    assert_eq!(s.forget_collections(later).unwrap(), 1);
    let left = s.collection_marks(&[a, b]).unwrap();
    assert_eq!(
        left.iter()
            .map(|m| (m.blob_id, m.deleted))
            .collect::<Vec<_>>(),
        [(a, false)]
    );
}

/// Marking and naming race on two nodes, many times over: each blob ends either named and
/// unmarked, or marked and not named, never both and never neither.
#[test]
fn marking_and_naming_never_cross() {
    let fx = PgFixture::new();
    let other = PgMetaStore::open(fx.db.url(), 4).expect("a second node");
    let rid = record(fx.store());
    let up = Audit::now(AuditAction::Updated, None);
    for round in 0..150 {
        let sop = format!("9.1.1.{round}");
        let f = facts("9.1", "9.1.1", &sop, &sop, false);
        let (named, marked) = std::thread::scope(|scope| {
            let writer = scope.spawn(|| other.add_instance(rid, &f, false, &up));
            let marked = fx.store().mark_for_collection(&[f.blob_id]).unwrap();
            (writer.join().unwrap(), marked)
        });
        match named {
            Ok(_) => {
                assert_eq!(marked, [], "round {round}: named, and marked too");
                assert_eq!(fx.store().blob_refcount(&f.blob_id).unwrap(), 1);
            }
            Err(MetaError::BlobCollected) => {
                assert_eq!(
                    marked,
                    [f.blob_id],
                    "round {round}: refused, yet not marked"
                );
                assert_eq!(fx.store().blob_refcount(&f.blob_id).unwrap(), 0);
            }
            Err(e) => panic!("round {round}: {e}"),
        }
    }
}

/// Connections to the test database from other sessions, by whether they use TLS.
fn sessions_by_tls(fx: &PgFixture) -> (i64, i64) {
    let mut client = fx.db.connect();
    let row = client
        .query_one(
            "SELECT count(*) FILTER (WHERE s.ssl), count(*) FILTER (WHERE NOT s.ssl)
             FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
             WHERE a.datname = $1 AND a.pid <> pg_backend_pid()",
            &[&fx.db.name()],
        )
        .unwrap();
    (row.get(0), row.get(1))
}

/// TLS when the URL asks for it (`sslmode=require`), checked against the CA file given; a URL
/// that does not ask stays plain; a server the roots do not vouch for is refused.
#[test]
fn tls_when_the_url_asks_and_only_to_a_server_it_can_verify() {
    let fx = PgFixture::new();
    let (tls, plain) = sessions_by_tls(&fx);
    assert!(
        tls == 0 && plain >= 1,
        "the default store is plain: {tls} / {plain}"
    );
    let url = format!("{}?sslmode=require", fx.db.url());
    let ca = sv_testkit::pg::tls_ca_file();
    let store = PgMetaStore::open_with_ca(&url, 2, Some(&ca)).expect("TLS to the test server");
    let rid = record(&store);
    assert!(store.record(rid).unwrap().is_some());
    let (tls, _) = sessions_by_tls(&fx);
    assert!(tls >= 1, "the store's connections use TLS");

    // The web's roots do not know the test certificate: no connection, and it says why.
    let refused = PgMetaStore::open(&url, 1).unwrap_err();
    let said = format!("{refused} {:?}", refused);
    assert!(matches!(refused, MetaError::Engine { .. }), "{said}");
    assert!(said.to_lowercase().contains("certificate"), "{said}");
    // A CA file for a URL that does not ask for TLS is a mistake, said at once.
    let mixed = PgMetaStore::open_with_ca(fx.db.url(), 1, Some(&ca)).unwrap_err();
    assert!(matches!(mixed, MetaError::Invalid { .. }), "{mixed:?}");
}
