//! studyvault's outgoing mail: the share-link and sign-in-link messages, SMTP delivery, and
//! the outbox worker that sends queued mail and retries it.
//!
//! The crate knows nothing of the stores or of HTTP. The vault keeps the durable outbox (it
//! implements [`Outbox`]) and queues [`Mail`] made by [`share_mail`] and [`signin_mail`]; the
//! server runs [`run_outbox`] with a [`Mailer`] built from a [`MailConfig`].
//!
//! ```
//! use sv_mail::{ShareMail, share_mail};
//!
//! let mail = share_mail(ShareMail {
//!     to: "doctor@example.org",
//!     sender_name: "Ana Lima",
//!     note: Some("Scan from <Monday>"),
//!     link: "https://vault.example.org/s/abc",
//!     expires: time::macros::datetime!(2026-12-14 09:30 UTC),
//!     study_description: Some("CT chest"),
//!     study_date: None,
//!     has_passcode: true,
//! });
//! assert_eq!(mail.subject, "Ana Lima shared a medical imaging study with you");
//! assert!(mail.text.contains("Scan from <Monday>"));
//! assert!(mail.html.contains("Scan from &#60;Monday&#62;"));
//! assert!(mail.text.contains("14 December 2026, 09:30 UTC"));
//! ```
//!
//! Invariants:
//! - Never logs a recipient, a subject or a link: logs carry mail ids, attempt counts and
//!   outcomes. `Mail`'s `Debug` shows only the sizes of its fields.
//! - No passcode ever passes through this crate: a share mail only says whether one is needed.
//! - The SMTP password never appears in `Debug` output, logs or errors.
//! - Patient-typed text is escaped in the HTML part and kept verbatim in the text part.
//! - Blocking store calls run on `spawn_blocking`; the worker never spins, even when the store
//!   keeps failing.

mod compose;
mod config;
mod mail;
mod outbox;
mod retry;
mod transport;

pub use compose::{ShareMail, SigninMail, format_expiry, share_mail, signin_mail};
pub use config::{MailConfig, MailError};
pub use mail::Mail;
pub use outbox::{MailId, MailState, MemoryOutbox, Outbox, OutboxError, QueuedMail, run_outbox};
pub use retry::RetryPolicy;
pub use transport::{Mailer, SendError, SendFuture, Transport};
