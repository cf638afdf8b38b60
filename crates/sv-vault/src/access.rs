//! Access use cases: records, app tokens, and deciding what a caller may do.
//!
//! A secret is 256 random bits shown once as 64 hex characters; only its blake3 hash is
//! stored. A token is scoped to one record; asking about another record is answered as if it
//! did not exist, so a token cannot probe for records.

use sv_model::{
    Grant, Permissions, Record, RecordId, SecretHash, Timestamp, Token, TokenId, TypeId,
};

use crate::{Vault, VaultError};

/// Who is calling.
#[derive(Debug, Clone)]
pub enum Principal {
    /// The operator, holding the admin token: may create records and do anything.
    Admin,
    /// An app, holding a record-scoped token.
    App(Token),
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

    /// The token id to record in audits (`None` for the admin).
    pub fn token_id(&self) -> Option<TokenId> {
        match self {
            Principal::Admin => None,
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

/// A freshly generated secret. Never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// 256 bits from the operating system's generator, as 64 lowercase hex characters.
    pub fn generate() -> Secret {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).expect("the operating system's random generator is available");
        Secret(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> SecretHash {
        SecretHash::of(self.0.as_bytes())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Vault {
    /// Resolves a presented secret to a principal (blocking).
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
        // Looked up by hash: the secret itself never reaches the store.
        Ok(match self.inner.meta.token_by_hash(&hash)? {
            Some(token) if token.is_expired(now) => Err(AuthFailure::Expired),
            Some(token) => Ok(Principal::App(token)),
            None => Err(AuthFailure::Unknown),
        })
    }

    /// Creates a record and its owner token (every permission on every type).
    pub fn create_record_blocking(&self, name: &str) -> Result<(Record, IssuedToken), VaultError> {
        let record = Record {
            id: RecordId::new_random(),
            name: name.to_owned(),
            created: Timestamp::now(),
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

    #[test]
    fn secrets_are_random_hex_and_never_debug_printed() {
        let a = Secret::generate();
        let b = Secret::generate();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 64);
        assert!(a.expose().bytes().all(|c| c.is_ascii_hexdigit()));
        assert!(!format!("{a:?}").contains(a.expose()));
    }
}
