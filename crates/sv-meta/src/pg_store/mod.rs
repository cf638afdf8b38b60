//! `PgMetaStore`: the [`MetaStore`](crate::MetaStore) on PostgreSQL, so that several API nodes
//! can share one dataset.
//!
//! Tables (made by the versioned migrations in [`schema`]): keys, and what SQL filters or
//! orders on, are columns; values are the versioned encodings of [`crate::codec`], the very
//! bytes sled stores, in `bytea` columns. `records` (with `feed_seq`, the record's last change
//! number) · `things` (current version) · `thing_versions` · `named_blobs` · `feed` ·
//! `studies` · `sops` · `instances` · `study_digests` · `tokens` and `shares` (by secret hash,
//! unique per record and id) · `share_events` · `sessions` · `signin_links` · `outbox`.
//! Strings that order results (blob names, UIDs) are `COLLATE "C"`: byte order, as in sled.
//! A blob's reference count is the number of `named_blobs` rows naming it (indexed), so it
//! cannot drift from the names and no row is shared between records.
//!
//! Concurrency: every change is one READ COMMITTED transaction. One that touches a record's
//! things, feed, tokens, shares or sign-in links first locks that record's row
//! ([`lock_record`]): a record's writers queue there, and since it is always the first lock
//! taken, they cannot deadlock on the rows they take after it. The change feed is numbered
//! from the row's counter under that lock ([`feed`]), so numbers are dense and become visible
//! in order. A version stamp is compared and set by the `UPDATE` itself
//! (`… WHERE stamp = $expected`). Deadlocks and serialization failures (40P01, 40001) roll
//! back and run the whole transaction again, a few times. Durability is PostgreSQL's commit
//! (`synchronous_commit` on, the default).
//!
//! Round trips: each statement is prepared once per connection, writes whose row count nobody
//! reads are sent with the next statement or the `COMMIT`, and independent reads go out
//! together ([`conn`]). A new DICOM instance costs one round trip for ingest's question
//! (`live_instance`) and two for its transaction.
//!
//! The store's calls block (a `tokio-postgres` client driven by a small runtime per
//! connection): call them from blocking threads. On a worker thread of a multi-threaded tokio
//! runtime, where that would panic, each call first steps aside with `block_in_place`
//! ([`blocking`]), so a quick inline read from an async task works, at the price of that
//! worker; a current-thread runtime has no such way out (the call panics there).

mod access;
mod blobs;
pub(crate) mod conn;
mod digest;
mod feed;
mod gc;
mod notify;
mod query;
mod schema;
mod sharing;
mod study;
#[cfg(test)]
mod tests;
mod things;
mod tls;
mod trait_impl;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use r2d2::{Pool, PooledConnection};
use sv_model::{BlobId, RecordId};
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::FromSql;

use crate::MetaError;
pub(crate) use notify::notify;
pub(crate) use things::state_code;

pub use schema::PG_SCHEMA_VERSION;

use conn::{Conn, Db, Manager, Param, RoundTrips, Tx};

/// Connections the pool keeps at most unless told otherwise.
pub const DEFAULT_POOL_SIZE: u32 = 16;
/// How many times a transaction runs when it keeps meeting deadlocks or serialization failures.
const ATTEMPTS: u32 = 5;

/// The metadata store on a PostgreSQL database.
pub struct PgMetaStore {
    /// `Some` until the store is dropped: `Drop` takes it, to close its connections where
    /// blocking is allowed.
    pool: Option<Pool<Manager>>,
    /// The database's name, for messages (never the URL: it may hold a password).
    database: String,
    /// How to connect, for the invalidation listener's own connection.
    config: tokio_postgres::Config,
    tls: tls::Tls,
    /// Round trips to the server so far, on every pooled connection.
    round_trips: Arc<RoundTrips>,
    /// Set when the store is dropped: the listener (if any) stops.
    stop_listening: Arc<AtomicBool>,
}

impl std::fmt::Debug for PgMetaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgMetaStore")
            .field("database", &self.database)
            .field("pool_size", &self.pool.as_ref().map(Pool::max_size))
            .finish_non_exhaustive()
    }
}

/// Maps a PostgreSQL error to [`MetaError::Engine`], saying what was being done.
pub(crate) fn db(op: &'static str) -> impl FnOnce(tokio_postgres::Error) -> MetaError {
    move |e| MetaError::Engine {
        op,
        source: Box::new(e),
    }
}

/// One column of a row (a type mismatch is an error, not a panic).
pub(crate) fn col<'a, T: FromSql<'a>>(row: &'a Row, idx: usize) -> Result<T, MetaError> {
    row.try_get(idx).map_err(db("read a row of"))
}

/// A value that must fit PostgreSQL's `bigint`.
pub(crate) fn to_i64(v: u64, what: &'static str) -> Result<i64, MetaError> {
    i64::try_from(v).map_err(|_| MetaError::Invalid {
        what,
        reason: "a number is too large to store",
    })
}

/// A `bigint` that must be a count or length.
pub(crate) fn to_u64(v: i64, table: &'static str, field: &'static str) -> Result<u64, MetaError> {
    u64::try_from(v).map_err(|_| corrupt(table, "number", field))
}

/// A blob id read from a `bytea` column.
pub(crate) fn blob_id(bytes: &[u8], table: &'static str) -> Result<BlobId, MetaError> {
    <[u8; 32]>::try_from(bytes)
        .map(BlobId::from_bytes)
        .map_err(|_| corrupt(table, "blob id", "length"))
}

/// A secret hash (or other fixed-size id) read from a `bytea` column.
pub(crate) fn fixed<const N: usize>(
    bytes: &[u8],
    table: &'static str,
) -> Result<[u8; N], MetaError> {
    <[u8; N]>::try_from(bytes).map_err(|_| corrupt(table, "key", "length"))
}

pub(crate) fn corrupt(table: &'static str, what: &'static str, field: &'static str) -> MetaError {
    MetaError::Corrupt {
        tree: table,
        source: crate::CodecError::Invalid { what, field },
    }
}

/// Locks the record's row for this transaction; every transaction that changes what a record
/// holds takes it first (see the module's notes). [`MetaError::RecordNotFound`] if absent.
pub(crate) fn lock_record(tx: &mut Tx<'_>, rid: RecordId) -> Result<(), MetaError> {
    if lock_record_if_any(tx, rid)? {
        Ok(())
    } else {
        Err(MetaError::RecordNotFound(rid))
    }
}

/// Like [`lock_record`], for changes that quietly do nothing without the record.
pub(crate) fn lock_record_if_any(tx: &mut Tx<'_>, rid: RecordId) -> Result<bool, MetaError> {
    let row = tx
        .query_opt(LOCK_RECORD, &[&rid.as_uuid()])
        .map_err(db("lock a record in"))?;
    Ok(row.is_some())
}

/// The statement of [`lock_record`], for a caller that sends reads with it.
pub(crate) const LOCK_RECORD: &str = "SELECT 1 FROM records WHERE rid = $1 FOR NO KEY UPDATE";

impl PgMetaStore {
    /// Connects to the database at `url` (a `postgresql://` URL or a `key=value` string),
    /// brings its schema up to date ([`PG_SCHEMA_VERSION`]; one transaction) and opens a pool
    /// of at most `pool_size` connections.
    ///
    /// Refuses a database whose schema is newer than this build ([`MetaError::NewerSchema`]).
    /// Connections are plain TCP unless the URL says `sslmode=require`: then TLS, with the
    /// server's certificate checked against the web's roots ([`PgMetaStore::open_with_ca`]
    /// names other ones).
    pub fn open(url: &str, pool_size: u32) -> Result<PgMetaStore, MetaError> {
        PgMetaStore::open_with_ca(url, pool_size, None)
    }

    /// [`PgMetaStore::open`], with a TLS server's certificate checked against the
    /// certificates in `ca_file` (PEM), which needs `sslmode=require` in the URL.
    pub fn open_with_ca(
        url: &str,
        pool_size: u32,
        ca_file: Option<&std::path::Path>,
    ) -> Result<PgMetaStore, MetaError> {
        blocking(|| PgMetaStore::open_here(url, pool_size, ca_file))
    }

    fn open_here(
        url: &str,
        pool_size: u32,
        ca_file: Option<&std::path::Path>,
    ) -> Result<PgMetaStore, MetaError> {
        let config: tokio_postgres::Config = url.parse().map_err(db("parse the url of"))?;
        let tls = tls::Tls::for_config(&config, ca_file)?;
        let database = config
            .get_dbname()
            .or(config.get_user())
            .unwrap_or("postgres")
            .to_owned();
        // A direct connection first: it says why the server cannot be reached (the pool would
        // only say it timed out), and it runs the migrations before anything else.
        let round_trips = Arc::new(RoundTrips::default());
        let mut first =
            Conn::connect(&config, &tls, Arc::clone(&round_trips)).map_err(db("connect to"))?;
        schema::migrate(&mut first, &database)?;
        drop(first);
        let manager = Manager {
            config: config.clone(),
            tls: tls.clone(),
            round_trips: Arc::clone(&round_trips),
        };
        let pool = Pool::builder()
            .max_size(pool_size.max(1))
            .min_idle(Some(1))
            .build(manager)
            .map_err(|e| MetaError::Engine {
                op: "open a connection pool to",
                source: Box::new(e),
            })?;
        Ok(PgMetaStore {
            pool: Some(pool),
            database,
            config,
            tls,
            round_trips,
            stop_listening: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Starts this store's invalidation listener ([`notify`]).
    pub(crate) fn listen(&self, sink: crate::InvalidationSink) {
        let config = postgres::Config::from(self.config.clone());
        let (tls, stop) = (self.tls.clone(), Arc::clone(&self.stop_listening));
        blocking(move || notify::spawn_listener(config, tls, sink, stop));
    }

    /// The database's name.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// Round trips to the server so far, over every connection of the pool (a request sent
    /// alone, or several sent back to back before reading the answers, is one).
    pub fn round_trips(&self) -> u64 {
        self.round_trips.get()
    }

    fn conn(&self) -> Result<PooledConnection<Manager>, MetaError> {
        let pool = self
            .pool
            .as_ref()
            .expect("the pool lives as long as the store");
        pool.get().map_err(|e| MetaError::Engine {
            op: "get a connection to",
            source: Box::new(e),
        })
    }

    /// Runs reads on one pooled connection (each statement sees what was committed when it
    /// started, as READ COMMITTED does).
    pub(crate) fn read<R>(
        &self,
        f: impl FnOnce(&mut Conn) -> Result<R, MetaError>,
    ) -> Result<R, MetaError> {
        blocking(|| {
            let mut conn = self.conn()?;
            f(&mut conn)
        })
    }

    /// Runs `f` as one READ COMMITTED transaction and commits it; an error from `f` rolls it
    /// back. A deadlock or serialization failure runs the whole of it again (so `f` may run
    /// more than once), up to [`ATTEMPTS`] times with a short growing pause.
    pub(crate) fn write<R>(
        &self,
        f: impl Fn(&mut Tx<'_>) -> Result<R, MetaError>,
    ) -> Result<R, MetaError> {
        blocking(|| {
            let mut conn = self.conn()?;
            let mut attempt = 1;
            loop {
                match run_once(&mut conn, &f) {
                    Err(e) if attempt < ATTEMPTS && is_transient(&e) => {
                        std::thread::sleep(Duration::from_millis(5 << attempt));
                        attempt += 1;
                    }
                    Err(e) if gc::is_refused(&e) => return Err(MetaError::BlobCollected),
                    done => return done,
                }
            }
        })
    }
}

impl Drop for PgMetaStore {
    /// Closing a connection blocks too (the client says goodbye to the server).
    fn drop(&mut self) {
        self.stop_listening.store(true, Ordering::Relaxed);
        if let Some(pool) = self.pool.take() {
            blocking(move || drop(pool));
        }
    }
}

/// Runs blocking database work where it may block: as is on a plain or blocking-pool thread;
/// through `block_in_place` on a worker of a multi-threaded tokio runtime, which hands the
/// worker's other tasks to another thread first (the synchronous client panics otherwise).
fn blocking<R>(f: impl FnOnce() -> R) -> R {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

fn run_once<R>(
    conn: &mut Conn,
    f: &impl Fn(&mut Tx<'_>) -> Result<R, MetaError>,
) -> Result<R, MetaError> {
    let mut tx = conn.transaction();
    let value = f(&mut tx)?;
    tx.commit().map_err(db("commit to"))?;
    Ok(value)
}

/// True for the failures that a second run of the same transaction may not meet.
fn is_transient(e: &MetaError) -> bool {
    let MetaError::Engine { source, .. } = e else {
        return false;
    };
    let code = source
        .downcast_ref::<tokio_postgres::Error>()
        .and_then(tokio_postgres::Error::code);
    code.is_some_and(|c| {
        *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE
    })
}

/// Rows of one query, each turned into a value by `f`.
pub(crate) fn rows<C: Db, V>(
    c: &mut C,
    sql: &str,
    params: &[Param<'_>],
    mut f: impl FnMut(&Row) -> Result<V, MetaError>,
) -> Result<Vec<V>, MetaError> {
    let rows = c.query(sql, params).map_err(db("read from"))?;
    rows.iter().map(&mut f).collect()
}

/// At most one row, turned into a value by `f`.
pub(crate) fn one<C: Db, V>(
    c: &mut C,
    sql: &str,
    params: &[Param<'_>],
    f: impl FnOnce(&Row) -> Result<V, MetaError>,
) -> Result<Option<V>, MetaError> {
    match c.query_opt(sql, params).map_err(db("read from"))? {
        Some(row) => f(&row).map(Some),
        None => Ok(None),
    }
}

/// Runs a statement; returns how many rows it changed.
pub(crate) fn exec<C: Db>(c: &mut C, sql: &str, params: &[Param<'_>]) -> Result<u64, MetaError> {
    c.execute(sql, params).map_err(db("write to"))
}
