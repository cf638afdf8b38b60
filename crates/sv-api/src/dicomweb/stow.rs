//! STOW-RS: `POST …/dicomweb/studies` and `…/studies/{study}`, a `multipart/related;
//! type="application/dicom"` body, one instance per part, through the same ingest as the
//! native upload (previews, dedup, conflicts, limits). The answer is the Store Instances
//! Response in DICOM JSON with the PS3.18 status (see `sv_dicomweb::store_response`).

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use sv_dicomweb::{StoreOutcome, StoredPart, failure};
use sv_model::Permissions;
use sv_vault::{BatchItem, IngestOptions, IngestStatus, InstanceReport};

use super::{allowed, base, dicom_json};
use crate::studies::multipart;
use crate::studies::upload::parse_media_type;
use crate::{ApiError, AppState, Caller};

/// STOW-RS: stores the instances of any studies.
#[utoipa::path(post, path = "/v1/records/{rid}/dicomweb/studies", tag = "dicomweb",
    request_body(content_type = "multipart/related", description = "one application/dicom part per instance"),
    responses((status = 200, content_type = "application/dicom+json", description = "all stored"),
        (status = 202, description = "some stored, some failed or warned"), (status = 400), (status = 401),
        (status = 403), (status = 404), (status = 409, description = "none stored: conflicts"),
        (status = 413), (status = 415)))]
pub(super) async fn store(
    State(state): State<AppState>,
    caller: Caller,
    Path(rid): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    stow(state, caller, rid, None, headers, body).await
}

/// STOW-RS: stores instances of this one study (others are refused with failure `A901`).
#[utoipa::path(post, path = "/v1/records/{rid}/dicomweb/studies/{study}", tag = "dicomweb",
    request_body(content_type = "multipart/related", description = "one application/dicom part per instance"),
    responses((status = 200, content_type = "application/dicom+json", description = "all stored"),
        (status = 202), (status = 400), (status = 401), (status = 403), (status = 404), (status = 409),
        (status = 413), (status = 415)))]
pub(super) async fn store_in_study(
    State(state): State<AppState>,
    caller: Caller,
    Path((rid, study)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    stow(state, caller, rid, Some(study), headers, body).await
}

async fn stow(
    state: AppState,
    caller: Caller,
    rid: String,
    study: Option<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let record = allowed(&caller, &rid, Permissions::CREATE)?;
    let boundary = boundary(&headers)?;
    let options = IngestOptions {
        replace: false,
        token: caller.0.token_id(),
        source: None,
        expected_study: study.clone(),
    };
    let (items, error) = multipart::ingest(&state, record, options, boundary, body).await;
    if let Some(e) = error
        && items.is_empty()
    {
        return Err(e);
    }
    let parts: Vec<StoredPart> = items.iter().filter_map(stored_part).collect();
    let base = base(&state, record);
    let (status, body) = sv_dicomweb::store_response(&parts, &base, study.as_deref());
    let status = StatusCode::from_u16(status).map_err(|e| ApiError::internal(&e))?;
    Ok(dicom_json(status, &body, &[]))
}

/// The `boundary` of a `multipart/related` body whose parts are DICOM; 415 otherwise.
fn boundary(headers: &HeaderMap) -> Result<String, ApiError> {
    let unsupported = || {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "STOW-RS takes multipart/related; type=\"application/dicom\"",
        )
    };
    let mime = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_media_type)
        .ok_or_else(unsupported)?;
    if (mime.type_().as_str(), mime.subtype().as_str()) != ("multipart", "related") {
        return Err(unsupported());
    }
    if mime
        .get_param("type")
        .is_some_and(|t| !t.as_str().eq_ignore_ascii_case("application/dicom"))
    {
        return Err(unsupported());
    }
    mime.get_param(mime::BOUNDARY)
        .map(|b| b.as_str().to_owned())
        .filter(|b| !b.is_empty() && b.len() <= 200)
        .ok_or_else(|| {
            ApiError::bad_request(
                "malformed-multipart",
                "multipart/related needs a boundary parameter",
            )
        })
}

/// A part's outcome as PS3.18 reports it.
fn stored_part(item: &BatchItem) -> Option<StoredPart> {
    let BatchItem::Instance(report) = item else {
        return None;
    };
    Some(StoredPart {
        sop_class_uid: report.sop_class_uid.clone(),
        sop_instance_uid: report.sop_instance_uid.clone(),
        study_instance_uid: report.study_instance_uid.clone(),
        series_instance_uid: report.series_instance_uid.clone(),
        outcome: outcome(report),
    })
}

fn outcome(report: &InstanceReport) -> StoreOutcome {
    match report.status {
        IngestStatus::Stored | IngestStatus::Replaced => StoreOutcome::Stored,
        IngestStatus::Duplicate => StoreOutcome::Duplicate,
        IngestStatus::Conflict => StoreOutcome::Conflict,
        IngestStatus::Failed => StoreOutcome::Failed {
            reason: match report.reason.as_ref().map(|r| r.code) {
                Some("study-mismatch") => failure::STUDY_MISMATCH,
                Some("too-large") => failure::OUT_OF_RESOURCES,
                Some("unsupported-transfer-syntax") => failure::TRANSFER_SYNTAX_NOT_SUPPORTED,
                Some("internal") => failure::PROCESSING,
                _ => failure::CANNOT_UNDERSTAND,
            },
        },
    }
}
