//! The copy from sled to PostgreSQL on a real PostgreSQL (`sv_testkit::pg`): a store with every
//! kind of row round-trips read for read and byte for byte, an interrupted copy resumes to the
//! same result, a destination holding other data is refused, and the comparison catches a
//! table left out.

use std::ops::ControlFlow;

use sv_model::{
    Audit, AuditAction, MailId, MailState, OutboxMail, Record, RecordId, SecretHash, Session,
    SessionKind, Share, ShareEvent, ShareEventKind, SigninLink, ThingFlags, ThingId, Timestamp,
    Token, TokenId, TypeId, VersionStamp,
};
use sv_testkit::meta_conformance::{facts, named, new_thing};

use super::{MigrateError, RecordOutcome, copy_to_postgres, copy_with, verify_copy};
use crate::codec::{Enc, V1};
use crate::sled_store::T;
use crate::{AddInstanceOutcome, MetaStore, PgMetaStore, SledMetaStore, ThingUpdate, keys};

/// A type that keeps its content in its history (any but the study type).
const NOTE: TypeId = TypeId::from_bytes([7; 16]);

fn audit(action: AuditAction, at: i64) -> Audit {
    Audit {
        timestamp: Timestamp::from_unix_micros(at),
        token: None,
        action,
    }
}

fn record(s: &dyn MetaStore, name: &str, email: Option<&str>) -> RecordId {
    let r = Record {
        id: RecordId::new_random(),
        name: name.into(),
        created: Timestamp::from_unix_micros(11),
        owner_email: email.map(Into::into),
    };
    s.create_record(&r).unwrap();
    r.id
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
        expires: None,
    }
}

fn share(rid: RecordId, thing: ThingId, link: &[u8]) -> Share {
    Share {
        id: TokenId::new_random(),
        record_id: rid,
        thing_id: thing,
        study_instance_uid: "1.2.3".into(),
        secret_hash: SecretHash::of(link),
        email: Some("a@example.org".into()),
        passcode: None,
        note: Some("for Dr Who".into()),
        allow_download: true,
        deidentify: false,
        uid_key: [9; 32],
        created: Timestamp::from_unix_micros(1),
        expires: Timestamp::from_unix_micros(1_000_000),
        revoked: None,
        failures: 0,
        locked: None,
        views: 0,
        downloads: 0,
        last_opened: None,
        mail: MailState::Queued {
            attempts: 0,
            last_error: None,
        },
    }
}

fn event(at: i64, kind: ShareEventKind, detail: &str) -> ShareEvent {
    ShareEvent {
        at: Timestamp::from_unix_micros(at),
        kind,
        detail: Some(detail.into()),
        client: Some("192.0.2.0/24".into()),
    }
}

fn mail(id: [u8; 16], share: Option<(RecordId, TokenId)>) -> OutboxMail {
    OutboxMail {
        id: MailId(id),
        to: "a@example.org".into(),
        subject: "shared".into(),
        text: "link".into(),
        html: "<a>link</a>".into(),
        queued: Timestamp::from_unix_micros(1),
        attempts: 0,
        next_attempt: Timestamp::from_unix_micros(1),
        share,
    }
}

/// A sled store holding every kind of row: three records (one empty, one stored as a V1
/// value), a thing updated, given and replaced and relieved of blobs, a deleted thing, studies
/// with replaced and moved instances, a deleted study whose UID came back, rotated and
/// deleted tokens, shares with logs (ties included), a revoked one, sessions, a sign-in link
/// and mails in every state.
fn fixture(dir: &std::path::Path) -> (SledMetaStore, RecordId) {
    let s = SledMetaStore::open(dir).unwrap();
    let a = record(&s, "Jane Example", Some("jane@example.org"));
    let b = record(&s, "John Example", None);
    record(&s, "Empty", None);

    // Generic things: a history of updates and blob changes, and a deleted one.
    let note = new_thing(NOTE, "<note>1</note>", 5, vec![named("a.txt", b"a")]);
    s.create_thing(a, &note).unwrap();
    let v2 = s
        .update_thing(
            a,
            note.id,
            note.version,
            &ThingUpdate {
                data_xml: "<note>2</note>".into(),
                flags: ThingFlags(1),
                eff_date: Timestamp::from_unix_micros(6),
                version: VersionStamp::new_random(),
                audit: audit(AuditAction::Updated, 20),
            },
        )
        .unwrap()
        .version;
    let up = audit(AuditAction::Updated, 21);
    let v3 = s
        .put_named_blob(a, note.id, Some(v2), &named("b.txt", b"b"), &up)
        .unwrap();
    let v4 = s
        .put_named_blob(a, note.id, Some(v3), &named("a.txt", b"a2"), &up)
        .unwrap();
    let name = sv_model::BlobName::new("b.txt").unwrap();
    s.delete_named_blob(a, note.id, Some(v4), &name, &up)
        .unwrap();
    let gone = new_thing(NOTE, "<note>gone</note>", 5, vec![named("c.txt", b"c")]);
    s.create_thing(a, &gone).unwrap();
    s.delete_thing(a, gone.id, None, &audit(AuditAction::Deleted, 22))
        .unwrap();
    s.create_thing(b, &new_thing(NOTE, "<x/>", 1, vec![named("x", b"x")]))
        .unwrap();

    // Studies: two series, previews, a replaced instance, an instance moved to another
    // study, a deleted study whose UID is ingested again.
    let ingest = audit(AuditAction::Updated, 30);
    for (study, series, sop, seed, preview) in [
        ("1.1", "1.1.1", "1.1.1.1", "i1", true),
        ("1.1", "1.1.1", "1.1.1.2", "i2", false),
        ("1.1", "1.1.2", "1.1.2.1", "i3", true),
        ("1.2", "1.2.1", "1.2.1.1", "i4", true),
    ] {
        let out = s
            .add_instance(a, &facts(study, series, sop, seed, preview), false, &ingest)
            .unwrap();
        assert!(matches!(out, AddInstanceOutcome::Stored { .. }));
    }
    s.add_instance(
        a,
        &facts("1.1", "1.1.1", "1.1.1.2", "i2-new", true),
        true,
        &ingest,
    )
    .unwrap();
    s.add_instance(
        a,
        &facts("1.2", "1.2.1", "1.1.2.1", "i3-moved", true),
        true,
        &ingest,
    )
    .unwrap();
    let deleted = s.study_thing(a, "1.2").unwrap().unwrap();
    s.delete_thing(a, deleted, None, &audit(AuditAction::Deleted, 31))
        .unwrap();
    s.add_instance(
        a,
        &facts("1.2", "1.2.9", "1.2.9.1", "i5", true),
        false,
        &ingest,
    )
    .unwrap();
    let study = s.study_thing(a, "1.1").unwrap().unwrap();

    // Tokens: one rotated, one deleted, one in the other record.
    let t1 = token(a, b"one");
    s.put_token(&t1).unwrap();
    s.put_token(&Token {
        secret_hash: SecretHash::of(b"one rotated"),
        ..t1
    })
    .unwrap();
    let t2 = token(a, b"two");
    s.put_token(&t2).unwrap();
    s.delete_token(a, t2.id).unwrap();
    s.put_token(&token(a, b"three")).unwrap();
    s.put_token(&token(b, b"four")).unwrap();

    // Shares: one with a log (two events in the same microsecond) and a mail retried, one
    // revoked (its mail dropped), one whose mail went out.
    let sh1 = share(a, study, b"link one");
    let m1 = mail(*sh1.id.as_bytes(), Some((a, sh1.id)));
    s.create_share(&sh1, &event(40, ShareEventKind::Created, "c"), Some(&m1))
        .unwrap();
    s.update_share(a, sh1.id, &|sh| {
        sh.views += 2;
        vec![
            event(41, ShareEventKind::Opened, "first"),
            event(41, ShareEventKind::Opened, "second"),
            event(41, ShareEventKind::Downloaded, "third"),
        ]
    })
    .unwrap();
    s.mail_retry(m1.id, 1, Timestamp::from_unix_micros(99), "busy")
        .unwrap();
    let sh2 = share(a, study, b"link two");
    let m2 = mail(*sh2.id.as_bytes(), Some((a, sh2.id)));
    s.create_share(&sh2, &event(42, ShareEventKind::Created, "c"), Some(&m2))
        .unwrap();
    s.update_share(a, sh2.id, &|sh| {
        sh.revoked = Some(Timestamp::from_unix_micros(43));
        vec![event(43, ShareEventKind::Revoked, "r")]
    })
    .unwrap();
    let sh3 = share(b, ThingId::new_random(), b"link three");
    let m3 = mail(*sh3.id.as_bytes(), Some((b, sh3.id)));
    s.create_share(&sh3, &event(44, ShareEventKind::Created, "c"), Some(&m3))
        .unwrap();
    s.mail_sent(m3.id, Timestamp::from_unix_micros(45)).unwrap();

    // Sessions, a sign-in link with its mail.
    let session = |kind| Session {
        kind,
        created: Timestamp::from_unix_micros(50),
        last_seen: Timestamp::from_unix_micros(51),
        expires: Timestamp::from_unix_micros(52),
    };
    s.put_session(
        &SecretHash::of(b"s1"),
        &session(SessionKind::Owner { record_id: a }),
    )
    .unwrap();
    s.put_session(
        &SecretHash::of(b"s2"),
        &session(SessionKind::Token {
            record_id: b,
            token_hash: SecretHash::of(b"four"),
        }),
    )
    .unwrap();
    let link = SigninLink {
        record_id: a,
        created: Timestamp::from_unix_micros(60),
        expires: Timestamp::from_unix_micros(61),
    };
    s.create_signin_link(&SecretHash::of(b"signin"), &link, &mail([5; 16], None))
        .unwrap();

    // A record as a release before owner e-mails stored it (format V1): copied as it is.
    let old = RecordId::new_random();
    let v1 = Enc::versioned(V1)
        .raw(old.as_bytes())
        .str("Old Example")
        .time(Timestamp::from_unix_micros(2))
        .finish();
    s.tree(T::Records).insert(keys::record(old), v1).unwrap();
    s.create_thing(old, &new_thing(NOTE, "<old/>", 1, Vec::new()))
        .unwrap();
    (s, a)
}

fn destination() -> (sv_testkit::pg::PgDatabase, PgMetaStore) {
    let db = sv_testkit::pg::database();
    let store = PgMetaStore::open(db.url(), 2).unwrap();
    (db, store)
}

fn go_on(_: &super::CopyProgress) -> ControlFlow<()> {
    ControlFlow::Continue(())
}

/// Every table's rows for comparison as the database holds them (the identity column `n` of
/// `share_events` left out: it numbers the rows of the whole table in insertion order).
fn dump(db: &sv_testkit::pg::PgDatabase) -> Vec<String> {
    let mut client = db.connect();
    let mut out = Vec::new();
    for (table, order) in [
        ("records", "rid"),
        ("things", "rid, thing_id"),
        ("thing_versions", "rid, thing_id, version_no"),
        ("named_blobs", "rid, thing_id, name"),
        ("feed", "rid, seq"),
        ("studies", "rid, study_uid"),
        ("sops", "rid, sop_uid"),
        ("instances", "rid, thing_id, series_uid, sop_uid"),
        ("study_digests", "rid, thing_id"),
        ("tokens", "secret_hash"),
        ("shares", "secret_hash"),
        ("share_events", "rid, share_id, at, n"),
        ("sessions", "secret_hash"),
        ("signin_links", "secret_hash"),
        ("outbox", "mail_id"),
    ] {
        let sql = format!("SELECT t::text FROM {table} t ORDER BY {order}");
        for row in client.query(&sql, &[]).unwrap() {
            let text: String = row.get(0);
            let text = if table == "share_events" {
                // `(rid,share,at,n,value)`: drop n.
                let parts: Vec<&str> = text.splitn(5, ',').collect();
                format!("{},{},{},{}", parts[0], parts[1], parts[2], parts[4])
            } else {
                text
            };
            out.push(format!("{table} {text}"));
        }
    }
    out
}

#[test]
fn a_store_round_trips_read_for_read_and_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let (src, a) = fixture(dir.path());
    let (db, dst) = destination();
    let mut steps = Vec::new();
    let report = copy_to_postgres(&src, &dst, &mut |p| {
        steps.push((p.done, p.total, p.outcome));
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(
        (report.records_copied, report.records_already_there),
        (4, 0)
    );
    assert_eq!(steps.len(), 4);
    assert!(
        steps
            .iter()
            .all(|s| s.1 == 4 && s.2 == RecordOutcome::Copied)
    );
    assert_eq!(report.orphan_share_events, 0);
    assert_eq!((report.sessions_copied, report.mails_copied), (2, 2));
    let rows = report.rows;
    assert_eq!(
        rows.tokens, 3,
        "the rotated one, the kept one and the other record's"
    );
    assert_eq!(rows.shares, 3);
    assert_eq!(
        rows.share_events,
        4 + 2 + 2,
        "every log entry, mail events included"
    );
    assert_eq!(rows.signin_links, 1);

    let check = verify_copy(&src, &dst).unwrap();
    assert!(check.is_clean(), "{:?}", check.mismatches);
    // The comparison saw everything it claims to have compared.
    assert_eq!(check.records, 4);
    assert_eq!(check.things, rows.things);
    assert_eq!(check.versions, rows.versions);
    assert_eq!(check.changes, rows.changes);
    assert_eq!(check.instances, rows.sops);
    assert_eq!((check.tokens, check.shares, check.share_events), (3, 3, 8));
    assert_eq!((check.sessions, check.signin_links, check.mails), (2, 1, 2));
    assert_eq!((rows.things, rows.instances, rows.sops), (7, 5, 5));
    assert!(rows.versions > rows.things && rows.names > 0 && rows.digests == 2);

    // Spot checks beside the comparison: exact stamps, numbers, order of tied log entries.
    for r in src.records().unwrap() {
        let (a, b) = (
            src.changes(r.id, 0, 1000).unwrap(),
            dst.changes(r.id, 0, 1000).unwrap(),
        );
        assert_eq!(a, b);
        for sh in src.shares(r.id).unwrap() {
            let log = dst.share_events(r.id, sh.id).unwrap();
            assert_eq!(log, src.share_events(r.id, sh.id).unwrap());
        }
    }
    let sh = src.shares(a).unwrap();
    assert!(
        sh.iter()
            .any(|s| dst.share_events(a, s.id).unwrap().len() == 4)
    );
    assert_eq!(
        dst.referenced_blobs().unwrap(),
        src.referenced_blobs().unwrap()
    );
    // fsck sees the same store on both sides (its blobs are elsewhere: all of them missing).
    let none = sv_blob::MemoryBlobStore::default();
    assert_eq!(
        crate::fsck(&dst, &none).unwrap(),
        crate::fsck(&src, &none).unwrap()
    );

    // Byte for byte: every stored value is the very bytes sled holds (the V1 record too).
    let mut client = db.connect();
    for (table, key_sql, t) in [
        (
            "records",
            "SELECT rid::text, value FROM records",
            T::Records,
        ),
        (
            "tokens",
            "SELECT encode(secret_hash, 'hex'), value FROM tokens",
            T::Tokens,
        ),
        (
            "shares",
            "SELECT encode(secret_hash, 'hex'), value FROM shares",
            T::Shares,
        ),
    ] {
        let pg: std::collections::BTreeSet<Vec<u8>> = client
            .query(key_sql, &[])
            .unwrap()
            .iter()
            .map(|row| row.get::<_, Vec<u8>>(1))
            .collect();
        let sled: std::collections::BTreeSet<Vec<u8>> = src
            .tree(t)
            .iter()
            .map(|kv| kv.unwrap().1.to_vec())
            .collect();
        assert_eq!(pg, sled, "{table}");
    }
    let versions: std::collections::BTreeSet<Vec<u8>> = client
        .query("SELECT value FROM thing_versions", &[])
        .unwrap()
        .iter()
        .map(|row| row.get::<_, Vec<u8>>(0))
        .collect();
    let sled: std::collections::BTreeSet<Vec<u8>> = src
        .tree(T::Versions)
        .iter()
        .map(|kv| kv.unwrap().1.to_vec())
        .collect();
    assert_eq!(versions, sled);

    // A second run finds everything there and writes nothing.
    let before = dump(&db);
    let again = copy_to_postgres(&src, &dst, &mut go_on).unwrap();
    assert_eq!((again.records_copied, again.records_already_there), (0, 4));
    assert_eq!(
        (again.sessions_already_there, again.mails_already_there),
        (2, 2)
    );
    assert_eq!(dump(&db), before);
}

#[test]
fn an_interrupted_copy_resumes_to_the_same_result() {
    let dir = tempfile::tempdir().unwrap();
    let (src, _) = fixture(dir.path());

    // The reference: one copy straight through.
    let (whole_db, whole) = destination();
    copy_to_postgres(&src, &whole, &mut go_on).unwrap();

    // Stopped by the caller after two records: those two are there whole, nothing else.
    let (db, dst) = destination();
    let stopped = copy_to_postgres(&src, &dst, &mut |p| {
        if p.done == 2 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    assert!(matches!(
        stopped,
        Err(MigrateError::Stopped { records_done: 2 })
    ));
    assert_eq!(dst.records().unwrap().len(), 2);

    // A failure inside the third record's transaction: nothing of it stays.
    let failed = copy_with(&src, &dst, &mut go_on, Some(2));
    assert!(matches!(failed, Err(MigrateError::Meta(_))), "{failed:?}");
    let mut client = db.connect();
    let count = |client: &mut postgres::Client, table: &str| -> i64 {
        let sql = format!("SELECT count(*) FROM {table}");
        client.query_one(&sql, &[]).unwrap().get(0)
    };
    assert_eq!(count(&mut client, "records"), 2);
    // Every other table hangs off `records` by foreign keys: two records, two whole records.
    assert_eq!(
        count(&mut client, "sessions"),
        0,
        "the unowned rows come last"
    );

    let resumed = copy_to_postgres(&src, &dst, &mut go_on).unwrap();
    assert_eq!(
        (resumed.records_already_there, resumed.records_copied),
        (2, 2)
    );
    assert!(verify_copy(&src, &dst).unwrap().is_clean());
    assert_eq!(
        dump(&db),
        dump(&whole_db),
        "the same rows as a copy straight through"
    );
}

#[test]
fn a_destination_with_other_data_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (src, a) = fixture(dir.path());

    // Another store's record.
    let (_db, dst) = destination();
    let stranger = record(&dst, "Stranger", None);
    match copy_to_postgres(&src, &dst, &mut go_on) {
        Err(MigrateError::ForeignRecords { count: 1, first }) => assert_eq!(first, stranger),
        other => panic!("{other:?}"),
    }
    assert_eq!(dst.records().unwrap().len(), 1, "nothing was written");

    // A copied record changed at the destination since.
    let (_db, dst) = destination();
    copy_to_postgres(&src, &dst, &mut go_on).unwrap();
    dst.put_token(&token(a, b"made at the destination"))
        .unwrap();
    match copy_to_postgres(&src, &dst, &mut go_on) {
        Err(MigrateError::RecordDiffers { record, mismatch }) => {
            assert_eq!(record, a);
            assert_eq!(mismatch.what, "tokens");
        }
        other => panic!("{other:?}"),
    }

    // A session with other contents under the same hash.
    let (db, dst) = destination();
    copy_to_postgres(&src, &dst, &mut go_on).unwrap();
    db.connect()
        .execute("UPDATE sessions SET value = value || '\\x00'::bytea", &[])
        .unwrap();
    assert!(matches!(
        copy_to_postgres(&src, &dst, &mut go_on),
        Err(MigrateError::RowDiffers { table: "sessions" })
    ));
}

/// The negative control of the comparison: with any one table emptied (or a record's feed
/// counter moved) after a good copy, it reports a difference. Were a table left out of the
/// copy, the round trip above would fail the same way.
#[test]
fn the_comparison_catches_a_table_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let (src, _) = fixture(dir.path());
    for (table, sql) in [
        ("thing_versions", "DELETE FROM thing_versions"),
        ("named_blobs", "DELETE FROM named_blobs"),
        ("feed", "DELETE FROM feed"),
        ("feed_seq", "UPDATE records SET feed_seq = feed_seq + 1"),
        ("studies", "DELETE FROM studies"),
        ("sops", "DELETE FROM sops"),
        ("instances", "DELETE FROM instances"),
        ("study_digests", "DELETE FROM study_digests"),
        ("tokens", "DELETE FROM tokens"),
        ("share_events", "DELETE FROM share_events"),
        ("sessions", "DELETE FROM sessions"),
        ("signin_links", "DELETE FROM signin_links"),
        ("outbox", "DELETE FROM outbox"),
        (
            "things",
            "UPDATE things SET value = (SELECT value FROM things LIMIT 1)",
        ),
        (
            "shares",
            "UPDATE shares SET value = (SELECT value FROM shares LIMIT 1)",
        ),
        (
            "records",
            "UPDATE records SET value = (SELECT value FROM records LIMIT 1)",
        ),
    ] {
        let (db, dst) = destination();
        copy_to_postgres(&src, &dst, &mut go_on).unwrap();
        assert!(verify_copy(&src, &dst).unwrap().is_clean(), "{table}");
        db.connect().batch_execute(sql).unwrap();
        let check = verify_copy(&src, &dst).unwrap();
        assert!(!check.is_clean(), "emptying {table} went unnoticed");
    }
}
