//! Shares, their access log, browser sessions, sign-in links and the mail outbox on sled.
//!
//! Trees: `shares` (secret hash → share) with `record_shares` ((record, share id) → secret
//! hash) to list and address them; `share_events` ((share id, time, 4 random bytes) → event);
//! `sessions` and `signin_links` (secret hash → value); `outbox` (mail id → mail). A share's
//! mail has the share's id as its mail id, so revoking finds it without a scan.

use sv_model::{
    MailId, MailState, OutboxMail, RecordId, SecretHash, Session, Share, ShareEvent,
    ShareEventKind, SigninLink, Timestamp, TokenId,
};

use super::access::hash_of;
use super::{SledMetaStore, T, Tx, TxResult, abort, tx_decode};
use crate::codec::{
    decode_event, decode_mail, decode_session, decode_share, decode_signin, encode_event,
    encode_mail, encode_session, encode_share, encode_signin,
};
use crate::{MetaError, keys};

fn event_key(share: TokenId, at: Timestamp) -> Vec<u8> {
    let mut key = Vec::with_capacity(28);
    key.extend_from_slice(share.as_bytes());
    key.extend_from_slice(&at.unix_micros().max(0).to_be_bytes());
    let mut tail = [0u8; 4];
    getrandom::fill(&mut tail).expect("the operating system's random generator is available");
    key.extend_from_slice(&tail);
    key
}

fn append_events(tx: &Tx<'_>, share: TokenId, events: &[ShareEvent]) -> TxResult<()> {
    for ev in events {
        tx.put(T::ShareEvents, event_key(share, ev.at), encode_event(ev))?;
    }
    Ok(())
}

/// The share an index entry names, inside a transaction: its hash key and value.
fn tx_share(tx: &Tx<'_>, rid: RecordId, id: TokenId) -> TxResult<Option<([u8; 32], Share)>> {
    let Some(hash) = tx.get(T::RecordShares, &keys::record_token(rid, id))? else {
        return Ok(None);
    };
    let hash = match hash_of(&hash, "record_shares") {
        Ok(h) => h,
        Err(e) => return abort(e),
    };
    let Some(v) = tx.get(T::Shares, &hash)? else {
        return Ok(None);
    };
    Ok(Some((hash, tx_decode(T::Shares, decode_share(&v))?)))
}

/// Changes the share a mail carries, if the mail has one and the share still exists.
fn tx_follow_mail(
    tx: &Tx<'_>,
    mail: &OutboxMail,
    state: MailState,
    event: Option<ShareEvent>,
) -> TxResult<()> {
    let Some((rid, sid)) = mail.share else {
        return Ok(());
    };
    let Some((hash, mut share)) = tx_share(tx, rid, sid)? else {
        return Ok(());
    };
    share.mail = state;
    tx.put(T::Shares, hash.to_vec(), encode_share(&share))?;
    if let Some(ev) = event {
        append_events(tx, sid, &[ev])?;
    }
    Ok(())
}

fn tx_mail(tx: &Tx<'_>, id: MailId) -> TxResult<Option<OutboxMail>> {
    match tx.get(T::Outbox, &id.0)? {
        Some(v) => Ok(Some(tx_decode(T::Outbox, decode_mail(&v))?)),
        None => Ok(None),
    }
}

impl SledMetaStore {
    pub(crate) fn create_share_impl(
        &self,
        s: &Share,
        event: &ShareEvent,
        mail: Option<&OutboxMail>,
    ) -> Result<(), MetaError> {
        self.transact(|tx| {
            tx.require_record(s.record_id)?;
            let index = keys::record_token(s.record_id, s.id);
            if tx.get(T::RecordShares, &index)?.is_some() {
                return abort(MetaError::AlreadyExists {
                    what: "share",
                    id: s.id.to_string(),
                });
            }
            tx.put(T::RecordShares, index, s.secret_hash.0.to_vec())?;
            tx.put(T::Shares, s.secret_hash.0.to_vec(), encode_share(s))?;
            append_events(tx, s.id, std::slice::from_ref(event))?;
            if let Some(m) = mail {
                tx.put(T::Outbox, m.id.0.to_vec(), encode_mail(m))?;
            }
            Ok(())
        })
    }

    pub(crate) fn share_by_hash_impl(&self, h: &SecretHash) -> Result<Option<Share>, MetaError> {
        self.get(T::Shares, &h.0)?
            .map(|v| decode_share(&v).map_err(MetaError::corrupt("shares")))
            .transpose()
    }

    pub(crate) fn share_impl(
        &self,
        rid: RecordId,
        id: TokenId,
    ) -> Result<Option<Share>, MetaError> {
        let Some(hash) = self.get(T::RecordShares, &keys::record_token(rid, id))? else {
            return Ok(None);
        };
        self.share_by_hash_impl(&SecretHash(hash_of(&hash, "record_shares")?))
    }

    pub(crate) fn shares_impl(&self, rid: RecordId) -> Result<Vec<Share>, MetaError> {
        let hashes = self.scan(T::RecordShares, &keys::record(rid), |_, v| {
            hash_of(v, "record_shares")
        })?;
        let mut out = Vec::with_capacity(hashes.len());
        for h in hashes {
            if let Some(s) = self.share_by_hash_impl(&SecretHash(h))? {
                out.push(s);
            }
        }
        Ok(out)
    }

    pub(crate) fn update_share_impl(
        &self,
        rid: RecordId,
        id: TokenId,
        change: &dyn Fn(&mut Share) -> Vec<ShareEvent>,
    ) -> Result<Option<Share>, MetaError> {
        self.transact(|tx| {
            let Some((hash, mut share)) = tx_share(tx, rid, id)? else {
                return Ok(None);
            };
            let was_revoked = share.revoked.is_some();
            let events = change(&mut share);
            if share.id != id || share.record_id != rid || share.secret_hash.0 != hash {
                return abort(MetaError::Invalid {
                    what: "share update",
                    reason: "a share update may not change its id, record or secret",
                });
            }
            if !was_revoked && share.revoked.is_some() {
                // A revoked share's link must never go out afterwards.
                let mail_id = MailId(*id.as_bytes());
                if tx.remove(T::Outbox, mail_id.0.to_vec())?.is_some() {
                    share.mail = MailState::Cancelled;
                }
            }
            tx.put(T::Shares, hash.to_vec(), encode_share(&share))?;
            append_events(tx, id, &events)?;
            Ok(Some(share))
        })
    }

    pub(crate) fn share_events_impl(
        &self,
        rid: RecordId,
        id: TokenId,
    ) -> Result<Vec<ShareEvent>, MetaError> {
        if self
            .get(T::RecordShares, &keys::record_token(rid, id))?
            .is_none()
        {
            return Ok(Vec::new());
        }
        self.scan(T::ShareEvents, id.as_bytes(), |_, v| {
            decode_event(v).map_err(MetaError::corrupt("share_events"))
        })
    }

    pub(crate) fn put_session_impl(&self, h: &SecretHash, s: &Session) -> Result<(), MetaError> {
        self.transact(|tx| tx.put(T::Sessions, h.0.to_vec(), encode_session(s)))
    }

    pub(crate) fn session_impl(&self, h: &SecretHash) -> Result<Option<Session>, MetaError> {
        self.get(T::Sessions, &h.0)?
            .map(|v| decode_session(&v).map_err(MetaError::corrupt("sessions")))
            .transpose()
    }

    pub(crate) fn delete_session_impl(&self, h: &SecretHash) -> Result<bool, MetaError> {
        self.transact(|tx| Ok(tx.remove(T::Sessions, h.0.to_vec())?.is_some()))
    }

    pub(crate) fn purge_sessions_impl(&self, now: Timestamp) -> Result<usize, MetaError> {
        let stale = self.scan(T::Sessions, &[], |k, v| {
            let s = decode_session(v).map_err(MetaError::corrupt("sessions"))?;
            Ok((s.expires <= now).then(|| k.to_vec()))
        })?;
        let stale: Vec<Vec<u8>> = stale.into_iter().flatten().collect();
        for key in &stale {
            self.transact(|tx| tx.remove(T::Sessions, key.clone()).map(|_| ()))?;
        }
        Ok(stale.len())
    }

    pub(crate) fn create_signin_link_impl(
        &self,
        h: &SecretHash,
        link: &SigninLink,
        mail: &OutboxMail,
    ) -> Result<(), MetaError> {
        self.transact(|tx| {
            tx.require_record(link.record_id)?;
            tx.put(T::SigninLinks, h.0.to_vec(), encode_signin(link))?;
            tx.put(T::Outbox, mail.id.0.to_vec(), encode_mail(mail))
        })
    }

    pub(crate) fn take_signin_link_impl(
        &self,
        h: &SecretHash,
    ) -> Result<Option<SigninLink>, MetaError> {
        self.transact(|tx| match tx.remove(T::SigninLinks, h.0.to_vec())? {
            Some(v) => Ok(Some(tx_decode(T::SigninLinks, decode_signin(&v))?)),
            None => Ok(None),
        })
    }

    pub(crate) fn outbox_impl(&self) -> Result<Vec<OutboxMail>, MetaError> {
        self.scan(T::Outbox, &[], |_, v| {
            decode_mail(v).map_err(MetaError::corrupt("outbox"))
        })
    }

    pub(crate) fn mail_sent_impl(&self, id: MailId, at: Timestamp) -> Result<(), MetaError> {
        self.transact(|tx| {
            let Some(mail) = tx_mail(tx, id)? else {
                return Ok(());
            };
            tx.remove(T::Outbox, id.0.to_vec())?;
            let event = ShareEvent {
                at,
                kind: ShareEventKind::MailSent,
                detail: None,
                client: None,
            };
            tx_follow_mail(tx, &mail, MailState::Sent { at }, Some(event))
        })
    }

    pub(crate) fn mail_retry_impl(
        &self,
        id: MailId,
        attempts: u32,
        next_attempt: Timestamp,
        reason: &str,
    ) -> Result<(), MetaError> {
        self.transact(|tx| {
            let Some(mut mail) = tx_mail(tx, id)? else {
                return Ok(());
            };
            mail.attempts = attempts;
            mail.next_attempt = next_attempt;
            tx.put(T::Outbox, id.0.to_vec(), encode_mail(&mail))?;
            let state = MailState::Queued {
                attempts,
                last_error: Some(reason.to_owned()),
            };
            tx_follow_mail(tx, &mail, state, None)
        })
    }

    pub(crate) fn mail_failed_impl(
        &self,
        id: MailId,
        reason: &str,
        at: Timestamp,
    ) -> Result<(), MetaError> {
        self.transact(|tx| {
            let Some(mail) = tx_mail(tx, id)? else {
                return Ok(());
            };
            tx.remove(T::Outbox, id.0.to_vec())?;
            let state = MailState::Failed {
                reason: reason.to_owned(),
            };
            let event = ShareEvent {
                at,
                kind: ShareEventKind::MailFailed,
                detail: Some(reason.to_owned()),
                client: None,
            };
            tx_follow_mail(tx, &mail, state, Some(event))
        })
    }
}
