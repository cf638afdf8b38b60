//! Authentication (`Authorization: Bearer <secret>`) and the per-request access check.
//!
//! A token the vault has resolved before is answered from its memory, on the async task
//! (`Vault::authenticate_cached`); only a secret not seen yet is looked up in the store on a
//! blocking thread. Expiry is judged on every request, and a revoked token is forgotten at once.
//!
//! The record of the path (`{rid}`) is settled here too, before the handler validates anything
//! or reads a body: another record's token, and the admin asking about a record that does not
//! exist, are answered 404 (`record`) whatever else the request says. Per-type permissions
//! stay with the handlers and the vault, which know the type.

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use sv_model::{Permissions, RecordId, Timestamp, TypeId};
use sv_vault::{Access, AuthFailure, Principal};

use crate::{ApiError, AppState};

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl Caller {
    /// Refuses unless the caller may do `needed` with `type_id` things of `record`
    /// (`None`: every type). Another record's token gets 404, as if the record did not exist.
    pub fn require(
        &self,
        record: RecordId,
        type_id: Option<TypeId>,
        needed: Permissions,
    ) -> Result<(), ApiError> {
        match self.0.access(record, type_id, needed) {
            Access::Granted => Ok(()),
            Access::OtherRecord => Err(ApiError::not_found("record")),
            Access::Denied => Err(ApiError::forbidden()),
        }
    }

    pub fn require_admin(&self) -> Result<(), ApiError> {
        match self.0 {
            Principal::Admin => Ok(()),
            Principal::App(_) | Principal::Owner(_) => Err(ApiError::forbidden()),
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| {
            ApiError::unauthorized("missing-token", "send Authorization: Bearer <token>")
        })?;
        let secret = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|s| !s.is_empty() && s.len() <= 256)
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "invalid-token",
                    "the Authorization header is not a bearer token",
                )
            })?;
        let admin = state.config().admin_token_hash;
        // A token seen before is answered from memory (expiry still judged now); only a
        // secret not seen yet costs a store read on a blocking thread.
        let outcome = match state
            .vault()
            .authenticate_cached(secret, &admin, Timestamp::now())
        {
            Some(outcome) => outcome,
            None => {
                let secret = secret.to_owned();
                state
                    .vault()
                    .run_io(move |vault| {
                        vault.authenticate_blocking(&secret, &admin, Timestamp::now())
                    })
                    .await?
            }
        };
        match outcome {
            Ok(principal) => {
                path_record_scope(parts, state, &principal).await?;
                Ok(Caller(principal))
            }
            Err(AuthFailure::Expired) => Err(ApiError::unauthorized(
                "token-expired",
                "the token has expired",
            )),
            Err(AuthFailure::Unknown) => Err(ApiError::unauthorized(
                "invalid-token",
                "the token is not known",
            )),
        }
    }
}

/// Refuses, as "record not found", a path record (`{rid}`) the principal cannot reach:
/// another record than its token's, or (for the admin) one that does not exist. A `{rid}` that
/// is not a record id is left to the handler, which answers 404 too.
async fn path_record_scope(
    parts: &mut Parts,
    state: &AppState,
    principal: &Principal,
) -> Result<(), ApiError> {
    let Ok(params) = RawPathParams::from_request_parts(parts, state).await else {
        return Ok(());
    };
    let Some(record) = params
        .iter()
        .find(|(name, _)| *name == "rid")
        .and_then(|(_, value)| value.parse::<RecordId>().ok())
    else {
        return Ok(());
    };
    match principal {
        Principal::App(token) if token.record_id != record => Err(ApiError::not_found("record")),
        Principal::Owner(own) if *own != record => Err(ApiError::not_found("record")),
        Principal::App(_) | Principal::Owner(_) => Ok(()),
        // Tokens are scoped to a record that exists; only the admin can name any.
        Principal::Admin => {
            let exists = state
                .vault()
                .run_io(move |vault| vault.record_exists_blocking(record))
                .await?;
            if exists {
                Ok(())
            } else {
                Err(ApiError::not_found("record"))
            }
        }
    }
}
