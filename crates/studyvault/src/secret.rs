//! Secrets in configuration: `sv_model::Secret` is the one secret type; this module reads it
//! from TOML and environment layers and writes it redacted in `studyvault config`.

use serde::{Deserialize, Deserializer, Serializer};
pub use sv_model::Secret;

pub const REDACTED: &str = "<redacted>";

/// `#[serde(with = "crate::secret::optional")]` for an `Option<Secret>` field: read as a plain
/// string, written as `"<redacted>"`.
pub mod optional {
    use super::*;

    pub fn serialize<S: Serializer>(value: &Option<Secret>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(_) => s.serialize_str(REDACTED),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
        Ok(Option::<String>::deserialize(d)?.map(Secret::new))
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Debug, Serialize, Deserialize)]
    struct Holder {
        #[serde(default, with = "optional")]
        token: Option<Secret>,
    }

    #[test]
    fn debug_and_serialize_redact_and_reading_keeps_the_value() {
        let held: Holder = serde_json::from_str(r#"{"token": "hunter2-hunter2-hunter2"}"#).unwrap();
        let token = held.token.as_ref().unwrap();
        assert_eq!(token.expose(), "hunter2-hunter2-hunter2");
        assert_eq!(format!("{token:?}"), REDACTED);
        assert!(!format!("{held:?}").contains("hunter2"));
        assert_eq!(
            serde_json::to_string(&held).unwrap(),
            r#"{"token":"<redacted>"}"#
        );
        let absent: Holder = serde_json::from_str("{}").unwrap();
        assert!(absent.token.is_none());
    }
}
