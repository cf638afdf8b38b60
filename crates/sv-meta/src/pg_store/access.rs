//! Records and tokens on PostgreSQL. Tokens are found by the hash of their secret (the
//! primary key) and listed per record (`UNIQUE (rid, token_id)`).

use sv_model::{Record, RecordId, SecretHash, Token, TokenId};

use super::{PgMetaStore, col, exec, lock_record, notify, one, rows};
use crate::codec::{decode_record, decode_token, encode_record, encode_token};
use crate::{Invalidation, MetaError};

fn token(v: &[u8]) -> Result<Token, MetaError> {
    decode_token(v).map_err(MetaError::corrupt("tokens"))
}

fn record(v: &[u8]) -> Result<Record, MetaError> {
    decode_record(v).map_err(MetaError::corrupt("records"))
}

impl PgMetaStore {
    pub(crate) fn create_record_impl(&self, r: &Record) -> Result<(), MetaError> {
        let added = self.read(|c| {
            exec(
                c,
                "INSERT INTO records (rid, value) VALUES ($1, $2) ON CONFLICT (rid) DO NOTHING",
                &[&r.id.as_uuid(), &encode_record(r)],
            )
        })?;
        if added == 0 {
            return Err(MetaError::AlreadyExists {
                what: "record",
                id: r.id.to_string(),
            });
        }
        Ok(())
    }

    pub(crate) fn record_impl(&self, id: RecordId) -> Result<Option<Record>, MetaError> {
        self.read(|c| {
            one(
                c,
                "SELECT value FROM records WHERE rid = $1",
                &[&id.as_uuid()],
                |row| record(col(row, 0)?),
            )
        })
    }

    pub(crate) fn records_impl(&self) -> Result<Vec<Record>, MetaError> {
        self.read(|c| {
            rows(c, "SELECT value FROM records ORDER BY rid", &[], |row| {
                record(col(row, 0)?)
            })
        })
    }

    /// Replaces the token with the same id, if any (its old secret stops working).
    pub(crate) fn put_token_impl(&self, t: &Token) -> Result<(), MetaError> {
        let value = encode_token(t);
        self.write(|tx| {
            lock_record(tx, t.record_id)?;
            exec(
                tx,
                "DELETE FROM tokens WHERE rid = $1 AND token_id = $2",
                &[&t.record_id.as_uuid(), &t.id.as_uuid()],
            )?;
            exec(
                tx,
                "INSERT INTO tokens (secret_hash, rid, token_id, value) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (secret_hash) DO UPDATE
                 SET rid = EXCLUDED.rid, token_id = EXCLUDED.token_id, value = EXCLUDED.value",
                &[
                    &t.secret_hash.0.as_slice(),
                    &t.record_id.as_uuid(),
                    &t.id.as_uuid(),
                    &value,
                ],
            )?;
            Ok(())
        })
    }

    pub(crate) fn token_by_hash_impl(&self, h: &SecretHash) -> Result<Option<Token>, MetaError> {
        self.read(|c| {
            one(
                c,
                "SELECT value FROM tokens WHERE secret_hash = $1",
                &[&h.0.as_slice()],
                |row| token(col(row, 0)?),
            )
        })
    }

    pub(crate) fn tokens_impl(&self, rid: RecordId) -> Result<Vec<Token>, MetaError> {
        self.read(|c| {
            rows(
                c,
                "SELECT value FROM tokens WHERE rid = $1 ORDER BY token_id",
                &[&rid.as_uuid()],
                |row| token(col(row, 0)?),
            )
        })
    }

    pub(crate) fn delete_token_impl(&self, rid: RecordId, id: TokenId) -> Result<bool, MetaError> {
        self.write(|tx| {
            let n = exec(
                tx,
                "DELETE FROM tokens WHERE rid = $1 AND token_id = $2",
                &[&rid.as_uuid(), &id.as_uuid()],
            )?;
            if n > 0 {
                notify(tx, Invalidation::Token { record: rid, id });
            }
            Ok(n > 0)
        })
    }
}
