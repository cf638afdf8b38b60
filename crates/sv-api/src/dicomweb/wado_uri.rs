//! WADO-URI (PS3.18 chapter 9), for legacy viewers and links:
//! `GET …/dicomweb/wado?requestType=WADO&studyUID=…&seriesUID=…&objectUID=…[&contentType=…]`.
//!
//! `contentType=application/dicom` answers the instance's file (as WADO-RS parts are, with
//! the preamble and meta it may have come without); otherwise an image gets its stored preview
//! (`image/jpeg` is the default for images, PS3.18 9.5.1; the stored format must match) and an
//! object without pixels its file. Parameters that would change the image (`rows`, `columns`,
//! `region`, `windowCenter`, `windowWidth`, `frameNumber`, `imageQuality`, `annotation`,
//! `presentationUID`, `anonymize`) are refused with 400 for now, and a `transferSyntax` other
//! than the stored one with 406: nothing is re-rendered or transcoded yet.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use sv_model::Permissions;
use sv_model::study::InstanceFacts;

use super::allowed;
use crate::blobs::stream::stream_reader;
use crate::studies::previews::{INSTANCE_CACHING, load, respond};
use crate::{ApiError, AppState, Caller};

/// Parameters that would make another image than the stored preview.
const NOT_YET: [&str; 10] = [
    "rows",
    "columns",
    "region",
    "windowCenter",
    "windowWidth",
    "frameNumber",
    "imageQuality",
    "annotation",
    "presentationUID",
    "anonymize",
];

/// WADO-URI: one instance, as its file or its preview.
#[utoipa::path(get, path = "/v1/records/{rid}/dicomweb/wado", tag = "dicomweb",
    params(("rid" = String, Path, description = "record id"),
        ("requestType" = String, Query, description = "WADO"), ("studyUID" = String, Query),
        ("seriesUID" = String, Query), ("objectUID" = String, Query),
        ("contentType" = Option<String>, Query, description = "application/dicom, image/jpeg or image/png")),
    responses((status = 200, description = "the file or the preview"), (status = 400), (status = 401),
        (status = 403), (status = 404), (status = 406)))]
pub(super) async fn wado_uri(
    State(state): State<AppState>,
    caller: Caller,
    Path(rid): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let record = allowed(&caller, &rid, Permissions::READ)?;
    if params.get("requestType").map(String::as_str) != Some("WADO") {
        return Err(ApiError::bad_request(
            "invalid-request-type",
            "requestType=WADO is required",
        ));
    }
    let uid = |name: &'static str| {
        params
            .get(name)
            .map(|v| v.trim_end_matches('\0').trim().to_owned())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ApiError::bad_request("missing-uid", format!("{name} is required")))
    };
    let (study, series, object) = (uid("studyUID")?, uid("seriesUID")?, uid("objectUID")?);
    if let Some(name) = NOT_YET.iter().find(|n| params.contains_key(**n)) {
        return Err(ApiError::bad_request(
            "unsupported-parameter",
            format!("'{name}' is not supported yet: the answer is the stored file or preview"),
        ));
    }
    let found = {
        let (study, series, object) = (study.clone(), series.clone(), object.clone());
        state
            .vault()
            .run_io(move |v| {
                v.retrieval_instances_blocking(record, &study, Some(&series), Some(&object))
            })
            .await?
    };
    let Some(facts) = found.into_iter().next() else {
        return Err(ApiError::not_found("instance"));
    };
    if let Some(ts) = params.get("transferSyntax")
        && *ts != facts.transfer_syntax_uid
    {
        return Err(ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "not-acceptable",
            "the instance is served in its stored transfer syntax only",
        ));
    }
    let content_type = params.get("contentType").map(|c| c.to_ascii_lowercase());
    let wants_file = match content_type.as_deref() {
        Some("application/dicom") => true,
        Some(_) => false,
        None => facts.preview.is_none() && facts.rows.is_none(),
    };
    if wants_file {
        return file_response(&state, facts).await;
    }
    let vault = state.vault();
    let preview = vault
        .instance_preview(record, &study, Some(&series), &object)?
        .ok_or_else(|| ApiError::not_found("instance"))?;
    if let (Some(wanted), Some(p)) = (&content_type, &preview)
        && *wanted != p.media_type
    {
        return Err(ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "not-acceptable",
            format!("the image is {}", p.media_type),
        ));
    }
    let served = load(vault, preview, &headers).await?;
    respond(served, INSTANCE_CACHING, None)
}

/// The instance's file as `application/dicom`, streamed from a blocking thread.
async fn file_response(state: &AppState, facts: InstanceFacts) -> Result<Response, ApiError> {
    let file = state
        .vault()
        .run_io(move |v| v.instance_file_blocking(&facts))
        .await?;
    let mut response = Response::new(stream_reader(file));
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/dicom"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(response)
}
