//! The browser's cookies, decided in one place: names, `HttpOnly`, `SameSite=Strict`, `Path=/`,
//! and `Secure` with the `__Host-` prefix whenever the server is reached over HTTPS or on
//! loopback (browsers accept secure cookies from `http://127.0.0.1` and `http://localhost`).
//! Over plain HTTP on another host the cookies are neither secure nor prefixed: a browser would
//! refuse them otherwise.

use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};

use crate::AppState;

/// What a cookie is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Jar {
    /// A signed-in patient.
    Patient,
    /// A recipient who opened a share.
    Share,
    /// The CSRF token of forms shown before any session (sign-in, a share's landing page).
    PreSession,
}

impl Jar {
    fn base(self) -> &'static str {
        match self {
            Jar::Patient => "sv-session",
            Jar::Share => "sv-share",
            Jar::PreSession => "sv-form",
        }
    }
}

/// Whether cookies can be `Secure` for this server (its public URL is HTTPS or loopback).
pub(crate) fn secure(state: &AppState) -> bool {
    let url = state.config().public_url.as_str();
    url.starts_with("https://")
        || ["http://127.0.0.1", "http://localhost", "http://[::1]"]
            .iter()
            .any(|p| {
                url.strip_prefix(p)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']))
            })
}

fn name(state: &AppState, jar: Jar) -> String {
    if secure(state) {
        format!("__Host-{}", jar.base())
    } else {
        jar.base().to_owned()
    }
}

/// The value of a cookie in the request, if present and plausible (hex, at most 128 bytes).
pub(crate) fn read(state: &AppState, headers: &HeaderMap, jar: Jar) -> Option<String> {
    let wanted = name(state, jar);
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == wanted)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn attributes(state: &AppState) -> &'static str {
    if secure(state) {
        "; Path=/; HttpOnly; Secure; SameSite=Strict"
    } else {
        "; Path=/; HttpOnly; SameSite=Strict"
    }
}

/// Adds a `Set-Cookie` for `value` (a browser-session cookie: no `Max-Age`; the server ends
/// the session).
pub(crate) fn set(state: &AppState, headers: &mut HeaderMap, jar: Jar, value: &str) {
    let cookie = format!("{}={value}{}", name(state, jar), attributes(state));
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        headers.append(SET_COOKIE, v);
    }
}

/// Adds a `Set-Cookie` that removes the cookie.
pub(crate) fn clear(state: &AppState, headers: &mut HeaderMap, jar: Jar) {
    let cookie = format!("{}={}; Max-Age=0", name(state, jar), attributes(state));
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        headers.append(SET_COOKIE, v);
    }
}
