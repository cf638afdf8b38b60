//! The one error type of the model: a value that breaks an invariant.

/// A value that would break one of the model's invariants.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error("{what} must contain a non-whitespace character")]
    Blank { what: &'static str },
    #[error("{what} is {len} bytes long, over the limit of {max}")]
    TooLong {
        what: &'static str,
        len: usize,
        max: usize,
    },
    #[error("{what} may not contain {found}")]
    ForbiddenCharacter {
        what: &'static str,
        found: &'static str,
    },
    #[error("{what} {value} is out of range {min}..={max}")]
    OutOfRange {
        what: &'static str,
        value: i64,
        min: i64,
        max: i64,
    },
    #[error("{what} is not a valid calendar date")]
    InvalidDate { what: &'static str },
    #[error("{what} needs at least one {item}")]
    Empty {
        what: &'static str,
        item: &'static str,
    },
    #[error("'{input}' is not a valid {what}")]
    Parse { what: &'static str, input: String },
}
