//! Access use cases: records, app tokens, and deciding what a caller may do.
//!
//! A secret is 256 random bits shown once as 64 hex characters; only its blake3 hash is
//! stored. A token is scoped to one record; asking about another record is answered as if it
//! did not exist, so a token cannot probe for records.
//!
//! Resolved tokens are remembered in memory ([`TokenCache`]) so that most requests
//! authenticate without a store read, and so without a hop to a blocking thread. It stays
//! correct because:
//! - it holds tokens, not verdicts: expiry is checked against `now` on every hit;
//! - only tokens the store returned enter it, never misses, so made-up secrets cannot grow it
//!   and a token issued a moment ago is found on its first use;
//! - revocation ([`Vault::revoke_token_blocking`]) deletes in the store, then evicts; a lookup
//!   that read the store before that eviction does not put what it read back (generation).

use sv_model::{
    Grant, Permissions, Record, RecordId, Secret, SecretHash, Timestamp, Token, TokenId, TypeId,
};

use crate::{Vault, VaultError};

/// Who is calling.
#[derive(Debug, Clone)]
pub enum Principal {
    /// The operator, holding the admin token: may create records and do anything.
    Admin,
    /// An app, holding a record-scoped token.
    App(Token),
    /// The record's owner, signed in by a mailed one-time link: every permission on that
    /// record and on no other.
    Owner(RecordId),
}

/// The answer to "may this caller do that?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Granted,
    /// The caller's token belongs to another record: answer as "not found".
    OtherRecord,
    /// The token lacks the permission.
    Denied,
}

impl Principal {
    /// May this caller do `needed` with things of `type_id` in `record`?
    /// `type_id == None` asks about every type at once (e.g. the change feed, listing things).
    pub fn access(&self, record: RecordId, type_id: Option<TypeId>, needed: Permissions) -> Access {
        match self {
            Principal::Admin => Access::Granted,
            Principal::Owner(own) if *own == record => Access::Granted,
            Principal::Owner(_) => Access::OtherRecord,
            Principal::App(token) if token.record_id != record => Access::OtherRecord,
            Principal::App(token) => {
                let held = match type_id {
                    Some(t) => token.permissions_for(t),
                    None => token
                        .grants
                        .iter()
                        .filter(|g| g.type_id.is_none())
                        .fold(Permissions::NONE, |acc, g| acc.union(g.permissions)),
                };
                if held.contains(needed) {
                    Access::Granted
                } else {
                    Access::Denied
                }
            }
        }
    }

    /// The admin, or a token with read permission on at least one type.
    pub fn reads_anything(&self) -> bool {
        match self {
            Principal::Admin | Principal::Owner(_) => true,
            Principal::App(token) => token
                .grants
                .iter()
                .any(|g| g.permissions.contains(Permissions::READ)),
        }
    }

    /// The token id to record in audits (`None` for the admin and a signed-in owner).
    pub fn token_id(&self) -> Option<TokenId> {
        match self {
            Principal::Admin | Principal::Owner(_) => None,
            Principal::App(token) => Some(token.id),
        }
    }
}

/// Why a presented secret was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    Unknown,
    Expired,
}

/// A token as issued: the stored form and the secret, which is shown this once.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: Token,
    pub secret: Secret,
}

/// Tokens the store returned, by the hash of their secret, for at most
/// [`crate::VaultConfig::secret_cache_ttl`]; another node's revocation evicts too, when the
/// store tells of it.
pub(crate) type TokenCache = crate::secret_cache::SecretCache<Token>;

/// The verdict on a token found by its secret's hash.
fn verdict(found: Option<Token>, now: Timestamp) -> Result<Principal, AuthFailure> {
    match found {
        Some(token) if token.is_expired(now) => Err(AuthFailure::Expired),
        Some(token) => Ok(Principal::App(token)),
        None => Err(AuthFailure::Unknown),
    }
}

impl Vault {
    /// Resolves a presented secret to a principal (blocking: reads the store, then remembers
    /// the token it found for [`Vault::authenticate_cached`]).
    pub fn authenticate_blocking(
        &self,
        presented: &str,
        admin: &SecretHash,
        now: Timestamp,
    ) -> Result<Result<Principal, AuthFailure>, VaultError> {
        let hash = SecretHash::of(presented.as_bytes());
        if constant_time_eq(&hash.0, &admin.0) {
            return Ok(Ok(Principal::Admin));
        }
        let generation = self.inner.tokens.generation();
        // Looked up by hash: the secret itself never reaches the store.
        let found = self.inner.meta.token_by_hash(&hash)?;
        if let Some(token) = &found {
            self.inner.tokens.fill(generation, hash, token.clone());
        }
        Ok(verdict(found, now))
    }

    /// Resolves a presented secret from memory only (never blocks). `None` when the answer is
    /// not known there: ask [`Vault::authenticate_blocking`], which remembers what it finds.
    /// Expiry is judged against `now` on every call.
    pub fn authenticate_cached(
        &self,
        presented: &str,
        admin: &SecretHash,
        now: Timestamp,
    ) -> Option<Result<Principal, AuthFailure>> {
        let hash = SecretHash::of(presented.as_bytes());
        if constant_time_eq(&hash.0, &admin.0) {
            return Some(Ok(Principal::Admin));
        }
        let token = self.inner.tokens.get(&hash)?;
        Some(verdict(Some(token), now))
    }

    /// Revokes token `id` of `record` (blocking): deleted from the store, then forgotten by
    /// the token cache, so it is refused from the moment this returns. False when there was no
    /// such token.
    pub fn revoke_token_blocking(&self, record: RecordId, id: TokenId) -> Result<bool, VaultError> {
        let deleted = self.inner.meta.delete_token(record, id);
        // Evicted even if the delete failed: it may have happened all the same.
        self.inner
            .tokens
            .evict(|t| t.id == id && t.record_id == record);
        Ok(deleted?)
    }

    /// Whether `record` exists (blocking): a token's record always does, the admin may name any.
    pub fn record_exists_blocking(&self, record: RecordId) -> Result<bool, VaultError> {
        Ok(self.inner.meta.record(record)?.is_some())
    }

    /// The record's tokens, never their secrets (blocking).
    pub fn tokens_blocking(&self, record: RecordId) -> Result<Vec<Token>, VaultError> {
        self.require_record(record)?;
        Ok(self.inner.meta.tokens(record)?)
    }

    /// Creates a record and its owner token (every permission on every type).
    pub fn create_record_blocking(&self, name: &str) -> Result<(Record, IssuedToken), VaultError> {
        self.create_record_with_owner_blocking(name, None)
    }

    /// Creates a record whose owner signs in by links mailed to `owner_email`, and its owner
    /// token.
    pub fn create_record_with_owner_blocking(
        &self,
        name: &str,
        owner_email: Option<&str>,
    ) -> Result<(Record, IssuedToken), VaultError> {
        let record = Record {
            id: RecordId::new_random(),
            name: name.to_owned(),
            created: Timestamp::now(),
            owner_email: owner_email.map(str::to_owned),
        };
        self.inner.meta.create_record(&record)?;
        let grants = vec![Grant {
            type_id: None,
            permissions: Permissions::ALL,
        }];
        let owner = self.issue_token_blocking(record.id, "owner", grants, None)?;
        Ok((record, owner))
    }

    /// Issues a token for `record` with `grants`, optionally expiring.
    pub fn issue_token_blocking(
        &self,
        record: RecordId,
        label: &str,
        grants: Vec<Grant>,
        expires: Option<Timestamp>,
    ) -> Result<IssuedToken, VaultError> {
        if self.inner.meta.record(record)?.is_none() {
            return Err(VaultError::RecordNotFound(record));
        }
        let secret = Secret::generate();
        let token = Token {
            id: TokenId::new_random(),
            record_id: record,
            secret_hash: secret.hash(),
            label: label.to_owned(),
            grants,
            created: Timestamp::now(),
            expires,
        };
        self.inner.meta.put_token(&token)?;
        Ok(IssuedToken { token, secret })
    }
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(record: RecordId, grants: Vec<Grant>) -> Token {
        Token {
            id: TokenId::new_random(),
            record_id: record,
            secret_hash: SecretHash::of(b"x"),
            label: "t".into(),
            grants,
            created: Timestamp::now(),
            expires: None,
        }
    }

    #[test]
    fn tokens_see_only_their_record_and_their_grants() {
        let record = RecordId::new_random();
        let reader = Principal::App(token(
            record,
            vec![Grant {
                type_id: Some(TypeId::MEDICAL_IMAGE_STUDY),
                permissions: Permissions::READ,
            }],
        ));
        let mis = Some(TypeId::MEDICAL_IMAGE_STUDY);
        assert_eq!(
            reader.access(record, mis, Permissions::READ),
            Access::Granted
        );
        assert_eq!(
            reader.access(record, mis, Permissions::CREATE),
            Access::Denied
        );
        assert_eq!(
            reader.access(record, Some(TypeId::new_random()), Permissions::READ),
            Access::Denied
        );
        assert_eq!(
            reader.access(record, None, Permissions::READ),
            Access::Denied,
            "no all-types grant"
        );
        assert_eq!(
            reader.access(RecordId::new_random(), mis, Permissions::READ),
            Access::OtherRecord
        );
        assert_eq!(
            Principal::Admin.access(record, None, Permissions::ALL),
            Access::Granted
        );
    }

    /// A vault with one record; the directory lives as long as the vault is used.
    fn vault_with_record() -> (Vault, RecordId, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let vault = Vault::open(dir.path(), crate::VaultConfig::default()).unwrap();
        let (record, _) = vault.create_record_blocking("test").unwrap();
        (vault, record.id, dir)
    }

    const ADMIN: SecretHash = SecretHash([7; 32]);

    fn app_token(outcome: Option<Result<Principal, AuthFailure>>) -> Option<TokenId> {
        match outcome {
            Some(Ok(Principal::App(t))) => Some(t.id),
            other => panic!("expected an app token, got {other:?}"),
        }
    }

    #[test]
    fn a_token_is_remembered_once_found_and_forgotten_when_revoked() {
        let (vault, record, _dir) = vault_with_record();
        let issued = vault
            .issue_token_blocking(record, "app", Vec::new(), None)
            .unwrap();
        let secret = issued.secret.expose();
        let now = Timestamp::now();
        assert!(
            vault.authenticate_cached(secret, &ADMIN, now).is_none(),
            "not looked up yet"
        );
        let found = vault.authenticate_blocking(secret, &ADMIN, now).unwrap();
        assert_eq!(app_token(Some(found)), Some(issued.token.id));
        let cached = vault.authenticate_cached(secret, &ADMIN, now);
        assert_eq!(app_token(cached), Some(issued.token.id));

        assert!(
            vault
                .revoke_token_blocking(record, issued.token.id)
                .unwrap()
        );
        assert!(vault.authenticate_cached(secret, &ADMIN, now).is_none());
        assert_eq!(
            vault
                .authenticate_blocking(secret, &ADMIN, now)
                .unwrap()
                .unwrap_err(),
            AuthFailure::Unknown
        );
        assert!(
            vault.authenticate_cached(secret, &ADMIN, now).is_none(),
            "a miss is not remembered"
        );
        assert!(
            !vault
                .revoke_token_blocking(record, issued.token.id)
                .unwrap()
        );
    }

    #[test]
    fn a_remembered_token_still_expires() {
        let (vault, record, _dir) = vault_with_record();
        let now = Timestamp::now();
        let issued = vault
            .issue_token_blocking(record, "app", Vec::new(), Some(now.plus_seconds(60)))
            .unwrap();
        let secret = issued.secret.expose();
        assert!(
            vault
                .authenticate_blocking(secret, &ADMIN, now)
                .unwrap()
                .is_ok()
        );
        assert!(matches!(
            vault.authenticate_cached(secret, &ADMIN, now),
            Some(Ok(_))
        ));
        let later = now.plus_seconds(60);
        assert!(matches!(
            vault.authenticate_cached(secret, &ADMIN, later),
            Some(Err(AuthFailure::Expired))
        ));
        assert!(
            matches!(vault.authenticate_cached(secret, &ADMIN, now), Some(Ok(_))),
            "the entry itself is kept: expiry is judged per call"
        );
    }

    #[test]
    fn unknown_secrets_are_not_remembered_and_the_admin_needs_no_lookup() {
        let (vault, _record, _dir) = vault_with_record();
        let now = Timestamp::now();
        for n in 0..10 {
            let secret = format!("made-up-{n}");
            let outcome = vault.authenticate_blocking(&secret, &ADMIN, now).unwrap();
            assert_eq!(outcome.unwrap_err(), AuthFailure::Unknown);
            assert!(vault.authenticate_cached(&secret, &ADMIN, now).is_none());
        }
        assert_eq!(vault.inner.tokens.len(), 0);
        let admin = SecretHash::of(b"admin secret");
        assert!(matches!(
            vault.authenticate_cached("admin secret", &admin, now),
            Some(Ok(Principal::Admin))
        ));
    }
}
