//! `…/shares`: a record's owner shares one study by link, lists the shares, reads a share's
//! access log and revokes it. The link is in the creation answer only.

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sv_model::{MailState, Permissions, Secret, Share, ShareEvent, Timestamp, TokenId, TypeId};
use sv_vault::{NewShare, ShareRefusal};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::records::parse_record_id;
use crate::{ApiError, AppState, Caller};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_share, list_shares))
        .routes(routes!(revoke_share))
        .routes(routes!(share_log))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewShareBody {
    pub study_instance_uid: String,
    /// Seconds until the link stops working (server default if absent; bounded by the
    /// server's maximum).
    pub expires_in: Option<u64>,
    /// Mail the link to this address (when the server has SMTP configured).
    pub email: Option<String>,
    /// A code the recipient must type; give it to them another way. Never mailed or stored.
    pub passcode: Option<String>,
    pub note: Option<String>,
    #[serde(default)]
    pub allow_download: bool,
    /// Downloads carry de-identified files (PS3.15 Basic Profile).
    #[serde(default)]
    pub deidentify: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedShareBody {
    pub id: String,
    /// The link, shown this once.
    pub url: String,
    pub expires_at: String,
    /// `not-requested`, `not-configured` (the link was not mailed), `queued`.
    pub mail: String,
    pub share: ShareView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShareView {
    pub id: String,
    pub study_instance_uid: String,
    /// `active`, `expired`, `revoked` or `locked`.
    pub state: String,
    pub created: String,
    pub expires_at: String,
    pub revoked_at: Option<String>,
    pub locked_at: Option<String>,
    pub email: Option<String>,
    pub note: Option<String>,
    pub passcode: bool,
    pub allow_download: bool,
    pub deidentify: bool,
    pub views: u64,
    pub downloads: u64,
    pub last_opened: Option<String>,
    pub passcode_failures: u32,
    pub mail: MailView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MailView {
    /// `not-requested`, `not-configured`, `queued`, `sent`, `failed` or `cancelled`.
    pub state: String,
    pub attempts: Option<u32>,
    pub sent_at: Option<String>,
    /// Why the last attempt failed, or why the mail was given up.
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShareEventView {
    pub at: String,
    /// `created`, `opened`, `downloaded`, `passcode-failed`, `locked`, `revoked`,
    /// `mail-sent`, `mail-failed`.
    pub event: String,
    pub detail: Option<String>,
    /// The client's network (an IPv4 /24 or IPv6 /48), never its address.
    pub client: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShareLogBody {
    pub share: ShareView,
    pub events: Vec<ShareEventView>,
}

pub(crate) fn mail_view(m: &MailState) -> MailView {
    let (attempts, sent_at, reason) = match m {
        MailState::Queued {
            attempts,
            last_error,
        } => (Some(*attempts), None, last_error.clone()),
        MailState::Sent { at } => (None, Some(at.to_rfc3339()), None),
        MailState::Failed { reason } => (None, None, Some(reason.clone())),
        _ => (None, None, None),
    };
    MailView {
        state: m.as_str().to_owned(),
        attempts,
        sent_at,
        reason,
    }
}

pub(crate) fn share_view(s: &Share, now: Timestamp) -> ShareView {
    ShareView {
        id: s.id.to_string(),
        study_instance_uid: s.study_instance_uid.clone(),
        state: s.state(now).as_str().to_owned(),
        created: s.created.to_rfc3339(),
        expires_at: s.expires.to_rfc3339(),
        revoked_at: s.revoked.map(|t| t.to_rfc3339()),
        locked_at: s.locked.map(|t| t.to_rfc3339()),
        email: s.email.clone(),
        note: s.note.clone(),
        passcode: s.passcode.is_some(),
        allow_download: s.allow_download,
        deidentify: s.deidentify,
        views: s.views,
        downloads: s.downloads,
        last_opened: s.last_opened.map(|t| t.to_rfc3339()),
        passcode_failures: s.failures,
        mail: mail_view(&s.mail),
    }
}

pub(crate) fn event_view(e: &ShareEvent) -> ShareEventView {
    ShareEventView {
        at: e.at.to_rfc3339(),
        event: e.kind.as_str().to_owned(),
        detail: e.detail.clone(),
        client: e.client.clone(),
    }
}

/// The answer to a refused share request.
pub(crate) fn refusal(r: &ShareRefusal) -> ApiError {
    match r {
        ShareRefusal::NoSuchStudy => ApiError::not_found("study"),
        ShareRefusal::Expiry { .. } => ApiError::bad_request("invalid-expiry", r.to_string()),
        ShareRefusal::Email => ApiError::bad_request("invalid-email", r.to_string()),
        ShareRefusal::Passcode => ApiError::bad_request("invalid-passcode", r.to_string()),
        ShareRefusal::Note => ApiError::bad_request("invalid-note", r.to_string()),
    }
}

/// Sharing is the owner's: it hands a study to someone else, so it needs every permission on
/// studies, not just read.
pub(crate) fn may_share(caller: &Caller, rid: &str) -> Result<sv_model::RecordId, ApiError> {
    let record = parse_record_id(rid)?;
    caller.require(record, Some(TypeId::MEDICAL_IMAGE_STUDY), Permissions::ALL)?;
    Ok(record)
}

/// Shares one study by link.
#[utoipa::path(post, path = "/v1/records/{rid}/shares", tag = "shares", request_body = NewShareBody,
    params(("rid" = String, Path, description = "record id")),
    responses((status = 201, body = CreatedShareBody), (status = 400, body = crate::ErrorBody),
        (status = 404, body = crate::ErrorBody, description = "no such record or study")))]
async fn create_share(
    State(state): State<AppState>,
    caller: Caller,
    Path(rid): Path<String>,
    Json(body): Json<NewShareBody>,
) -> Result<(StatusCode, Json<CreatedShareBody>), ApiError> {
    let record = may_share(&caller, &rid)?;
    let new = NewShare {
        study_instance_uid: body.study_instance_uid,
        expires_in: body.expires_in.map(Duration::from_secs),
        email: body.email,
        passcode: body.passcode.map(Secret::new),
        note: body.note,
        allow_download: body.allow_download,
        deidentify: body.deidentify,
    };
    let now = Timestamp::now();
    let created = state
        .vault()
        .run_io(move |v| v.create_share_blocking(record, new, now))
        .await?
        .map_err(|r| refusal(&r))?;
    let body = CreatedShareBody {
        id: created.share.id.to_string(),
        url: created.url,
        expires_at: created.share.expires.to_rfc3339(),
        mail: created.share.mail.as_str().to_owned(),
        share: share_view(&created.share, now),
    };
    Ok((StatusCode::CREATED, Json(body)))
}

/// The record's shares, newest first: revoked and expired ones stay listed.
#[utoipa::path(get, path = "/v1/records/{rid}/shares", tag = "shares",
    params(("rid" = String, Path, description = "record id")),
    responses((status = 200, body = [ShareView]), (status = 404, body = crate::ErrorBody)))]
async fn list_shares(
    State(state): State<AppState>,
    caller: Caller,
    Path(rid): Path<String>,
) -> Result<Json<Vec<ShareView>>, ApiError> {
    let record = may_share(&caller, &rid)?;
    let shares = state
        .vault()
        .run_io(move |v| v.shares_blocking(record))
        .await?;
    let now = Timestamp::now();
    Ok(Json(shares.iter().map(|s| share_view(s, now)).collect()))
}

fn parse_share_id(id: &str) -> Result<TokenId, ApiError> {
    id.parse().map_err(|_| ApiError::not_found("share"))
}

/// Revokes a share: its link stops working on the next request, everywhere.
#[utoipa::path(delete, path = "/v1/records/{rid}/shares/{id}", tag = "shares",
    params(("rid" = String, Path, description = "record id"), ("id" = String, Path, description = "share id")),
    responses((status = 200, body = ShareView), (status = 404, body = crate::ErrorBody)))]
async fn revoke_share(
    State(state): State<AppState>,
    caller: Caller,
    Path((rid, id)): Path<(String, String)>,
) -> Result<Json<ShareView>, ApiError> {
    let record = may_share(&caller, &rid)?;
    let id = parse_share_id(&id)?;
    let now = Timestamp::now();
    let share = state
        .vault()
        .run_io(move |v| v.revoke_share_blocking(record, id, now))
        .await?
        .ok_or_else(|| ApiError::not_found("share"))?;
    Ok(Json(share_view(&share, now)))
}

/// A share's access log: opened, downloaded, passcode failures, lock, revoke, mail.
#[utoipa::path(get, path = "/v1/records/{rid}/shares/{id}/log", tag = "shares",
    params(("rid" = String, Path, description = "record id"), ("id" = String, Path, description = "share id")),
    responses((status = 200, body = ShareLogBody), (status = 404, body = crate::ErrorBody)))]
async fn share_log(
    State(state): State<AppState>,
    caller: Caller,
    Path((rid, id)): Path<(String, String)>,
) -> Result<Json<ShareLogBody>, ApiError> {
    let record = may_share(&caller, &rid)?;
    let id = parse_share_id(&id)?;
    let (share, events) = state
        .vault()
        .run_io(move |v| v.share_log_blocking(record, id))
        .await?
        .ok_or_else(|| ApiError::not_found("share"))?;
    Ok(Json(ShareLogBody {
        share: share_view(&share, Timestamp::now()),
        events: events.iter().map(event_view).collect(),
    }))
}
