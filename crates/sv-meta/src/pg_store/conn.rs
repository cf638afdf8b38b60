//! One connection to PostgreSQL, called from blocking code, that spends as few network round
//! trips as the work allows:
//!
//! - **Each statement is prepared once per connection** and kept: running it again is one
//!   `Bind`/`Execute`, with no `Parse` and no `Close` (the `postgres` crate's `query` with a
//!   string prepares and closes an unnamed statement every time: two round trips).
//! - **Statements whose results nobody reads are deferred** ([`Tx::defer`]) and sent with the
//!   next statement that needs an answer, or with the `COMMIT`, all back to back (pipelining):
//!   the server runs them in order, and one round trip answers them all. `BEGIN` goes out with
//!   the first statement the same way.
//! - **Independent reads go out together** ([`Tx::query_all`]).
//!
//! Inside a transaction, a failing statement aborts it, every later one in the same pipeline
//! fails too (`25P02`), and a `COMMIT` sent behind them rolls back; the first error is the
//! answer. A deferred statement's row count is not checked: a deferred write must be one that
//! cannot quietly change nothing, or one whose "nothing" a later statement of the same
//! transaction turns into an error (see `things::write_next_version`).
//!
//! The client is `tokio-postgres`, driven by a current-thread runtime of the connection's own
//! (which is what the `postgres` crate does too, without exposing the pipelining).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::future::join_all;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Config, Error, NoTls, Row, Statement};

use super::tls::Tls;

/// A statement's parameter, borrowed.
pub(crate) type Param<'a> = &'a (dyn ToSql + Sync);
/// A deferred statement's parameter: owned, since it is sent later.
pub(crate) type Owned = Box<dyn ToSql + Sync + Send>;

/// Owned parameters for [`Tx::defer`]: `owned![a, b, c]`.
macro_rules! owned {
    ($($p:expr),* $(,)?) => {
        vec![$(Box::new($p) as $crate::pg_store::conn::Owned),*]
    };
}
pub(crate) use owned;

/// Prepared statements kept per connection at most; beyond it the cache starts again (every
/// statement of this crate is a literal, so only a bug would reach it).
pub(crate) const MAX_STATEMENTS: usize = 512;

/// Counts round trips: requests sent before waiting for answers (for tests and the bench).
#[derive(Debug, Default)]
pub(crate) struct RoundTrips(AtomicU64);

impl RoundTrips {
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A connection (see the module's notes).
pub(crate) struct Conn {
    runtime: tokio::runtime::Runtime,
    client: Client,
    statements: HashMap<String, Statement>,
    round_trips: Arc<RoundTrips>,
}

/// One request of a pipeline.
enum Req<'a> {
    /// A statement of the simple protocol, without parameters (`BEGIN`, `COMMIT`).
    Simple(&'a str),
    /// A statement whose row count is the answer.
    Exec(&'a str, Vec<Param<'a>>),
    /// A statement whose rows are the answer.
    Query(&'a str, Vec<Param<'a>>),
}

/// What a request answered.
enum Resp {
    Done,
    Count(u64),
    Rows(Vec<Row>),
}

type Pending<'a> = Pin<Box<dyn Future<Output = Result<Resp, Error>> + 'a>>;

impl Conn {
    /// Connects (blocking), over TLS if `tls` says so.
    pub(crate) fn connect(
        config: &Config,
        tls: &Tls,
        round_trips: Arc<RoundTrips>,
    ) -> Result<Conn, Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime can always be built");
        // The connection runs whenever the runtime does, that is during this connection's
        // calls.
        let ended = |e: Error| tracing::debug!(error = %e, "a PostgreSQL connection ended");
        let client = match tls {
            Tls::Plain => {
                let (client, connection) = runtime.block_on(config.connect(NoTls))?;
                runtime.spawn(async move { connection.await.unwrap_or_else(ended) });
                client
            }
            Tls::Verified(tls) => {
                let (client, connection) = runtime.block_on(config.connect(tls.clone()))?;
                runtime.spawn(async move { connection.await.unwrap_or_else(ended) });
                client
            }
        };
        Ok(Conn {
            runtime,
            client,
            statements: HashMap::new(),
            round_trips,
        })
    }

    /// Whether the server has hung up on this connection (restarted, terminated the session,
    /// timed it out). Lets the connection read what arrived meanwhile first, which costs no
    /// round trip: the socket is only looked at.
    pub(crate) fn is_closed(&self) -> bool {
        self.runtime.block_on(async {
            // Each yield lets the runtime poll the socket and run the connection's task.
            for _ in 0..4 {
                tokio::task::yield_now().await;
            }
        });
        self.client.is_closed()
    }

    /// Prepares what is not prepared yet among `sqls`, all in one round trip.
    fn prepare_missing(&mut self, sqls: &[&str]) -> Result<(), Error> {
        let mut wanted = sqls.to_vec();
        wanted.sort_unstable();
        wanted.dedup();
        let mut missing: Vec<&str> = wanted
            .iter()
            .copied()
            .filter(|s| !self.statements.contains_key(*s))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        if self.statements.len() + missing.len() > MAX_STATEMENTS {
            // Starting again: every statement asked for is missing now.
            self.statements.clear();
            missing = wanted;
        }
        self.round_trips.0.fetch_add(1, Ordering::Relaxed);
        let client = &self.client;
        let prepared = self
            .runtime
            .block_on(join_all(missing.iter().map(|sql| client.prepare(sql))));
        for (sql, statement) in missing.into_iter().zip(prepared) {
            self.statements.insert(sql.to_owned(), statement?);
        }
        Ok(())
    }

    /// Sends every request back to back, then reads every answer: one round trip (plus one the
    /// first time a statement is met on this connection). Answers come in request order.
    fn pipeline(&mut self, reqs: Vec<Req<'_>>) -> Vec<Result<Resp, Error>> {
        let sqls: Vec<&str> = reqs
            .iter()
            .filter_map(|r| match r {
                Req::Exec(sql, _) | Req::Query(sql, _) => Some(*sql),
                Req::Simple(_) => None,
            })
            .collect();
        if let Err(e) = self.prepare_missing(&sqls) {
            // Nothing was sent: the first answer is the error, the others say so too.
            let mut out = vec![Err(e)];
            out.extend((1..reqs.len()).map(|_| Ok(Resp::Done)));
            return out;
        }
        self.round_trips.0.fetch_add(1, Ordering::Relaxed);
        let (client, statements) = (&self.client, &self.statements);
        let pending: Vec<Pending<'_>> = reqs
            .into_iter()
            .map(|r| -> Pending<'_> {
                match r {
                    Req::Simple(sql) => {
                        Box::pin(
                            async move { client.batch_execute(sql).await.map(|()| Resp::Done) },
                        )
                    }
                    Req::Exec(sql, params) => {
                        let statement = &statements[sql];
                        Box::pin(async move {
                            client.execute(statement, &params).await.map(Resp::Count)
                        })
                    }
                    Req::Query(sql, params) => {
                        let statement = &statements[sql];
                        Box::pin(
                            async move { client.query(statement, &params).await.map(Resp::Rows) },
                        )
                    }
                }
            })
            .collect();
        // `join_all` polls every request once before waiting on any: all are sent first.
        self.runtime.block_on(join_all(pending))
    }

    /// Runs a statement of the simple protocol (no parameters; may hold several statements).
    pub(crate) fn batch_execute(&mut self, sql: &str) -> Result<(), Error> {
        self.pipeline(vec![Req::Simple(sql)]).remove(0).map(|_| ())
    }

    /// Starts a transaction. Nothing is sent yet: `BEGIN` goes out with the first statement.
    pub(crate) fn transaction(&mut self) -> Tx<'_> {
        Tx {
            conn: self,
            begun: false,
            done: false,
            deferred: Vec::new(),
        }
    }
}

/// What the store's helpers run statements on: a connection, or a transaction on one.
pub(crate) trait Db {
    /// Every row of a statement.
    fn query(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>, Error>;
    /// A statement's row count.
    fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64, Error>;

    /// The first row of a statement, if any.
    fn query_opt(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Option<Row>, Error> {
        Ok(self.query(sql, params)?.into_iter().next())
    }
}

fn rows(r: Result<Resp, Error>) -> Result<Vec<Row>, Error> {
    match r? {
        Resp::Rows(rows) => Ok(rows),
        Resp::Done | Resp::Count(_) => Ok(Vec::new()),
    }
}

fn count(r: Result<Resp, Error>) -> Result<u64, Error> {
    match r? {
        Resp::Count(n) => Ok(n),
        Resp::Done | Resp::Rows(_) => Ok(0),
    }
}

impl Db for Conn {
    fn query(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>, Error> {
        rows(
            self.pipeline(vec![Req::Query(sql, params.to_vec())])
                .remove(0),
        )
    }

    fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64, Error> {
        count(
            self.pipeline(vec![Req::Exec(sql, params.to_vec())])
                .remove(0),
        )
    }
}

/// A transaction: `BEGIN` and deferred statements go out with the next statement that needs an
/// answer, or with [`Tx::commit`]. Dropped without a commit, it rolls back.
pub(crate) struct Tx<'c> {
    conn: &'c mut Conn,
    begun: bool,
    done: bool,
    deferred: Vec<(&'static str, Vec<Owned>)>,
}

impl Tx<'_> {
    /// Queues a write whose row count nobody needs (see the module's notes for which those
    /// are); it runs, in order, before any later statement of this transaction.
    pub(crate) fn defer(&mut self, sql: &'static str, params: Vec<Owned>) {
        self.deferred.push((sql, params));
    }

    /// Sends `BEGIN` if not yet sent, the deferred writes, then `reqs`; answers `reqs`'.
    fn send(&mut self, reqs: Vec<Req<'_>>, commit: bool) -> Result<Vec<Resp>, Error> {
        let deferred = std::mem::take(&mut self.deferred);
        let mut all: Vec<Req<'_>> = Vec::with_capacity(deferred.len() + reqs.len() + 2);
        let lead = usize::from(!self.begun) + deferred.len();
        if !self.begun {
            all.push(Req::Simple("BEGIN"));
            self.begun = true;
        }
        all.extend(deferred.iter().map(|(sql, params)| {
            Req::Exec(sql, params.iter().map(|p| &**p as Param<'_>).collect())
        }));
        let asked = reqs.len();
        all.extend(reqs);
        if commit {
            all.push(Req::Simple("COMMIT"));
        }
        let answers = self.conn.pipeline(all);
        // The first error is the cause; whatever follows it failed because of it. A COMMIT
        // behind an error rolled back.
        let mut out = Vec::with_capacity(asked);
        for (i, answer) in answers.into_iter().enumerate() {
            let answer = answer?;
            if i >= lead && out.len() < asked {
                out.push(answer);
            }
        }
        if commit {
            self.done = true;
        }
        Ok(out)
    }

    /// Runs statements of the simple protocol (no parameters), after what is pending.
    pub(crate) fn batch_execute(&mut self, sql: &str) -> Result<(), Error> {
        self.send(vec![Req::Simple(sql)], false).map(|_| ())
    }

    /// Runs independent reads in one round trip (with `BEGIN` and the deferred writes, which
    /// they see); their rows, in order.
    pub(crate) fn query_all(
        &mut self,
        reads: &[(&str, &[Param<'_>])],
    ) -> Result<Vec<Vec<Row>>, Error> {
        let reqs = reads
            .iter()
            .map(|(sql, params)| Req::Query(sql, params.to_vec()))
            .collect();
        self.send(reqs, false)?
            .into_iter()
            .map(|r| rows(Ok(r)))
            .collect()
    }

    /// Sends the deferred writes and `COMMIT` together. An error means nothing was committed.
    pub(crate) fn commit(mut self) -> Result<(), Error> {
        if !self.begun && self.deferred.is_empty() {
            // Nothing was sent: there is nothing to commit.
            self.done = true;
            return Ok(());
        }
        self.send(Vec::new(), true).map(|_| ())
    }
}

impl Db for Tx<'_> {
    fn query(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>, Error> {
        let mut answers = self.send(vec![Req::Query(sql, params.to_vec())], false)?;
        rows(Ok(answers.remove(0)))
    }

    fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64, Error> {
        let mut answers = self.send(vec![Req::Exec(sql, params.to_vec())], false)?;
        count(Ok(answers.remove(0)))
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if self.begun && !self.done {
            // After a failed COMMIT pipeline this finds no transaction: the server warns, no
            // more. An error here means the connection is gone, and the transaction with it.
            let _ = self.conn.batch_execute("ROLLBACK");
        }
    }
}

/// Makes and checks the pool's connections.
#[derive(Debug)]
pub(crate) struct Manager {
    pub(crate) config: Config,
    pub(crate) tls: Tls,
    pub(crate) round_trips: Arc<RoundTrips>,
}

impl r2d2::ManageConnection for Manager {
    type Connection = Conn;
    type Error = Error;

    fn connect(&self) -> Result<Conn, Error> {
        Conn::connect(&self.config, &self.tls, Arc::clone(&self.round_trips))
    }

    /// A connection the server has not hung up on is lent as is: no query, no round trip. (One
    /// whose network path died silently fails its first statement; TCP keepalives end it.)
    fn is_valid(&self, conn: &mut Conn) -> Result<(), Error> {
        if conn.is_closed() {
            // Fails at once, saying the connection is closed.
            return conn.batch_execute("");
        }
        Ok(())
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.is_closed()
    }
}
