//! The worker against a fake transport and `MemoryOutbox`, on tokio's paused clock.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::worker::run_with_clock;
use super::*;
use crate::retry::RetryPolicy;
use crate::transport::{SendError, SendFuture, Transport};

const TO: &str = "doctor@example.org";
const LINK: &str = "https://vault.example.org/s/SeCrEtToKeN";
const SUBJECT: &str = "Ana Lima shared a medical imaging study with you";

fn mail() -> Mail {
    Mail {
        to: TO.to_owned(),
        subject: SUBJECT.to_owned(),
        text: format!("open {LINK}"),
        html: format!("<a href=\"{LINK}\">open</a>"),
    }
}

/// Answers from a script (then `Ok`), and notes when each send began.
#[derive(Default)]
struct FakeTransport {
    script: Mutex<VecDeque<Result<(), SendError>>>,
    sends: Mutex<Vec<Instant>>,
    hang: bool,
}

impl FakeTransport {
    fn scripted(script: impl IntoIterator<Item = Result<(), SendError>>) -> Arc<FakeTransport> {
        Arc::new(FakeTransport {
            script: Mutex::new(script.into_iter().collect()),
            ..FakeTransport::default()
        })
    }

    fn sends(&self) -> Vec<Instant> {
        self.sends.lock().unwrap().clone()
    }
}

impl Transport for FakeTransport {
    fn send<'a>(&'a self, _mail: &'a Mail) -> SendFuture<'a> {
        Box::pin(async move {
            self.sends.lock().unwrap().push(Instant::now());
            if self.hang {
                std::future::pending::<()>().await;
            }
            self.script.lock().unwrap().pop_front().unwrap_or(Ok(()))
        })
    }
}

/// Held by every test that runs the worker. tracing caches per call site whether anyone
/// listens, and a call site first reached on another test's thread (with no subscriber) can
/// stay silent for the log-capturing test; one worker test at a time avoids that race.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Wall-clock time that follows tokio's (paused) clock.
fn clock() -> impl Fn() -> SystemTime + Copy + Send + Sync + 'static {
    let base = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let start = Instant::now();
    move || base + start.elapsed()
}

struct Running {
    wake: Arc<Notify>,
    stop: Option<oneshot::Sender<()>>,
    handle: JoinHandle<()>,
}

impl Running {
    async fn stop(mut self) {
        let _ = self.stop.take().map(|stop| stop.send(()));
        tokio::time::timeout(Duration::from_millis(10), self.handle)
            .await
            .expect("the worker stops at once")
            .expect("the worker does not panic");
    }
}

fn start(
    outbox: Arc<dyn Outbox>,
    transport: Arc<dyn Transport>,
    policy: RetryPolicy,
    clock: impl Fn() -> SystemTime + Send + Sync + 'static,
) -> Running {
    let wake = Arc::new(Notify::new());
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(run_with_clock(
        outbox,
        transport,
        Arc::clone(&wake),
        policy,
        stopped,
        clock,
    ));
    Running {
        wake,
        stop: Some(stop),
        handle,
    }
}

/// Waits (in paused time) until `done` holds; panics after a virtual day.
async fn until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(24 * 3600);
    while !done() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(start_paused = true)]
async fn transient_error_is_retried_after_the_backoff() {
    let _serial = SERIAL.lock().await;
    let clock = clock();
    let outbox = Arc::new(MemoryOutbox::new());
    let id = outbox.queue(mail(), clock());
    let transport = FakeTransport::scripted([Err(SendError::transient(
        "connection refused by mail server",
    ))]);
    let worker = start(
        outbox.clone(),
        transport.clone(),
        RetryPolicy::default(),
        clock,
    );

    until("the first attempt", || transport.sends().len() == 1).await;
    until("the retry is recorded", || {
        matches!(
            outbox.state(&id),
            Some(MailState::Queued { attempts: 1, .. })
        )
    })
    .await;
    let Some(MailState::Queued { last_error, .. }) = outbox.state(&id) else {
        unreachable!()
    };
    assert_eq!(
        last_error.as_deref(),
        Some("connection refused by mail server")
    );

    until("the second attempt", || transport.sends().len() == 2).await;
    let sends = transport.sends();
    let gap = sends[1] - sends[0];
    assert!(
        gap >= Duration::from_secs(30) && gap < Duration::from_millis(30_010),
        "{gap:?}"
    );
    until("sent", || {
        matches!(outbox.state(&id), Some(MailState::Sent { .. }))
    })
    .await;
    worker.stop().await;
}

#[tokio::test(start_paused = true)]
async fn permanent_error_marks_the_mail_failed() {
    let _serial = SERIAL.lock().await;
    let clock = clock();
    let outbox = Arc::new(MemoryOutbox::new());
    let id = outbox.queue(mail(), clock());
    let reason = "mail server answered 550: 5.1.1 <address> no such user";
    let transport = FakeTransport::scripted([Err(SendError::permanent(reason))]);
    let worker = start(
        outbox.clone(),
        transport.clone(),
        RetryPolicy::default(),
        clock,
    );

    until("failed", || {
        matches!(outbox.state(&id), Some(MailState::Failed { .. }))
    })
    .await;
    assert_eq!(
        outbox.state(&id),
        Some(MailState::Failed {
            reason: reason.to_owned()
        })
    );
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(
        transport.sends().len(),
        1,
        "a permanent error is not retried"
    );
    worker.stop().await;
}

#[tokio::test(start_paused = true)]
async fn gives_up_after_max_attempts() {
    let _serial = SERIAL.lock().await;
    let clock = clock();
    let outbox = Arc::new(MemoryOutbox::new());
    let id = outbox.queue(mail(), clock());
    let transport = FakeTransport::scripted(
        std::iter::repeat_with(|| Err(SendError::transient("mail server did not answer in time")))
            .take(10),
    );
    let policy = RetryPolicy {
        max_attempts: 3,
        ..RetryPolicy::default()
    };
    let worker = start(outbox.clone(), transport.clone(), policy, clock);

    until("failed", || {
        matches!(outbox.state(&id), Some(MailState::Failed { .. }))
    })
    .await;
    assert_eq!(
        outbox.state(&id),
        Some(MailState::Failed {
            reason: "gave up after 3 attempts: mail server did not answer in time".to_owned()
        })
    );
    let sends = transport.sends();
    assert_eq!(sends.len(), 3);
    assert_eq!((sends[2] - sends[1]).as_secs(), 60, "30 s, then 60 s");
    worker.stop().await;
}

#[tokio::test(start_paused = true)]
async fn wake_sends_at_once_and_unwoken_mail_waits_for_the_minute_poll() {
    let _serial = SERIAL.lock().await;
    let clock = clock();
    let outbox = Arc::new(MemoryOutbox::new());
    let transport = FakeTransport::scripted([]);
    let worker = start(
        outbox.clone(),
        transport.clone(),
        RetryPolicy::default(),
        clock,
    );
    tokio::time::sleep(Duration::from_secs(5)).await;

    let queued_at = Instant::now();
    let first = outbox.queue(mail(), clock());
    worker.wake.notify_one();
    until("sent", || {
        matches!(outbox.state(&first), Some(MailState::Sent { .. }))
    })
    .await;
    assert!(transport.sends()[0] - queued_at < Duration::from_millis(1));

    let queued_at = Instant::now();
    let second = outbox.queue(mail(), clock());
    until("sent", || {
        matches!(outbox.state(&second), Some(MailState::Sent { .. }))
    })
    .await;
    let waited = transport.sends()[1] - queued_at;
    assert!(
        waited > Duration::from_secs(50) && waited <= Duration::from_secs(60),
        "{waited:?}"
    );
    worker.stop().await;
}

/// A `MemoryOutbox` whose `due` fails a number of times first.
struct FlakyOutbox {
    inner: MemoryOutbox,
    failures_left: AtomicUsize,
    due_calls: AtomicUsize,
}

impl Outbox for FlakyOutbox {
    fn due(&self, now: SystemTime, limit: usize) -> Result<Vec<QueuedMail>, OutboxError> {
        self.due_calls.fetch_add(1, Ordering::SeqCst);
        let failing = self
            .failures_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failing {
            return Err("store unavailable".into());
        }
        self.inner.due(now, limit)
    }
    fn next_due(&self) -> Result<Option<SystemTime>, OutboxError> {
        self.inner.next_due()
    }
    fn sent(&self, id: &MailId, at: SystemTime) -> Result<(), OutboxError> {
        self.inner.sent(id, at)
    }
    fn retry(&self, id: &MailId, n: u32, at: SystemTime, why: &str) -> Result<(), OutboxError> {
        self.inner.retry(id, n, at, why)
    }
    fn failed(&self, id: &MailId, reason: &str) -> Result<(), OutboxError> {
        self.inner.failed(id, reason)
    }
}

#[tokio::test(start_paused = true)]
async fn store_errors_back_off_instead_of_spinning() {
    let _serial = SERIAL.lock().await;
    let clock = clock();
    let outbox = Arc::new(FlakyOutbox {
        inner: MemoryOutbox::new(),
        failures_left: AtomicUsize::new(5),
        due_calls: AtomicUsize::new(0),
    });
    let id = outbox.inner.queue(mail(), clock());
    let transport = FakeTransport::scripted([]);
    let start_at = Instant::now();
    let worker = start(
        outbox.clone(),
        transport.clone(),
        RetryPolicy::default(),
        clock,
    );

    // Tries at 0, 1, 3 and 7 s: waits of 1, 2, 4, 8, 16 s.
    tokio::time::sleep(Duration::from_millis(10_500)).await;
    assert_eq!(outbox.due_calls.load(Ordering::SeqCst), 4);
    // Waking does not cut a store backoff short.
    worker.wake.notify_one();
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(outbox.due_calls.load(Ordering::SeqCst), 4);

    until("sent", || {
        matches!(outbox.inner.state(&id), Some(MailState::Sent { .. }))
    })
    .await;
    assert_eq!(transport.sends()[0] - start_at, Duration::from_secs(31));
    // Five failures, the round that sent, and one more look for the wake given during the
    // backoff (a `Notify` permit is kept until used).
    assert_eq!(outbox.due_calls.load(Ordering::SeqCst), 7);
    tokio::time::sleep(Duration::from_secs(59)).await;
    assert_eq!(
        outbox.due_calls.load(Ordering::SeqCst),
        7,
        "idle: no polling"
    );
    worker.stop().await;
}

#[tokio::test(start_paused = true)]
async fn shutdown_stops_the_worker_even_mid_send() {
    let _serial = SERIAL.lock().await;
    let clock = clock();
    let outbox = Arc::new(MemoryOutbox::new());
    let id = outbox.queue(mail(), clock());
    let transport = Arc::new(FakeTransport {
        hang: true,
        ..FakeTransport::default()
    });
    let worker = start(
        outbox.clone(),
        transport.clone(),
        RetryPolicy::default(),
        clock,
    );
    until("sending", || transport.sends().len() == 1).await;
    worker.stop().await;
    // The message stays queued, to be sent by the next worker.
    assert!(matches!(
        outbox.state(&id),
        Some(MailState::Queued { attempts: 0, .. })
    ));
}

/// A log buffer for the subscriber below.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn logs_show_ids_and_outcomes_but_no_address_subject_or_link() {
    let _serial = SERIAL.lock().await;
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let clock = clock();
    let outbox = Arc::new(MemoryOutbox::new());
    let sent = outbox.queue(mail(), clock());
    let refused = outbox.queue(mail(), clock());
    let transport = FakeTransport::scripted([
        Err(SendError::transient("connection refused by mail server")),
        Err(SendError::permanent("the recipient address is not valid")),
    ]);
    let worker = start(
        outbox.clone(),
        transport.clone(),
        RetryPolicy::default(),
        clock,
    );
    until("sent", || {
        matches!(outbox.state(&sent), Some(MailState::Sent { .. }))
    })
    .await;
    assert!(matches!(
        outbox.state(&refused),
        Some(MailState::Failed { .. })
    ));
    worker.stop().await;

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains(&sent.to_string()), "{log}");
    assert!(log.contains(&refused.to_string()), "{log}");
    for outcome in ["mail sent", "will retry", "not retrying", "worker stopped"] {
        assert!(log.contains(outcome), "{outcome} missing in {log}");
    }
    for secret in [TO, LINK, "SeCrEtToKeN", SUBJECT, "Ana Lima"] {
        assert!(!log.contains(secret), "{secret} in {log}");
    }
}

#[test]
fn mail_ids_show_as_hex() {
    let id = MailId([0xab; 16]);
    assert_eq!(id.to_string(), "ab".repeat(16));
    assert_eq!(format!("{id:?}"), format!("MailId({})", "ab".repeat(16)));
}

/// `run_outbox` can be spawned on a multi-thread runtime.
#[allow(dead_code)]
fn run_outbox_is_send(outbox: Arc<dyn Outbox>, transport: Arc<dyn Transport>) {
    fn is_send<T: Send + 'static>(_: T) {}
    let wake = Arc::new(Notify::new());
    is_send(run_outbox(
        outbox,
        transport,
        wake,
        RetryPolicy::default(),
        std::future::pending::<()>(),
    ));
}
