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
//! No study is assembled per request: the study and series previews (chosen by
//! `sv_model::study::assemble_study`'s rules) are cached per study thing *version*, so any new
//! instance invalidates them.
//!
//! Caching: `ETag` is the blake3 of the preview. An instance preview changes only when its
//! instance is explicitly replaced, so it may be reused for a day; study and series previews
//! change as instances arrive, so clients revalidate (`no-cache`; a match is a cheap 304). A
//! URL carrying `?v=<etag hex>` that is still current names fixed bytes and is `immutable`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use sv_model::study::{PreviewRef, StudyAssembly, assemble_study};
use sv_model::{Permissions, RecordId, ThingId, TypeId, VersionStamp};
use sv_vault::{Vault, VaultError};
use utoipa::IntoParams;

use crate::records::parse_record_id;
use crate::{ApiError, AppState, Caller};

const INSTANCE_CACHING: &str = "private, max-age=86400";
const DERIVED_CACHING: &str = "private, no-cache";
const IMMUTABLE_CACHING: &str = "private, max-age=31536000, immutable";
/// Studies whose derived previews are remembered; the map is emptied when full.
const CACHE_STUDIES: usize = 4096;

/// The study and series previews of a study version (`None`: the series has no image).
#[derive(Debug, Default)]
pub(crate) struct DerivedPreviews {
    pub study: Option<PreviewRef>,
    pub series: HashMap<String, Option<PreviewRef>>,
}

impl DerivedPreviews {
    /// The previews an assembled study names.
    pub(crate) fn of(assembly: &StudyAssembly) -> DerivedPreviews {
        let by_name: HashMap<&str, &PreviewRef> = assembly
            .derived_previews
            .iter()
            .map(|(name, p)| (name.as_str(), p))
            .collect();
        let find = |name: Option<&str>| name.and_then(|n| by_name.get(n).map(|p| (*p).clone()));
        let series = assembly
            .study
            .series
            .iter()
            .filter_map(|s| {
                let uid = s.series_instance_uid.as_ref()?.as_str().to_owned();
                Some((uid, find(s.preview_blob_name.as_ref().map(|n| n.as_str()))))
            })
            .collect();
        let study = find(
            assembly
                .study
                .preview_blob_name
                .as_ref()
                .map(|n| n.as_str()),
        );
        DerivedPreviews { study, series }
    }
}

/// A study thing of a record.
type StudyKey = (RecordId, ThingId);

/// Derived previews by study thing, each valid for one version of the thing.
#[derive(Debug, Default)]
pub(crate) struct PreviewCache {
    map: Mutex<HashMap<StudyKey, (VersionStamp, Arc<DerivedPreviews>)>>,
}

impl PreviewCache {
    fn get(&self, key: StudyKey, version: VersionStamp) -> Option<Arc<DerivedPreviews>> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&key)
            .filter(|(v, _)| *v == version)
            .map(|(_, d)| d.clone())
    }

    pub(crate) fn put(&self, key: StudyKey, version: VersionStamp, derived: Arc<DerivedPreviews>) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= CACHE_STUDIES && !map.contains_key(&key) {
            map.clear();
        }
        map.insert(key, (version, derived));
    }

    /// The derived previews of the live study `study_uid`: from memory when this version's are
    /// known (two inline metadata reads), else assembled on a blocking thread.
    async fn derived(
        self: Arc<Self>,
        vault: &Vault,
        record: RecordId,
        study_uid: &str,
    ) -> Result<Option<Arc<DerivedPreviews>>, VaultError> {
        let meta = vault.meta();
        let Some(thing) = meta.study_thing(record, study_uid)? else {
            return Ok(None);
        };
        let Some(header) = meta.thing_header(record, thing)? else {
            return Ok(None);
        };
        if let Some(hit) = self.get((record, thing), header.version) {
            return Ok(Some(hit));
        }
        vault
            .run_io(move |vault| {
                let instances = vault.meta().study_instances(record, thing)?;
                if instances.is_empty() {
                    return Ok(None);
                }
                let derived = Arc::new(DerivedPreviews::of(&assemble_study(&instances)?));
                self.put((record, thing), header.version, derived.clone());
                Ok(Some(derived))
            })
            .await
    }
}

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
    Extension(cache): Extension<Arc<PreviewCache>>,
    caller: Caller,
    Path((rid, study)): Path<(String, String)>,
    Query(query): Query<PreviewQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let record = readable(&caller, &rid)?;
    let vault = state.vault();
    let Some(derived) = cache.derived(vault, record, &study).await? else {
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
    Extension(cache): Extension<Arc<PreviewCache>>,
    caller: Caller,
    Path((rid, study, series)): Path<(String, String, String)>,
    Query(query): Query<PreviewQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let record = readable(&caller, &rid)?;
    let vault = state.vault();
    let Some(derived) = cache.derived(vault, record, &study).await? else {
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
    let meta = vault.meta();
    let Some((thing, facts)) = meta.instance(record, &sop).map_err(VaultError::from)? else {
        return Err(ApiError::not_found("instance"));
    };
    if facts.study_instance_uid != study || facts.series_instance_uid != series {
        return Err(ApiError::not_found("instance"));
    }
    if meta.study_thing(record, &study).map_err(VaultError::from)? != Some(thing) {
        return Err(ApiError::not_found("study"));
    }
    let served = load(vault, facts.preview, &headers).await?;
    respond(served, INSTANCE_CACHING, query.v.as_deref())
}

fn readable(caller: &Caller, rid: &str) -> Result<RecordId, ApiError> {
    let record = parse_record_id(rid)?;
    caller.require(record, Some(TypeId::MEDICAL_IMAGE_STUDY), Permissions::READ)?;
    Ok(record)
}

/// A preview to answer with, and its bytes unless the client's copy is current (304).
struct Served {
    preview: PreviewRef,
    bytes: Option<Arc<[u8]>>,
}

/// The preview's bytes unless the client's `If-None-Match` already names it: from the vault's
/// memory when there, else read (and verified, and remembered) on a blocking thread.
async fn load(
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
    let current = headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|h| etag_matches(h, preview.blob_id.to_hex().as_str()));
    if current {
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

/// `If-None-Match: "a", W/"b"` or `*` (weak comparison, as RFC 9110 asks for this header).
fn etag_matches(header: &str, hex: &str) -> bool {
    header
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.trim_start_matches("W/").trim_matches('"') == hex)
}

fn respond(served: Served, caching: &'static str, v: Option<&str>) -> Result<Response, ApiError> {
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
