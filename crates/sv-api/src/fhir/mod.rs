//! FHIR R4 under `/v1/records/{rid}/fhir`: `ImagingStudy` read and search, the record's
//! `Patient` and `Endpoint`, the `CapabilityStatement` at `metadata`, and FHIR GraphQL
//! (`$graphql`, module `graphql`).
//!
//! The formats and the search engine live in `sv-fhir`; the searches run as `sv-vault` use
//! cases over the study digests. What is decided here is HTTP: the same tokens and
//! permissions as the rest of the API (READ on the medical-image-study type), content
//! negotiation (`application/fhir+json`, `_format=json`; anything else is 406), `ETag` and
//! `If-None-Match` on reads, and errors as `OperationOutcome`s with the right status.

mod graphql;
mod read;
mod search;
mod studies;

use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sv_fhir::{IssueCode, Links, OperationOutcome, Severity, operation_outcome};
use sv_model::{Permissions, RecordId, TypeId};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::records::parse_record_id;
use crate::{ApiError, AppState, Caller};

/// The media type of every FHIR answer.
pub(crate) const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(read::capabilities))
        .routes(routes!(read::imaging_study))
        .routes(routes!(read::patient))
        .routes(routes!(read::endpoint))
        .routes(routes!(search::search_get))
        .routes(routes!(search::search_post))
        .routes(routes!(graphql::system_get, graphql::system_post))
        .routes(routes!(graphql::instance_get, graphql::instance_post))
}

/// A FHIR error answer: a status and an `OperationOutcome`.
#[derive(Debug)]
pub(crate) struct FhirFailure {
    status: StatusCode,
    outcome: OperationOutcome,
}

impl FhirFailure {
    pub(crate) fn new(status: StatusCode, code: IssueCode, diagnostics: &str) -> FhirFailure {
        FhirFailure {
            status,
            outcome: operation_outcome(Severity::Error, code, diagnostics),
        }
    }

    pub(crate) fn not_found(what: &str) -> FhirFailure {
        Self::new(
            StatusCode::NOT_FOUND,
            IssueCode::NotFound,
            &format!("{what} not found"),
        )
    }
}

impl From<ApiError> for FhirFailure {
    /// The rest of the API's errors, said the FHIR way (same status, same message).
    fn from(e: ApiError) -> FhirFailure {
        let code = match e.status {
            StatusCode::UNAUTHORIZED => IssueCode::Login,
            StatusCode::FORBIDDEN => IssueCode::Forbidden,
            StatusCode::NOT_FOUND => IssueCode::NotFound,
            StatusCode::PAYLOAD_TOO_LARGE => IssueCode::TooCostly,
            s if s.is_server_error() => IssueCode::Exception,
            _ => IssueCode::Invalid,
        };
        FhirFailure::new(e.status, code, &e.message)
    }
}

impl From<sv_vault::VaultError> for FhirFailure {
    fn from(e: sv_vault::VaultError) -> FhirFailure {
        ApiError::from(e).into()
    }
}

impl From<sv_fhir::FhirError> for FhirFailure {
    fn from(e: sv_fhir::FhirError) -> FhirFailure {
        FhirFailure {
            status: StatusCode::BAD_REQUEST,
            outcome: e.outcome(),
        }
    }
}

impl IntoResponse for FhirFailure {
    fn into_response(self) -> Response {
        fhir_response(self.status, &self.outcome)
    }
}

/// A resource as `application/fhir+json`.
pub(crate) fn fhir_response(status: StatusCode, body: &impl Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (
            status,
            [(CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON))],
            bytes,
        )
            .into_response(),
        Err(e) => ApiError::internal(&e).into_response(),
    }
}

/// The caller, authenticated and allowed to read the record's studies: the one access rule
/// of every FHIR route. Failures are `OperationOutcome`s.
pub(crate) struct FhirReader {
    pub record: RecordId,
}

impl FhirReader {
    pub(crate) fn check(
        caller: Result<Caller, ApiError>,
        rid: &str,
    ) -> Result<FhirReader, FhirFailure> {
        let caller = caller?;
        let record = parse_record_id(rid)?;
        caller.require(record, Some(TypeId::MEDICAL_IMAGE_STUDY), Permissions::READ)?;
        Ok(FhirReader { record })
    }
}

/// The record's FHIR and DICOMweb bases.
pub(crate) fn links(state: &AppState, record: RecordId) -> Links {
    let base = format!("{}/v1/records/{record}", state.config().public_url);
    Links {
        fhir_base: format!("{base}/fhir"),
        dicomweb_base: format!("{base}/dicomweb"),
    }
}

/// Refuses (406) a request that wants a representation other than FHIR JSON, by `_format`
/// (which wins) or by `Accept`. JSON, `application/fhir+json` (R4, `fhirVersion=4.0`) and
/// wildcards are served.
pub(crate) fn negotiate(headers: &HeaderMap, format: Option<&str>) -> Result<(), FhirFailure> {
    let refuse = || {
        FhirFailure::new(
            StatusCode::NOT_ACCEPTABLE,
            IssueCode::NotSupported,
            "this server answers in FHIR R4 JSON only (application/fhir+json, _format=json)",
        )
    };
    if let Some(format) = format {
        return if serves(format) {
            Ok(())
        } else {
            Err(refuse())
        };
    }
    let mut asked = false;
    for value in headers.get_all(ACCEPT) {
        for item in value.to_str().map_err(|_| refuse())?.split(',') {
            if item.trim().is_empty() {
                continue;
            }
            asked = true;
            if serves(item) {
                return Ok(());
            }
        }
    }
    if asked { Err(refuse()) } else { Ok(()) }
}

/// Whether one `Accept` item or `_format` value names something we serve.
fn serves(item: &str) -> bool {
    let mut parts = item.split(';').map(str::trim);
    let media = parts.next().unwrap_or("").to_ascii_lowercase();
    let mut version_ok = true;
    let mut weight_ok = true;
    for p in parts {
        let (key, value) = p.split_once('=').unwrap_or((p, ""));
        match key.trim().to_ascii_lowercase().as_str() {
            "fhirversion" => version_ok = value.trim().trim_matches('"').starts_with("4.0"),
            "q" => weight_ok = value.trim().parse::<f32>().map_or(true, |q| q > 0.0),
            _ => {}
        }
    }
    version_ok
        && weight_ok
        && matches!(
            media.as_str(),
            "json"
                | "application/json"
                | "application/fhir+json"
                | "application/json+fhir"
                | "application/*"
                | "*/*"
        )
}

/// `Prefer: handling=strict` (anything else, or none, is lenient).
pub(crate) fn handling(headers: &HeaderMap) -> sv_fhir::Handling {
    let strict = headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim().eq_ignore_ascii_case("handling=strict"));
    if strict {
        sv_fhir::Handling::Strict
    } else {
        sv_fhir::Handling::Lenient
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(ACCEPT, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn json_and_wildcards_are_served_and_xml_is_not() {
        assert!(negotiate(&HeaderMap::new(), None).is_ok());
        assert!(negotiate(&accept("application/fhir+json"), None).is_ok());
        assert!(negotiate(&accept("application/fhir+json; fhirVersion=4.0"), None).is_ok());
        assert!(negotiate(&accept("text/html, */*;q=0.8"), None).is_ok());
        assert!(negotiate(&accept("application/fhir+xml"), None).is_err());
        assert!(negotiate(&accept("application/fhir+json; fhirVersion=5.0"), None).is_err());
        assert!(negotiate(&accept("application/json;q=0"), None).is_err());
        assert!(negotiate(&accept("application/fhir+xml"), Some("json")).is_ok());
        assert!(negotiate(&HeaderMap::new(), Some("xml")).is_err());
        assert!(negotiate(&HeaderMap::new(), Some("application/fhir+json")).is_ok());
    }

    #[test]
    fn only_an_explicit_strict_preference_is_strict() {
        let mut h = HeaderMap::new();
        assert_eq!(handling(&h), sv_fhir::Handling::Lenient);
        h.insert(
            "prefer",
            HeaderValue::from_static("return=minimal, handling=strict"),
        );
        assert_eq!(handling(&h), sv_fhir::Handling::Strict);
        h.insert("prefer", HeaderValue::from_static("handling=lenient"));
        assert_eq!(handling(&h), sv_fhir::Handling::Lenient);
    }
}
