//! Identifiers: UUID newtypes for records, things, versions, thing types and tokens.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

use crate::ModelError;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh random (v4) id.
            pub fn new_random() -> Self {
                Self(Uuid::new_v4())
            }

            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            pub const fn from_bytes(bytes: [u8; 16]) -> Self {
                Self(Uuid::from_bytes(bytes))
            }

            pub const fn as_bytes(&self) -> &[u8; 16] {
                self.0.as_bytes()
            }

            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0.hyphenated())
            }
        }

        impl FromStr for $name {
            type Err = ModelError;

            /// Accepts the hyphenated form in either case, as HealthVault writes GUIDs both ways.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::try_parse(s.trim()).map(Self).map_err(|_| ModelError::Parse {
                    what: $what,
                    input: s.chars().take(64).collect(),
                })
            }
        }
    };
}

uuid_id!(
    /// One person's health record.
    RecordId,
    "record id"
);
uuid_id!(
    /// A thing within a record; stable across versions.
    ThingId,
    "thing id"
);
uuid_id!(
    /// One version of a thing; every change makes a new one.
    VersionStamp,
    "version stamp"
);
uuid_id!(
    /// A thing type (HealthVault's type id).
    TypeId,
    "type id"
);
uuid_id!(
    /// An access token's public id (the secret itself is never stored).
    TokenId,
    "token id"
);

impl TypeId {
    /// HealthVault's Medical image study, version 2.
    pub const MEDICAL_IMAGE_STUDY: TypeId =
        TypeId(uuid::uuid!("cdfc0a9b-6d3b-4d16-afa8-02b86d621a8d"));

    /// The human name HealthVault gives the type, where this store knows it.
    pub fn known_name(&self) -> Option<&'static str> {
        (*self == Self::MEDICAL_IMAGE_STUDY).then_some("Medical image study")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medical_image_study_type_id_is_the_healthvault_v2_id() {
        assert_eq!(
            TypeId::MEDICAL_IMAGE_STUDY.to_string(),
            "cdfc0a9b-6d3b-4d16-afa8-02b86d621a8d"
        );
        assert_eq!(
            TypeId::MEDICAL_IMAGE_STUDY.known_name(),
            Some("Medical image study")
        );
    }

    #[test]
    fn ids_parse_either_case_and_refuse_junk() {
        let upper: ThingId = "648F6C9F-9B07-4272-89F4-19F923D1C65E".parse().unwrap();
        assert_eq!(upper.to_string(), "648f6c9f-9b07-4272-89f4-19f923d1c65e");
        assert!("not-a-guid".parse::<RecordId>().is_err());
        assert!("".parse::<VersionStamp>().is_err());
    }
}
