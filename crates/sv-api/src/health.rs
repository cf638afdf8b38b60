//! `GET /healthz`: 200 when the server can serve (no auth).

use axum::extract::State;
use axum::http::StatusCode;

use crate::{ApiError, AppState};

/// 200 when the metadata store answers.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, description = "serving")))]
async fn healthz(State(state): State<AppState>) -> Result<StatusCode, ApiError> {
    state.vault().run_io(|v| v.health_blocking()).await?;
    Ok(StatusCode::OK)
}

pub(crate) fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new().routes(utoipa_axum::routes!(healthz))
}
