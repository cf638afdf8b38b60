//! `POST /v1/records/{rid}/studies`: one DICOM file, a multipart/related batch or a zip, chosen
//! by Content-Type, streamed in and answered with a per-instance report.

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde::Deserialize;
use sv_model::{Permissions, TypeId};
use sv_vault::{BatchItem, IngestOptions, InstanceBytes};
use utoipa::IntoParams;

use super::report::UploadReport;
use super::spool::InstanceSink;
use super::{Links, body_error, multipart, zip_in};
use crate::records::parse_record_id;
use crate::{ApiError, AppState, Caller};

#[derive(Debug, Deserialize, IntoParams)]
pub struct UploadQuery {
    /// Replace stored instances that have the same SOP Instance UID but other bytes (needs
    /// the update permission too).
    #[serde(default)]
    pub replace: bool,
}

/// What the Content-Type says the body is.
enum Upload {
    Single,
    Multipart { boundary: String },
    Zip,
}

/// Ingests DICOM: `application/dicom` (one instance), `multipart/related;
/// type="application/dicom"` (one instance per part) or `application/zip` (a CD export).
#[utoipa::path(post, path = "/v1/records/{rid}/studies", tag = "studies",
    params(("rid" = String, Path, description = "record id"), UploadQuery),
    request_body(description = "DICOM, multipart/related or zip",
        content((Vec<u8> = "application/dicom"), (Vec<u8> = "multipart/related"), (Vec<u8> = "application/zip"))),
    responses(
        (status = 201, body = UploadReport, description = "at least one instance is new"),
        (status = 200, body = UploadReport, description = "nothing new (duplicates, failures, skipped files)"),
        (status = 409, body = UploadReport, description = "the only instances were conflicts"),
        (status = 400, body = crate::ErrorBody, description = "not DICOM, truncated, malformed multipart or zip"),
        (status = 413, body = crate::ErrorBody, description = "body, instance or zip expansion over the limits"),
        (status = 415, body = crate::ErrorBody, description = "unsupported Content-Type")))]
pub(super) async fn upload_study(
    State(state): State<AppState>,
    caller: Caller,
    Path(rid): Path<String>,
    query: Result<Query<UploadQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let record = parse_record_id(&rid)?;
    let Query(query) =
        query.map_err(|_| ApiError::bad_request("invalid-query", "replace is true or false"))?;
    let mut needed = Permissions::CREATE;
    if query.replace {
        needed = needed.union(Permissions::UPDATE);
    }
    caller.require(record, Some(TypeId::MEDICAL_IMAGE_STUDY), needed)?;
    let options = IngestOptions {
        replace: query.replace,
        token: caller.0.token_id(),
        source: None,
        expected_study: None,
    };
    let links = Links::new(&state, record);
    match upload_kind(&headers)? {
        Upload::Single => {
            let bytes = read_single(&state, &headers, body).await?;
            let report = state
                .vault()
                .ingest_instance(record, bytes, options)
                .await?;
            let items = vec![BatchItem::Instance(report)];
            Ok(UploadReport::new(items, &links).single_response())
        }
        Upload::Multipart { boundary } => {
            let (items, error) = multipart::ingest(&state, record, options, boundary, body).await;
            if let Some(e) = &error
                && items.is_empty()
            {
                return Err(ApiError::new(e.status, e.code, e.message.clone()));
            }
            Ok(UploadReport::new(items, &links).batch_response(error))
        }
        Upload::Zip => {
            let items = zip_in::ingest(&state, record, options, body).await?;
            Ok(UploadReport::new(items, &links).batch_response(None))
        }
    }
}

fn upload_kind(headers: &HeaderMap) -> Result<Upload, ApiError> {
    let unsupported = || {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "send application/dicom, multipart/related; type=\"application/dicom\", \
             or application/zip",
        )
    };
    let mime = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_media_type)
        .ok_or_else(unsupported)?;
    match (mime.type_().as_str(), mime.subtype().as_str()) {
        ("application", "dicom") => Ok(Upload::Single),
        ("application", "zip" | "x-zip-compressed" | "x-zip") => Ok(Upload::Zip),
        ("multipart", "related") => {
            let part_type = mime.get_param("type").map(|t| t.as_str().to_owned());
            if part_type.is_some_and(|t| !t.eq_ignore_ascii_case("application/dicom")) {
                return Err(unsupported());
            }
            let boundary = mime
                .get_param(mime::BOUNDARY)
                .map(|b| b.as_str().to_owned())
                .filter(|b| !b.is_empty() && b.len() <= 200)
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "malformed-multipart",
                        "multipart/related needs a boundary parameter",
                    )
                })?;
            Ok(Upload::Multipart { boundary })
        }
        _ => Err(unsupported()),
    }
}

/// Parses a Content-Type, tolerating what real STOW clients send unquoted although it is not
/// a token (`type=application/dicom`): such values are quoted and the whole is parsed again.
pub(crate) fn parse_media_type(value: &str) -> Option<mime::Mime> {
    if let Ok(m) = value.parse() {
        return Some(m);
    }
    let mut parts = value.split(';');
    let mut fixed = parts.next()?.trim().to_owned();
    for param in parts {
        let (name, v) = param.split_once('=')?;
        let v = v.trim();
        if v.starts_with('"') || v.contains('"') {
            fixed.push_str(&format!("; {}={v}", name.trim()));
        } else {
            fixed.push_str(&format!("; {}=\"{v}\"", name.trim()));
        }
    }
    fixed.parse().ok()
}

/// One instance's bytes, bounded by the vault's instance limit: in memory up to the spool
/// bound, in a spool file beyond it.
async fn read_single(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<InstanceBytes, ApiError> {
    let max = state.vault().config().limits.max_instance_bytes;
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            format!("an instance is at most {max} bytes"),
        )
    };
    let declared = declared_length(headers);
    if declared.is_some_and(|n| n > max) {
        return Err(too_large());
    }
    // The memory buffer is sized from Content-Length up to the spool bound; a body declared
    // bigger goes to a spool file from its first byte.
    let mut sink = InstanceSink::new(state.vault(), max, declared);
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| body_error(&e))?;
        sink.push(&chunk)
            .await
            .map_err(|e| ApiError::internal(&e))?;
        if sink.over() {
            return Err(too_large());
        }
    }
    sink.finish()
        .await
        .map_err(|e| ApiError::internal(&e))?
        .ok_or_else(too_large)
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// Answers a declared oversize body with the JSON error before anything is read (the body
/// limit layer inside catches undeclared, chunked ones while they stream).
pub(crate) async fn refuse_declared_oversize(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let max = state.config().limits.max_upload_bytes;
    if declared_length(request.headers()).is_some_and(|n| n > max) {
        return ApiError::payload_too_large(format!("an upload is at most {max} bytes"))
            .into_response();
    }
    next.run(request).await
}
