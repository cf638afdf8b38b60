//! Value encodings of tokens and shares.

use sv_model::{Grant, Permissions, RecordId, SecretHash, Share, ThingId, Token, TokenId, TypeId};

use super::{CodecError, Dec, Enc};

pub(crate) fn encode_token(t: &Token) -> Vec<u8> {
    let mut e = Enc::new();
    e.raw(t.id.as_bytes())
        .raw(t.record_id.as_bytes())
        .raw(&t.secret_hash.0)
        .str(&t.label)
        .u64(t.grants.len() as u64);
    for g in &t.grants {
        e.opt(g.type_id, |e, ty| {
            e.raw(ty.as_bytes());
        })
        .u8(g.permissions.bits());
    }
    e.time(t.created).opt(t.expires, |e, x| {
        e.time(x);
    });
    e.finish()
}

pub(crate) fn decode_token(buf: &[u8]) -> Result<Token, CodecError> {
    let mut d = Dec::new(buf, "token")?;
    let id = TokenId::from_bytes(d.array()?);
    let record_id = RecordId::from_bytes(d.array()?);
    let secret_hash = SecretHash(d.array()?);
    let label = d.str("label")?;
    let n = d.len()?;
    let mut grants = Vec::with_capacity(n);
    for _ in 0..n {
        let type_id = d.opt("grant type", |d| Ok(TypeId::from_bytes(d.array()?)))?;
        let bits = d.u8()?;
        if bits > Permissions::ALL.bits() {
            return Err(d.invalid("permissions"));
        }
        grants.push(Grant {
            type_id,
            permissions: Permissions::from_bits(bits),
        });
    }
    let token = Token {
        id,
        record_id,
        secret_hash,
        label,
        grants,
        created: d.time()?,
        expires: d.opt("expiry", |d| d.time())?,
    };
    d.finish(token)
}

pub(crate) fn encode_share(s: &Share) -> Vec<u8> {
    Enc::new()
        .raw(s.id.as_bytes())
        .raw(s.record_id.as_bytes())
        .raw(s.thing_id.as_bytes())
        .str(&s.study_instance_uid)
        .raw(&s.secret_hash.0)
        .opt_str(s.email.as_deref())
        .opt(s.passcode_hash, |e, h| {
            e.raw(&h.0);
        })
        .opt_str(s.note.as_deref())
        .bool(s.allow_download)
        .time(s.created)
        .time(s.expires)
        .opt(s.revoked, |e, t| {
            e.time(t);
        })
        .finish()
}

pub(crate) fn decode_share(buf: &[u8]) -> Result<Share, CodecError> {
    let mut d = Dec::new(buf, "share")?;
    let share = Share {
        id: TokenId::from_bytes(d.array()?),
        record_id: RecordId::from_bytes(d.array()?),
        thing_id: ThingId::from_bytes(d.array()?),
        study_instance_uid: d.str("study uid")?,
        secret_hash: SecretHash(d.array()?),
        email: d.opt_str("email")?,
        passcode_hash: d.opt("passcode", |d| Ok(SecretHash(d.array()?)))?,
        note: d.opt_str("note")?,
        allow_download: d.bool("allow download")?,
        created: d.time()?,
        expires: d.time()?,
        revoked: d.opt("revoked", |d| d.time())?,
    };
    d.finish(share)
}
