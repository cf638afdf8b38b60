//! `OperationOutcome`: what went wrong (or what was ignored), as FHIR reports it.

use serde::Serialize;

/// `OperationOutcome.issue.severity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    Fatal,
    Error,
    Warning,
    Information,
}

/// `OperationOutcome.issue.code`: the IssueType codes the server uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IssueCode {
    Invalid,
    NotFound,
    NotSupported,
    Processing,
    TooCostly,
    Exception,
    Security,
    Deleted,
    Forbidden,
    Login,
}

/// An R4 `OperationOutcome`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "resourceType", rename = "OperationOutcome")]
pub struct OperationOutcome {
    pub issue: Vec<Issue>,
}

/// One `OperationOutcome.issue`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    pub severity: Severity,
    pub code: IssueCode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnostics: Option<String>,
}

/// An outcome of one issue; an empty `diagnostics` is left out.
pub fn operation_outcome(
    severity: Severity,
    code: IssueCode,
    diagnostics: &str,
) -> OperationOutcome {
    OperationOutcome {
        issue: vec![Issue {
            severity,
            code,
            diagnostics: (!diagnostics.is_empty()).then(|| diagnostics.to_owned()),
        }],
    }
}
