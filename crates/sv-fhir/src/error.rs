//! `FhirError`: why a search request was refused. Each maps to a 400 with an
//! `OperationOutcome` (`invalid`, `not-supported` or `too-costly`).
//!
//! Messages name the parameter and the reason, never the value: a search value may be an
//! accession number or a name, and may be huge. Names are cut to 64 characters.

use crate::outcome::{IssueCode, OperationOutcome, Severity, operation_outcome};

/// A refused search request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FhirError {
    /// A value that does not parse for its parameter (bad date, prefix, token, number…).
    #[error("parameter '{param}': {reason}")]
    Invalid { param: String, reason: &'static str },
    /// A parameter, modifier or option the server does not support.
    #[error("parameter '{param}': {reason}")]
    NotSupported { param: String, reason: &'static str },
    /// A parameter with more values than the server will match.
    #[error("parameter '{param}': more than {max} values")]
    TooManyValues { param: String, max: usize },
}

impl FhirError {
    pub(crate) fn invalid(param: &str, reason: &'static str) -> FhirError {
        FhirError::Invalid {
            param: clip(param),
            reason,
        }
    }

    pub(crate) fn not_supported(param: &str, reason: &'static str) -> FhirError {
        FhirError::NotSupported {
            param: clip(param),
            reason,
        }
    }

    /// The `OperationOutcome.issue.code` of this error.
    pub fn issue_code(&self) -> IssueCode {
        match self {
            FhirError::Invalid { .. } => IssueCode::Invalid,
            FhirError::NotSupported { .. } => IssueCode::NotSupported,
            FhirError::TooManyValues { .. } => IssueCode::TooCostly,
        }
    }

    /// The error as an `OperationOutcome` (severity `error`).
    pub fn outcome(&self) -> OperationOutcome {
        operation_outcome(Severity::Error, self.issue_code(), &self.to_string())
    }
}

/// At most 64 characters of a parameter name, for messages.
pub(crate) fn clip(name: &str) -> String {
    let mut out: String = name.chars().take(64).collect();
    if name.chars().nth(64).is_some() {
        out.push('…');
    }
    out
}
