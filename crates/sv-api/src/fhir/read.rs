//! Reads: `ImagingStudy/{id}` (with `ETag`, `Last-Modified` and `If-None-Match`), the record's
//! `Patient/{id}` and `Endpoint/{id}`, and the `CapabilityStatement`.
//!
//! An `ImagingStudy` id is its study thing's id; the `Patient` id is the record id; the one
//! `Endpoint` is `dicomweb`. A deleted study answers 410.

use axum::extract::{Path, Query, State};
use axum::http::header::{ETAG, LAST_MODIFIED};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sv_fhir::ENDPOINT_ID;
use sv_model::Timestamp;
use utoipa::IntoParams;

use super::{FhirFailure, FhirReader, fhir_response, links, negotiate};
use crate::representation::none_match;
use crate::{ApiError, AppState, Caller};

/// The query parameters a read understands.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReadQuery {
    /// `json`, `application/json` or `application/fhir+json`; anything else is 406.
    /// (`_pretty` and other parameters are accepted and ignored: answers are compact JSON.)
    #[serde(rename = "_format")]
    pub format: Option<String>,
}

/// The server's CapabilityStatement: exactly what is implemented.
#[utoipa::path(get, path = "/v1/records/{rid}/fhir/metadata", tag = "fhir",
    params(("rid" = String, Path, description = "record id"), ReadQuery),
    responses((status = 200, content_type = "application/fhir+json", description = "CapabilityStatement"),
        (status = 401), (status = 403), (status = 404), (status = 406)))]
pub(super) async fn capabilities(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    Path(rid): Path<String>,
    Query(query): Query<ReadQuery>,
    headers: HeaderMap,
) -> Result<Response, FhirFailure> {
    let reader = FhirReader::check(caller, &rid)?;
    negotiate(&headers, query.format.as_deref())?;
    let base = links(&state, reader.record).fhir_base;
    let statement =
        sv_fhir::capability_statement(&base, env!("CARGO_PKG_VERSION"), Timestamp::now());
    Ok(fhir_response(StatusCode::OK, &statement))
}

/// One study as an ImagingStudy.
#[utoipa::path(get, path = "/v1/records/{rid}/fhir/ImagingStudy/{id}", tag = "fhir",
    params(("rid" = String, Path, description = "record id"), ("id" = String, Path, description = "the study thing's id"), ReadQuery),
    responses((status = 200, content_type = "application/fhir+json", description = "ImagingStudy"), (status = 304),
        (status = 401), (status = 403), (status = 404), (status = 406), (status = 410, description = "the study was deleted")))]
pub(super) async fn imaging_study(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    Path((rid, id)): Path<(String, String)>,
    Query(query): Query<ReadQuery>,
    headers: HeaderMap,
) -> Result<Response, FhirFailure> {
    let reader = FhirReader::check(caller, &rid)?;
    negotiate(&headers, query.format.as_deref())?;
    let record = reader.record;
    let hit = super::studies::lookup(&state, record, &id).await?;
    let version = hit.digest.version.to_string();
    let etag = HeaderValue::from_str(&format!("W/\"{version}\""))
        .map_err(|e| FhirFailure::from(ApiError::internal(&e)))?;
    let modified = HeaderValue::from_str(&http_date(hit.digest.updated))
        .map_err(|e| FhirFailure::from(ApiError::internal(&e)))?;
    if none_match(&headers, &version) {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [(ETAG, etag), (LAST_MODIFIED, modified)],
        )
            .into_response());
    }
    let links = links(&state, record);
    let study = super::studies::resource(&hit, record, &links);
    let mut response = fhir_response(StatusCode::OK, &study);
    response.headers_mut().insert(ETAG, etag);
    response.headers_mut().insert(LAST_MODIFIED, modified);
    Ok(response)
}

/// The record's person, as the studies and the record name describe them.
#[utoipa::path(get, path = "/v1/records/{rid}/fhir/Patient/{id}", tag = "fhir",
    params(("rid" = String, Path, description = "record id"), ("id" = String, Path, description = "the record id"), ReadQuery),
    responses((status = 200, content_type = "application/fhir+json", description = "Patient"),
        (status = 401), (status = 403), (status = 404), (status = 406)))]
pub(super) async fn patient(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    Path((rid, id)): Path<(String, String)>,
    Query(query): Query<ReadQuery>,
    headers: HeaderMap,
) -> Result<Response, FhirFailure> {
    let reader = FhirReader::check(caller, &rid)?;
    negotiate(&headers, query.format.as_deref())?;
    let record = reader.record;
    if id != record.to_string() {
        return Err(FhirFailure::not_found("Patient"));
    }
    let (found, digests) = state
        .vault()
        .run_io(move |v| v.record_digests_blocking(record))
        .await?;
    let patient = sv_fhir::patient(&found, &digests, &links(&state, record));
    Ok(fhir_response(StatusCode::OK, &patient))
}

/// The record's DICOMweb service.
#[utoipa::path(get, path = "/v1/records/{rid}/fhir/Endpoint/{id}", tag = "fhir",
    params(("rid" = String, Path, description = "record id"), ("id" = String, Path, description = "`dicomweb`"), ReadQuery),
    responses((status = 200, content_type = "application/fhir+json", description = "Endpoint"),
        (status = 401), (status = 403), (status = 404), (status = 406)))]
pub(super) async fn endpoint(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    Path((rid, id)): Path<(String, String)>,
    Query(query): Query<ReadQuery>,
    headers: HeaderMap,
) -> Result<Response, FhirFailure> {
    let reader = FhirReader::check(caller, &rid)?;
    negotiate(&headers, query.format.as_deref())?;
    if id != ENDPOINT_ID {
        return Err(FhirFailure::not_found("Endpoint"));
    }
    let endpoint = sv_fhir::endpoint(&links(&state, reader.record));
    Ok(fhir_response(StatusCode::OK, &endpoint))
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) for `Last-Modified`.
fn http_date(at: Timestamp) -> String {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::OffsetDateTime::from_unix_timestamp(at.unix_micros().div_euclid(1_000_000))
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_modified_is_an_imf_fixdate() {
        let at = Timestamp::from_unix_micros(784_111_777_000_000);
        assert_eq!(http_date(at), "Sun, 06 Nov 1994 08:49:37 GMT");
    }
}
