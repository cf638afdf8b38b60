//! Access: records and scoped app tokens, as the store keeps them (shares and sessions are in
//! `sharing.rs`).
//!
//! Secrets are never stored: a token or share link carries a 256-bit random secret, and the
//! store keeps only its blake3 hash (`SecretHash`), so a leaked database grants nothing.

use crate::{RecordId, Timestamp, TokenId, TypeId};

/// A person's health record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub id: RecordId,
    /// The display name: what share recipients see as "shared by".
    pub name: String,
    pub created: Timestamp,
    /// Where one-time sign-in links are mailed; none means sign-in by record token only.
    pub owner_email: Option<String>,
}

/// What a token may do with a thing type: HealthVault's permission bits
/// (Read = 1, Update = 2, Create = 4, Delete = 8).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Permissions(u8);

impl Permissions {
    pub const NONE: Permissions = Permissions(0);
    pub const READ: Permissions = Permissions(1);
    pub const UPDATE: Permissions = Permissions(2);
    pub const CREATE: Permissions = Permissions(4);
    pub const DELETE: Permissions = Permissions(8);
    pub const ALL: Permissions = Permissions(15);

    pub const fn from_bits(bits: u8) -> Permissions {
        Permissions(bits & 15)
    }
    pub const fn bits(&self) -> u8 {
        self.0
    }
    pub const fn contains(&self, other: Permissions) -> bool {
        self.0 & other.0 == other.0
    }
    pub const fn union(self, other: Permissions) -> Permissions {
        Permissions(self.0 | other.0)
    }

    /// Names as HealthVault spells them: `Read`, `Update`, `Create`, `Delete`.
    pub fn names(&self) -> Vec<&'static str> {
        [
            (Self::READ, "Read"),
            (Self::UPDATE, "Update"),
            (Self::CREATE, "Create"),
            (Self::DELETE, "Delete"),
        ]
        .into_iter()
        .filter(|(p, _)| self.contains(*p))
        .map(|(_, n)| n)
        .collect()
    }
}

impl std::fmt::Debug for Permissions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Permissions({})", self.names().join("|"))
    }
}

/// Permissions on one thing type, or on every type when `type_id` is `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    pub type_id: Option<TypeId>,
    pub permissions: Permissions,
}

/// A secret (a token, a share link's key): what is shown once and then kept only as its
/// [`SecretHash`]. `Debug` never shows it; [`Secret::expose`] gives the value, only where it is
/// sent or stored on purpose.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// 256 bits from the operating system's generator, as 64 lowercase hex characters
    /// (URL-safe).
    pub fn generate() -> Secret {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).expect("the operating system's random generator is available");
        Secret(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The hash the store keeps instead of the secret.
    pub fn hash(&self) -> SecretHash {
        SecretHash::of(self.0.as_bytes())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The blake3 hash of a secret (token or share link); what the store keeps instead of it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecretHash(pub [u8; 32]);

impl SecretHash {
    pub fn of(secret: &[u8]) -> SecretHash {
        SecretHash(*blake3::hash(secret).as_bytes())
    }
}

impl std::fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretHash(..)")
    }
}

/// An app's token: scoped to one record, with per-type grants, optionally expiring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub id: TokenId,
    pub record_id: RecordId,
    pub secret_hash: SecretHash,
    pub label: String,
    pub grants: Vec<Grant>,
    pub created: Timestamp,
    pub expires: Option<Timestamp>,
}

impl Token {
    /// What this token may do with things of `type_id` (the union of matching grants).
    pub fn permissions_for(&self, type_id: TypeId) -> Permissions {
        self.grants
            .iter()
            .filter(|g| g.type_id.is_none_or(|t| t == type_id))
            .fold(Permissions::NONE, |acc, g| acc.union(g.permissions))
    }

    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires.is_some_and(|e| now >= e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_permissions_are_the_union_of_matching_grants() {
        let other = TypeId::new_random();
        let token = Token {
            id: TokenId::new_random(),
            record_id: RecordId::new_random(),
            secret_hash: SecretHash::of(b"s"),
            label: "app".into(),
            grants: vec![
                Grant {
                    type_id: Some(TypeId::MEDICAL_IMAGE_STUDY),
                    permissions: Permissions::CREATE,
                },
                Grant {
                    type_id: None,
                    permissions: Permissions::READ,
                },
            ],
            created: Timestamp::from_unix_micros(0),
            expires: Some(Timestamp::from_unix_micros(10)),
        };
        let mis = token.permissions_for(TypeId::MEDICAL_IMAGE_STUDY);
        assert!(mis.contains(Permissions::READ) && mis.contains(Permissions::CREATE));
        assert!(!mis.contains(Permissions::DELETE));
        assert_eq!(token.permissions_for(other), Permissions::READ);
        assert!(!token.is_expired(Timestamp::from_unix_micros(9)));
        assert!(token.is_expired(Timestamp::from_unix_micros(10)));
    }
}

#[cfg(test)]
mod secret_tests {
    use super::*;

    #[test]
    fn secrets_are_random_hex_and_never_debug_printed() {
        let a = Secret::generate();
        let b = Secret::generate();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 64);
        assert!(a.expose().bytes().all(|c| c.is_ascii_hexdigit()));
        assert!(!format!("{a:?}").contains(a.expose()));
        assert_eq!(a.hash(), SecretHash::of(a.expose().as_bytes()));
    }
}
