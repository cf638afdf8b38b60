//! Shares, their access log, browser sessions, sign-in links and the mail outbox on
//! PostgreSQL. A share's mail has the share's id as its mail id, so revoking finds it by key.
//!
//! Lock order: the record's row, then its shares, then the outbox. The mail outcomes read the
//! mail once to learn its share's record, lock that record, then read the mail again.

use super::conn::{Db, Tx};
use sv_model::{
    MailId, MailState, OutboxMail, RecordId, SecretHash, Session, Share, ShareEvent,
    ShareEventKind, SigninLink, Timestamp, TokenId,
};

use super::{PgMetaStore, col, exec, fixed, lock_record, lock_record_if_any, notify, one, rows};
use crate::codec::{
    decode_event, decode_mail, decode_session, decode_share, decode_signin, encode_event,
    encode_mail, encode_session, encode_share, encode_signin,
};
use crate::{Invalidation, MetaError};

fn share(v: &[u8]) -> Result<Share, MetaError> {
    decode_share(v).map_err(MetaError::corrupt("shares"))
}

fn mail(v: &[u8]) -> Result<OutboxMail, MetaError> {
    decode_mail(v).map_err(MetaError::corrupt("outbox"))
}

fn append_events(
    tx: &mut Tx<'_>,
    rid: RecordId,
    sid: TokenId,
    events: &[ShareEvent],
) -> Result<(), MetaError> {
    for ev in events {
        exec(
            tx,
            "INSERT INTO share_events (rid, share_id, at, value) VALUES ($1, $2, $3, $4)",
            &[
                &rid.as_uuid(),
                &sid.as_uuid(),
                &ev.at.unix_micros(),
                &encode_event(ev),
            ],
        )?;
    }
    Ok(())
}

/// A share with the hash it is keyed by.
fn share_of<C: Db>(
    c: &mut C,
    rid: RecordId,
    id: TokenId,
) -> Result<Option<([u8; 32], Share)>, MetaError> {
    one(
        c,
        "SELECT secret_hash, value FROM shares WHERE rid = $1 AND share_id = $2",
        &[&rid.as_uuid(), &id.as_uuid()],
        |row| Ok((fixed(col(row, 0)?, "shares")?, share(col(row, 1)?)?)),
    )
}

fn put_share(tx: &mut Tx<'_>, hash: &[u8; 32], s: &Share) -> Result<(), MetaError> {
    exec(
        tx,
        "UPDATE shares SET value = $2 WHERE secret_hash = $1",
        &[&hash.as_slice(), &encode_share(s)],
    )?;
    Ok(())
}

fn queue_mail(tx: &mut Tx<'_>, m: &OutboxMail) -> Result<(), MetaError> {
    exec(
        tx,
        "INSERT INTO outbox (mail_id, value) VALUES ($1, $2)
         ON CONFLICT (mail_id) DO UPDATE SET value = EXCLUDED.value",
        &[&m.id.0.as_slice(), &encode_mail(m)],
    )?;
    Ok(())
}

fn mail_of<C: Db>(c: &mut C, id: MailId) -> Result<Option<OutboxMail>, MetaError> {
    one(
        c,
        "SELECT value FROM outbox WHERE mail_id = $1",
        &[&id.0.as_slice()],
        |row| mail(col(row, 0)?),
    )
}

/// Changes the share a mail carries, if the mail has one and the share still exists.
fn follow_mail(
    tx: &mut Tx<'_>,
    m: &OutboxMail,
    state: MailState,
    event: Option<ShareEvent>,
) -> Result<(), MetaError> {
    let Some((rid, sid)) = m.share else {
        return Ok(());
    };
    let Some((hash, mut s)) = share_of(tx, rid, sid)? else {
        return Ok(());
    };
    s.mail = state;
    put_share(tx, &hash, &s)?;
    if let Some(ev) = event {
        append_events(tx, rid, sid, &[ev])?;
    }
    Ok(())
}

impl PgMetaStore {
    /// Runs an outcome of mail `id` with its share's record locked; nothing if the mail is gone.
    fn mail_outcome(
        &self,
        id: MailId,
        f: impl Fn(&mut Tx<'_>, OutboxMail) -> Result<(), MetaError>,
    ) -> Result<(), MetaError> {
        self.write(|tx| {
            let Some(first) = mail_of(tx, id)? else {
                return Ok(());
            };
            if let Some((rid, _)) = first.share {
                lock_record_if_any(tx, rid)?;
            }
            let locked = one(
                tx,
                "SELECT value FROM outbox WHERE mail_id = $1 FOR UPDATE",
                &[&id.0.as_slice()],
                |row| mail(col(row, 0)?),
            )?;
            match locked {
                Some(m) => f(tx, m),
                None => Ok(()),
            }
        })
    }

    pub(crate) fn create_share_impl(
        &self,
        s: &Share,
        event: &ShareEvent,
        mail: Option<&OutboxMail>,
    ) -> Result<(), MetaError> {
        let value = encode_share(s);
        self.write(|tx| {
            lock_record(tx, s.record_id)?;
            let added = exec(
                tx,
                "INSERT INTO shares (secret_hash, rid, share_id, value) VALUES ($1, $2, $3, $4)
                 ON CONFLICT DO NOTHING",
                &[
                    &s.secret_hash.0.as_slice(),
                    &s.record_id.as_uuid(),
                    &s.id.as_uuid(),
                    &value,
                ],
            )?;
            if added == 0 {
                return Err(MetaError::AlreadyExists {
                    what: "share",
                    id: s.id.to_string(),
                });
            }
            append_events(tx, s.record_id, s.id, std::slice::from_ref(event))?;
            if let Some(m) = mail {
                queue_mail(tx, m)?;
            }
            Ok(())
        })
    }

    pub(crate) fn share_by_hash_impl(&self, h: &SecretHash) -> Result<Option<Share>, MetaError> {
        self.read(|c| {
            one(
                c,
                "SELECT value FROM shares WHERE secret_hash = $1",
                &[&h.0.as_slice()],
                |row| share(col(row, 0)?),
            )
        })
    }

    pub(crate) fn share_impl(
        &self,
        rid: RecordId,
        id: TokenId,
    ) -> Result<Option<Share>, MetaError> {
        self.read(|c| Ok(share_of(c, rid, id)?.map(|(_, s)| s)))
    }

    pub(crate) fn shares_impl(&self, rid: RecordId) -> Result<Vec<Share>, MetaError> {
        self.read(|c| {
            rows(
                c,
                "SELECT value FROM shares WHERE rid = $1 ORDER BY share_id",
                &[&rid.as_uuid()],
                |row| share(col(row, 0)?),
            )
        })
    }

    pub(crate) fn update_share_impl(
        &self,
        rid: RecordId,
        id: TokenId,
        change: &dyn Fn(&mut Share) -> Vec<ShareEvent>,
    ) -> Result<Option<Share>, MetaError> {
        self.write(|tx| {
            if !lock_record_if_any(tx, rid)? {
                return Ok(None);
            }
            let Some((hash, mut s)) = share_of(tx, rid, id)? else {
                return Ok(None);
            };
            let was_revoked = s.revoked.is_some();
            let events = change(&mut s);
            if s.id != id || s.record_id != rid || s.secret_hash.0 != hash {
                return Err(MetaError::Invalid {
                    what: "share update",
                    reason: "a share update may not change its id, record or secret",
                });
            }
            if !was_revoked && s.revoked.is_some() {
                // A revoked share's link must never go out afterwards.
                let mail_id = MailId(*id.as_bytes());
                let dropped = exec(
                    tx,
                    "DELETE FROM outbox WHERE mail_id = $1",
                    &[&mail_id.0.as_slice()],
                )?;
                if dropped > 0 {
                    s.mail = MailState::Cancelled;
                }
            }
            put_share(tx, &hash, &s)?;
            append_events(tx, rid, id, &events)?;
            notify(tx, Invalidation::Share { record: rid, id });
            Ok(Some(s))
        })
    }

    pub(crate) fn share_events_impl(
        &self,
        rid: RecordId,
        id: TokenId,
    ) -> Result<Vec<ShareEvent>, MetaError> {
        self.read(|c| {
            rows(
                c,
                "SELECT value FROM share_events WHERE rid = $1 AND share_id = $2
                 ORDER BY at, n",
                &[&rid.as_uuid(), &id.as_uuid()],
                |row| decode_event(col(row, 0)?).map_err(MetaError::corrupt("share_events")),
            )
        })
    }

    pub(crate) fn put_session_impl(&self, h: &SecretHash, s: &Session) -> Result<(), MetaError> {
        self.read(|c| {
            exec(
                c,
                "INSERT INTO sessions (secret_hash, expires, value) VALUES ($1, $2, $3)
                 ON CONFLICT (secret_hash) DO UPDATE
                 SET expires = EXCLUDED.expires, value = EXCLUDED.value",
                &[
                    &h.0.as_slice(),
                    &s.expires.unix_micros(),
                    &encode_session(s),
                ],
            )
        })?;
        Ok(())
    }

    pub(crate) fn session_impl(&self, h: &SecretHash) -> Result<Option<Session>, MetaError> {
        self.read(|c| {
            one(
                c,
                "SELECT value FROM sessions WHERE secret_hash = $1",
                &[&h.0.as_slice()],
                |row| decode_session(col(row, 0)?).map_err(MetaError::corrupt("sessions")),
            )
        })
    }

    pub(crate) fn delete_session_impl(&self, h: &SecretHash) -> Result<bool, MetaError> {
        let n = self.read(|c| {
            exec(
                c,
                "DELETE FROM sessions WHERE secret_hash = $1",
                &[&h.0.as_slice()],
            )
        })?;
        Ok(n > 0)
    }

    pub(crate) fn purge_sessions_impl(&self, now: Timestamp) -> Result<usize, MetaError> {
        let n = self.read(|c| {
            exec(
                c,
                "DELETE FROM sessions WHERE expires <= $1",
                &[&now.unix_micros()],
            )
        })?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    pub(crate) fn create_signin_link_impl(
        &self,
        h: &SecretHash,
        link: &SigninLink,
        m: &OutboxMail,
    ) -> Result<(), MetaError> {
        self.write(|tx| {
            lock_record(tx, link.record_id)?;
            exec(
                tx,
                "INSERT INTO signin_links (secret_hash, rid, value) VALUES ($1, $2, $3)
                 ON CONFLICT (secret_hash) DO UPDATE
                 SET rid = EXCLUDED.rid, value = EXCLUDED.value",
                &[
                    &h.0.as_slice(),
                    &link.record_id.as_uuid(),
                    &encode_signin(link),
                ],
            )?;
            queue_mail(tx, m)
        })
    }

    /// One statement: of two concurrent takers, exactly one gets the link.
    pub(crate) fn take_signin_link_impl(
        &self,
        h: &SecretHash,
    ) -> Result<Option<SigninLink>, MetaError> {
        self.read(|c| {
            one(
                c,
                "DELETE FROM signin_links WHERE secret_hash = $1 RETURNING value",
                &[&h.0.as_slice()],
                |row| decode_signin(col(row, 0)?).map_err(MetaError::corrupt("signin_links")),
            )
        })
    }

    pub(crate) fn outbox_impl(&self) -> Result<Vec<OutboxMail>, MetaError> {
        self.read(|c| {
            rows(c, "SELECT value FROM outbox ORDER BY mail_id", &[], |row| {
                mail(col(row, 0)?)
            })
        })
    }

    pub(crate) fn mail_sent_impl(&self, id: MailId, at: Timestamp) -> Result<(), MetaError> {
        self.mail_outcome(id, |tx, m| {
            exec(
                tx,
                "DELETE FROM outbox WHERE mail_id = $1",
                &[&id.0.as_slice()],
            )?;
            let event = ShareEvent {
                at,
                kind: ShareEventKind::MailSent,
                detail: None,
                client: None,
            };
            follow_mail(tx, &m, MailState::Sent { at }, Some(event))
        })
    }

    pub(crate) fn mail_retry_impl(
        &self,
        id: MailId,
        attempts: u32,
        next_attempt: Timestamp,
        reason: &str,
    ) -> Result<(), MetaError> {
        self.mail_outcome(id, |tx, mut m| {
            m.attempts = attempts;
            m.next_attempt = next_attempt;
            queue_mail(tx, &m)?;
            let state = MailState::Queued {
                attempts,
                last_error: Some(reason.to_owned()),
            };
            follow_mail(tx, &m, state, None)
        })
    }

    pub(crate) fn mail_failed_impl(
        &self,
        id: MailId,
        reason: &str,
        at: Timestamp,
    ) -> Result<(), MetaError> {
        self.mail_outcome(id, |tx, m| {
            exec(
                tx,
                "DELETE FROM outbox WHERE mail_id = $1",
                &[&id.0.as_slice()],
            )?;
            let state = MailState::Failed {
                reason: reason.to_owned(),
            };
            let event = ShareEvent {
                at,
                kind: ShareEventKind::MailFailed,
                detail: Some(reason.to_owned()),
                client: None,
            };
            follow_mail(tx, &m, state, Some(event))
        })
    }
}
