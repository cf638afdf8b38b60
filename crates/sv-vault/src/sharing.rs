//! Sharing a study by link, and the recipient's side of it.
//!
//! A share's link carries a 256-bit secret that is shown once and stored only as its hash. A
//! recipient reaches the study in two steps, because mail scanners fetch every link before the
//! person does: reading the landing page ([`Vault::share_landing_blocking`]) changes nothing;
//! opening it ([`Vault::open_share_blocking`], a POST) checks the passcode, counts the view,
//! logs it and starts a share session. Every request after that judges the share again: it is
//! remembered by link hash for at most a few seconds (`VaultConfig::secret_cache_ttl`), and
//! every change of a share on this node (revoke, lock, counts) and every study deletion evicts
//! it before answering, so a revocation stops the very next request here. Another node hears
//! of it from a shared store (PostgreSQL's notifications) and evicts too; should it not hear,
//! the entry's lifetime still bounds how long the share stays usable there.
//!
//! Passcodes are hashed with Argon2id at the OWASP minimum (m = 19 MiB, t = 2, p = 1). An
//! attempt is counted *before* the hash is checked, in one transaction with the check that
//! the limit is not reached, so concurrent guesses cannot exceed [`PASSCODE_ATTEMPTS`]; a right
//! passcode gives its attempt back.

use std::cell::Cell;
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use sv_model::{
    MailId, MailState, OutboxMail, PASSCODE_ATTEMPTS, RecordId, Secret, SecretHash, Session,
    SessionKind, Share, ShareEvent, ShareEventKind, Timestamp, TokenId,
};

use crate::{Vault, VaultError};

/// How shares behave; the binary fills it from configuration.
#[derive(Debug, Clone)]
pub struct SharingConfig {
    /// The URL recipients reach the server at (no trailing slash): links are built from it,
    /// never from a request's `Host`.
    pub public_url: String,
    pub default_expires_in: Duration,
    pub max_expires_in: Duration,
    /// Idle end of a share session (the share's own expiry ends it too).
    pub session_idle: Duration,
}

impl Default for SharingConfig {
    fn default() -> Self {
        SharingConfig {
            public_url: "http://127.0.0.1:8080".into(),
            default_expires_in: Duration::from_secs(7 * 86_400),
            max_expires_in: Duration::from_secs(90 * 86_400),
            session_idle: Duration::from_secs(2 * 3600),
        }
    }
}

/// What the owner asks for.
#[derive(Debug, Clone, Default)]
pub struct NewShare {
    pub study_instance_uid: String,
    pub expires_in: Option<Duration>,
    pub email: Option<String>,
    /// Never stored, never mailed: only its Argon2id hash is kept.
    pub passcode: Option<Secret>,
    pub note: Option<String>,
    pub allow_download: bool,
    pub deidentify: bool,
}

/// Why a share cannot be made as asked (the caller's fault).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShareRefusal {
    #[error("no live study with that StudyInstanceUID in the record")]
    NoSuchStudy,
    #[error("expires_in must be between 60 seconds and {max_seconds} seconds")]
    Expiry { max_seconds: u64 },
    #[error("the e-mail address is not valid")]
    Email,
    #[error("the passcode must be 6 to 64 characters without spaces")]
    Passcode,
    #[error("the note is longer than 1000 characters")]
    Note,
}

/// A new share: the link is shown once.
#[derive(Debug, Clone)]
pub struct CreatedShare {
    pub share: Share,
    pub url: String,
    pub link_secret: Secret,
}

/// What a landing page may show: nothing that identifies the patient beyond the record's
/// display name.
#[derive(Debug, Clone)]
pub struct ShareLanding {
    pub share: Share,
    pub shared_by: String,
}

/// The answer to opening a share.
#[derive(Debug)]
pub enum OpenOutcome {
    /// A share session: its secret goes into the recipient's cookie.
    Opened { session: Secret, share: Box<Share> },
    /// Wrong passcode; the share is still usable with `attempts_left` tries.
    WrongPasscode { attempts_left: u32 },
    /// Unknown, expired, revoked or locked (now or by this attempt): all the same outside.
    NotFound,
}

/// A recipient's live share session.
#[derive(Debug, Clone)]
pub struct ShareAccess {
    pub share: Share,
    pub shared_by: String,
}

const MAX_NOTE: usize = 1000;

/// Serialises passcode checks per share (striped: shares may share a stripe).
#[derive(Debug, Default)]
pub(crate) struct PasscodeGate([std::sync::Mutex<()>; 16]);

impl PasscodeGate {
    fn enter(&self, share: TokenId) -> std::sync::MutexGuard<'_, ()> {
        let stripe = usize::from(share.as_bytes()[0]) % self.0.len();
        self.0[stripe].lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A DICOM date (`YYYYMMDD`) as people read it (`2024-03-05`); anything else as stored.
pub fn display_date(da: &str) -> String {
    let d = da.trim();
    if d.len() == 8 && d.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}-{}-{}", &d[..4], &d[4..6], &d[6..])
    } else {
        d.to_owned()
    }
}

/// A plausible single mailbox address (`local@domain.tld`), without display name or list.
pub fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    email.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && email
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '<' | '>' | '"' | ',' | ';'))
}

fn argon2() -> Argon2<'static> {
    // Argon2id, version 0x13, m = 19 MiB, t = 2, p = 1: the crate's defaults, which are the
    // OWASP minimum (sharing-and-pages.md 2.4).
    Argon2::default()
}

fn hash_passcode(passcode: &Secret) -> Result<String, VaultError> {
    // A 16-byte random salt; the PHC string keeps algorithm, parameters and salt with the hash.
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| VaultError::Task(format!("random salt: {e}")))?;
    argon2()
        .hash_password_with_salt(passcode.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| VaultError::Task(format!("passcode hash: {e}")))
}

fn passcode_matches(stored: &str, given: &str) -> bool {
    argon2().verify_password(given.as_bytes(), stored).is_ok()
}

/// The key of a share session's CSRF token: derived from the session secret, so it needs no
/// storage and dies with the session.
pub fn csrf_token(session: &Secret) -> String {
    let key = blake3::derive_key("studyvault 2026-12 csrf token", session.expose().as_bytes());
    key.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// Usable shares by link hash, for at most [`crate::VaultConfig::secret_cache_ttl`]; another
/// node's change evicts too, when the store tells of it.
pub(crate) type ShareCache = crate::secret_cache::SecretCache<Share>;

/// How long a viewer key lasts at most; it ends with its share in any case.
pub const VIEWER_KEY_HOURS: i64 = 12;

/// A viewer key: `<expiry, unix seconds>.<64 hex>`, the hex a keyed blake3 of the share and
/// the expiry under a key derived from the share's secret key. It needs no storage, cannot be
/// made without the server's copy of the share, and stops with the share (every request
/// judges it) or at its expiry, whichever comes first.
fn viewer_mac(share: &Share, expires_secs: i64) -> blake3::Hash {
    let key = blake3::derive_key("studyvault 2026-12 viewer key", &share.uid_key);
    blake3::keyed_hash(&key, format!("{}:{expires_secs}", share.id).as_bytes())
}

fn event(
    at: Timestamp,
    kind: ShareEventKind,
    detail: Option<&str>,
    client: Option<&str>,
) -> ShareEvent {
    ShareEvent {
        at,
        kind,
        detail: detail.map(str::to_owned),
        client: client.map(str::to_owned),
    }
}

impl Vault {
    /// Shares one live study of `record` (blocking). When `email` is given and mail is
    /// configured, the link's mail is queued durably in the same transaction.
    pub fn create_share_blocking(
        &self,
        record: RecordId,
        new: NewShare,
        now: Timestamp,
    ) -> Result<Result<CreatedShare, ShareRefusal>, VaultError> {
        let config = &self.inner.config.sharing;
        let Some(rec) = self.inner.meta.record(record)? else {
            return Err(VaultError::RecordNotFound(record));
        };
        let expires_in = new.expires_in.unwrap_or(config.default_expires_in);
        if expires_in < Duration::from_secs(60) || expires_in > config.max_expires_in {
            return Ok(Err(ShareRefusal::Expiry {
                max_seconds: config.max_expires_in.as_secs(),
            }));
        }
        let email = new
            .email
            .map(|e| e.trim().to_owned())
            .filter(|e| !e.is_empty());
        if email.as_deref().is_some_and(|e| !valid_email(e)) {
            return Ok(Err(ShareRefusal::Email));
        }
        if let Some(p) = &new.passcode {
            let p = p.expose();
            if !(6..=64).contains(&p.chars().count()) || p.chars().any(char::is_whitespace) {
                return Ok(Err(ShareRefusal::Passcode));
            }
        }
        let note = new
            .note
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty());
        if note.as_ref().is_some_and(|n| n.chars().count() > MAX_NOTE) {
            return Ok(Err(ShareRefusal::Note));
        }
        let Some(thing) = self
            .inner
            .meta
            .study_thing(record, &new.study_instance_uid)?
        else {
            return Ok(Err(ShareRefusal::NoSuchStudy));
        };
        let Some(digest) = self.inner.meta.study_digest(record, thing)? else {
            return Ok(Err(ShareRefusal::NoSuchStudy));
        };
        let passcode = new.passcode.as_ref().map(hash_passcode).transpose()?;
        let link_secret = Secret::generate();
        let mut uid_key = [0u8; 32];
        getrandom::fill(&mut uid_key).map_err(|e| VaultError::Task(format!("random key: {e}")))?;
        let expires = now.plus_seconds(i64::try_from(expires_in.as_secs()).unwrap_or(i64::MAX));
        let url = format!("{}/s/{}", config.public_url, link_secret.expose());
        let mailer = self.inner.mail.get();
        let mail_state = match (&email, mailer) {
            (None, _) => MailState::NotRequested,
            (Some(_), None) => MailState::NotConfigured,
            (Some(_), Some(_)) => MailState::Queued {
                attempts: 0,
                last_error: None,
            },
        };
        let share = Share {
            id: TokenId::new_random(),
            record_id: record,
            thing_id: thing,
            study_instance_uid: new.study_instance_uid.clone(),
            secret_hash: link_secret.hash(),
            email: email.clone(),
            passcode,
            note,
            allow_download: new.allow_download,
            deidentify: new.deidentify,
            uid_key,
            created: now,
            expires,
            revoked: None,
            failures: 0,
            locked: None,
            views: 0,
            downloads: 0,
            last_opened: None,
            mail: mail_state,
        };
        let mail = match (&email, mailer) {
            (Some(to), Some(m)) => {
                let study = &digest.study;
                let date = study.study_date.as_deref().map(display_date);
                let content = m.compose_share(crate::mail::ShareMailFacts {
                    to,
                    sender_name: &rec.name,
                    note: share.note.as_deref(),
                    link: &url,
                    expires,
                    study_description: study.description.as_deref(),
                    study_date: date.as_deref(),
                    has_passcode: share.passcode.is_some(),
                });
                Some(OutboxMail {
                    id: MailId(*share.id.as_bytes()),
                    to: to.clone(),
                    subject: content.subject,
                    text: content.text,
                    html: content.html,
                    queued: now,
                    attempts: 0,
                    next_attempt: now,
                    share: Some((record, share.id)),
                })
            }
            _ => None,
        };
        let created = event(now, ShareEventKind::Created, None, None);
        self.inner
            .meta
            .create_share(&share, &created, mail.as_ref())?;
        if mail.is_some() {
            self.wake_mail();
        }
        Ok(Ok(CreatedShare {
            share,
            url,
            link_secret,
        }))
    }

    /// The record's shares, newest first (blocking).
    pub fn shares_blocking(&self, record: RecordId) -> Result<Vec<Share>, VaultError> {
        self.require_record(record)?;
        let mut shares = self.inner.meta.shares(record)?;
        shares.sort_by_key(|s| std::cmp::Reverse(s.created));
        Ok(shares)
    }

    /// One share with its access log, oldest event first (blocking).
    pub fn share_log_blocking(
        &self,
        record: RecordId,
        id: TokenId,
    ) -> Result<Option<(Share, Vec<ShareEvent>)>, VaultError> {
        self.require_record(record)?;
        let Some(share) = self.inner.meta.share(record, id)? else {
            return Ok(None);
        };
        let events = self.inner.meta.share_events(record, id)?;
        Ok(Some((share, events)))
    }

    /// Revokes a share at once; a queued mail for it is dropped. `None`: no such share.
    pub fn revoke_share_blocking(
        &self,
        record: RecordId,
        id: TokenId,
        now: Timestamp,
    ) -> Result<Option<Share>, VaultError> {
        self.require_record(record)?;
        let revoke = |s: &mut Share| {
            if s.revoked.is_some() {
                return Vec::new();
            }
            s.revoked = Some(now);
            vec![event(now, ShareEventKind::Revoked, None, None)]
        };
        self.change_share(record, id, &revoke)
    }

    /// The share a link names, if it is usable now, with who shared it. Reads only.
    pub fn share_landing_blocking(
        &self,
        link: &str,
        now: Timestamp,
    ) -> Result<Option<ShareLanding>, VaultError> {
        let Some(share) = self.usable_share(&SecretHash::of(link.as_bytes()), now)? else {
            return Ok(None);
        };
        let shared_by = self.shared_by(share.record_id)?;
        Ok(Some(ShareLanding { share, shared_by }))
    }

    /// The share a link hash names, if usable now (expiry, revocation and lock judged on every
    /// call). A share whose study is live is remembered ([`ShareCache`]); every change of a
    /// share on this node ([`Self::change_share`]) and every study deletion evicts it.
    fn usable_share(&self, hash: &SecretHash, now: Timestamp) -> Result<Option<Share>, VaultError> {
        let share = match self.inner.shares.get(hash) {
            Some(share) => share,
            None => {
                let generation = self.inner.shares.generation();
                let Some(share) = self.inner.meta.share_by_hash(hash)? else {
                    return Ok(None);
                };
                // The study must still be there: a deleted study's shares lead nowhere.
                let meta = &self.inner.meta;
                if meta
                    .study_digest(share.record_id, share.thing_id)?
                    .is_none()
                {
                    return Ok(None);
                }
                self.inner.shares.fill(generation, *hash, share.clone());
                share
            }
        };
        Ok(share.is_usable(now).then_some(share))
    }

    /// Changes share `id` of `record` in one store transaction, and forgets it from the cache
    /// before answering, so a revocation or a lock holds at the next request.
    fn change_share(
        &self,
        record: RecordId,
        id: TokenId,
        change: &dyn Fn(&mut Share) -> Vec<ShareEvent>,
    ) -> Result<Option<Share>, VaultError> {
        let changed = self.inner.meta.update_share(record, id, change);
        // Evicted even if the change failed: it may have happened all the same.
        self.inner
            .shares
            .evict(|s| s.id == id && s.record_id == record);
        Ok(changed?)
    }

    fn shared_by(&self, record: RecordId) -> Result<String, VaultError> {
        Ok(self
            .inner
            .meta
            .record(record)?
            .map(|r| r.name)
            .unwrap_or_default())
    }

    /// A person opens a share (the landing page's button): checks the passcode if there is
    /// one, counts the view and starts a share session (blocking; hashing takes ~50 ms).
    pub fn open_share_blocking(
        &self,
        link: &str,
        passcode: Option<&str>,
        client: Option<&str>,
        now: Timestamp,
    ) -> Result<OpenOutcome, VaultError> {
        let Some(share) = self.usable_share(&SecretHash::of(link.as_bytes()), now)? else {
            return Ok(OpenOutcome::NotFound);
        };
        let (rid, id) = (share.record_id, share.id);
        let meta = &self.inner.meta;
        if let Some(stored) = share.passcode.clone() {
            // One check at a time per share on this node, so a failure knows it is one of the
            // counted ones, and a flood of guesses costs one hash at a time.
            let _gate = self.inner.passcode_gate.enter(id);
            // Take an attempt first, so concurrent guesses (from other nodes too) cannot pass
            // the limit.
            let reserved = Cell::new(false);
            let reserve = |s: &mut Share| {
                let allowed = s.is_usable(now) && s.failures < PASSCODE_ATTEMPTS;
                reserved.set(allowed);
                if allowed {
                    s.failures += 1;
                }
                Vec::new()
            };
            self.change_share(rid, id, &reserve)?;
            if !reserved.get() {
                return Ok(OpenOutcome::NotFound);
            }
            let given = passcode.unwrap_or_default();
            if !passcode_matches(&stored, given) {
                let fail = |s: &mut Share| {
                    let mut events = vec![event(now, ShareEventKind::PasscodeFailed, None, client)];
                    if s.failures >= PASSCODE_ATTEMPTS && s.locked.is_none() {
                        s.locked = Some(now);
                        events.push(event(now, ShareEventKind::Locked, None, client));
                    }
                    events
                };
                let after = self.change_share(rid, id, &fail)?;
                return Ok(match after {
                    Some(s) if s.is_usable(now) => OpenOutcome::WrongPasscode {
                        attempts_left: PASSCODE_ATTEMPTS.saturating_sub(s.failures),
                    },
                    _ => OpenOutcome::NotFound,
                });
            }
        }
        let had_passcode = share.passcode.is_some();
        let open = |s: &mut Share| {
            if had_passcode {
                s.failures = s.failures.saturating_sub(1);
            }
            s.views += 1;
            s.last_opened = Some(now);
            vec![event(now, ShareEventKind::Opened, None, client)]
        };
        let Some(opened) = self.change_share(rid, id, &open)? else {
            return Ok(OpenOutcome::NotFound);
        };
        if !opened.is_usable(now) {
            return Ok(OpenOutcome::NotFound);
        }
        let session = Secret::generate();
        let idle = self.inner.config.sharing.session_idle;
        let record = Session {
            kind: SessionKind::Share {
                record_id: rid,
                share_id: id,
            },
            created: now,
            last_seen: now,
            expires: opened
                .expires
                .min(now.plus_seconds(i64::try_from(idle.as_secs()).unwrap_or(i64::MAX))),
        };
        meta.put_session(&session.hash(), &record)?;
        Ok(OpenOutcome::Opened {
            session,
            share: Box::new(opened),
        })
    }

    /// The share behind a recipient's session, if both are still good (blocking). The share
    /// is read from the store on every call: a revocation takes effect on the next request.
    pub fn share_session_blocking(
        &self,
        session: &str,
        link: &str,
        now: Timestamp,
    ) -> Result<Option<ShareAccess>, VaultError> {
        let Some(share) = self.session_share(session, link, now)? else {
            return Ok(None);
        };
        let shared_by = self.shared_by(share.record_id)?;
        Ok(Some(ShareAccess { share, shared_by }))
    }

    /// The usable share a link names, if `session` is a live share session bound to it.
    fn session_share(
        &self,
        session: &str,
        link: &str,
        now: Timestamp,
    ) -> Result<Option<Share>, VaultError> {
        let Some(share) = self.usable_share(&SecretHash::of(link.as_bytes()), now)? else {
            return Ok(None);
        };
        Ok(self.session_holds(session, &share, now)?.then_some(share))
    }

    /// Whether `session` is a live share session of `share`.
    fn session_holds(
        &self,
        session: &str,
        share: &Share,
        now: Timestamp,
    ) -> Result<bool, VaultError> {
        let Some(s) = self
            .inner
            .meta
            .session(&SecretHash::of(session.as_bytes()))?
        else {
            return Ok(false);
        };
        let bound = matches!(s.kind, SessionKind::Share { record_id, share_id }
            if record_id == share.record_id && share_id == share.id);
        Ok(bound && now < s.expires)
    }

    /// The share an image request reaches: with the link alone when the share has no
    /// passcode (the link already opens its DICOMweb, so a session adds nothing there), else
    /// only with the recipient's share session. One point read fewer for the common case.
    pub fn image_share_blocking(
        &self,
        session: Option<&str>,
        link: &str,
        now: Timestamp,
    ) -> Result<Option<Share>, VaultError> {
        let Some(share) = self.usable_share(&SecretHash::of(link.as_bytes()), now)? else {
            return Ok(None);
        };
        let open = share.passcode.is_none()
            || match session {
                Some(s) => self.session_holds(s, &share, now)?,
                None => false,
            };
        Ok(open.then_some(share))
    }

    /// A key that opens the shared study's DICOMweb for the recipient's own viewer on another
    /// origin (OHIF, Weasis), which cannot carry our session cookie: minted only on a page
    /// shown to a share session, so on a passcode share only after the passcode was given.
    /// It lasts [`VIEWER_KEY_HOURS`] at most, never past the share.
    pub fn viewer_key(share: &Share, now: Timestamp) -> String {
        let until = share
            .expires
            .unix_micros()
            .min(now.plus_seconds(VIEWER_KEY_HOURS * 3600).unix_micros());
        let secs = until.div_euclid(1_000_000);
        format!("{secs}.{}", viewer_mac(share, secs).to_hex())
    }

    /// The share a link opens together with a viewer key (blocking; the share is read on
    /// every call, so a revocation holds at once).
    pub fn viewer_share_blocking(
        &self,
        link: &str,
        key: &str,
        now: Timestamp,
    ) -> Result<Option<Share>, VaultError> {
        let Some((secs, mac)) = key.split_once('.') else {
            return Ok(None);
        };
        let (Ok(secs), Ok(mac)) = (secs.parse::<i64>(), blake3::Hash::from_hex(mac)) else {
            return Ok(None);
        };
        if now.unix_micros() >= secs.saturating_mul(1_000_000) {
            return Ok(None);
        }
        let Some(share) = self.usable_share(&SecretHash::of(link.as_bytes()), now)? else {
            return Ok(None);
        };
        // blake3::Hash compares in constant time.
        Ok((viewer_mac(&share, secs) == mac).then_some(share))
    }

    /// Counts and logs a download of a shared study (`what`: "zip", "dicomweb study", …).
    pub fn share_downloaded_blocking(
        &self,
        share: &Share,
        what: &str,
        client: Option<&str>,
        now: Timestamp,
    ) -> Result<(), VaultError> {
        let count = |s: &mut Share| {
            s.downloads += 1;
            vec![event(now, ShareEventKind::Downloaded, Some(what), client)]
        };
        self.change_share(share.record_id, share.id, &count)?;
        Ok(())
    }

    /// The live study a share points at, as its pages show it.
    pub fn shared_study_blocking(
        &self,
        share: &Share,
    ) -> Result<Option<crate::StudyListing>, VaultError> {
        self.study_listing_blocking(share.record_id, &share.study_instance_uid)
    }
}
