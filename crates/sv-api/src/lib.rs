//! studyvault's HTTP API: the axum router, extraction, representation choice and error mapping.
//!
//! Architecture invariants:
//! - handlers are thin: extract, check access, call `sv-vault`, choose the representation;
//! - HTTP mapping happens here and only here: stable kebab-case codes, no internals in 5xx;
//! - every route is declared with `#[utoipa::path]`, so `/v1/openapi.json` is generated from
//!   the code and cannot drift from it;
//! - `router(state)` builds everything without a socket, so tests call it in process.

mod auth;
mod blobs;
mod cors;
mod dicomweb;
mod error;
mod feed;
mod fhir;
mod health;
mod limits;
mod records;
mod representation;
mod shares;
mod studies;
mod things;
mod web;

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{MatchedPath, Request};
use axum::routing::get;
use sv_model::SecretHash;
use sv_vault::Vault;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use auth::Caller;
pub use error::{ApiError, ErrorBody};

/// What the API is allowed to do; the binary fills it from configuration.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// The hash of the admin token (the token itself is never held).
    pub admin_token_hash: SecretHash,
    /// The URL clients reach the server at, for links in responses (no trailing slash).
    pub public_url: String,
    pub limits: ApiLimits,
    /// Origins whose browser pages may call the FHIR and DICOMweb routes (`*`: any); empty
    /// sends no CORS headers at all.
    pub cors_allowed_origins: Vec<String>,
}

/// Request bounds. Every one is configuration.
#[derive(Debug, Clone)]
pub struct ApiLimits {
    /// Largest study upload body (a zipped CD, a multipart batch).
    pub max_upload_bytes: u64,
    /// Largest body of a blob PUT.
    pub max_blob_bytes: u64,
    /// Largest JSON or XML body.
    pub max_document_bytes: usize,
    /// Most entries a zip upload may have.
    pub max_zip_entries: usize,
    /// Most bytes a zip upload may expand to.
    pub max_zip_expanded_bytes: u64,
    /// Time limit of a request that is not a streaming upload or download.
    pub request_timeout: Duration,
}

impl Default for ApiLimits {
    fn default() -> Self {
        ApiLimits {
            max_upload_bytes: 4 << 30,
            max_blob_bytes: 2 << 30,
            max_document_bytes: 1 << 20,
            max_zip_entries: 20_000,
            max_zip_expanded_bytes: 8 << 30,
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// What every handler can reach. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<StateInner>,
}

#[derive(Debug)]
struct StateInner {
    vault: Vault,
    config: ApiConfig,
}

impl AppState {
    pub fn new(vault: Vault, config: ApiConfig) -> AppState {
        AppState {
            inner: Arc::new(StateInner { vault, config }),
        }
    }

    pub fn vault(&self) -> &Vault {
        &self.inner.vault
    }

    pub fn config(&self) -> &ApiConfig {
        &self.inner.config
    }
}

#[derive(OpenApi)]
#[openapi(info(
    title = "studyvault",
    description = "A personal record store for medical images, in the manner of HealthVault."
))]
struct ApiDoc;

/// The whole API, ready to serve.
pub fn router(state: AppState) -> axum::Router {
    let (router, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(health::routes())
        .merge(limits::json_bodies(records::routes(), &state))
        .merge(studies::routes(&state))
        .merge(things::routes())
        .merge(blobs::routes())
        .merge(feed::routes())
        .merge(cors::apply(fhir::routes(), &state))
        .merge(cors::apply(dicomweb::routes(&state), &state))
        .merge(limits::json_bodies(shares::routes(), &state))
        .split_for_parts();
    let openapi = Arc::new(openapi);
    let router = router.route(
        "/v1/openapi.json",
        get(move || async move { Json(openapi.as_ref().clone()) }),
    );
    // The request timeout covers the API; the pages' router applies it to its own routes.
    limits::timed(router, &state)
        .merge(web::routes(&state))
        .layer(axum::middleware::from_fn(web::record_client))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

/// Logs the route template (`/v1/records/{rid}/…`), never the concrete URI: paths carry
/// UIDs, and logs carry no patient data.
fn request_span(request: &Request) -> tracing::Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("<unmatched>", MatchedPath::as_str);
    tracing::info_span!("request", method = %request.method(), route)
}
