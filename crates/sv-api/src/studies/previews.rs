//! Previews at study, series and instance level, served from the stored preview blobs.
//!
//! The hot path makes no hop to a blocking thread: the caller is authenticated from the
//! vault's token cache, the few metadata reads (`instance`, `study_thing`, `thing_header`) run
//! inline on the async task, and the preview bytes come from the vault's cache of verified
//! preview bytes (`Vault::cached_preview`). Only what may touch the disk goes to `Vault::run_io`:
//! the first read of a preview file (verified, then cached) and assembling a study's derived
//! previews after it changed.
//!
//! Inline sled reads are acceptable here, though the rule is that sled work runs off the
//! executor: these are a few small point lookups, and the hot metadata (the SOP index, study
//! things, their headers) stays in sled's page cache, so they are answered from memory, more
//! cheaply than sending the request to a blocking thread and back. A cold page may still be
//! read from disk while the task waits, one small bounded read. The preview file, the read that
//! may really touch the disk, still goes to the blocking pool. Preview bytes are
//! content-addressed, so cached ones are never stale.
//!
//! No study is assembled per request: the vault keeps the study and series previews (chosen
//! by `sv_model::study::assemble_study`'s rules) per study thing *version*
//! (`Vault::derived_previews`), so any new instance invalidates them.
//!
//! Caching: `ETag` is the blake3 of the preview. An instance preview changes only when its
//! instance is explicitly replaced, so it may be reused for a day; study and series previews
//! change as instances arrive, so clients revalidate (`no-cache`; a match is a cheap 304). A
//! URL carrying `?v=<etag hex>` that is still current names fixed bytes and is `immutable`.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, ETAG};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use sv_model::study::PreviewRef;
use sv_model::{Permissions, RecordId, TypeId};
use sv_vault::Vault;
use utoipa::IntoParams;

use crate::records::parse_record_id;
use crate::representation::none_match;
use crate::{ApiError, AppState, Caller};

pub(crate) const INSTANCE_CACHING: &str = "private, max-age=86400";
pub(crate) const DERIVED_CACHING: &str = "private, no-cache";
const IMMUTABLE_CACHING: &str = "private, max-age=31536000, immutable";

#[derive(Debug, Deserialize, IntoParams)]
pub struct PreviewQuery {
    /// The preview's ETag (hex) as listed: when still current, the answer is immutable.
    pub v: Option<String>,
}

/// The study preview (its first key image's, else its first series').
#[utoipa::path(get, path = "/v1/records/{rid}/studies/{study}/preview", tag = "studies",
    params(("rid" = String, Path, description = "record id"), ("study" = String, Path, description = "StudyInstanceUID"), PreviewQuery),
    responses((status = 200, content_type = "image/jpeg", description = "the preview"), (status = 304),
        (status = 404, body = crate::ErrorBody, description = "`not-found`, or `no-preview` for a study without images")))]
pub(super) async fn study_preview(
    State(state): State<AppState>,
    caller: Caller,
    Path((rid, study)): Path<(String, String)>,
    Query(query): Query<PreviewQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let record = readable(&caller, &rid)?;
    let vault = state.vault();
    let Some(derived) = vault.derived_previews(record, &study).await? else {
        return Err(ApiError::not_found("study"));
    };
    let served = load(vault, derived.study.clone(), &headers).await?;
    respond(served, DERIVED_CACHING, query.v.as_deref())
}

/// A series preview (its middle image's).
#[utoipa::path(get, path = "/v1/records/{rid}/studies/{study}/series/{series}/preview", tag = "studies",
    params(("rid" = String, Path, description = "record id"), ("study" = String, Path, description = "StudyInstanceUID"),
        ("series" = String, Path, description = "SeriesInstanceUID"), PreviewQuery),
    responses((status = 200, content_type = "image/jpeg", description = "the preview"), (status = 304),
        (status = 404, body = crate::ErrorBody, description = "`not-found`, or `no-preview` for a series without images")))]
pub(super) async fn series_preview(
    State(state): State<AppState>,
    caller: Caller,
    Path((rid, study, series)): Path<(String, String, String)>,
    Query(query): Query<PreviewQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let record = readable(&caller, &rid)?;
    let vault = state.vault();
    let Some(derived) = vault.derived_previews(record, &study).await? else {
        return Err(ApiError::not_found("study"));
    };
    let Some(preview) = derived.series.get(&series) else {
        return Err(ApiError::not_found("series"));
    };
    let served = load(vault, preview.clone(), &headers).await?;
    respond(served, DERIVED_CACHING, query.v.as_deref())
}

/// An instance preview.
#[utoipa::path(get, path = "/v1/records/{rid}/studies/{study}/series/{series}/instances/{sop}/preview", tag = "studies",
    params(("rid" = String, Path, description = "record id"), ("study" = String, Path, description = "StudyInstanceUID"),
        ("series" = String, Path, description = "SeriesInstanceUID"), ("sop" = String, Path, description = "SOPInstanceUID"), PreviewQuery),
    responses((status = 200, content_type = "image/jpeg", description = "the preview"), (status = 304),
        (status = 404, body = crate::ErrorBody, description = "`not-found`, or `no-preview` for a non-image instance")))]
pub(super) async fn instance_preview(
    State(state): State<AppState>,
    caller: Caller,
    Path((rid, study, series, sop)): Path<(String, String, String, String)>,
    Query(query): Query<PreviewQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let record = readable(&caller, &rid)?;
    let vault = state.vault();
    let Some(preview) = vault.instance_preview(record, &study, Some(&series), &sop)? else {
        return Err(ApiError::not_found("instance"));
    };
    let served = load(vault, preview, &headers).await?;
    respond(served, INSTANCE_CACHING, query.v.as_deref())
}

fn readable(caller: &Caller, rid: &str) -> Result<RecordId, ApiError> {
    let record = parse_record_id(rid)?;
    caller.require(record, Some(TypeId::MEDICAL_IMAGE_STUDY), Permissions::READ)?;
    Ok(record)
}

/// A preview to answer with, and its bytes unless the client's copy is current (304).
pub(crate) struct Served {
    preview: PreviewRef,
    bytes: Option<Arc<[u8]>>,
}

/// The preview's bytes unless the client's `If-None-Match` already names it: from the vault's
/// memory when there, else read (and verified, and remembered) on a blocking thread.
pub(crate) async fn load(
    vault: &Vault,
    preview: Option<PreviewRef>,
    headers: &HeaderMap,
) -> Result<Served, ApiError> {
    let Some(preview) = preview else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no-preview",
            "this has no preview (not an image, or it could not be rendered)",
        ));
    };
    if none_match(headers, preview.blob_id.to_hex().as_str()) {
        return Ok(Served {
            preview,
            bytes: None,
        });
    }
    let bytes = match vault.cached_preview(&preview.blob_id) {
        Some(bytes) => bytes,
        None => {
            let (id, length) = (preview.blob_id, preview.length);
            vault
                .run_io(move |vault| vault.read_preview_blocking(&id, length))
                .await?
        }
    };
    Ok(Served {
        preview,
        bytes: Some(bytes),
    })
}

pub(crate) fn respond(
    served: Served,
    caching: &'static str,
    v: Option<&str>,
) -> Result<Response, ApiError> {
    let Served { preview, bytes } = served;
    let hex = preview.blob_id.to_hex();
    let caching = if v == Some(hex.as_str()) {
        IMMUTABLE_CACHING
    } else {
        caching
    };
    let etag = HeaderValue::from_str(&format!("\"{}\"", hex.as_str()))
        .map_err(|e| ApiError::internal(&e))?;
    let mut response = Response::builder()
        .header(ETAG, etag)
        .header(CACHE_CONTROL, caching);
    let body = match bytes {
        None => {
            response = response.status(StatusCode::NOT_MODIFIED);
            Body::empty()
        }
        Some(bytes) => {
            response = response
                .status(StatusCode::OK)
                .header(CONTENT_TYPE, preview.media_type.as_str())
                .header(CONTENT_LENGTH, bytes.len());
            // Shares the cached allocation: no copy of the preview per response.
            Body::from(Bytes::from_owner(bytes))
        }
    };
    response.body(body).map_err(|e| ApiError::internal(&e))
}
