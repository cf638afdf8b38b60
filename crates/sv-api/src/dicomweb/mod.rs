//! DICOMweb (PS3.18) under `/v1/records/{rid}/dicomweb`: STOW-RS, QIDO-RS at all six
//! resources, WADO-RS retrieval of studies, series and instances (each part the stored file),
//! their metadata in DICOM JSON, an instance's frames and bulk data as stored, thumbnails
//! and default renderings from the stored previews, and WADO-URI for legacy viewers.
//!
//! Formats, matching and negotiation live in `sv-dicomweb`; searches and reads are `sv-vault`
//! use cases over the study digests and instance facts. The same tokens and permissions as the
//! rest of the API: reading needs READ on the medical-image-study type, STOW-RS needs CREATE.

pub(crate) mod frames;
pub(crate) mod qido;
mod render;
mod stow;
pub(crate) mod wado;
mod wado_uri;

use axum::http::header::{ACCEPT, CONTENT_TYPE, WARNING};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sv_model::{Permissions, RecordId, TypeId};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::records::parse_record_id;
use crate::studies::streamed_upload;
use crate::{ApiError, AppState, Caller};

/// The media type of DICOM JSON answers (exactly this: dicomweb-client reads a STOW response
/// only when the type has no parameters).
pub(crate) const DICOM_JSON: &str = "application/dicom+json";

pub(crate) fn routes(state: &AppState) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(streamed_upload(routes!(stow::store), state))
        .routes(streamed_upload(routes!(stow::store_in_study), state))
        .routes(routes!(qido::studies))
        .routes(routes!(qido::series))
        .routes(routes!(qido::instances))
        .routes(routes!(qido::study_series))
        .routes(routes!(qido::study_instances))
        .routes(routes!(qido::series_instances))
        .routes(routes!(wado::study))
        .routes(routes!(wado::series))
        .routes(routes!(wado::instance))
        .routes(routes!(wado::study_metadata))
        .routes(routes!(wado::series_metadata))
        .routes(routes!(wado::instance_metadata))
        .routes(routes!(wado::study_thumbnail))
        .routes(routes!(wado::series_thumbnail))
        .routes(routes!(wado::instance_thumbnail))
        .routes(routes!(wado::study_rendered))
        .routes(routes!(wado::series_rendered))
        .routes(routes!(wado::instance_rendered))
        .routes(routes!(frames::instance_frames))
        .routes(routes!(frames::instance_bulkdata))
        .routes(routes!(wado_uri::wado_uri))
}

/// The record, once the caller may do `needed` with its studies.
fn allowed(caller: &Caller, rid: &str, needed: Permissions) -> Result<RecordId, ApiError> {
    let record = parse_record_id(rid)?;
    caller.require(record, Some(TypeId::MEDICAL_IMAGE_STUDY), needed)?;
    Ok(record)
}

/// The record's DICOMweb service base (absolute, no trailing slash).
fn base(state: &AppState, record: RecordId) -> String {
    format!("{}/v1/records/{record}/dicomweb", state.config().public_url)
}

/// Every `Accept` header, joined (a client may send several).
pub(crate) fn accept(headers: &HeaderMap) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!values.is_empty()).then(|| values.join(", "))
}

pub(crate) fn not_acceptable(e: sv_dicomweb::NotAcceptable) -> ApiError {
    ApiError::new(StatusCode::NOT_ACCEPTABLE, "not-acceptable", e.reason)
}

/// A DICOM JSON answer with a `Warning` header per message.
fn dicom_json(status: StatusCode, body: &serde_json::Value, warnings: &[String]) -> Response {
    let mut response = match serde_json::to_vec(body) {
        Ok(bytes) => (
            status,
            [(CONTENT_TYPE, HeaderValue::from_static(DICOM_JSON))],
            bytes,
        )
            .into_response(),
        Err(e) => return ApiError::internal(&e).into_response(),
    };
    for w in warnings {
        if let Ok(value) = HeaderValue::from_str(&sv_dicomweb::warning_header(w)) {
            response.headers_mut().append(WARNING, value);
        }
    }
    response
}
