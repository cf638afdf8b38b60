//! `MemoryOutbox`: the `Outbox` contract in memory, for tests and as the reference for a
//! durable implementation. Nothing survives the process.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use super::{MailId, Outbox, OutboxError, QueuedMail};
use crate::mail::Mail;

/// Where a message stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailState {
    /// Waiting: `attempts` made so far, next one due at `next_attempt`.
    Queued {
        /// Attempts made so far.
        attempts: u32,
        /// When it is due.
        next_attempt: SystemTime,
        /// Why the last attempt failed, if one did.
        last_error: Option<String>,
    },
    /// Accepted by the server.
    Sent {
        /// When.
        at: SystemTime,
    },
    /// Given up.
    Failed {
        /// Why.
        reason: String,
    },
}

#[derive(Debug)]
struct Entry {
    mail: Mail,
    queued: SystemTime,
    state: MailState,
}

/// An in-memory outbox. Ids count up from 1.
#[derive(Debug, Default)]
pub struct MemoryOutbox {
    inner: Mutex<(u128, BTreeMap<MailId, Entry>)>,
}

impl MemoryOutbox {
    /// An empty outbox.
    pub fn new() -> MemoryOutbox {
        MemoryOutbox::default()
    }

    /// Queues `mail`, due at once (at `now`).
    pub fn queue(&self, mail: Mail, now: SystemTime) -> MailId {
        let mut inner = self.lock();
        inner.0 += 1;
        let id = MailId(inner.0.to_be_bytes());
        let state = MailState::Queued {
            attempts: 0,
            next_attempt: now,
            last_error: None,
        };
        inner.1.insert(
            id,
            Entry {
                mail,
                queued: now,
                state,
            },
        );
        id
    }

    /// Where the message stands, if the id is known.
    pub fn state(&self, id: &MailId) -> Option<MailState> {
        self.lock().1.get(id).map(|e| e.state.clone())
    }

    fn lock(&self) -> MutexGuard<'_, (u128, BTreeMap<MailId, Entry>)> {
        // A panic while holding the lock cannot leave an entry half-written: recover.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn update(&self, id: &MailId, state: MailState) -> Result<(), OutboxError> {
        let mut inner = self.lock();
        match inner.1.get_mut(id) {
            Some(entry) if matches!(entry.state, MailState::Queued { .. }) => {
                entry.state = state;
                Ok(())
            }
            Some(_) => Err(format!("mail {id} is no longer queued").into()),
            None => Err(format!("no mail {id}").into()),
        }
    }
}

impl Outbox for MemoryOutbox {
    fn due(&self, now: SystemTime, limit: usize) -> Result<Vec<QueuedMail>, OutboxError> {
        let inner = self.lock();
        let mut due: Vec<QueuedMail> = inner
            .1
            .iter()
            .filter_map(|(id, entry)| match entry.state {
                MailState::Queued {
                    attempts,
                    next_attempt,
                    ..
                } if next_attempt <= now => Some(QueuedMail {
                    id: *id,
                    mail: entry.mail.clone(),
                    attempts,
                    queued: entry.queued,
                }),
                _ => None,
            })
            .collect();
        due.sort_by_key(|q| (q.queued, q.id));
        due.truncate(limit);
        Ok(due)
    }

    fn next_due(&self) -> Result<Option<SystemTime>, OutboxError> {
        let inner = self.lock();
        Ok(inner
            .1
            .values()
            .filter_map(|entry| match entry.state {
                MailState::Queued { next_attempt, .. } => Some(next_attempt),
                _ => None,
            })
            .min())
    }

    fn sent(&self, id: &MailId, at: SystemTime) -> Result<(), OutboxError> {
        self.update(id, MailState::Sent { at })
    }

    fn retry(
        &self,
        id: &MailId,
        attempts: u32,
        next_attempt: SystemTime,
        reason: &str,
    ) -> Result<(), OutboxError> {
        let state = MailState::Queued {
            attempts,
            next_attempt,
            last_error: Some(reason.to_owned()),
        };
        self.update(id, state)
    }

    fn failed(&self, id: &MailId, reason: &str) -> Result<(), OutboxError> {
        self.update(
            id,
            MailState::Failed {
                reason: reason.to_owned(),
            },
        )
    }
}
