//! CORS for the routes a browser-based viewer calls from its own origin (FHIR, DICOMweb):
//! only the origins configured (`cors.allowed_origins`), none by default. Credentials are
//! bearer tokens in `Authorization`, not cookies, so no origin is given credentialed access.

use std::time::Duration;

use axum::http::header::{
    ACCEPT, AUTHORIZATION, CONTENT_LOCATION, CONTENT_TYPE, ETAG, IF_NONE_MATCH, LAST_MODIFIED,
    LOCATION, WARNING,
};
use axum::http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

/// `routes` answering CORS requests from the configured origins; unchanged when none is.
pub(crate) fn apply(routes: OpenApiRouter<AppState>, state: &AppState) -> OpenApiRouter<AppState> {
    let origins = &state.config().cors_allowed_origins;
    if origins.is_empty() {
        return routes;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    let layer = CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([
            AUTHORIZATION,
            ACCEPT,
            CONTENT_TYPE,
            IF_NONE_MATCH,
            HeaderName::from_static("prefer"),
        ])
        .expose_headers([ETAG, LAST_MODIFIED, LOCATION, CONTENT_LOCATION, WARNING])
        .max_age(Duration::from_secs(600));
    routes.layer(layer)
}
