//! The change feed, `GET /v1/records/{rid}/operations?since=N&max=M`: every create, update
//! and delete with its per-record sequence number (HealthVault's GetRecordOperations), so
//! apps can sync incrementally. JSON by default; HealthVault's XML with
//! `Accept: application/xml`.
//!
//! A token sees the operations on the types it may read; `next_since` moves past the ones it
//! may not, so paging never stalls.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sv_hvxml::{RecordOperation, write_record_operations};
use sv_model::Permissions;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::records::parse_record_id;
use crate::representation::{Repr, xml_response};
use crate::things::refusal;
use crate::{ApiError, AppState, Caller};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(operations))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// Operations after this sequence number (default 0: from the start).
    pub since: Option<String>,
    /// At most this many operations, 1 to 1000 (default 100).
    pub max: Option<String>,
}

/// A page of the change feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct Operations {
    /// The record's latest sequence number (0 when nothing happened yet).
    pub latest: u64,
    /// Oldest first.
    pub operations: Vec<Operation>,
    /// Pass as `since` for the next page; equal to `latest` when caught up.
    pub next_since: u64,
}

/// One create, update or delete.
#[derive(Debug, Serialize, ToSchema)]
pub struct Operation {
    /// Dense, starting at 1, per record.
    pub sequence_number: u64,
    /// `Create`, `Update` or `Delete`.
    pub operation: String,
    pub thing_id: String,
    /// The version the operation produced.
    pub version_stamp: String,
    pub type_id: String,
    /// When it happened (RFC 3339).
    pub at: String,
}

/// The change feed (see the module notes).
#[utoipa::path(get, path = "/v1/records/{rid}/operations", tag = "things",
    params(("rid" = String, Path, description = "record id"), FeedQuery),
    responses((status = 200, description = "operations after `since`",
        content((Operations = "application/json"), (String = "application/xml"))),
        (status = 400, body = crate::ErrorBody), (status = 401, body = crate::ErrorBody),
        (status = 403, body = crate::ErrorBody), (status = 404, body = crate::ErrorBody)))]
async fn operations(
    State(state): State<AppState>,
    caller: Caller,
    Path(rid): Path<String>,
    query: Result<Query<FeedQuery>, QueryRejection>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request("invalid-query", e.body_text()))?;
    let record = parse_record_id(&rid)?;
    // The record scope first (another record's token is told "not found" before anything
    // about its query); what the caller may read is the vault's decision.
    caller.require(record, None, Permissions::NONE)?;
    let since = match q.since.as_deref() {
        None => 0,
        Some(s) => s
            .parse::<u64>()
            .map_err(|_| ApiError::bad_request("invalid-since", "since is a sequence number"))?,
    };
    let max = match q.max.as_deref() {
        None => 100,
        Some(m) => m
            .parse::<usize>()
            .ok()
            .filter(|m| (1..=1000).contains(m))
            .ok_or_else(|| ApiError::bad_request("invalid-max", "max is 1 to 1000"))?,
    };
    let principal = caller.0;
    let page = state
        .vault()
        .run_io(move |v| v.feed_blocking(&principal, record, since, max))
        .await?
        .map_err(refusal)?;
    let operations = Operations {
        latest: page.latest,
        next_since: page.next_since,
        operations: page
            .changes
            .iter()
            .map(|c| Operation {
                sequence_number: c.seq,
                operation: c.op.as_str().to_owned(),
                thing_id: c.thing_id.to_string(),
                version_stamp: c.version.to_string(),
                type_id: c.type_id.to_string(),
                at: c.at.to_rfc3339(),
            })
            .collect(),
    };
    let xml = || {
        let ops: Vec<RecordOperation<'_>> = page
            .changes
            .iter()
            .map(|c| RecordOperation {
                operation: c.op.as_str(),
                sequence_number: c.seq,
                thing_id: c.thing_id,
                version: c.version,
                type_id: c.type_id,
            })
            .collect();
        write_record_operations(page.latest, &ops)
    };
    Ok(match Repr::negotiate(&headers, Repr::Json) {
        Repr::Json => axum::Json(operations).into_response(),
        Repr::Xml => xml_response(StatusCode::OK, xml()),
    })
}
