//! WADO-RS: studies, series and instances as `multipart/related; type="application/dicom"`
//! (each part the stored file, preceded by the preamble and file meta it may have come
//! without), their metadata as DICOM JSON, and `thumbnail` / `rendered` from the stored
//! previews.
//!
//! Retrieval streams: a blocking thread reads each file (verified as it is read) into a
//! channel of a few buffers, so memory stays bounded and a slow client slows the reader, as
//! the study archive does; an instance up to 8 MiB is one buffer with its part header, bigger
//! ones go in 1 MiB buffers. No transcoding: an `Accept` that asks for another transfer syntax
//! than the stored one is 406. `rendered` and `thumbnail` answer the stored preview unless
//! parameters ask otherwise (then `render.rs` renders on request).

use std::io::{self, Read};

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use serde_json::Value;
use sv_model::study::{InstanceFacts, PreviewRef};
use sv_model::{Permissions, RecordId, Share};
use tokio::sync::mpsc;
use tracing::error;

use super::{accept, allowed, base, dicom_json, not_acceptable};
use crate::studies::previews::{DERIVED_CACHING, INSTANCE_CACHING, load, respond};
use crate::{ApiError, AppState, Caller};

/// Instances up to this size go to the client as one buffer (header and file).
const WHOLE_PART: u64 = 8 << 20;
/// Bigger ones in buffers of this size.
const CHUNK: usize = 1 << 20;

/// `{study}`, `{study}/series/{series}` or `…/instances/{sop}`.
pub(crate) struct Target {
    pub(crate) study: String,
    pub(crate) series: Option<String>,
    pub(crate) sop: Option<String>,
}

macro_rules! wado_routes {
    ($path:literal, $target:expr, ($($seg:ident),*), $params:ty, $retrieve:ident, $metadata:ident, $thumbnail:ident, $rendered:ident) => {
        /// WADO-RS: the instances, one part each.
        #[utoipa::path(get, path = $path, tag = "dicomweb",
            responses((status = 200, content_type = "multipart/related", description = "the stored files"),
                (status = 401), (status = 403), (status = 404), (status = 406)))]
        pub(crate) async fn $retrieve(
            State(state): State<AppState>,
            caller: Caller,
            Path((rid, $($seg),*)): Path<$params>,
            headers: HeaderMap,
        ) -> Result<Response, ApiError> {
            let record = allowed(&caller, &rid, Permissions::READ)?;
            retrieve(&state, record, $target, &headers).await
        }

        /// WADO-RS: the instances' metadata, DICOM JSON with bulk data as BulkDataURIs.
        #[utoipa::path(get, path = concat!($path, "/metadata"), tag = "dicomweb",
            responses((status = 200, content_type = "application/dicom+json", description = "one object per instance"),
                (status = 401), (status = 403), (status = 404), (status = 406)))]
        pub(crate) async fn $metadata(
            State(state): State<AppState>,
            caller: Caller,
            Path((rid, $($seg),*)): Path<$params>,
            headers: HeaderMap,
        ) -> Result<Response, ApiError> {
            let record = allowed(&caller, &rid, Permissions::READ)?;
            metadata(&state, record, &base(&state, record), $target, &headers).await
        }

        /// WADO-RS: a thumbnail (the stored preview; no patient data is drawn on it).
        #[utoipa::path(get, path = concat!($path, "/thumbnail"), tag = "dicomweb",
            responses((status = 200, content_type = "image/jpeg", description = "the preview"),
                (status = 400), (status = 401), (status = 403), (status = 404), (status = 406)))]
        pub(crate) async fn $thumbnail(
            State(state): State<AppState>,
            caller: Caller,
            Path((rid, $($seg),*)): Path<$params>,
            Query(params): Query<Vec<(String, String)>>,
            headers: HeaderMap,
        ) -> Result<Response, ApiError> {
            let record = allowed(&caller, &rid, Permissions::READ)?;
            preview(&state, record, $target, &params, &headers).await
        }

        /// WADO-RS: the rendered image (the stored preview, when no parameter asks otherwise).
        #[utoipa::path(get, path = concat!($path, "/rendered"), tag = "dicomweb",
            responses((status = 200, content_type = "image/jpeg", description = "the rendered image"),
                (status = 400), (status = 401), (status = 403), (status = 404), (status = 406)))]
        pub(crate) async fn $rendered(
            State(state): State<AppState>,
            caller: Caller,
            Path((rid, $($seg),*)): Path<$params>,
            Query(params): Query<Vec<(String, String)>>,
            headers: HeaderMap,
        ) -> Result<Response, ApiError> {
            let record = allowed(&caller, &rid, Permissions::READ)?;
            preview(&state, record, $target, &params, &headers).await
        }
    };
}

mod routes {
    use super::*;

    wado_routes!(
        "/v1/records/{rid}/dicomweb/studies/{study}",
        Target {
            study,
            series: None,
            sop: None
        },
        (study),
        (String, String),
        study,
        study_metadata,
        study_thumbnail,
        study_rendered
    );
    wado_routes!(
        "/v1/records/{rid}/dicomweb/studies/{study}/series/{series}",
        Target {
            study,
            series: Some(series),
            sop: None
        },
        (study, series),
        (String, String, String),
        series,
        series_metadata,
        series_thumbnail,
        series_rendered
    );
    wado_routes!(
        "/v1/records/{rid}/dicomweb/studies/{study}/series/{series}/instances/{sop}",
        Target {
            study,
            series: Some(series),
            sop: Some(sop)
        },
        (study, series, sop),
        (String, String, String, String),
        instance,
        instance_metadata,
        instance_thumbnail,
        instance_rendered
    );
}

pub(super) use routes::*;

/// The target's instances; 404 when there are none.
pub(super) async fn instances(
    state: &AppState,
    record: RecordId,
    target: &Target,
) -> Result<Vec<InstanceFacts>, ApiError> {
    let (study, series, sop) = (
        target.study.clone(),
        target.series.clone(),
        target.sop.clone(),
    );
    let found = state
        .vault()
        .run_io(move |v| {
            v.retrieval_instances_blocking(record, &study, series.as_deref(), sop.as_deref())
        })
        .await?;
    if found.is_empty() {
        let what = match (&target.series, &target.sop) {
            (_, Some(_)) => "instance",
            (Some(_), None) => "series",
            _ => "study",
        };
        return Err(ApiError::not_found(what));
    }
    Ok(found)
}

pub(crate) async fn retrieve(
    state: &AppState,
    record: RecordId,
    target: Target,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let found = instances(state, record, &target).await?;
    stream_parts(state, found, None, headers)
}

/// `found` as one part each, read as stored or, for a share, as the share shows them.
pub(crate) fn stream_parts(
    state: &AppState,
    found: Vec<InstanceFacts>,
    share: Option<Share>,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let accept = accept(headers);
    for f in &found {
        sv_dicomweb::accepts_stored_instance(accept.as_deref(), &f.transfer_syntax_uid)
            .map_err(not_acceptable)?;
    }
    let (tx, mut rx) = mpsc::channel::<io::Result<Bytes>>(4);
    let vault = state.vault().clone();
    tokio::task::spawn_blocking(move || {
        if let Err(e) = write_parts(&vault, &found, share.as_ref(), &tx) {
            // The client may simply have gone; otherwise cut the body so it is not taken
            // for a whole answer.
            if e.kind() != io::ErrorKind::BrokenPipe {
                error!(error = %e, "WADO-RS retrieval failed");
                let _ = tx.blocking_send(Err(e));
            }
        }
    });
    let body = Body::from_stream(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)));
    let content_type =
        sv_dicomweb::multipart_content_type("application/dicom", sv_dicomweb::BOUNDARY);
    Response::builder()
        .status(StatusCode::OK)
        .header(CONTENT_TYPE, content_type)
        .header(CACHE_CONTROL, "private, no-store")
        .body(body)
        .map_err(|e| ApiError::internal(&e))
}

/// Writes every instance as one part (blocking).
fn write_parts(
    vault: &sv_vault::Vault,
    found: &[InstanceFacts],
    share: Option<&Share>,
    tx: &mpsc::Sender<io::Result<Bytes>>,
) -> io::Result<()> {
    let send = |bytes: Vec<u8>| {
        tx.blocking_send(Ok(Bytes::from(bytes)))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    };
    for (n, f) in found.iter().enumerate() {
        let content_type = sv_dicomweb::dicom_part_content_type(&f.transfer_syntax_uid);
        let mut part = if n == 0 {
            sv_dicomweb::part_header(sv_dicomweb::BOUNDARY, &content_type)
        } else {
            sv_dicomweb::next_part_header(sv_dicomweb::BOUNDARY, &content_type)
        };
        let file = match share {
            Some(share) => vault.shared_instance_file_blocking(share, f),
            None => vault.instance_file_blocking(f),
        };
        let mut file = file.map_err(io::Error::other)?;
        if f.length <= WHOLE_PART {
            // One buffer and one hand-over per instance: a CT slice is read (and verified)
            // whole by the blob store anyway, and each hand-over wakes the response task.
            part.reserve(usize::try_from(f.length).unwrap_or(0) + 256);
            file.read_to_end(&mut part)?;
            send(part)?;
            continue;
        }
        send(part)?;
        loop {
            let mut chunk = Vec::with_capacity(CHUNK);
            let n = (&mut file).take(CHUNK as u64).read_to_end(&mut chunk)?;
            if n == 0 {
                break;
            }
            send(chunk)?;
        }
    }
    send(sv_dicomweb::closing(sv_dicomweb::BOUNDARY))
}

pub(crate) async fn metadata(
    state: &AppState,
    record: RecordId,
    base: &str,
    target: Target,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    sv_dicomweb::accepts_dicom_json(accept(headers).as_deref()).map_err(not_acceptable)?;
    let found = instances(state, record, &target).await?;
    let found = found
        .into_iter()
        .map(|f| {
            let url = instance_url(base, &f);
            (f, url)
        })
        .collect();
    metadata_of(state, found, None).await
}

/// `{base}/studies/{study}/series/{series}/instances/{sop}`.
pub(crate) fn instance_url(base: &str, f: &InstanceFacts) -> String {
    format!(
        "{base}/studies/{}/series/{}/instances/{}",
        f.study_instance_uid, f.series_instance_uid, f.sop_instance_uid
    )
}

/// The metadata of stored instances, each with the URL its bulk data hangs under, read as
/// stored or, for a share, as the share shows them.
pub(crate) async fn metadata_of(
    state: &AppState,
    found: Vec<(InstanceFacts, String)>,
    share: Option<Share>,
) -> Result<Response, ApiError> {
    // Parsing files is CPU work: it takes a worker slot, like ingest.
    let objects = state
        .vault()
        .run_blocking(move |vault| {
            found
                .iter()
                .map(|(f, url)| {
                    let bulk = |tag: &str| format!("{url}/bulkdata/{tag}");
                    match &share {
                        Some(share) => vault.shown_instance_metadata_blocking(share, f, &bulk),
                        None => vault.instance_metadata_blocking(f, &bulk),
                    }
                })
                .collect::<Result<Vec<Value>, _>>()
        })
        .await?;
    Ok(dicom_json(StatusCode::OK, &Value::Array(objects), &[]))
}

pub(crate) async fn preview(
    state: &AppState,
    record: RecordId,
    target: Target,
    params: &[(String, String)],
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let asked =
        sv_dicomweb::Rendering::parse(params, accept(headers).as_deref()).map_err(|e| match e {
            sv_dicomweb::RenderingError::NotAcceptable(e) => not_acceptable(e),
            other => ApiError::bad_request("invalid-rendering", other.to_string()),
        })?;
    if let Some(rendering) = asked {
        let which = (target.study, target.series, target.sop);
        return super::render::rendered(state, record, which, rendering).await;
    }
    let vault = state.vault();
    let (preview, caching): (Option<PreviewRef>, &'static str) = match (&target.series, &target.sop)
    {
        (Some(series), Some(sop)) => {
            let found = vault
                .instance_preview(record, &target.study, Some(series), sop)?
                .ok_or_else(|| ApiError::not_found("instance"))?;
            (found, INSTANCE_CACHING)
        }
        (series, _) => {
            let derived = vault
                .derived_previews(record, &target.study)
                .await?
                .ok_or_else(|| ApiError::not_found("study"))?;
            let found = match series {
                Some(s) => derived
                    .series
                    .get(s)
                    .cloned()
                    .ok_or_else(|| ApiError::not_found("series"))?,
                None => derived.study.clone(),
            };
            (found, DERIVED_CACHING)
        }
    };
    let wanted = params
        .iter()
        .rev()
        .find(|(k, _)| k == "accept")
        .map(|(_, v)| v.clone())
        .or_else(|| accept(headers));
    if let (Some(p), Some(wanted)) = (&preview, &wanted)
        && !image_acceptable(wanted, &p.media_type)
    {
        // The stored preview is PNG (by configuration) and the client wants JPEG: render it.
        let rendering = sv_dicomweb::Rendering {
            window: None,
            viewport: None,
            quality: None,
            media_type: "image/jpeg",
        };
        let which = (target.study, target.series, target.sop);
        return super::render::rendered(state, record, which, rendering).await;
    }
    let served = load(vault, preview, headers).await?;
    respond(served, caching, None)
}

/// Whether an `Accept` list admits `media_type` (exact, `image/*` or `*/*`, weight above 0).
fn image_acceptable(accept: &str, media_type: &str) -> bool {
    accept.split(',').any(|item| {
        let mut parts = item.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let zero = parts.any(|p| p.replace(' ', "").eq_ignore_ascii_case("q=0"));
        !zero && (media == media_type || media == "image/*" || media == "*/*")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_acceptable_by_exact_type_or_wildcard() {
        assert!(image_acceptable("image/jpeg", "image/jpeg"));
        assert!(image_acceptable("image/png, */*;q=0.1", "image/jpeg"));
        assert!(image_acceptable("image/*", "image/png"));
        assert!(!image_acceptable("image/png", "image/jpeg"));
        assert!(!image_acceptable("image/jpeg;q=0", "image/jpeg"));
    }
}
