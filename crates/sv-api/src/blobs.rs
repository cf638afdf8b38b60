//! Blob bytes of a thing: `GET/PUT/DELETE …/things/{tid}/blobs/{name}`, and `…/blob` for
//! the default blob (name `""`).
//!
//! Reads stream from a blocking thread through a small channel (never the whole blob in
//! memory), verified as read: a blob found corrupt mid-stream aborts the body, it never ends
//! cleanly with wrong bytes. `ETag` is `"<blake3 hex>"`; `If-None-Match` answers 304 before
//! any blob IO; one `Range` answers 206, an unsatisfiable one 416 (`Content-Range: bytes
//! */len`), and several ranges at once get the whole blob with 200.
//!
//! Writes stream the request body into the blob store, counted against
//! `ApiLimits::max_blob_bytes` (413 with a JSON body; nothing is stored). `If-Match` on writes
//! is the *thing's* version stamp, as for things.

use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::header::{
    ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, LOCATION, RANGE,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde::Serialize;
use sv_model::{BlobName, RecordId, ThingId};
use tokio::sync::mpsc;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

mod range;
pub(crate) mod stream;

use range::{RangeAsk, if_range_holds, none_match, parse_range};
use stream::{ChannelReader, Pumped, pump, stream_reader};

use crate::representation::{IfMatch, Urls, declared_length};
use crate::things::{ids, refusal};
use crate::{ApiError, AppState, Caller};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_blob, put_blob, delete_blob))
        .routes(routes!(
            get_default_blob,
            put_default_blob,
            delete_default_blob
        ))
        .route("/v1/records/{rid}/things/{tid}/blobs/", any(empty_name))
        // Blob bodies are raw streams counted against max_blob_bytes in `store`, and a PUT
        // takes as long as its upload does (no request timeout).
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn(crate::limits::untimed_put))
}

/// A stored blob as a PUT answers it.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoredBlob {
    pub name: String,
    pub content_type: String,
    pub length: u64,
    /// The blake3 digest (hex), also the `ETag`.
    pub blake3: String,
    pub blob_ref_url: String,
    /// The thing's version after the change (use it in the next `If-Match`).
    pub version_stamp: String,
}

/// The thing's version after a blob was removed.
#[derive(Debug, Serialize, ToSchema)]
pub struct BlobRemoved {
    pub version_stamp: String,
}

/// Streams a named blob (see the module notes on `Range`, `ETag` and `If-None-Match`).
#[utoipa::path(get, path = "/v1/records/{rid}/things/{tid}/blobs/{name}", tag = "blobs",
    params(("rid" = String, Path, description = "record id"), ("tid" = String, Path, description = "thing id"),
        ("name" = String, Path, description = "blob name, percent-encoded"),
        ("Range" = Option<String>, Header, description = "one byte range; several get the whole blob (200)"),
        ("If-None-Match" = Option<String>, Header, description = "\"<blake3 hex>\" -> 304")),
    responses((status = 200, description = "the bytes", content_type = "application/octet-stream"),
        (status = 206, description = "the requested range"), (status = 304, description = "not modified"),
        (status = 400, description = "invalid-blob-name", body = crate::ErrorBody),
        (status = 401, body = crate::ErrorBody), (status = 403, body = crate::ErrorBody),
        (status = 404, body = crate::ErrorBody),
        (status = 416, description = "range-not-satisfiable; `Content-Range: bytes */len`", body = crate::ErrorBody)))]
async fn get_blob(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<(String, String, String)>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (rid, tid, name) = named(path)?;
    let (record, tid) = ids(&caller, &rid, &tid)?;
    serve(state, caller, record, tid, blob_name(name)?, headers).await
}

/// Stores the request body as a named blob of the thing (a new thing version). `Content-Type`
/// is required; `If-Match` (the thing's version stamp) is optional.
#[utoipa::path(put, path = "/v1/records/{rid}/things/{tid}/blobs/{name}", tag = "blobs",
    params(("rid" = String, Path, description = "record id"), ("tid" = String, Path, description = "thing id"),
        ("name" = String, Path, description = "blob name, percent-encoded"),
        ("If-Match" = Option<String>, Header, description = "the thing's version stamp, quoted")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "the bytes, any Content-Type"),
    responses((status = 201, description = "a new name", body = StoredBlob),
        (status = 200, description = "a name replaced", body = StoredBlob),
        (status = 400, description = "invalid-blob-name, content-type-required", body = crate::ErrorBody),
        (status = 401, body = crate::ErrorBody), (status = 403, body = crate::ErrorBody),
        (status = 404, body = crate::ErrorBody),
        (status = 409, description = "managed-by-ingest", body = crate::ErrorBody),
        (status = 412, description = "version-conflict", body = crate::ErrorBody),
        (status = 413, body = crate::ErrorBody)))]
async fn put_blob(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<(String, String, String)>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let (rid, tid, name) = named(path)?;
    let (record, tid) = ids(&caller, &rid, &tid)?;
    store(state, caller, record, tid, blob_name(name)?, headers, body).await
}

/// Removes a blob name from the thing (a new thing version; the bytes stay while other
/// names point at them).
#[utoipa::path(delete, path = "/v1/records/{rid}/things/{tid}/blobs/{name}", tag = "blobs",
    params(("rid" = String, Path, description = "record id"), ("tid" = String, Path, description = "thing id"),
        ("name" = String, Path, description = "blob name, percent-encoded"),
        ("If-Match" = Option<String>, Header, description = "the thing's version stamp, quoted")),
    responses((status = 200, body = BlobRemoved),
        (status = 400, body = crate::ErrorBody), (status = 401, body = crate::ErrorBody),
        (status = 403, body = crate::ErrorBody), (status = 404, body = crate::ErrorBody),
        (status = 409, description = "managed-by-ingest", body = crate::ErrorBody),
        (status = 412, description = "version-conflict", body = crate::ErrorBody)))]
async fn delete_blob(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<(String, String, String)>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (rid, tid, name) = named(path)?;
    let (record, tid) = ids(&caller, &rid, &tid)?;
    remove(state, caller, record, tid, blob_name(name)?, headers).await
}

/// The default blob (name `""`), as `GET …/blobs/{name}`.
#[utoipa::path(get, path = "/v1/records/{rid}/things/{tid}/blob", tag = "blobs",
    params(("rid" = String, Path, description = "record id"), ("tid" = String, Path, description = "thing id")),
    responses((status = 200, description = "the bytes"), (status = 206), (status = 304),
        (status = 404, body = crate::ErrorBody), (status = 416, body = crate::ErrorBody)))]
async fn get_default_blob(
    State(state): State<AppState>,
    caller: Caller,
    Path((rid, tid)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (record, tid) = ids(&caller, &rid, &tid)?;
    serve(
        state,
        caller,
        record,
        tid,
        BlobName::default_blob(),
        headers,
    )
    .await
}

/// Stores the default blob (name `""`), as `PUT …/blobs/{name}`.
#[utoipa::path(put, path = "/v1/records/{rid}/things/{tid}/blob", tag = "blobs",
    params(("rid" = String, Path, description = "record id"), ("tid" = String, Path, description = "thing id")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = StoredBlob), (status = 200, body = StoredBlob),
        (status = 412, body = crate::ErrorBody), (status = 413, body = crate::ErrorBody)))]
async fn put_default_blob(
    State(state): State<AppState>,
    caller: Caller,
    Path((rid, tid)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let (record, tid) = ids(&caller, &rid, &tid)?;
    store(
        state,
        caller,
        record,
        tid,
        BlobName::default_blob(),
        headers,
        body,
    )
    .await
}

/// Removes the default blob, as `DELETE …/blobs/{name}`.
#[utoipa::path(delete, path = "/v1/records/{rid}/things/{tid}/blob", tag = "blobs",
    params(("rid" = String, Path, description = "record id"), ("tid" = String, Path, description = "thing id")),
    responses((status = 200, body = BlobRemoved), (status = 404, body = crate::ErrorBody)))]
async fn delete_default_blob(
    State(state): State<AppState>,
    caller: Caller,
    Path((rid, tid)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (record, tid) = ids(&caller, &rid, &tid)?;
    remove(
        state,
        caller,
        record,
        tid,
        BlobName::default_blob(),
        headers,
    )
    .await
}

/// `…/blobs/` with an empty name: the default blob lives at `…/blob`. Answered only to a
/// caller who may ask about the record (the `Caller` extractor settles that first).
async fn empty_name(_caller: Caller) -> ApiError {
    ApiError::bad_request(
        "invalid-blob-name",
        "a blob name is not empty; the default blob is at …/things/{tid}/blob",
    )
}

/// The path of a named blob; one that does not decode (bad percent-encoding, not UTF-8) is a
/// bad name, answered in JSON like every other.
fn named(
    path: Result<Path<(String, String, String)>, PathRejection>,
) -> Result<(String, String, String), ApiError> {
    path.map(|Path(p)| p).map_err(|_| {
        ApiError::bad_request(
            "invalid-blob-name",
            "the blob name is not UTF-8 once decoded",
        )
    })
}

fn blob_name(name: String) -> Result<BlobName, ApiError> {
    BlobName::non_empty(name).map_err(|e| ApiError::bad_request("invalid-blob-name", e.to_string()))
}

async fn serve(
    state: AppState,
    caller: Caller,
    record: RecordId,
    tid: ThingId,
    name: BlobName,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let principal = caller.0;
    let blob = state
        .vault()
        .run_io(move |v| v.named_blob_blocking(&principal, record, tid, &name))
        .await?
        .map_err(refusal)?;
    let etag = HeaderValue::from_str(&format!("\"{}\"", blob.blob_id))
        .expect("hex digits are a valid header value");
    if none_match(&headers, &blob) {
        return Ok((StatusCode::NOT_MODIFIED, [(ETAG, etag)]).into_response());
    }
    let len = blob.length;
    let range = match headers.get(RANGE).and_then(|r| r.to_str().ok()) {
        Some(r) if if_range_holds(&headers, &blob) => parse_range(r, len),
        _ => RangeAsk::Whole,
    };
    let (status, range) = match range {
        RangeAsk::Whole => (StatusCode::OK, None),
        RangeAsk::Part(r) => (StatusCode::PARTIAL_CONTENT, Some(r)),
        RangeAsk::Unsatisfiable => {
            let mut response = ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "range-not-satisfiable",
                format!("the blob has {len} bytes"),
            )
            .into_response();
            let unsatisfied = HeaderValue::from_str(&format!("bytes */{len}")).expect("digits");
            response.headers_mut().insert(CONTENT_RANGE, unsatisfied);
            return Ok(response);
        }
    };
    let id = blob.blob_id;
    let get = range.clone();
    let reader = state
        .vault()
        .run_io(move |v| v.read_blob_blocking(&id, get))
        .await?;
    let mut response = Response::new(stream_reader(reader));
    *response.status_mut() = status;
    let h = response.headers_mut();
    let content_type = HeaderValue::from_str(&blob.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    h.insert(CONTENT_TYPE, content_type);
    h.insert(ETAG, etag);
    h.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    let sent = range.as_ref().map_or(len, |r| r.end - r.start);
    h.insert(CONTENT_LENGTH, HeaderValue::from(sent));
    if let Some(r) = range {
        let value = format!("bytes {}-{}/{len}", r.start, r.end - 1);
        h.insert(
            CONTENT_RANGE,
            HeaderValue::from_str(&value).expect("digits"),
        );
    }
    Ok(response)
}

#[allow(clippy::too_many_arguments)] // the handlers' extracted parts, passed on
async fn store(
    state: AppState,
    caller: Caller,
    record: RecordId,
    tid: ThingId,
    name: BlobName,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 1024)
        .ok_or_else(|| {
            ApiError::bad_request("content-type-required", "send the blob's Content-Type")
        })?
        .to_owned();
    let expected = IfMatch::parse(&headers)?.optional()?;
    let max = state.config().limits.max_blob_bytes;
    let too_large = || ApiError::payload_too_large(format!("a blob is at most {max} bytes"));
    if declared_length(&headers).is_some_and(|n| n > max) {
        return Err(too_large());
    }
    let (tx, rx) = mpsc::channel(8);
    let principal = caller.0;
    let job = state.vault().run_io(move |v| {
        let mut reader = ChannelReader {
            rx,
            buf: Bytes::new(),
        };
        v.put_blob_blocking(
            &principal,
            record,
            tid,
            name,
            content_type,
            expected,
            &mut reader,
        )
    });
    let (outcome, pumped) = tokio::join!(job, pump(body, tx, max));
    match pumped {
        Pumped::TooLarge => return Err(too_large()),
        Pumped::Failed => {
            return Err(ApiError::bad_request(
                "body-unreadable",
                "the request body could not be read",
            ));
        }
        Pumped::Done | Pumped::Abandoned => {}
    }
    let put = outcome?.map_err(refusal)?;
    let url = Urls::new(&state, record).blob(tid, &put.blob);
    let stored = StoredBlob {
        name: put.blob.name.as_str().to_owned(),
        content_type: put.blob.content_type.clone(),
        length: put.blob.length,
        blake3: put.blob.blob_id.to_string(),
        blob_ref_url: url.clone(),
        version_stamp: put.version.to_string(),
    };
    let etag = HeaderValue::from_str(&format!("\"{}\"", put.blob.blob_id)).expect("hex");
    let mut response = (StatusCode::OK, [(ETAG, etag)], axum::Json(stored)).into_response();
    if !put.replaced {
        *response.status_mut() = StatusCode::CREATED;
        if let Ok(location) = HeaderValue::from_str(&url) {
            response.headers_mut().insert(LOCATION, location);
        }
    }
    Ok(response)
}

async fn remove(
    state: AppState,
    caller: Caller,
    record: RecordId,
    tid: ThingId,
    name: BlobName,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let expected = IfMatch::parse(&headers)?.optional()?;
    let principal = caller.0;
    let version = state
        .vault()
        .run_io(move |v| v.delete_blob_blocking(&principal, record, tid, &name, expected))
        .await?
        .map_err(refusal)?;
    let removed = BlobRemoved {
        version_stamp: version.to_string(),
    };
    Ok(axum::Json(removed).into_response())
}
