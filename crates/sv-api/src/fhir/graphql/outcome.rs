//! GraphQL errors the FHIR way (fhir-graphql.md §1.7): every error carries one
//! `OperationOutcome` at `extensions.resource`, whose one issue says what the message says.
//!
//! Resolvers make their errors with [`error`] (the issue code they know: `not-found`,
//! `too-costly`…). Errors async-graphql makes itself get theirs afterwards, in [`complete`]:
//! a limit (depth, recursion, directives) is `too-costly`; any other error before execution
//! (syntax, unknown field, argument or directive, a bad variable) is `invalid`; an error
//! while resolving that came without one is `exception`.

use async_graphql::{ErrorExtensionValues, ErrorExtensions, Response, ServerError, Value};
use serde_json::json;
use sv_fhir::{IssueCode, Severity, operation_outcome};

use crate::fhir::FhirFailure;

/// An error for a resolver to return, with its `OperationOutcome`.
pub(super) fn error(code: IssueCode, message: &str) -> async_graphql::Error {
    let resource = outcome_value(code, message);
    async_graphql::Error::new(message).extend_with(move |_, e| e.set("resource", resource.clone()))
}

impl From<FhirFailure> for async_graphql::Error {
    fn from(f: FhirFailure) -> async_graphql::Error {
        let message = f
            .outcome
            .issue
            .first()
            .and_then(|i| i.diagnostics.clone())
            .unwrap_or_else(|| "the request failed".to_owned());
        let resource = serde_json::to_value(&f.outcome)
            .ok()
            .and_then(|v| Value::from_json(v).ok())
            .unwrap_or(Value::Null);
        async_graphql::Error::new(message)
            .extend_with(move |_, e| e.set("resource", resource.clone()))
    }
}

fn outcome_value(code: IssueCode, message: &str) -> Value {
    let outcome = operation_outcome(Severity::Error, code, message);
    serde_json::to_value(&outcome)
        .ok()
        .and_then(|v| Value::from_json(v).ok())
        .unwrap_or(Value::Null)
}

/// Gives every error of `response` its `OperationOutcome`.
pub(super) fn complete(mut response: Response) -> Response {
    for e in &mut response.errors {
        let has = e
            .extensions
            .as_ref()
            .is_some_and(|x| x.get("resource").is_some());
        if !has {
            let code = issue_code(e);
            e.extensions
                .get_or_insert_with(ErrorExtensionValues::default)
                .set("resource", outcome_value(code, &e.message));
        }
    }
    response
}

fn issue_code(e: &ServerError) -> IssueCode {
    const LIMITS: [&str; 4] = [
        "nested too deep",
        "too complex",
        "recursion depth",
        "number of directives",
    ];
    let message = e.message.to_ascii_lowercase();
    if LIMITS.iter().any(|l| message.contains(l)) {
        IssueCode::TooCostly
    } else if e.path.is_empty() {
        IssueCode::Invalid
    } else {
        IssueCode::Exception
    }
}

/// A body of errors only (`{"errors": [...]}`), for answers that never reached execution.
pub(super) fn errors_body(failure: &FhirFailure) -> serde_json::Value {
    let message = failure
        .outcome
        .issue
        .first()
        .and_then(|i| i.diagnostics.clone())
        .unwrap_or_default();
    json!({
        "errors": [{
            "message": message,
            "extensions": { "resource": failure.outcome },
        }]
    })
}
