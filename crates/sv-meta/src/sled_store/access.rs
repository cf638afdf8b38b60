//! Records and tokens on sled. Tokens are keyed by the hash of their secret, with a per-record
//! index (`record_tokens`) for listing.

use sv_model::{Record, RecordId, SecretHash, Token, TokenId};

use super::{SledMetaStore, T, abort};
use crate::codec::{decode_record, decode_token, encode_record, encode_token};
use crate::{MetaError, keys};

pub(super) fn hash_of(v: &[u8], tree: &'static str) -> Result<[u8; 32], MetaError> {
    v.try_into().map_err(|_| MetaError::Corrupt {
        tree,
        source: crate::codec::CodecError::Invalid {
            what: "secret hash",
            field: "length",
        },
    })
}

impl SledMetaStore {
    pub(crate) fn create_record_impl(&self, r: &Record) -> Result<(), MetaError> {
        self.transact(|tx| {
            let key = keys::record(r.id);
            if tx.get(T::Records, &key)?.is_some() {
                return abort(MetaError::AlreadyExists {
                    what: "record",
                    id: r.id.to_string(),
                });
            }
            tx.put(T::Records, key, encode_record(r))
        })
    }

    pub(crate) fn record_impl(&self, id: RecordId) -> Result<Option<Record>, MetaError> {
        self.get(T::Records, &keys::record(id))?
            .map(|v| decode_record(&v).map_err(MetaError::corrupt("records")))
            .transpose()
    }

    pub(crate) fn records_impl(&self) -> Result<Vec<Record>, MetaError> {
        self.scan(T::Records, &[], |_, v| {
            decode_record(v).map_err(MetaError::corrupt("records"))
        })
    }

    pub(crate) fn put_token_impl(&self, t: &Token) -> Result<(), MetaError> {
        self.transact(|tx| {
            tx.require_record(t.record_id)?;
            let index = keys::record_token(t.record_id, t.id);
            if let Some(old) = tx.get(T::RecordTokens, &index)? {
                tx.remove(T::Tokens, old.to_vec())?;
            }
            tx.put(T::RecordTokens, index, t.secret_hash.0.to_vec())?;
            tx.put(T::Tokens, t.secret_hash.0.to_vec(), encode_token(t))
        })
    }

    pub(crate) fn token_by_hash_impl(&self, h: &SecretHash) -> Result<Option<Token>, MetaError> {
        self.get(T::Tokens, &h.0)?
            .map(|v| decode_token(&v).map_err(MetaError::corrupt("tokens")))
            .transpose()
    }

    pub(crate) fn tokens_impl(&self, rid: RecordId) -> Result<Vec<Token>, MetaError> {
        let hashes = self.scan(T::RecordTokens, &keys::record(rid), |_, v| {
            hash_of(v, "record_tokens")
        })?;
        let mut out = Vec::with_capacity(hashes.len());
        for h in hashes {
            if let Some(t) = self.token_by_hash_impl(&SecretHash(h))? {
                out.push(t);
            }
        }
        Ok(out)
    }

    pub(crate) fn delete_token_impl(&self, rid: RecordId, id: TokenId) -> Result<bool, MetaError> {
        self.transact(|tx| {
            let Some(hash) = tx.remove(T::RecordTokens, keys::record_token(rid, id))? else {
                return Ok(false);
            };
            tx.remove(T::Tokens, hash.to_vec())?;
            Ok(true)
        })
    }
}
