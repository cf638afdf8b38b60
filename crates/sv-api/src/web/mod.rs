//! The browser side: the patient's pages (`/`, `/studies`, `/upload`, `/shares`), the share
//! recipient's pages and read-only DICOMweb (`/s/{link}/…`), and the static assets.
//!
//! Invariants (sharing-and-pages.md §2):
//! - every page answer carries the security headers of [`page_headers`]: a CSP without inline
//!   script or style, `frame-ancestors 'none'`, `Referrer-Policy: no-referrer`, `nosniff`,
//!   `X-Robots-Tag: noindex`, and `Cache-Control: no-store` unless the handler chose otherwise;
//! - every state-changing request is a POST that passes the fetch-metadata check (tower-http's
//!   `CsrfLayer`) *and* carries the form token bound to the session (or, before a session, to a
//!   form cookie), compared in constant time;
//! - a bad, expired, revoked or locked share link gets one 404 page, the same bytes every time;
//! - GET and HEAD change nothing: a mail scanner that opens a link burns nothing.

mod cookies;
mod limits;
mod model;
mod patient;
mod recipient;
mod share_dicomweb;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use subtle::ConstantTimeEq;
use sv_model::Secret;
use tower_http::csrf::CsrfLayer;
use tracing::error;

use crate::AppState;
use cookies::Jar;
pub(crate) use recipient::record_client;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub(crate) fn routes(state: &AppState) -> Router<AppState> {
    let attempts = limits::Attempts::new();
    // The request timeout covers the pages as it covers the API (the upload's POST opts
    // out), answered with a page; the shared DICOMweb is an API and answers as one.
    let pages = Router::new()
        .merge(patient::routes(state, &attempts))
        .merge(recipient::routes(&attempts));
    let pages = crate::limits::timed_answering(pages, state, timed_out)
        .layer(CsrfLayer::new())
        .layer(axum::middleware::from_fn(page_headers));
    Router::new()
        .merge(pages)
        .merge(crate::limits::timed(share_dicomweb::routes(), state))
        .route("/static/{file}", get(static_asset))
        .route("/robots.txt", get(robots))
}

/// The headers every page answer carries.
async fn page_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(
        HeaderName::from_static("x-robots-tag"),
        HeaderValue::from_static("noindex, nofollow"),
    );
    h.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
    );
    h.entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

async fn static_asset(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    match sv_web::asset(&format!("/static/{file}")) {
        Some(a) => (
            [
                (CONTENT_TYPE, a.content_type),
                (CACHE_CONTROL, sv_web::IMMUTABLE_CACHE_CONTROL),
                (X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            a.bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn robots() -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/plain; charset=utf-8")],
        "User-agent: *\nDisallow: /s/\nDisallow: /studies\nDisallow: /shares\n",
    )
}

/// A page answer: HTML, a redirect, or one of the fixed error pages.
pub(crate) enum Page {
    Html(StatusCode, String),
    /// 303 See Other (after a POST), with cookies to set.
    Redirect(String, HeaderMap),
    /// The one answer for every bad share link.
    LinkNotValid,
    Error(StatusCode, &'static str),
}

impl Page {
    pub(crate) fn ok(html: String) -> Page {
        Page::Html(StatusCode::OK, html)
    }

    pub(crate) fn redirect(to: impl Into<String>) -> Page {
        Page::Redirect(to.into(), HeaderMap::new())
    }
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let html = [(CONTENT_TYPE, "text/html; charset=utf-8")];
        match self {
            Page::Html(status, body) => (status, html, body).into_response(),
            Page::Redirect(to, mut headers) => {
                if let Ok(v) = HeaderValue::from_str(&to) {
                    headers.insert(LOCATION, v);
                }
                (StatusCode::SEE_OTHER, headers).into_response()
            }
            Page::LinkNotValid => (
                StatusCode::NOT_FOUND,
                html,
                sv_web::errors::link_not_valid_html(),
            )
                .into_response(),
            Page::Error(status, message) => {
                let page = sv_web::errors::ErrorPage::with_message(status.as_u16(), message);
                let body = sv_web::render(&page).unwrap_or_else(|_| message.to_owned());
                (status, html, body).into_response()
            }
        }
    }
}

/// A page that took longer than the request timeout (`limits::timed_answering`).
fn timed_out(_: std::time::Duration) -> Response {
    Page::Error(
        StatusCode::SERVICE_UNAVAILABLE,
        "The server is busy and could not answer in time. Please try again in a moment.",
    )
    .into_response()
}

/// Anything that went wrong inside: logged, and answered with a page without internals.
pub(crate) fn internal(e: &dyn std::error::Error) -> Page {
    error!(error = %e, "page failed");
    Page::Error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong on our side. Please try again.",
    )
}

pub(crate) fn render<T: sv_web::Template>(page: &T) -> Page {
    match sv_web::render(page) {
        Ok(html) => Page::ok(html),
        Err(e) => internal(&e),
    }
}

/// The form token of a session (or a form cookie): derived from its secret, so it needs no
/// storage and dies with it.
pub(crate) fn form_token(secret: &str) -> String {
    sv_vault::csrf_token(&Secret::new(secret))
}

/// Whether a submitted form token is the one of `secret`, in constant time.
pub(crate) fn form_token_ok(secret: &str, submitted: &str) -> bool {
    let expected = form_token(secret);
    bool::from(expected.as_bytes().ct_eq(submitted.as_bytes()))
}

/// The form cookie of a page shown before any session: the one the browser has, or a new one
/// to set. Returns the form token for the page.
pub(crate) fn pre_session_token(
    state: &AppState,
    request: &HeaderMap,
    response: &mut HeaderMap,
) -> String {
    let secret = match cookies::read(state, request, Jar::PreSession) {
        Some(s) => s,
        None => {
            let s = Secret::generate().expose().to_owned();
            cookies::set(state, response, Jar::PreSession, &s);
            s
        }
    };
    form_token(&secret)
}

/// Whether a form shown before any session came back with its token.
pub(crate) fn pre_session_ok(state: &AppState, request: &HeaderMap, submitted: &str) -> bool {
    cookies::read(state, request, Jar::PreSession)
        .is_some_and(|secret| form_token_ok(&secret, submitted))
}

/// The client's network for an access log: an IPv4 /24 or an IPv6 /48, never the address.
pub(crate) fn client_network(request: &axum::http::Extensions) -> Option<String> {
    let addr = request
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()?
        .0
        .ip();
    Some(match addr {
        std::net::IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        std::net::IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
    })
}

/// Runs page work that reads the stores on a blocking thread, mapping failures to a page.
pub(crate) async fn io<T, F>(state: &AppState, job: F) -> Result<T, Page>
where
    F: FnOnce(&sv_vault::Vault) -> Result<T, sv_vault::VaultError> + Send + 'static,
    T: Send + 'static,
{
    state.vault().run_io(job).await.map_err(|e| internal(&e))
}

/// A time as the pages show it: `2026-12-14 09:30 UTC`.
pub(crate) fn utc_minutes(t: sv_model::Timestamp) -> String {
    let t = t.to_rfc3339();
    match (t.get(..10), t.get(11..16)) {
        (Some(d), Some(hm)) => format!("{d} {hm} UTC"),
        _ => t,
    }
}

/// A page image's answer: the stored preview, or the page saying why there is none.
pub(crate) async fn preview_answer(
    state: &AppState,
    preview: Option<sv_model::study::PreviewRef>,
    headers: &HeaderMap,
    caching: &'static str,
    missing: &'static str,
) -> Result<Response, Page> {
    let served = crate::studies::previews::load(state.vault(), preview, headers)
        .await
        .map_err(|_| Page::Error(StatusCode::NOT_FOUND, missing))?;
    crate::studies::previews::respond(served, caching, None).map_err(|_| {
        Page::Error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The preview could not be sent.",
        )
    })
}

/// Axum's `State` for handlers in this module tree.
pub(crate) type St = State<AppState>;
