//! Value encodings of tokens.

use sv_model::{Grant, Permissions, RecordId, SecretHash, Token, TokenId, TypeId};

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
