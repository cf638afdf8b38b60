//! The one error type of this crate, with stable machine-readable reason codes.

use sv_model::ModelError;

/// Why a document was refused.
///
/// Every variant has a stable kebab-case [`code`](XmlError::code) for API responses. Messages
/// name elements and byte offsets, never quote more than a short, truncated piece of the input
/// (and never text content, which may be patient data).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum XmlError {
    /// The input is over [`XmlLimits::max_bytes`](crate::XmlLimits::max_bytes).
    #[error("document is {len} bytes, over the limit of {max}")]
    TooLarge { len: usize, max: usize },

    /// Elements nest deeper than [`XmlLimits::max_depth`](crate::XmlLimits::max_depth).
    #[error("elements nest deeper than the limit of {max} (at byte {offset})")]
    TooDeep { max: usize, offset: u64 },

    /// The bytes are not UTF-8, or the declaration names another encoding.
    #[error("document is not utf-8 (at byte {offset})")]
    NotUtf8 { offset: u64 },

    /// A `<!DOCTYPE …>`: DTDs, entity declarations and external entities are never processed.
    #[error("document type declarations are not accepted (at byte {offset})")]
    DoctypeForbidden { offset: u64 },

    /// An entity reference other than the five predefined ones or a character reference.
    #[error("undefined entity reference '&{name};' (at byte {offset})")]
    UndefinedEntity { name: String, offset: u64 },

    /// Not well-formed: mismatched or unclosed tags, no root or two roots, text outside the
    /// root, bad attributes, undeclared namespace prefixes …
    #[error("malformed xml at byte {offset}: {reason}")]
    Malformed { offset: u64, reason: String },

    /// A required element is absent.
    #[error("missing element '{element}' in '{parent}'")]
    MissingElement {
        parent: &'static str,
        element: &'static str,
    },

    /// A required attribute is absent.
    #[error("missing attribute '{attribute}' on '{element}'")]
    MissingAttribute {
        element: &'static str,
        attribute: &'static str,
    },

    /// An element that the schema does not allow here (unknown, repeated or out of order).
    #[error("unexpected element '{element}' in '{parent}'")]
    UnexpectedElement { parent: String, element: String },

    /// Well-formed, but a value has the wrong shape (not an integer, not a guid, text where
    /// only elements belong …).
    #[error("invalid value in '{element}': {reason}")]
    InvalidValue {
        element: &'static str,
        reason: &'static str,
    },

    /// A `sections` list names a section that does not exist.
    #[error("unknown section '{name}' (known: core, audits, xml, blobpayload)")]
    UnknownSection { name: String },

    /// The document is shaped right but breaks an invariant of the medical-image-study model
    /// (an impossible date, blank text, no images in a series …).
    #[error("invalid medical-image-study: '{element}': {source}")]
    InvalidStudy {
        element: &'static str,
        source: ModelError,
    },
}

impl XmlError {
    /// The stable reason code, e.g. `malformed-xml`, `doctype-forbidden`, `too-deep`.
    pub fn code(&self) -> &'static str {
        match self {
            XmlError::TooLarge { .. } => "too-large",
            XmlError::TooDeep { .. } => "too-deep",
            XmlError::NotUtf8 { .. } => "not-utf8",
            XmlError::DoctypeForbidden { .. } => "doctype-forbidden",
            XmlError::UndefinedEntity { .. } => "undefined-entity",
            XmlError::Malformed { .. } => "malformed-xml",
            XmlError::MissingElement { .. } => "missing-element",
            XmlError::MissingAttribute { .. } => "missing-attribute",
            XmlError::UnexpectedElement { .. } => "unexpected-element",
            XmlError::InvalidValue { .. } => "invalid-value",
            XmlError::UnknownSection { .. } => "unknown-section",
            XmlError::InvalidStudy { .. } => "invalid-study",
        }
    }

    pub(crate) fn malformed(offset: u64, reason: impl Into<String>) -> Self {
        XmlError::Malformed {
            offset,
            reason: truncate(&reason.into(), 120),
        }
    }

    pub(crate) fn unexpected(parent: &str, element: &str) -> Self {
        XmlError::UnexpectedElement {
            parent: truncate(parent, 64),
            element: truncate(element, 64),
        }
    }
}

/// At most `max` characters of `s`, with `…` when cut: errors never carry large input.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}
