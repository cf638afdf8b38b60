//! Named blobs: the names a thing gives to content-addressed bytes.

use std::fmt;

use sv_blob::BlobId;

use crate::ModelError;

/// The name of a blob within one thing. Case-sensitive; `""` is the default blob.
///
/// Names travel in URLs and, on export, become file names, so they are bounded (255 bytes,
/// HealthVault's `stringz255`) and may not contain path separators, NUL, control characters
/// or `..`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct BlobName(String);

impl BlobName {
    pub const MAX_LEN: usize = 255;

    /// A blob name; the empty name is the thing's default blob.
    pub fn new(name: impl Into<String>) -> Result<Self, ModelError> {
        let name = name.into();
        Self::check(&name)?;
        Ok(BlobName(name))
    }

    /// A blob name where the default blob makes no sense (instances, previews, URL segments).
    pub fn non_empty(name: impl Into<String>) -> Result<Self, ModelError> {
        let name = Self::new(name)?;
        if name.is_default() {
            return Err(ModelError::Blank { what: "blob name" });
        }
        Ok(name)
    }

    /// The default blob, `""`.
    pub fn default_blob() -> Self {
        BlobName(String::new())
    }

    pub fn is_default(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn check(name: &str) -> Result<(), ModelError> {
        const WHAT: &str = "blob name";
        if name.len() > Self::MAX_LEN {
            return Err(ModelError::TooLong {
                what: WHAT,
                len: name.len(),
                max: Self::MAX_LEN,
            });
        }
        let forbidden = if name.contains('/') {
            Some("'/'")
        } else if name.contains('\\') {
            Some("'\\'")
        } else if name.contains('\0') {
            Some("NUL")
        } else if name.chars().any(char::is_control) {
            Some("control characters")
        } else if name.contains("..") {
            Some("'..'")
        } else {
            None
        };
        match forbidden {
            Some(found) => Err(ModelError::ForbiddenCharacter { what: WHAT, found }),
            None => Ok(()),
        }
    }
}

impl fmt::Display for BlobName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for BlobName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// A blob as a thing sees it: a name, what the bytes are, and where they live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedBlob {
    pub name: BlobName,
    pub content_type: String,
    pub length: u64,
    pub blob_id: BlobId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_blob_names_are_refused() {
        for bad in [
            "a/b",
            "a\\b",
            "a\0b",
            "..",
            "x..y",
            "tab\there",
            &"x".repeat(256),
        ] {
            assert!(BlobName::new(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(BlobName::non_empty("").is_err());
        assert!(BlobName::new("").unwrap().is_default());
        let uid = "1.2.840.113619.2.1.1.1.preview.jpg";
        assert_eq!(BlobName::non_empty(uid).unwrap().as_str(), uid);
        assert!(BlobName::new("x".repeat(255)).is_ok());
    }
}
