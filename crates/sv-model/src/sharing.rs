//! Sharing and browser sign-in, as the store keeps them: study shares with their access log,
//! browser sessions, one-time sign-in links and the durable mail outbox.
//!
//! Invariants:
//! - a share link, a session id and a sign-in link are 256-bit secrets kept only as their
//!   [`SecretHash`](crate::SecretHash); a passcode only as its Argon2id hash (PHC string);
//! - a share is usable only while it is neither expired, revoked nor locked, and every one of
//!   those failures looks the same from outside ([`Share::state`] tells them apart for the
//!   owner only);
//! - a mail in the outbox holds the link it carries until it is sent; it is removed when sent,
//!   when it fails for good, and when its share is revoked.

use crate::{RecordId, SecretHash, ThingId, Timestamp, TokenId};

/// How many wrong passcodes lock a share.
pub const PASSCODE_ATTEMPTS: u32 = 5;

/// A study shared by link: read-only access to one study's previews, viewer and (if
/// `allow_download`) its DICOM files, until it expires, is revoked or locks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    pub id: TokenId,
    pub record_id: RecordId,
    pub thing_id: ThingId,
    pub study_instance_uid: String,
    pub secret_hash: SecretHash,
    /// The recipient, when the link was mailed.
    pub email: Option<String>,
    /// Argon2id PHC string of the passcode, given to the recipient out of band.
    pub passcode: Option<String>,
    pub note: Option<String>,
    pub allow_download: bool,
    /// Downloads carry de-identified files (PS3.15 Basic Profile), UIDs remapped with
    /// `uid_key`.
    pub deidentify: bool,
    /// Random per share: remapped UIDs agree within a share and differ across shares.
    pub uid_key: [u8; 32],
    pub created: Timestamp,
    pub expires: Timestamp,
    pub revoked: Option<Timestamp>,
    /// Passcode attempts counted against the limit (an attempt in progress counts).
    pub failures: u32,
    pub locked: Option<Timestamp>,
    /// Times a person opened the share (the button on the landing page, not a GET).
    pub views: u64,
    pub downloads: u64,
    pub last_opened: Option<Timestamp>,
    pub mail: MailState,
}

/// What the owner sees of a share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareState {
    Active,
    Expired,
    Revoked,
    Locked,
}

impl ShareState {
    pub fn as_str(self) -> &'static str {
        match self {
            ShareState::Active => "active",
            ShareState::Expired => "expired",
            ShareState::Revoked => "revoked",
            ShareState::Locked => "locked",
        }
    }
}

impl Share {
    /// Revoked wins over locked, locked over expired.
    pub fn state(&self, now: Timestamp) -> ShareState {
        if self.revoked.is_some() {
            ShareState::Revoked
        } else if self.locked.is_some() {
            ShareState::Locked
        } else if now >= self.expires {
            ShareState::Expired
        } else {
            ShareState::Active
        }
    }

    pub fn is_usable(&self, now: Timestamp) -> bool {
        self.state(now) == ShareState::Active
    }
}

/// Whether and how a share's link went out by mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailState {
    /// No recipient address was given.
    NotRequested,
    /// An address was given, but the server has no SMTP configured: the link was not mailed.
    NotConfigured,
    /// In the outbox; `attempts` made so far, the last failure if any.
    Queued {
        attempts: u32,
        last_error: Option<String>,
    },
    Sent {
        at: Timestamp,
    },
    Failed {
        reason: String,
    },
    /// The share was revoked before the mail went out; it never will.
    Cancelled,
}

impl MailState {
    pub fn as_str(&self) -> &'static str {
        match self {
            MailState::NotRequested => "not-requested",
            MailState::NotConfigured => "not-configured",
            MailState::Queued { .. } => "queued",
            MailState::Sent { .. } => "sent",
            MailState::Failed { .. } => "failed",
            MailState::Cancelled => "cancelled",
        }
    }
}

/// One entry of a share's access log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareEvent {
    pub at: Timestamp,
    pub kind: ShareEventKind,
    /// What was viewed or downloaded ("zip", "dicomweb study"), or why mail failed.
    pub detail: Option<String>,
    /// The client's network, never its full address ("203.0.113.0/24", "2001:db8:1::/48").
    pub client: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareEventKind {
    Created,
    Opened,
    Downloaded,
    PasscodeFailed,
    Locked,
    Revoked,
    MailSent,
    MailFailed,
}

impl ShareEventKind {
    pub const ALL: [ShareEventKind; 8] = [
        ShareEventKind::Created,
        ShareEventKind::Opened,
        ShareEventKind::Downloaded,
        ShareEventKind::PasscodeFailed,
        ShareEventKind::Locked,
        ShareEventKind::Revoked,
        ShareEventKind::MailSent,
        ShareEventKind::MailFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ShareEventKind::Created => "created",
            ShareEventKind::Opened => "opened",
            ShareEventKind::Downloaded => "downloaded",
            ShareEventKind::PasscodeFailed => "passcode-failed",
            ShareEventKind::Locked => "locked",
            ShareEventKind::Revoked => "revoked",
            ShareEventKind::MailSent => "mail-sent",
            ShareEventKind::MailFailed => "mail-failed",
        }
    }
}

/// A browser session: a signed-in patient, or a recipient who opened a share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub kind: SessionKind,
    pub created: Timestamp,
    /// Refreshed at most every few minutes, for the idle timeout.
    pub last_seen: Timestamp,
    /// The absolute end, whatever the activity.
    pub expires: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionKind {
    /// The record's owner, signed in by a mailed link: every permission on the record.
    Owner { record_id: RecordId },
    /// Signed in by pasting a record token: that token's grants, while it lives.
    Token {
        record_id: RecordId,
        token_hash: SecretHash,
    },
    /// A recipient who opened a share (and gave its passcode, if it has one).
    Share {
        record_id: RecordId,
        share_id: TokenId,
    },
}

impl SessionKind {
    pub fn record_id(&self) -> RecordId {
        match self {
            SessionKind::Owner { record_id }
            | SessionKind::Token { record_id, .. }
            | SessionKind::Share { record_id, .. } => *record_id,
        }
    }
}

/// A mailed one-time sign-in link; used once, by a POST from the page it opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigninLink {
    pub record_id: RecordId,
    pub created: Timestamp,
    pub expires: Timestamp,
}

/// The id of a mail in the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MailId(pub [u8; 16]);

impl MailId {
    pub fn new_random() -> MailId {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).expect("the operating system's random generator is available");
        MailId(bytes)
    }
}

impl std::fmt::Display for MailId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// A mail waiting to be sent. `Debug` shows no address and no body: they carry a link.
#[derive(Clone, PartialEq, Eq)]
pub struct OutboxMail {
    pub id: MailId,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub queued: Timestamp,
    pub attempts: u32,
    pub next_attempt: Timestamp,
    /// The share whose link this mail carries: its mail state follows the mail's.
    pub share: Option<(RecordId, TokenId)>,
}

impl std::fmt::Debug for OutboxMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxMail")
            .field("id", &self.id.to_string())
            .field("attempts", &self.attempts)
            .field("next_attempt", &self.next_attempt)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn share() -> Share {
        Share {
            id: TokenId::new_random(),
            record_id: RecordId::new_random(),
            thing_id: ThingId::new_random(),
            study_instance_uid: "1.2.3".into(),
            secret_hash: SecretHash::of(b"link"),
            email: None,
            passcode: None,
            note: None,
            allow_download: false,
            deidentify: false,
            uid_key: [7; 32],
            created: Timestamp::from_unix_micros(0),
            expires: Timestamp::from_unix_micros(100),
            revoked: None,
            failures: 0,
            locked: None,
            views: 0,
            downloads: 0,
            last_opened: None,
            mail: MailState::NotRequested,
        }
    }

    #[test]
    fn a_share_is_usable_only_while_active() {
        let mut s = share();
        assert_eq!(s.state(Timestamp::from_unix_micros(99)), ShareState::Active);
        assert!(s.is_usable(Timestamp::from_unix_micros(99)));
        assert_eq!(
            s.state(Timestamp::from_unix_micros(100)),
            ShareState::Expired
        );
        s.locked = Some(Timestamp::from_unix_micros(5));
        assert_eq!(s.state(Timestamp::from_unix_micros(10)), ShareState::Locked);
        s.revoked = Some(Timestamp::from_unix_micros(6));
        assert_eq!(
            s.state(Timestamp::from_unix_micros(10)),
            ShareState::Revoked
        );
        assert!(!s.is_usable(Timestamp::from_unix_micros(10)));
    }

    #[test]
    fn outbox_mail_debug_hides_address_and_body() {
        let m = OutboxMail {
            id: MailId::new_random(),
            to: "doctor@example.org".into(),
            subject: "s".into(),
            text: "http://x/s/secret".into(),
            html: "<a>".into(),
            queued: Timestamp::from_unix_micros(0),
            attempts: 0,
            next_attempt: Timestamp::from_unix_micros(0),
            share: None,
        };
        let shown = format!("{m:?}");
        assert!(!shown.contains("doctor") && !shown.contains("secret"));
    }
}
