//! The transaction runner on a real PostgreSQL: which failures run a transaction again.

use std::sync::atomic::{AtomicU32, Ordering};

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
