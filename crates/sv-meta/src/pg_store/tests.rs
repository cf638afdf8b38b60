//! The transaction runner on a real PostgreSQL: which failures run a transaction again, and the
//! statement cache.

use std::sync::atomic::{AtomicU32, Ordering};

use super::conn::Db;
use super::{PgMetaStore, db};
use crate::MetaError;

/// Fails the statement with PostgreSQL error `code`, as the server itself would.
fn raise(tx: &mut super::conn::Tx<'_>, code: &str) -> Result<(), MetaError> {
    let sql = format!("DO $$ BEGIN RAISE EXCEPTION 'test' USING ERRCODE = '{code}'; END $$");
    tx.batch_execute(&sql).map_err(db("write to"))
}

#[test]
fn deadlocks_and_serialization_failures_run_the_transaction_again() {
    let database = sv_testkit::pg::database();
    let store = PgMetaStore::open(database.url(), 1).unwrap();
    for code in ["40P01", "40001"] {
        let runs = AtomicU32::new(0);
        let out = store.write(|tx| {
            if runs.fetch_add(1, Ordering::SeqCst) == 0 {
                raise(tx, code)?;
            }
            Ok("done")
        });
        assert_eq!(
            (out.unwrap(), runs.load(Ordering::SeqCst)),
            ("done", 2),
            "{code}"
        );
    }
    // A failure that would fail again is answered at once; a lasting transient one gives up.
    for (code, want) in [("23505", 1), ("40001", super::ATTEMPTS)] {
        let runs = AtomicU32::new(0);
        let out = store.write(|tx| {
            runs.fetch_add(1, Ordering::SeqCst);
            raise(tx, code)
        });
        assert!(matches!(out, Err(MetaError::Engine { .. })), "{code}");
        assert_eq!(runs.load(Ordering::SeqCst), want, "{code}");
    }
}

#[test]
fn the_statement_cache_starts_again_when_full_without_losing_a_statement_in_flight() {
    use super::conn::MAX_STATEMENTS;
    let database = sv_testkit::pg::database();
    let store = PgMetaStore::open(database.url(), 1).unwrap();
    let number = |sql: &str| sql.trim_start_matches("SELECT ").parse::<i64>().unwrap();
    let sqls: Vec<String> = (0..MAX_STATEMENTS + 2)
        .map(|i| format!("SELECT {i}"))
        .collect();
    let answers = store
        .write(|tx| {
            for sql in &sqls[..MAX_STATEMENTS - 1] {
                tx.query(sql, &[]).map_err(db("read"))?;
            }
            // One statement prepared before, two new ones that overflow the cache.
            let (old, new) = (&sqls[0], &sqls[MAX_STATEMENTS..]);
            let reads: Vec<(&str, &[super::conn::Param<'_>])> = [old, &new[0], &new[1]]
                .map(|s| (s.as_str(), &[][..]))
                .to_vec();
            let rows = tx.query_all(&reads).map_err(db("read"))?;
            Ok(rows
                .iter()
                .map(|r| r[0].get::<_, i32>(0))
                .collect::<Vec<_>>())
        })
        .unwrap();
    let want: Vec<i32> = [&sqls[0], &sqls[MAX_STATEMENTS], &sqls[MAX_STATEMENTS + 1]]
        .map(|s| number(s) as i32)
        .to_vec();
    assert_eq!(answers, want);
}

/// A pooled connection whose session the server ended (a restart, `pg_terminate_backend`, an
/// idle timeout) is noticed when lent, without a query, and replaced: the next call works.
#[test]
fn a_connection_the_server_ended_is_replaced_before_a_call_fails() {
    let database = sv_testkit::pg::database();
    let store = PgMetaStore::open(database.url(), 1).unwrap();
    let ask = |n: i32| {
        store.read(|c| super::one(c, "SELECT $1::int", &[&n], |r| super::col::<i32>(r, 0)))
    };
    assert_eq!(ask(1).unwrap(), Some(1));
    let mut admin = database.connect();
    let others = "FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()";
    admin
        .execute(
            &format!("SELECT pg_terminate_backend(pid) {others}"),
            &[&database.name()],
        )
        .unwrap();
    let gone = std::time::Instant::now();
    while admin
        .query_one(&format!("SELECT count(*) {others}"), &[&database.name()])
        .unwrap()
        .get::<_, i64>(0)
        > 0
    {
        assert!(gone.elapsed().as_secs() < 10, "the session did not end");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(
        ask(2).unwrap(),
        Some(2),
        "the ended connection was replaced"
    );
}
