//! Patients' browser sessions: sign-in by pasting a record token or by a one-time link mailed
//! to the record's owner, and what a session may do.
//!
//! Invariants:
//! - a session id is a fresh 256-bit secret made at sign-in (never one the browser chose) and
//!   stored only as its hash; sign-out deletes it;
//! - a token session lives only while its token does: the token is re-read on every request;
//! - a sign-in link works once (it is removed by the POST that uses it) and for 15 minutes;
//!   asking for one never tells whether the address belongs to a record.

use std::time::Duration;

use sv_model::{
    MailId, OutboxMail, RecordId, Secret, SecretHash, Session, SessionKind, SigninLink, Timestamp,
};

use crate::{Principal, Vault, VaultError};

/// How long a mailed sign-in link works.
pub const SIGNIN_LINK_MINUTES: u32 = 15;
/// A patient session ends after this long without a request.
pub const PATIENT_IDLE: Duration = Duration::from_secs(30 * 60);
/// … and after this long whatever happens.
pub const PATIENT_ABSOLUTE: Duration = Duration::from_secs(12 * 3600);
/// `last_seen` is written at most this often (each write is a durable commit).
const TOUCH_EVERY: Duration = Duration::from_secs(60);

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// A signed-in patient.
#[derive(Debug, Clone)]
pub struct PatientSession {
    pub record: RecordId,
    /// What the session may do: the owner's every permission, or the pasted token's grants.
    pub principal: Principal,
    pub record_name: String,
}

impl Vault {
    fn new_patient_session(&self, kind: SessionKind, now: Timestamp) -> Result<Secret, VaultError> {
        let secret = Secret::generate();
        let session = Session {
            kind,
            created: now,
            last_seen: now,
            expires: now.plus_seconds(secs(PATIENT_ABSOLUTE)),
        };
        self.inner.meta.put_session(&secret.hash(), &session)?;
        Ok(secret)
    }

    /// Signs in with a record token (blocking): a new session, or `None` for an unknown or
    /// expired token.
    pub fn signin_with_token_blocking(
        &self,
        token: &str,
        now: Timestamp,
    ) -> Result<Option<Secret>, VaultError> {
        let hash = SecretHash::of(token.trim().as_bytes());
        let Some(found) = self.inner.meta.token_by_hash(&hash)? else {
            return Ok(None);
        };
        if found.is_expired(now) {
            return Ok(None);
        }
        let kind = SessionKind::Token {
            record_id: found.record_id,
            token_hash: hash,
        };
        self.new_patient_session(kind, now).map(Some)
    }

    /// Mails a one-time sign-in link to the owner of the record with this e-mail address, if
    /// there is one and mail is configured (blocking). Says nothing about which.
    pub fn request_signin_link_blocking(
        &self,
        email: &str,
        now: Timestamp,
    ) -> Result<(), VaultError> {
        let Some(mail) = self.inner.mail.get() else {
            return Ok(());
        };
        let email = email.trim();
        let Some(record) = self.inner.meta.records()?.into_iter().find(|r| {
            r.owner_email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
        }) else {
            return Ok(());
        };
        let secret = Secret::generate();
        let link = SigninLink {
            record_id: record.id,
            created: now,
            expires: now.plus_seconds(i64::from(SIGNIN_LINK_MINUTES) * 60),
        };
        let url = format!(
            "{}/signin/link/{}",
            self.inner.config.sharing.public_url,
            secret.expose()
        );
        let content = mail.compose_signin(email, &record.name, &url, SIGNIN_LINK_MINUTES);
        let queued = OutboxMail {
            id: MailId::new_random(),
            to: email.to_owned(),
            subject: content.subject,
            text: content.text,
            html: content.html,
            queued: now,
            attempts: 0,
            next_attempt: now,
            share: None,
        };
        self.inner
            .meta
            .create_signin_link(&secret.hash(), &link, &queued)?;
        self.wake_mail();
        Ok(())
    }

    /// Uses a sign-in link (the POST from its page): a new owner session, or `None` when the
    /// link is unknown, used or expired.
    pub fn signin_with_link_blocking(
        &self,
        code: &str,
        now: Timestamp,
    ) -> Result<Option<Secret>, VaultError> {
        let Some(link) = self
            .inner
            .meta
            .take_signin_link(&SecretHash::of(code.as_bytes()))?
        else {
            return Ok(None);
        };
        if now >= link.expires {
            return Ok(None);
        }
        let kind = SessionKind::Owner {
            record_id: link.record_id,
        };
        self.new_patient_session(kind, now).map(Some)
    }

    /// The patient behind a session cookie, if the session (and its token) still holds
    /// (blocking). Refreshes the idle clock at most once a minute.
    pub fn patient_session_blocking(
        &self,
        session: &str,
        now: Timestamp,
    ) -> Result<Option<PatientSession>, VaultError> {
        let hash = SecretHash::of(session.as_bytes());
        let meta = &self.inner.meta;
        let Some(mut s) = meta.session(&hash)? else {
            return Ok(None);
        };
        let idle_end = s.last_seen.plus_seconds(secs(PATIENT_IDLE));
        if now >= s.expires || now >= idle_end {
            meta.delete_session(&hash)?;
            return Ok(None);
        }
        let principal = match &s.kind {
            SessionKind::Owner { record_id } => Principal::Owner(*record_id),
            SessionKind::Token { token_hash, .. } => match meta.token_by_hash(token_hash)? {
                Some(token) if !token.is_expired(now) => Principal::App(token),
                _ => {
                    meta.delete_session(&hash)?;
                    return Ok(None);
                }
            },
            SessionKind::Share { .. } => return Ok(None),
        };
        let record = s.kind.record_id();
        let Some(rec) = meta.record(record)? else {
            return Ok(None);
        };
        if now.unix_micros() - s.last_seen.unix_micros() >= secs(TOUCH_EVERY) * 1_000_000 {
            s.last_seen = now;
            meta.put_session(&hash, &s)?;
        }
        Ok(Some(PatientSession {
            record,
            principal,
            record_name: rec.name,
        }))
    }

    /// Ends a session (sign-out, or a recipient leaving). False if there was none.
    pub fn end_session_blocking(&self, session: &str) -> Result<bool, VaultError> {
        Ok(self
            .inner
            .meta
            .delete_session(&SecretHash::of(session.as_bytes()))?)
    }

    /// Removes sessions past their absolute end; returns how many.
    pub fn purge_sessions_blocking(&self, now: Timestamp) -> Result<usize, VaultError> {
        Ok(self.inner.meta.purge_sessions(now)?)
    }
}
