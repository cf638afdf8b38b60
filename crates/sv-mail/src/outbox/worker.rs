//! The outbox worker: sleep until something is due (or until woken), send it, record the
//! outcome, and back off when the store fails.
//!
//! Invariants: never spins (a store error waits 1 s, doubling to 1 min; a store that says
//! mail is due but returns none waits 1 s); looks at the store at least once a minute even
//! when never woken; stops as soon as `shutdown` completes, abandoning an exchange in
//! progress (that message stays queued). Logs ids, attempts and outcomes only.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::Notify;

use super::{MailId, Outbox, OutboxError, QueuedMail};
use crate::retry::RetryPolicy;
use crate::transport::Transport;

/// Messages taken from the store at a time.
const BATCH: usize = 16;
/// The longest sleep: mail queued without a wake, or a wall clock that jumped, waits no more.
const MAX_IDLE: Duration = Duration::from_secs(60);
/// The first wait after a store error; it doubles up to `MAX_IDLE`.
const STORE_BACKOFF: Duration = Duration::from_secs(1);
/// The wait when the store says mail is due but gives none.
const MIN_PAUSE: Duration = Duration::from_secs(1);

/// Runs the outbox until `shutdown` completes.
///
/// Call `wake.notify_one()` after queueing mail to have it sent at once; without it, the
/// worker finds it within a minute. Spawn it once per outbox.
pub async fn run_outbox(
    outbox: Arc<dyn Outbox>,
    transport: Arc<dyn Transport>,
    wake: Arc<Notify>,
    policy: RetryPolicy,
    shutdown: impl Future,
) {
    run_with_clock(outbox, transport, wake, policy, shutdown, SystemTime::now).await;
}

/// What to do after a round.
enum Pause {
    /// More may be due: go again at once.
    None,
    /// Sleep this long, or until woken.
    Idle(Duration),
    /// The store failed: sleep this long, whatever wakes us.
    StoreTrouble(Duration),
}

/// `run_outbox` with the clock given, so tests can run it on tokio's paused time.
pub(crate) async fn run_with_clock<C>(
    outbox: Arc<dyn Outbox>,
    transport: Arc<dyn Transport>,
    wake: Arc<Notify>,
    policy: RetryPolicy,
    shutdown: impl Future,
    clock: C,
) where
    C: Fn() -> SystemTime,
{
    let mut shutdown = pin!(shutdown);
    let mut worker = Worker {
        outbox,
        transport,
        policy,
        clock,
        store_backoff: STORE_BACKOFF,
    };
    tracing::info!("mail outbox worker started");
    loop {
        let pause = tokio::select! {
            biased;
            _ = &mut shutdown => break,
            pause = worker.round() => pause,
        };
        match pause {
            Pause::None => {}
            Pause::Idle(wait) => tokio::select! {
                biased;
                _ = &mut shutdown => break,
                _ = wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            },
            Pause::StoreTrouble(wait) => tokio::select! {
                biased;
                _ = &mut shutdown => break,
                _ = tokio::time::sleep(wait) => {}
            },
        }
    }
    tracing::info!("mail outbox worker stopped");
}

struct Worker<C> {
    outbox: Arc<dyn Outbox>,
    transport: Arc<dyn Transport>,
    policy: RetryPolicy,
    clock: C,
    store_backoff: Duration,
}

impl<C: Fn() -> SystemTime> Worker<C> {
    /// Sends what is due, then says how long to wait.
    async fn round(&mut self) -> Pause {
        let now = (self.clock)();
        let batch = match self.store(move |o| o.due(now, BATCH)).await {
            Ok(batch) => batch,
            Err(err) => return self.store_trouble("read the due mail", &err),
        };
        let (full, any) = (batch.len() >= BATCH, !batch.is_empty());
        for queued in batch {
            if let Err(err) = self.deliver(queued).await {
                return self.store_trouble("record a sending outcome", &err);
            }
        }
        if full {
            self.store_backoff = STORE_BACKOFF;
            return Pause::None;
        }
        let next = match self.store(|o| o.next_due()).await {
            Ok(next) => next,
            Err(err) => return self.store_trouble("read the next due time", &err),
        };
        self.store_backoff = STORE_BACKOFF;
        let wait = next.map_or(MAX_IDLE, |next| {
            let now = (self.clock)();
            next.duration_since(now)
                .unwrap_or(Duration::ZERO)
                .min(MAX_IDLE)
        });
        match (wait.is_zero(), any) {
            (true, true) => Pause::None,
            (true, false) => {
                tracing::warn!("mail outbox says mail is due but returned none; waiting");
                Pause::Idle(MIN_PAUSE)
            }
            (false, _) => Pause::Idle(wait),
        }
    }

    /// Sends one message and records the outcome; `Err` only when the store failed.
    async fn deliver(&self, queued: QueuedMail) -> Result<(), OutboxError> {
        let QueuedMail {
            id,
            mail,
            attempts,
            queued,
        } = queued;
        let attempts = attempts.saturating_add(1);
        let outcome = self.transport.send(&mail).await;
        drop(mail);
        let now = (self.clock)();
        match outcome {
            Ok(()) => {
                self.store(move |o| o.sent(&id, now)).await?;
                tracing::info!(mail = %id, attempts, "mail sent");
            }
            Err(err) if err.permanent => {
                let reason = err.reason;
                self.record_failed(id, reason.clone()).await?;
                tracing::warn!(mail = %id, attempts, %reason, "mail refused; not retrying");
            }
            Err(err) => match self.policy.next_attempt(attempts, queued, now) {
                Some(next) => {
                    let reason = err.reason;
                    let logged = reason.clone();
                    self.store(move |o| o.retry(&id, attempts, next, &reason))
                        .await?;
                    let retry_in_s = next.duration_since(now).unwrap_or_default().as_secs();
                    tracing::info!(mail = %id, attempts, retry_in_s, reason = %logged, "mail not sent; will retry");
                }
                None => {
                    let reason = format!("gave up after {attempts} attempts: {}", err.reason);
                    self.record_failed(id, reason.clone()).await?;
                    tracing::warn!(mail = %id, attempts, %reason, "mail not sent; giving up");
                }
            },
        }
        Ok(())
    }

    async fn record_failed(&self, id: MailId, reason: String) -> Result<(), OutboxError> {
        self.store(move |o| o.failed(&id, &reason)).await
    }

    /// Runs a blocking store call off the executor.
    async fn store<T, F>(&self, call: F) -> Result<T, OutboxError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Outbox) -> Result<T, OutboxError> + Send + 'static,
    {
        let outbox = Arc::clone(&self.outbox);
        match tokio::task::spawn_blocking(move || call(&*outbox)).await {
            Ok(result) => result,
            Err(join) => Err(format!("outbox call did not finish: {join}").into()),
        }
    }

    fn store_trouble(&mut self, what: &str, err: &OutboxError) -> Pause {
        let wait = self.store_backoff;
        self.store_backoff = (wait * 2).min(MAX_IDLE);
        tracing::warn!(error = %err, retry_in_s = wait.as_secs(), "mail outbox could not {what}");
        Pause::StoreTrouble(wait)
    }
}
