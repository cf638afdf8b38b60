//! WADO-RS frames and bulk data of one instance, sent as stored (nothing decoded):
//! `…/instances/{sop}/frames/{list}` as `multipart/related`, one part per frame in request
//! order (native frames `application/octet-stream`, little endian; compressed ones in their
//! own media type with `transfer-syntax=`), and `…/instances/{sop}/bulkdata/{tag}` as
//! `multipart/related; type="application/octet-stream"` with one part.
//!
//! Status decisions (PS3.18 leaves them to the origin server; standards.md §1.4 marks them
//! unverified): a malformed list (not comma-separated numbers, frame 0, a repeated number) is
//! 400; a frame beyond Number of Frames, or any frame of an instance without pixel data, is
//! 404; an `Accept` the stored form does not fit (octet-stream of compressed frames, JPEG of
//! native ones) is 406, as is the bulk data of encapsulated Pixel Data (served per frame) and
//! pixel data we cannot cut into frames. An unknown or non-binary bulk data tag is 404.

use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use sv_model::Permissions;
use sv_vault::{FrameRefusal, VaultError};

use super::wado::{Target, instances};
use super::{accept, allowed, not_acceptable};
use crate::{ApiError, AppState, Caller};

/// Explicit VR Little Endian: negotiating bulk data as native frames accepts exactly
/// octet-stream (and the wildcards).
const OCTET_STREAM_SYNTAX: &str = "1.2.840.10008.1.2.1";

/// WADO-RS: frames of an instance, one part each, in request order.
#[utoipa::path(get,
    path = "/v1/records/{rid}/dicomweb/studies/{study}/series/{series}/instances/{sop}/frames/{frames}",
    tag = "dicomweb",
    params(("frames" = String, Path, description = "1-based frame numbers, comma-separated")),
    responses((status = 200, content_type = "multipart/related", description = "the frames as stored"),
        (status = 400), (status = 401), (status = 403), (status = 404), (status = 406)))]
pub(crate) async fn instance_frames(
    State(state): State<AppState>,
    caller: Caller,
    Path((rid, study, series, sop, list)): Path<(String, String, String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let record = allowed(&caller, &rid, Permissions::READ)?;
    let target = Target {
        study,
        series: Some(series),
        sop: Some(sop),
    };
    frames_in(&state, record, target, &list, &headers).await
}

/// An instance's frames, as stored, by 1-based numbers (`1,3`).
async fn frames_in(
    state: &AppState,
    record: sv_model::RecordId,
    target: Target,
    list: &str,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let numbers = parse_frame_list(list)?;
    let facts = instances(state, record, &target).await?.remove(0);
    frames_of(state, facts, numbers, headers).await
}

/// Frames `numbers` of a stored instance. A share's frames are the stored ones: de-identifying
/// leaves pixel data byte-identical.
pub(crate) async fn frames_of(
    state: &AppState,
    facts: sv_model::study::InstanceFacts,
    numbers: Vec<u32>,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let how = sv_dicomweb::accepts_frames(accept(headers).as_deref(), &facts.transfer_syntax_uid)
        .map_err(not_acceptable)?;
    let frames = state
        .vault()
        .run_blocking(move |v| v.instance_frames_blocking(&facts, &numbers))
        .await
        .map_err(refusal)?;
    let part_type = how.part_content_type();
    multipart(
        how.media_type,
        frames
            .iter()
            .map(|f| (part_type.as_str(), f.bytes.as_slice())),
    )
}

/// WADO-RS: a top-level binary attribute of an instance (its `BulkDataURI` in the metadata).
#[utoipa::path(get,
    path = "/v1/records/{rid}/dicomweb/studies/{study}/series/{series}/instances/{sop}/bulkdata/{tag}",
    tag = "dicomweb",
    params(("tag" = String, Path, description = "the attribute's tag, 8 hex digits")),
    responses((status = 200, content_type = "multipart/related", description = "the value, one part"),
        (status = 401), (status = 403), (status = 404), (status = 406)))]
pub(crate) async fn instance_bulkdata(
    State(state): State<AppState>,
    caller: Caller,
    Path((rid, study, series, sop, tag)): Path<(String, String, String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let record = allowed(&caller, &rid, Permissions::READ)?;
    let target = Target {
        study,
        series: Some(series),
        sop: Some(sop),
    };
    let facts = instances(&state, record, &target).await?.remove(0);
    bulk_of(&state, facts, None, tag, &headers).await
}

/// A top-level binary attribute of a stored instance, as stored or as a share shows it (an
/// attribute the share's de-identification removed or emptied is not found).
pub(crate) async fn bulk_of(
    state: &AppState,
    facts: sv_model::study::InstanceFacts,
    share: Option<sv_model::Share>,
    tag: String,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    sv_dicomweb::accepts_frames(accept(headers).as_deref(), OCTET_STREAM_SYNTAX)
        .map_err(not_acceptable)?;
    let value = state
        .vault()
        .run_blocking(move |v| match &share {
            Some(share) => v.shown_instance_bulk_blocking(share, &facts, &tag),
            None => v.instance_bulk_blocking(&facts, &tag),
        })
        .await
        .map_err(refusal)?
        .ok_or_else(|| ApiError::not_found("bulk data"))?;
    multipart(
        "application/octet-stream",
        std::iter::once(("application/octet-stream", value.as_slice())),
    )
}

/// `1,2,3` as numbers; 400 when it is anything else.
pub(crate) fn parse_frame_list(list: &str) -> Result<Vec<u32>, ApiError> {
    let bad = || {
        ApiError::bad_request(
            "invalid-frame-list",
            "frames are 1-based numbers separated by commas",
        )
    };
    list.split(',')
        .map(|n| {
            let n = n.trim();
            if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            n.parse::<u32>().map_err(|_| bad())
        })
        .collect()
}

fn refusal(e: VaultError) -> ApiError {
    match e {
        VaultError::Frames(FrameRefusal::InvalidList(detail)) => {
            ApiError::bad_request("invalid-frame-list", detail)
        }
        VaultError::Frames(FrameRefusal::NoSuchFrame { number, frames }) => ApiError::new(
            StatusCode::NOT_FOUND,
            "not-found",
            format!("frame {number} does not exist: the instance has {frames}"),
        ),
        VaultError::Frames(FrameRefusal::NotServable(_)) => ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "not-acceptable",
            "this pixel data is served frame by frame, as stored",
        ),
        other => other.into(),
    }
}

fn multipart<'a>(
    part_type: &str,
    parts: impl Iterator<Item = (&'a str, &'a [u8])>,
) -> Result<Response, ApiError> {
    let boundary = sv_dicomweb::BOUNDARY;
    let mut body = Vec::new();
    for (n, (content_type, bytes)) in parts.enumerate() {
        body.extend(if n == 0 {
            sv_dicomweb::part_header(boundary, content_type)
        } else {
            sv_dicomweb::next_part_header(boundary, content_type)
        });
        body.extend_from_slice(bytes);
    }
    body.extend(sv_dicomweb::closing(boundary));
    Response::builder()
        .status(StatusCode::OK)
        .header(
            CONTENT_TYPE,
            sv_dicomweb::multipart_content_type(part_type, boundary),
        )
        .header(CACHE_CONTROL, "private, no-store")
        .body(body.into())
        .map_err(|e| ApiError::internal(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_lists_are_comma_separated_numbers() {
        assert_eq!(parse_frame_list("1").unwrap(), [1]);
        assert_eq!(parse_frame_list("3,1,2").unwrap(), [3, 1, 2]);
        for bad in ["", "1,", ",1", "a", "1-3", "-1", "+1", "1.0", "99999999999"] {
            assert!(parse_frame_list(bad).is_err(), "{bad}");
        }
    }
}
