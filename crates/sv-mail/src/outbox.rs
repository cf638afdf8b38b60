//! The outbox: mail waiting to be sent, the storage trait the vault implements, and the
//! worker that drains it.
//!
//! The vault queues a `Mail` in its own durable store, then wakes the worker; the worker
//! sends what is due and records the outcome through `Outbox`, so a restart loses nothing.
//! Delivery is at least once: a message whose outcome could not be recorded (a store error
//! after the server accepted it, or a shutdown during the exchange) is sent again later.
//!
//! Invariants: the worker logs mail ids, attempt counts and outcomes, never a recipient, a
//! subject or a link (`Mail`'s `Debug` shows sizes only, and `SendError` reasons carry no
//! address). `Outbox` methods are blocking and always run on `spawn_blocking`. No passcode is
//! ever queued: this crate never receives one.

mod memory;
mod worker;

use std::fmt;
use std::time::SystemTime;

use crate::mail::Mail;

pub use memory::{MailState, MemoryOutbox};
pub use worker::run_outbox;

/// A queued message's id: 16 bytes the store chooses (a UUID, a counter), shown as hex.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MailId(pub [u8; 16]);

impl fmt::Display for MailId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for MailId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MailId({self})")
    }
}

/// A store failure. Its text is logged, so it must not hold addresses or links.
pub type OutboxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A message waiting in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMail {
    /// The store's id for it.
    pub id: MailId,
    /// The message.
    pub mail: Mail,
    /// Attempts made so far (0 for a message never tried).
    pub attempts: u32,
    /// When it was queued; the retry policy's deadline counts from here.
    pub queued: SystemTime,
}

/// Durable storage of queued mail, implemented by the vault on its metadata store.
///
/// Every method is blocking; the worker calls them through `tokio::task::spawn_blocking`.
/// Each call should be durable when it returns.
pub trait Outbox: Send + Sync + 'static {
    /// Mail due at or before `now`, oldest first, at most `limit`.
    fn due(&self, now: SystemTime, limit: usize) -> Result<Vec<QueuedMail>, OutboxError>;
    /// The earliest `next_attempt` of any queued mail, if any.
    fn next_due(&self) -> Result<Option<SystemTime>, OutboxError>;
    /// The server accepted the message at `at`: it leaves the queue.
    fn sent(&self, id: &MailId, at: SystemTime) -> Result<(), OutboxError>;
    /// A transient failure: `attempts` have been made, try again at `next_attempt`.
    fn retry(
        &self,
        id: &MailId,
        attempts: u32,
        next_attempt: SystemTime,
        reason: &str,
    ) -> Result<(), OutboxError>;
    /// A permanent failure, or the retry policy gave up: it leaves the queue.
    fn failed(&self, id: &MailId, reason: &str) -> Result<(), OutboxError>;
}

#[cfg(test)]
mod tests;
