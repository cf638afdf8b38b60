//! Outgoing mail: what the vault queues (share links, sign-in links) and the worker that sends
//! it. The outbox is the metadata store's, so a mail queued with its share survives a restart
//! and a mail server that is down; `sv-mail` composes, sends and schedules retries.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sv_mail::{MailId as QueueId, Outbox, OutboxError, QueuedMail, RetryPolicy, Transport};
use sv_meta::MetaStore;
use sv_model::{MailId, Timestamp};
use tokio::sync::Notify;

use crate::Vault;

/// Mail is on: how to send it, and the bell that wakes the worker when something is queued.
pub(crate) struct MailService {
    transport: Arc<dyn Transport>,
    wake: Arc<Notify>,
}

impl std::fmt::Debug for MailService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailService").finish_non_exhaustive()
    }
}

/// The three parts of a composed message.
pub(crate) struct Content {
    pub(crate) subject: String,
    pub(crate) text: String,
    pub(crate) html: String,
}

/// What a share mail says, from the vault's side.
pub(crate) struct ShareMailFacts<'a> {
    pub(crate) to: &'a str,
    pub(crate) sender_name: &'a str,
    pub(crate) note: Option<&'a str>,
    pub(crate) link: &'a str,
    pub(crate) expires: Timestamp,
    pub(crate) study_description: Option<&'a str>,
    pub(crate) study_date: Option<&'a str>,
    pub(crate) has_passcode: bool,
}

fn offset(t: Timestamp) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.unix_micros()) * 1000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

impl MailService {
    pub(crate) fn compose_share(&self, f: ShareMailFacts<'_>) -> Content {
        let m = sv_mail::share_mail(sv_mail::ShareMail {
            to: f.to,
            sender_name: f.sender_name,
            note: f.note,
            link: f.link,
            expires: offset(f.expires),
            study_description: f.study_description,
            study_date: f.study_date,
            has_passcode: f.has_passcode,
        });
        Content {
            subject: m.subject,
            text: m.text,
            html: m.html,
        }
    }

    pub(crate) fn compose_signin(
        &self,
        to: &str,
        record_name: &str,
        link: &str,
        minutes: u32,
    ) -> Content {
        let m = sv_mail::signin_mail(sv_mail::SigninMail {
            to,
            record_name,
            link,
            valid_minutes: minutes,
        });
        Content {
            subject: m.subject,
            text: m.text,
            html: m.html,
        }
    }
}

fn to_system(t: Timestamp) -> SystemTime {
    let micros = t.unix_micros();
    if micros >= 0 {
        UNIX_EPOCH + Duration::from_micros(micros.unsigned_abs())
    } else {
        UNIX_EPOCH
    }
}

fn from_system(t: SystemTime) -> Timestamp {
    let micros = t
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
    Timestamp::from_unix_micros(micros)
}

/// The vault's outbox as `sv-mail` sees it: the metadata store's `outbox` relation.
struct StoreOutbox(Arc<dyn MetaStore>);

impl Outbox for StoreOutbox {
    fn due(&self, now: SystemTime, limit: usize) -> Result<Vec<QueuedMail>, OutboxError> {
        let now = from_system(now);
        let mut due: Vec<_> = self
            .0
            .outbox()?
            .into_iter()
            .filter(|m| m.next_attempt <= now)
            .collect();
        due.sort_by_key(|m| m.next_attempt);
        Ok(due
            .into_iter()
            .take(limit)
            .map(|m| QueuedMail {
                id: QueueId(m.id.0),
                mail: sv_mail::Mail {
                    to: m.to,
                    subject: m.subject,
                    text: m.text,
                    html: m.html,
                },
                attempts: m.attempts,
                queued: to_system(m.queued),
            })
            .collect())
    }

    fn next_due(&self) -> Result<Option<SystemTime>, OutboxError> {
        Ok(self
            .0
            .outbox()?
            .iter()
            .map(|m| m.next_attempt)
            .min()
            .map(to_system))
    }

    fn sent(&self, id: &QueueId, at: SystemTime) -> Result<(), OutboxError> {
        Ok(self.0.mail_sent(MailId(id.0), from_system(at))?)
    }

    fn retry(
        &self,
        id: &QueueId,
        attempts: u32,
        next_attempt: SystemTime,
        reason: &str,
    ) -> Result<(), OutboxError> {
        Ok(self
            .0
            .mail_retry(MailId(id.0), attempts, from_system(next_attempt), reason)?)
    }

    fn failed(&self, id: &QueueId, reason: &str) -> Result<(), OutboxError> {
        Ok(self.0.mail_failed(MailId(id.0), reason, Timestamp::now())?)
    }
}

impl Vault {
    /// Turns mail on: shares with an address and sign-in requests queue mail from now on.
    /// Returns false if it was on already (the first transport stays).
    pub fn enable_mail(&self, transport: Arc<dyn Transport>) -> bool {
        self.inner
            .mail
            .set(MailService {
                transport,
                wake: Arc::new(Notify::new()),
            })
            .is_ok()
    }

    pub fn mail_enabled(&self) -> bool {
        self.inner.mail.get().is_some()
    }

    pub(crate) fn wake_mail(&self) {
        if let Some(m) = self.inner.mail.get() {
            m.wake.notify_one();
        }
    }

    /// Sends what the outbox holds, now and as it fills, until `shutdown` completes; retries
    /// with `policy`. Returns at once when mail is off.
    pub async fn run_mail(&self, policy: RetryPolicy, shutdown: impl Future) {
        let Some(m) = self.inner.mail.get() else {
            return;
        };
        let outbox: Arc<dyn Outbox> = Arc::new(StoreOutbox(self.inner.meta.clone()));
        sv_mail::run_outbox(
            outbox,
            m.transport.clone(),
            m.wake.clone(),
            policy,
            shutdown,
        )
        .await;
    }
}
