//! HealthVault-style things: query, create, read, update, delete and version history, as
//! `<thing>` XML (the default) or JSON (`Accept: application/json`).
//!
//! `ETag` is `"<version-stamp>"`; updates need `If-Match` with it (428 without, 412 when
//! stale), deletes take it optionally. The type of an existing thing decides which permission
//! applies; sv-vault checks it once it has loaded the thing.

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header::{LINK, LOCATION};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sv_hvxml::{Sections, XmlLimits};
use sv_model::{Permissions, RecordId, ThingId, VersionStamp};
use sv_vault::{ThingDraft, ThingRefusal};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

mod query;
mod versions;

pub use query::ThingsQuery;
use query::{next_query, sections, thing_query};

use crate::records::parse_record_id;
use crate::representation::{
    IfMatch, Repr, ThingJson, Urls, read_xml_body, stale, thing_response, version_etag, xml_error,
    xml_response,
};
use crate::{ApiError, AppState, Caller};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(query_things, create_thing))
        .routes(routes!(read_thing, update_thing, delete_thing))
        .routes(routes!(versions::thing_versions))
}

/// `?sections=` of a single thing read.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReadQuery {
    /// Comma-separated: `core`, `audits`, `xml`, `blobpayload` (default: all).
    pub sections: Option<String>,
    /// A version stamp from the history: that version (deleted things too).
    pub version: Option<String>,
}

/// A page of things in JSON; the XML form is `<things>` ending with `<continuation>`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ThingsPage {
    pub things: Vec<ThingJson>,
    /// Pass back as `after=` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// Queries things: `<things>` of whole `<thing>` elements (or JSON), paged by key.
///
/// The next page's token is in `<continuation>` (XML), `next` (JSON) and a `Link: …;
/// rel="next"` header.
#[utoipa::path(get, path = "/v1/records/{rid}/things", tag = "things",
    params(("rid" = String, Path, description = "record id"), ThingsQuery),
    responses((status = 200, description = "`<things>` (application/xml, the default) or JSON",
        content((ThingsPage = "application/json"), (String = "application/xml"))),
        (status = 400, body = crate::ErrorBody), (status = 401, body = crate::ErrorBody),
        (status = 403, body = crate::ErrorBody), (status = 404, body = crate::ErrorBody)))]
async fn query_things(
    State(state): State<AppState>,
    caller: Caller,
    Path(rid): Path<String>,
    query: Result<Query<ThingsQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request("invalid-query", e.body_text()))?;
    let record = parse_record_id(&rid)?;
    caller.require(record, None, Permissions::NONE)?;
    let query = thing_query(&q)?;
    caller.require(record, query.type_id, Permissions::READ)?;
    let sections = sections(q.sections.as_deref())?;
    let repr = Repr::negotiate(&headers, Repr::Xml);
    let urls = Urls::new(&state, record);
    let assemble = sections.xml || sections.blob_payload;
    let (mut response, next) = state
        .vault()
        .run_io(move |v| {
            let page = v.query_things_blocking(record, &query, assemble)?;
            let next = page.next.map(|c| format!("{}.{}", c.type_id, c.thing_id));
            let response = match repr {
                Repr::Xml => xml_response(
                    StatusCode::OK,
                    urls.things_xml(record, &page.things, sections, next.as_deref()),
                ),
                Repr::Json => {
                    let things = page.things.iter();
                    let page = ThingsPage {
                        things: things
                            .map(|t| ThingJson::new(&urls, record, t, sections))
                            .collect(),
                        next: next.clone(),
                    };
                    axum::Json(page).into_response()
                }
            };
            Ok((response, next))
        })
        .await?;
    if let Some(next) = next {
        let things = Urls::new(&state, record).things();
        let link = format!("<{things}?{}>; rel=\"next\"", next_query(&q, &next));
        if let Ok(v) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(LINK, v);
        }
    }
    Ok(response)
}

/// Creates a thing of any type from a `<thing>` (no `thing-id`; `type-id` and `data-xml`
/// required). The medical-image-study type is refused: ingest builds it.
#[utoipa::path(post, path = "/v1/records/{rid}/things", tag = "things",
    params(("rid" = String, Path, description = "record id")),
    request_body(content = String, content_type = "application/xml", description = "a `<thing>`"),
    responses((status = 201, description = "the created thing; `Location` and `ETag` set",
        content((ThingJson = "application/json"), (String = "application/xml"))),
        (status = 400, description = "malformed-xml, doctype-forbidden, too-deep, missing-type-id, missing-data-xml …", body = crate::ErrorBody),
        (status = 401, body = crate::ErrorBody), (status = 403, body = crate::ErrorBody),
        (status = 404, body = crate::ErrorBody),
        (status = 409, description = "managed-by-ingest", body = crate::ErrorBody),
        (status = 413, body = crate::ErrorBody), (status = 415, body = crate::ErrorBody)))]
async fn create_thing(
    State(state): State<AppState>,
    caller: Caller,
    Path(rid): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let record = parse_record_id(&rid)?;
    caller.require(record, None, Permissions::NONE)?;
    let limit = state.config().limits.max_document_bytes;
    let bytes = read_xml_body(&headers, body, limit).await?;
    let principal = caller.0;
    let thing = state
        .vault()
        .run_io(move |v| {
            let (draft, _) = match parse_draft(&bytes, limit) {
                Ok(d) => d,
                Err(e) => return Ok(Err(e)),
            };
            Ok(v.create_thing_blocking(&principal, record, draft)?
                .map_err(refusal))
        })
        .await??;
    let urls = Urls::new(&state, record);
    let repr = Repr::negotiate(&headers, Repr::Xml);
    let mut response = thing_response(
        StatusCode::CREATED,
        repr,
        &urls,
        record,
        &thing,
        Sections::ALL,
    );
    if let Ok(location) = HeaderValue::from_str(&urls.thing(thing.id)) {
        response.headers_mut().insert(LOCATION, location);
    }
    Ok(response)
}

/// Reads one thing with its `blob-payload` (a study comes assembled: its
/// `<medical-image-study>` and every instance and preview blob). Deleted things are 404 here;
/// `?version=` reads any version from the history.
#[utoipa::path(get, path = "/v1/records/{rid}/things/{tid}", tag = "things",
    params(("rid" = String, Path, description = "record id"), ("tid" = String, Path, description = "thing id"), ReadQuery),
    responses((status = 200, description = "the thing; `ETag` is its version stamp",
        content((ThingJson = "application/json"), (String = "application/xml"))),
        (status = 401, body = crate::ErrorBody), (status = 403, body = crate::ErrorBody),
        (status = 404, body = crate::ErrorBody)))]
async fn read_thing(
    State(state): State<AppState>,
    caller: Caller,
    Path((rid, tid)): Path<(String, String)>,
    query: Result<Query<ReadQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request("invalid-query", e.body_text()))?;
    let (record, tid) = ids(&caller, &rid, &tid)?;
    let sections = sections(q.sections.as_deref())?;
    let version = match q.version.as_deref() {
        Some(v) => Some(v.parse().map_err(|_| ApiError::not_found("version"))?),
        None => None,
    };
    let principal = caller.0;
    let thing = state
        .vault()
        .run_io(move |v| v.read_thing_blocking(&principal, record, tid, version))
        .await?
        .map_err(refusal)?;
    let repr = Repr::negotiate(&headers, Repr::Xml);
    let urls = Urls::new(&state, record);
    Ok(thing_response(
        StatusCode::OK,
        repr,
        &urls,
        record,
        &thing,
        sections,
    ))
}

/// Updates a thing's `data-xml` (and `flags`) from a `<thing>`: `If-Match:
/// "<version-stamp>"` is required. A `<thing>` without `data-xml` keeps the stored XML.
#[utoipa::path(put, path = "/v1/records/{rid}/things/{tid}", tag = "things",
    params(("rid" = String, Path, description = "record id"), ("tid" = String, Path, description = "thing id"),
        ("If-Match" = String, Header, description = "the version stamp the change is based on, quoted")),
    request_body(content = String, content_type = "application/xml", description = "a `<thing>`"),
    responses((status = 200, description = "the new version; `ETag` set",
        content((ThingJson = "application/json"), (String = "application/xml"))),
        (status = 400, body = crate::ErrorBody), (status = 401, body = crate::ErrorBody),
        (status = 403, body = crate::ErrorBody), (status = 404, body = crate::ErrorBody),
        (status = 409, description = "managed-by-ingest", body = crate::ErrorBody),
        (status = 412, description = "version-conflict", body = crate::ErrorBody),
        (status = 413, body = crate::ErrorBody), (status = 415, body = crate::ErrorBody),
        (status = 428, description = "version-required", body = crate::ErrorBody)))]
async fn update_thing(
    State(state): State<AppState>,
    caller: Caller,
    Path((rid, tid)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let (record, tid) = ids(&caller, &rid, &tid)?;
    let expected = match IfMatch::parse(&headers)? {
        IfMatch::Version(v) => v,
        IfMatch::Unmatchable => return Err(stale(None)),
        IfMatch::Absent | IfMatch::Any => {
            return Err(ApiError::new(
                StatusCode::PRECONDITION_REQUIRED,
                "version-required",
                "send If-Match: \"<version-stamp>\" of the version the change is based on",
            ));
        }
    };
    let limit = state.config().limits.max_document_bytes;
    let bytes = read_xml_body(&headers, body, limit).await?;
    let principal = caller.0;
    let thing = state
        .vault()
        .run_io(move |v| {
            let (draft, body_version) = match parse_draft(&bytes, limit) {
                Ok(d) => d,
                Err(e) => return Ok(Err(e)),
            };
            if body_version.is_some_and(|b| b != expected) {
                return Ok(Err(ApiError::bad_request(
                    "version-mismatch",
                    "the body's version-stamp differs from If-Match",
                )));
            }
            Ok(
                v.update_thing_blocking(&principal, record, tid, expected, draft)?
                    .map_err(refusal),
            )
        })
        .await??;
    let repr = Repr::negotiate(&headers, Repr::Xml);
    let urls = Urls::new(&state, record);
    Ok(thing_response(
        StatusCode::OK,
        repr,
        &urls,
        record,
        &thing,
        Sections::ALL,
    ))
}

/// Soft-deletes a thing (a tombstone version; its history stays readable). `If-Match` is
/// optional; deleting a deleted thing changes nothing.
#[utoipa::path(delete, path = "/v1/records/{rid}/things/{tid}", tag = "things",
    params(("rid" = String, Path, description = "record id"), ("tid" = String, Path, description = "thing id"),
        ("If-Match" = Option<String>, Header, description = "the version stamp the delete is based on, quoted")),
    responses((status = 204, description = "deleted; `ETag` is the tombstone's version stamp"),
        (status = 401, body = crate::ErrorBody), (status = 403, body = crate::ErrorBody),
        (status = 404, body = crate::ErrorBody),
        (status = 412, description = "version-conflict", body = crate::ErrorBody)))]
async fn delete_thing(
    State(state): State<AppState>,
    caller: Caller,
    Path((rid, tid)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (record, tid) = ids(&caller, &rid, &tid)?;
    let expected = IfMatch::parse(&headers)?.optional()?;
    let principal = caller.0;
    let version = state
        .vault()
        .run_io(move |v| v.delete_thing_blocking(&principal, record, tid, expected))
        .await?
        .map_err(refusal)?;
    Ok((
        StatusCode::NO_CONTENT,
        [(axum::http::header::ETAG, version_etag(version))],
    )
        .into_response())
}

/// The record and thing of a path, after checking the token is for this record.
pub(crate) fn ids(caller: &Caller, rid: &str, tid: &str) -> Result<(RecordId, ThingId), ApiError> {
    let record = parse_record_id(rid)?;
    caller.require(record, None, Permissions::NONE)?;
    let tid = tid.parse().map_err(|_| ApiError::not_found("thing"))?;
    Ok((record, tid))
}

/// A refusal of the use case as an HTTP answer.
pub(crate) fn refusal(r: ThingRefusal) -> ApiError {
    match r {
        ThingRefusal::NotFound => ApiError::not_found("thing"),
        ThingRefusal::BlobNotFound => ApiError::not_found("blob"),
        ThingRefusal::OtherRecord => ApiError::not_found("record"),
        ThingRefusal::Forbidden => ApiError::forbidden(),
        ThingRefusal::Conflict { current } => stale(Some(current)),
        ThingRefusal::ManagedByIngest => ApiError::new(
            StatusCode::CONFLICT,
            "managed-by-ingest",
            "medical-image-study things are built by ingest (POST …/studies), not written directly",
        ),
        ThingRefusal::MissingTypeId => {
            ApiError::bad_request("missing-type-id", "a new thing needs a <type-id>")
        }
        ThingRefusal::MissingDataXml => {
            ApiError::bad_request("missing-data-xml", "a new thing needs a <data-xml>")
        }
        ThingRefusal::ThingIdMismatch => ApiError::bad_request(
            "thing-id-mismatch",
            "the body's thing-id is not the thing in the URL (a create names none)",
        ),
        ThingRefusal::TypeMismatch => ApiError::bad_request(
            "type-mismatch",
            "the body's type-id is not the thing's type",
        ),
    }
}

/// A client's `<thing>` as a draft, with the version stamp its `thing-id` carried.
fn parse_draft(bytes: &[u8], limit: usize) -> Result<(ThingDraft, Option<VersionStamp>), ApiError> {
    let limits = XmlLimits {
        max_bytes: limit,
        ..XmlLimits::DEFAULT
    };
    let input = sv_hvxml::read_thing(bytes, &limits).map_err(|e| xml_error(&e))?;
    let draft = ThingDraft {
        thing_id: input.key.map(|k| k.id),
        type_id: input.type_id,
        flags: input.flags,
        data_xml: input.data_xml.map(|d| d.into_string()),
    };
    Ok((draft, input.key.map(|k| k.version)))
}
