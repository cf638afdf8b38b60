//! `QidoError`: why a QIDO-RS query was refused (every variant is a 400 Bad Request).
//!
//! Messages name the key and the reason, never the value: a value may be a patient name or
//! an accession number. Keys are user input too, so they are cut to 64 characters and
//! anything but printable ASCII is replaced, which also keeps them safe in a header.

/// A refused QIDO-RS query.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QidoError {
    /// A key that is neither an 8-hex tag, a DICOM keyword, nor a QIDO parameter.
    #[error("'{key}' is not a DICOM keyword, tag or QIDO-RS parameter")]
    UnknownKey { key: String },
    /// A value that does not parse for its key (bad date range, UID list, number, …).
    #[error("'{key}': {reason}")]
    InvalidValue { key: String, reason: &'static str },
}

impl QidoError {
    pub(crate) fn unknown(key: &str) -> QidoError {
        QidoError::UnknownKey { key: clip(key) }
    }

    pub(crate) fn invalid(key: &str, reason: &'static str) -> QidoError {
        QidoError::InvalidValue {
            key: clip(key),
            reason,
        }
    }
}

/// At most 64 characters of a key, printable ASCII only (others become `?`), for messages
/// and warnings.
pub(crate) fn clip(key: &str) -> String {
    let mut out: String = key
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' {
                c
            } else {
                '?'
            }
        })
        .collect();
    if key.chars().nth(64).is_some() {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_in_messages_are_clipped_and_printable() {
        let long = "A".repeat(100);
        assert_eq!(clip(&long), format!("{}...", "A".repeat(64)));
        assert_eq!(clip("Pat\r\nient\"Name"), "Pat??ient?Name");
    }
}
