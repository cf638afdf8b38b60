//! Text that must say something: HealthVault's `stringnznw`.

use std::fmt;

use crate::ModelError;

/// A string with at least one non-whitespace character (`t:stringnznw` in the v2 schema).
///
/// Surrounding whitespace is kept as given; DICOM padding should be trimmed by the caller.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NonBlank(String);

impl NonBlank {
    pub fn new(text: impl Into<String>) -> Result<Self, ModelError> {
        let text = text.into();
        if text.chars().all(char::is_whitespace) {
            return Err(ModelError::Blank { what: "text" });
        }
        Ok(NonBlank(text))
    }

    /// `None` for absent or blank input: the usual shape of an optional DICOM attribute.
    pub fn optional(text: Option<&str>) -> Option<Self> {
        text.and_then(|t| Self::new(t.trim()).ok())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl AsRef<str> for NonBlank {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NonBlank {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for NonBlank {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_text_is_refused() {
        assert!(NonBlank::new("").is_err());
        assert!(NonBlank::new(" \t\n").is_err());
        assert_eq!(NonBlank::new(" CT ").unwrap().as_str(), " CT ");
        assert_eq!(NonBlank::optional(Some("  ")), None);
        assert_eq!(NonBlank::optional(Some(" HEAD ")).unwrap().as_str(), "HEAD");
    }
}
