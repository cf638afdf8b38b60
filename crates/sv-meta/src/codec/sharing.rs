//! Value encodings of shares, their access log, browser sessions, sign-in links and the mail
//! outbox.
//!
//! Shares are written as V2. The V1 share layout was defined before any release could create
//! a share (no route wrote one), so no store holds V1 shares and the reader refuses them.

use sv_model::{
    MailId, MailState, OutboxMail, RecordId, SecretHash, Session, SessionKind, Share, ShareEvent,
    ShareEventKind, SigninLink, ThingId, TokenId,
};

use super::{CodecError, Dec, Enc, V2};

pub(crate) fn encode_share(s: &Share) -> Vec<u8> {
    let mut e = Enc::versioned(V2);
    e.raw(s.id.as_bytes())
        .raw(s.record_id.as_bytes())
        .raw(s.thing_id.as_bytes())
        .str(&s.study_instance_uid)
        .raw(&s.secret_hash.0)
        .opt_str(s.email.as_deref())
        .opt_str(s.passcode.as_deref())
        .opt_str(s.note.as_deref())
        .bool(s.allow_download)
        .bool(s.deidentify)
        .raw(&s.uid_key)
        .time(s.created)
        .time(s.expires)
        .opt(s.revoked, |e, t| {
            e.time(t);
        })
        .u32(s.failures)
        .opt(s.locked, |e, t| {
            e.time(t);
        })
        .u64(s.views)
        .u64(s.downloads)
        .opt(s.last_opened, |e, t| {
            e.time(t);
        });
    mail_state(&mut e, &s.mail);
    e.finish()
}

pub(crate) fn decode_share(buf: &[u8]) -> Result<Share, CodecError> {
    let (mut d, _) = Dec::versioned(buf, "share", &[V2])?;
    let share = Share {
        id: TokenId::from_bytes(d.array()?),
        record_id: RecordId::from_bytes(d.array()?),
        thing_id: ThingId::from_bytes(d.array()?),
        study_instance_uid: d.str("study uid")?,
        secret_hash: SecretHash(d.array()?),
        email: d.opt_str("email")?,
        passcode: d.opt_str("passcode")?,
        note: d.opt_str("note")?,
        allow_download: d.bool("allow download")?,
        deidentify: d.bool("deidentify")?,
        uid_key: d.array()?,
        created: d.time()?,
        expires: d.time()?,
        revoked: d.opt("revoked", |d| d.time())?,
        failures: d.u32("failures")?,
        locked: d.opt("locked", |d| d.time())?,
        views: d.u64()?,
        downloads: d.u64()?,
        last_opened: d.opt("last opened", |d| d.time())?,
        mail: read_mail_state(&mut d)?,
    };
    d.finish(share)
}

fn mail_state(e: &mut Enc, m: &MailState) {
    match m {
        MailState::NotRequested => {
            e.u8(0);
        }
        MailState::NotConfigured => {
            e.u8(1);
        }
        MailState::Queued {
            attempts,
            last_error,
        } => {
            e.u8(2).u32(*attempts).opt_str(last_error.as_deref());
        }
        MailState::Sent { at } => {
            e.u8(3).time(*at);
        }
        MailState::Failed { reason } => {
            e.u8(4).str(reason);
        }
        MailState::Cancelled => {
            e.u8(5);
        }
    }
}

fn read_mail_state(d: &mut Dec<'_>) -> Result<MailState, CodecError> {
    Ok(match d.u8()? {
        0 => MailState::NotRequested,
        1 => MailState::NotConfigured,
        2 => MailState::Queued {
            attempts: d.u32("mail attempts")?,
            last_error: d.opt_str("mail error")?,
        },
        3 => MailState::Sent { at: d.time()? },
        4 => MailState::Failed {
            reason: d.str("mail failure")?,
        },
        5 => MailState::Cancelled,
        _ => return Err(d.invalid("mail state")),
    })
}

fn event_kind_code(k: ShareEventKind) -> u8 {
    match k {
        ShareEventKind::Created => 0,
        ShareEventKind::Opened => 1,
        ShareEventKind::Downloaded => 2,
        ShareEventKind::PasscodeFailed => 3,
        ShareEventKind::Locked => 4,
        ShareEventKind::Revoked => 5,
        ShareEventKind::MailSent => 6,
        ShareEventKind::MailFailed => 7,
    }
}

pub(crate) fn encode_event(ev: &ShareEvent) -> Vec<u8> {
    Enc::new()
        .time(ev.at)
        .u8(event_kind_code(ev.kind))
        .opt_str(ev.detail.as_deref())
        .opt_str(ev.client.as_deref())
        .finish()
}

pub(crate) fn decode_event(buf: &[u8]) -> Result<ShareEvent, CodecError> {
    let mut d = Dec::new(buf, "share event")?;
    let at = d.time()?;
    let code = d.u8()?;
    let kind = ShareEventKind::ALL
        .into_iter()
        .find(|k| event_kind_code(*k) == code)
        .ok_or_else(|| d.invalid("kind"))?;
    let ev = ShareEvent {
        at,
        kind,
        detail: d.opt_str("detail")?,
        client: d.opt_str("client")?,
    };
    d.finish(ev)
}

pub(crate) fn encode_session(s: &Session) -> Vec<u8> {
    let mut e = Enc::new();
    match &s.kind {
        SessionKind::Owner { record_id } => {
            e.u8(0).raw(record_id.as_bytes());
        }
        SessionKind::Token {
            record_id,
            token_hash,
        } => {
            e.u8(1).raw(record_id.as_bytes()).raw(&token_hash.0);
        }
        SessionKind::Share {
            record_id,
            share_id,
        } => {
            e.u8(2).raw(record_id.as_bytes()).raw(share_id.as_bytes());
        }
    }
    e.time(s.created).time(s.last_seen).time(s.expires).finish()
}

pub(crate) fn decode_session(buf: &[u8]) -> Result<Session, CodecError> {
    let mut d = Dec::new(buf, "session")?;
    let kind = match d.u8()? {
        0 => SessionKind::Owner {
            record_id: RecordId::from_bytes(d.array()?),
        },
        1 => SessionKind::Token {
            record_id: RecordId::from_bytes(d.array()?),
            token_hash: SecretHash(d.array()?),
        },
        2 => SessionKind::Share {
            record_id: RecordId::from_bytes(d.array()?),
            share_id: TokenId::from_bytes(d.array()?),
        },
        _ => return Err(d.invalid("kind")),
    };
    let s = Session {
        kind,
        created: d.time()?,
        last_seen: d.time()?,
        expires: d.time()?,
    };
    d.finish(s)
}

pub(crate) fn encode_signin(l: &SigninLink) -> Vec<u8> {
    Enc::new()
        .raw(l.record_id.as_bytes())
        .time(l.created)
        .time(l.expires)
        .finish()
}

pub(crate) fn decode_signin(buf: &[u8]) -> Result<SigninLink, CodecError> {
    let mut d = Dec::new(buf, "sign-in link")?;
    let l = SigninLink {
        record_id: RecordId::from_bytes(d.array()?),
        created: d.time()?,
        expires: d.time()?,
    };
    d.finish(l)
}

pub(crate) fn encode_mail(m: &OutboxMail) -> Vec<u8> {
    Enc::new()
        .raw(&m.id.0)
        .str(&m.to)
        .str(&m.subject)
        .str(&m.text)
        .str(&m.html)
        .time(m.queued)
        .u32(m.attempts)
        .time(m.next_attempt)
        .opt(m.share, |e, (rid, sid)| {
            e.raw(rid.as_bytes()).raw(sid.as_bytes());
        })
        .finish()
}

pub(crate) fn decode_mail(buf: &[u8]) -> Result<OutboxMail, CodecError> {
    let mut d = Dec::new(buf, "outbox mail")?;
    let m = OutboxMail {
        id: MailId(d.array()?),
        to: d.str("to")?,
        subject: d.str("subject")?,
        text: d.str("text")?,
        html: d.str("html")?,
        queued: d.time()?,
        attempts: d.u32("attempts")?,
        next_attempt: d.time()?,
        share: d.opt("share", |d| {
            Ok((
                RecordId::from_bytes(d.array()?),
                TokenId::from_bytes(d.array()?),
            ))
        })?,
    };
    d.finish(m)
}
