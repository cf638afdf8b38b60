//! Two vaults on one PostgreSQL database, as two API nodes are: a token revoked, a share
//! revoked or a study deleted on one node is refused by the other as soon as PostgreSQL's
//! notification arrives, although both remember secrets for an hour here, so nothing but the
//! notification can make the other node forget.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sv_blob::{BlobStore, MemoryBlobStore};
use sv_meta::{MetaStore, PgMetaStore};
use sv_model::{Record, RecordId, SecretHash, Timestamp};
use sv_testkit::fixtures::read_dicom_fixture;
use sv_testkit::pg::PgDatabase;
use sv_vault::{IngestOptions, NewShare, Principal, Vault, VaultConfig};

/// Longer than any test runs: only an eviction can end a cached entry.
const REMEMBER: Duration = Duration::from_secs(3600);
/// How long a notification may take to arrive before the test fails.
const HEARD_WITHIN: Duration = Duration::from_secs(10);

struct Nodes {
    a: Vault,
    b: Vault,
    db: PgDatabase,
}

/// Two nodes sharing the metadata database and one blob store (as they would share S3).
fn nodes() -> Nodes {
    let db = sv_testkit::pg::database();
    let blobs: Arc<dyn BlobStore> = Arc::new(MemoryBlobStore::default());
    let node = || {
        let meta = Arc::new(PgMetaStore::open(db.url(), 4).unwrap());
        let config = VaultConfig {
            secret_cache_ttl: REMEMBER,
            ..VaultConfig::default()
        };
        Vault::with_stores(meta, Arc::clone(&blobs), config)
    };
    let (a, b) = (node(), node());
    Nodes { a, b, db }
}

/// Polls `still` until it turns false; fails the test after [`HEARD_WITHIN`].
fn until_heard(what: &str, mut still: impl FnMut() -> bool) {
    let started = Instant::now();
    while still() {
        assert!(
            started.elapsed() < HEARD_WITHIN,
            "{what}: the other node did not hear of it within {HEARD_WITHIN:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn no_admin() -> SecretHash {
    SecretHash::of(b"no admin in these tests")
}

#[test]
fn a_token_revoked_on_one_node_is_refused_by_the_other() {
    let n = nodes();
    let (record, issued) = n.a.create_record_blocking("Jane").unwrap();
    let secret = issued.secret.expose().to_owned();
    let now = Timestamp::now();
    for node in [&n.a, &n.b] {
        let principal = node
            .authenticate_blocking(&secret, &no_admin(), now)
            .unwrap();
        assert!(matches!(
            principal,
            Ok(Principal::Owner(_) | Principal::App(_))
        ));
        assert!(
            node.authenticate_cached(&secret, &no_admin(), now)
                .is_some(),
            "remembered"
        );
    }
    assert!(
        n.b.revoke_token_blocking(record.id, issued.token.id)
            .unwrap()
    );
    assert!(
        n.b.authenticate_cached(&secret, &no_admin(), now).is_none(),
        "the revoking node forgets at once"
    );
    until_heard("token revocation", || {
        n.a.authenticate_cached(&secret, &no_admin(), now).is_some()
    });
    let verdict =
        n.a.authenticate_blocking(&secret, &no_admin(), now)
            .unwrap();
    assert!(verdict.is_err(), "{verdict:?}");
}

fn shared_study(n: &Nodes) -> (RecordId, sv_vault::CreatedShare, String) {
    let record = RecordId::new_random();
    let meta = PgMetaStore::open(n.db.url(), 1).unwrap();
    meta.create_record(&Record {
        id: record,
        name: "Jane".into(),
        created: Timestamp::now(),
        owner_email: Some("jane@example.org".into()),
    })
    .unwrap();
    let report =
        n.a.ingest_blocking(
            record,
            &read_dicom_fixture("CT_small.dcm"),
            &IngestOptions::default(),
        )
        .unwrap();
    let created =
        n.a.create_share_blocking(
            record,
            NewShare {
                study_instance_uid: report.study_instance_uid.unwrap(),
                ..NewShare::default()
            },
            Timestamp::now(),
        )
        .unwrap()
        .unwrap();
    let link = created.link_secret.expose().to_owned();
    (record, created, link)
}

fn opens(node: &Vault, link: &str) -> bool {
    (node.image_share_blocking(None, link, Timestamp::now()))
        .unwrap()
        .is_some()
}

#[test]
fn a_share_revoked_on_one_node_stops_opening_on_the_other() {
    let n = nodes();
    let (record, created, link) = shared_study(&n);
    assert!(
        opens(&n.a, &link) && opens(&n.b, &link),
        "remembered by both"
    );
    n.b.revoke_share_blocking(record, created.share.id, Timestamp::now())
        .unwrap()
        .unwrap();
    assert!(!opens(&n.b, &link), "the revoking node refuses at once");
    until_heard("share revocation", || opens(&n.a, &link));
}

#[test]
fn deleting_a_study_on_one_node_ends_its_shares_on_the_other() {
    let n = nodes();
    let (record, created, link) = shared_study(&n);
    assert!(
        opens(&n.a, &link) && opens(&n.b, &link),
        "remembered by both"
    );
    n.b.delete_thing_blocking(&Principal::Admin, record, created.share.thing_id, None)
        .unwrap()
        .unwrap();
    until_heard("study deletion", || opens(&n.a, &link));
}

#[test]
fn a_node_whose_listener_lost_its_connection_forgets_everything() {
    // Notifications sent while the listener was away are lost: on reconnecting it must
    // assume the worst and forget every secret it remembers.
    let n = nodes();
    let (_, issued) = n.a.create_record_blocking("Jane").unwrap();
    let secret = issued.secret.expose().to_owned();
    let now = Timestamp::now();
    n.a.authenticate_blocking(&secret, &no_admin(), now)
        .unwrap()
        .unwrap();
    assert!(n.a.authenticate_cached(&secret, &no_admin(), now).is_some());
    let mut admin = n.db.connect();
    let cut = admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND query LIKE 'LISTEN%'",
            &[],
        )
        .unwrap();
    assert!(cut >= 2, "both nodes listen ({cut} listeners cut)");
    until_heard("reconnection", || {
        n.a.authenticate_cached(&secret, &no_admin(), now).is_some()
    });
}
