//! Cross-node invalidation over PostgreSQL's `LISTEN`/`NOTIFY`.
//!
//! A transaction that revokes a token, changes a share or deletes a thing also sends a
//! notification on [`CHANNEL`]; PostgreSQL delivers it when, and only if, that transaction
//! commits. Each store that was given a sink keeps one connection of its own listening, on a
//! thread of its own, and passes every message on. Messages sent while that connection was
//! down are lost, so every reconnection is announced as [`Invalidation::Everything`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, NoTls};

use super::conn::{Tx, owned};
use super::tls::Tls;

use crate::{Invalidation, InvalidationSink};

/// The channel every node listens on.
const CHANNEL: &str = "studyvault_invalidate";
/// How long the listener waits for a message before it looks at its stop flag.
const POLL: Duration = Duration::from_millis(250);
/// The longest pause between two attempts to reconnect.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Sends `change` to every listening node when the caller's transaction commits.
/// Sent with the commit (it answers nothing anyone reads).
pub(crate) fn notify(tx: &mut Tx<'_>, change: Invalidation) {
    tx.defer("SELECT pg_notify($1, $2)", owned![CHANNEL, change.encode()]);
}

/// Listens until `stop` is set: connects here, so that every change committed after this
/// returns is heard, then goes on on a new thread, reconnecting with a growing pause.
pub(crate) fn spawn_listener(
    config: postgres::Config,
    tls: Tls,
    sink: InvalidationSink,
    stop: Arc<AtomicBool>,
) {
    // Nothing was remembered before the first connection, so nothing can have been missed;
    // if it fails, the thread connects later and announces that.
    let first = subscribe(&config, &tls).map_err(|e| {
        tracing::warn!(error = %e, "invalidation listener could not connect; retrying");
    });
    let spawned = std::thread::Builder::new()
        .name("sv-meta-listen".into())
        .spawn(move || {
            let mut backoff = Duration::from_millis(100);
            let mut client = first.ok();
            while !stop.load(Ordering::Relaxed) {
                let listened = match client.take() {
                    Some(subscribed) => listen(subscribed, &sink, &stop),
                    None => subscribe(&config, &tls).and_then(|subscribed| {
                        // Whatever was sent while nobody listened is lost.
                        sink(Invalidation::Everything);
                        listen(subscribed, &sink, &stop)
                    }),
                };
                match listened {
                    Ok(()) => return,
                    Err(e) => {
                        tracing::warn!(error = %e, ?backoff, "invalidation listener lost its connection; reconnecting");
                        std::thread::sleep(backoff);
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                    }
                }
            }
        });
    if let Err(e) = spawned {
        // Without the listener, the caches' short lifetime still bounds what goes unseen.
        tracing::error!(error = %e, "could not start the invalidation listener");
    }
}

/// A new connection, listening.
fn subscribe(config: &postgres::Config, tls: &Tls) -> Result<Client, postgres::Error> {
    let mut client = match tls {
        Tls::Plain => config.connect(NoTls)?,
        Tls::Verified(tls) => config.connect(tls.clone())?,
    };
    client.batch_execute(&format!("LISTEN {CHANNEL}"))?;
    Ok(client)
}

/// Passes messages on until `stop` (`Ok`) or until the connection fails.
fn listen(
    mut client: Client,
    sink: &InvalidationSink,
    stop: &AtomicBool,
) -> Result<(), postgres::Error> {
    while !stop.load(Ordering::Relaxed) {
        {
            let mut notifications = client.notifications();
            let mut waiting = notifications.timeout_iter(POLL);
            while let Some(message) = waiting.next()? {
                if message.channel() == CHANNEL {
                    sink(Invalidation::decode(message.payload()));
                }
            }
        }
        if client.is_closed() {
            // A closed connection may wait quietly forever: a statement says why it closed.
            client.batch_execute("SELECT 1")?;
        }
    }
    Ok(())
}
