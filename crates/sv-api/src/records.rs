//! Records and their app tokens.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sv_model::{Grant, Permissions, RecordId, Timestamp, Token, TokenId, TypeId};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::{ApiError, AppState, Caller};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_record))
        .routes(routes!(create_token, list_tokens))
        .routes(routes!(revoke_token))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewRecord {
    /// A name for people, e.g. the person's name or "Mum". Share recipients see it as who
    /// shared a study with them.
    pub name: String,
    /// The owner's e-mail address: one-time sign-in links for the web pages go there.
    pub owner_email: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedRecord {
    pub id: String,
    /// The record owner's token (every permission). Shown once.
    pub token: String,
}

/// Creates a record (admin token only) and its owner token.
#[utoipa::path(post, path = "/v1/records", tag = "records", request_body = NewRecord,
    responses((status = 201, body = CreatedRecord), (status = 401, body = crate::ErrorBody), (status = 403, body = crate::ErrorBody)))]
async fn create_record(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<NewRecord>,
) -> Result<(StatusCode, Json<CreatedRecord>), ApiError> {
    caller.require_admin()?;
    let name = body.name.trim().to_owned();
    if name.is_empty() || name.len() > 200 {
        return Err(ApiError::bad_request(
            "invalid-name",
            "a record name has 1 to 200 characters",
        ));
    }
    let email = body
        .owner_email
        .map(|e| e.trim().to_owned())
        .filter(|e| !e.is_empty());
    if let Some(e) = &email
        && !sv_vault::valid_email(e)
    {
        return Err(ApiError::bad_request(
            "invalid-email",
            "owner_email is not a valid e-mail address",
        ));
    }
    let (record, owner) = state
        .vault()
        .run_io(move |v| v.create_record_with_owner_blocking(&name, email.as_deref()))
        .await?;
    let created = CreatedRecord {
        id: record.id.to_string(),
        token: owner.secret.expose().to_owned(),
    };
    Ok((StatusCode::CREATED, Json(created)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewToken {
    /// What the token is for, e.g. the app's name.
    pub label: String,
    /// What it may do; empty means nothing.
    pub grants: Vec<GrantBody>,
    /// Lifetime in seconds; absent means it does not expire.
    pub expires_in: Option<i64>,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct GrantBody {
    /// A thing type id; absent or null means every type.
    pub type_id: Option<String>,
    /// Any of `read`, `create`, `update`, `delete`, or `all`.
    pub permissions: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    pub id: String,
    pub label: String,
    pub grants: Vec<GrantBody>,
    pub created: String,
    pub expires_at: Option<String>,
    /// The secret, present only in the answer that issued it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// Issues a scoped token for an app (the owner token or the admin only).
#[utoipa::path(post, path = "/v1/records/{rid}/tokens", tag = "records", request_body = NewToken,
    params(("rid" = String, Path, description = "record id")),
    responses((status = 201, body = TokenView), (status = 400, body = crate::ErrorBody), (status = 403, body = crate::ErrorBody)))]
async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(rid): Path<String>,
    Json(body): Json<NewToken>,
) -> Result<(StatusCode, Json<TokenView>), ApiError> {
    let record = parse_record_id(&rid)?;
    caller.require(record, None, Permissions::ALL)?;
    let grants = body
        .grants
        .iter()
        .map(parse_grant)
        .collect::<Result<Vec<_>, _>>()?;
    let expires = match body.expires_in {
        Some(s) if !(1..=10 * 365 * 86_400).contains(&s) => {
            return Err(ApiError::bad_request(
                "invalid-expiry",
                "expires_in is 1 second to 10 years",
            ));
        }
        Some(s) => Some(Timestamp::now().plus_seconds(s)),
        None => None,
    };
    let label = body.label.trim().to_owned();
    if label.is_empty() || label.len() > 200 {
        return Err(ApiError::bad_request(
            "invalid-label",
            "a token label has 1 to 200 characters",
        ));
    }
    let issued = state
        .vault()
        .run_io(move |v| v.issue_token_blocking(record, &label, grants, expires))
        .await?;
    let mut view = token_view(&issued.token);
    view.token = Some(issued.secret.expose().to_owned());
    Ok((StatusCode::CREATED, Json(view)))
}

/// Lists the record's tokens (never their secrets).
#[utoipa::path(get, path = "/v1/records/{rid}/tokens", tag = "records",
    params(("rid" = String, Path, description = "record id")),
    responses((status = 200, body = Vec<TokenView>), (status = 403, body = crate::ErrorBody)))]
async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
    Path(rid): Path<String>,
) -> Result<Json<Vec<TokenView>>, ApiError> {
    let record = parse_record_id(&rid)?;
    caller.require(record, None, Permissions::ALL)?;
    let tokens = state
        .vault()
        .run_io(move |v| v.tokens_blocking(record))
        .await?;
    Ok(Json(tokens.iter().map(token_view).collect()))
}

/// Revokes a token.
#[utoipa::path(delete, path = "/v1/records/{rid}/tokens/{id}", tag = "records",
    params(("rid" = String, Path, description = "record id"), ("id" = String, Path, description = "token id")),
    responses((status = 204), (status = 404, body = crate::ErrorBody)))]
async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path((rid, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let record = parse_record_id(&rid)?;
    caller.require(record, None, Permissions::ALL)?;
    let id: TokenId = id.parse().map_err(|_| ApiError::not_found("token"))?;
    let deleted = state
        .vault()
        .run_io(move |v| v.revoke_token_blocking(record, id))
        .await?;
    if deleted {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("token"))
    }
}

pub(crate) fn parse_record_id(rid: &str) -> Result<RecordId, ApiError> {
    rid.parse().map_err(|_| ApiError::not_found("record"))
}

fn parse_grant(g: &GrantBody) -> Result<Grant, ApiError> {
    let type_id = match g.type_id.as_deref() {
        None | Some("") => None,
        Some(t) => Some(
            t.parse::<TypeId>()
                .map_err(|_| ApiError::bad_request("invalid-grant", "type_id is not a GUID"))?,
        ),
    };
    let mut permissions = Permissions::NONE;
    for p in &g.permissions {
        permissions = permissions.union(match p.to_ascii_lowercase().as_str() {
            "read" => Permissions::READ,
            "create" => Permissions::CREATE,
            "update" => Permissions::UPDATE,
            "delete" => Permissions::DELETE,
            "all" => Permissions::ALL,
            _ => {
                return Err(ApiError::bad_request(
                    "invalid-grant",
                    "permissions are read, create, update, delete or all",
                ));
            }
        });
    }
    Ok(Grant {
        type_id,
        permissions,
    })
}

fn token_view(t: &Token) -> TokenView {
    TokenView {
        id: t.id.to_string(),
        label: t.label.clone(),
        grants: t
            .grants
            .iter()
            .map(|g| GrantBody {
                type_id: g.type_id.map(|t| t.to_string()),
                permissions: g
                    .permissions
                    .names()
                    .iter()
                    .map(|n| n.to_ascii_lowercase())
                    .collect(),
            })
            .collect(),
        created: t.created.to_rfc3339(),
        expires_at: t.expires.map(|e| e.to_rfc3339()),
        token: None,
    }
}
