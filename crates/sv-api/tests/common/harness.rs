//! The in-process API over a temporary vault, records and tokens made through it, and
//! requests read back whole. Shared by the records, things, blobs and studies tests.

#![allow(dead_code)] // each test binary uses its part

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use bytes::Bytes;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sv_api::{ApiConfig, ApiLimits, AppState, router};
use sv_model::SecretHash;
use sv_vault::{Vault, VaultConfig};
use tower::ServiceExt;

pub const ADMIN: &str = "admin-secret-for-tests";
pub const PUBLIC_URL: &str = "http://127.0.0.1:8080";
pub const XML: &str = "application/xml";
/// A type id of no meaning to the store.
pub const NOTE_TYPE: &str = "8d7e9b0a-6c3f-4a1e-9b2d-5f4e3c2b1a09";
pub const OTHER_TYPE: &str = "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f";
pub const STUDY_TYPE: &str = "cdfc0a9b-6d3b-4d16-afa8-02b86d621a8d";

pub struct Api {
    pub app: axum::Router,
    pub vault: Vault,
    pub dir: tempfile::TempDir,
}

pub fn api() -> Api {
    api_with(ApiLimits::default())
}

pub fn api_with(limits: ApiLimits) -> Api {
    api_with_config(limits, VaultConfig::default())
}

pub fn api_with_config(limits: ApiLimits, config: VaultConfig) -> Api {
    let dir = tempfile::tempdir().unwrap();
    let vault = Vault::open(dir.path(), config).unwrap();
    let config = ApiConfig {
        admin_token_hash: SecretHash::of(ADMIN.as_bytes()),
        public_url: PUBLIC_URL.into(),
        limits,
        cors_allowed_origins: Vec::new(),
    };
    Api {
        app: router(AppState::new(vault.clone(), config)),
        vault,
        dir,
    }
}

/// An answer, read whole (`body_error` when the body stream failed).
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Bytes,
    pub body_error: bool,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or_else(|e| {
            panic!(
                "{} is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.bytes)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.bytes.to_vec()).unwrap()
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header ({})", self.status))
            .to_str()
            .unwrap()
    }

    /// The error code of a JSON error body.
    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or("").to_owned()
    }

    /// The ETag without its quotes.
    pub fn etag(&self) -> String {
        self.header("etag").trim_matches('"').to_owned()
    }
}

pub async fn send(
    api: &Api,
    method: &str,
    uri: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Body,
) -> Reply {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = api
        .app
        .clone()
        .oneshot(req.body(body).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let (bytes, body_error) = match res.into_body().collect().await {
        Ok(c) => (c.to_bytes(), false),
        Err(_) => (Bytes::new(), true),
    };
    Reply {
        status,
        headers,
        bytes,
        body_error,
    }
}

pub async fn get(api: &Api, uri: &str, token: &str) -> Reply {
    send(api, "GET", uri, Some(token), &[], Body::empty()).await
}

pub async fn get_json(api: &Api, uri: &str, token: &str) -> Reply {
    let accept = [("accept", "application/json")];
    send(api, "GET", uri, Some(token), &accept, Body::empty()).await
}

/// Creates a record through the API: (record id, owner token).
pub async fn record(api: &Api, name: &str) -> (String, String) {
    let body = Body::from(json!({ "name": name }).to_string());
    let ct = [("content-type", "application/json")];
    let reply = send(api, "POST", "/v1/records", Some(ADMIN), &ct, body).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let v = reply.json();
    (
        v["id"].as_str().unwrap().to_owned(),
        v["token"].as_str().unwrap().to_owned(),
    )
}

/// Issues a token with `permissions` on `type_id` (`None`: every type).
pub async fn token(
    api: &Api,
    rid: &str,
    owner: &str,
    type_id: Option<&str>,
    permissions: &[&str],
) -> String {
    let grants =
        json!({"label": "app", "grants": [{"type_id": type_id, "permissions": permissions}]});
    let ct = [("content-type", "application/json")];
    let uri = format!("/v1/records/{rid}/tokens");
    let reply = send(
        api,
        "POST",
        &uri,
        Some(owner),
        &ct,
        Body::from(grants.to_string()),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    reply.json()["token"].as_str().unwrap().to_owned()
}

/// A `<thing>` of `type_id` whose data is `<note>{text}</note>`.
pub fn note_xml(type_id: &str, text: &str) -> String {
    format!(
        "<thing><type-id>{type_id}</type-id><data-xml><note><text>{text}</text></note>\
         <common><note>c</note></common></data-xml></thing>"
    )
}

/// POSTs a `<thing>`; the reply.
pub async fn post_thing(api: &Api, rid: &str, token: &str, xml: &str) -> Reply {
    let uri = format!("/v1/records/{rid}/things");
    let ct = [("content-type", XML)];
    send(
        api,
        "POST",
        &uri,
        Some(token),
        &ct,
        Body::from(xml.to_owned()),
    )
    .await
}

/// Creates a note thing: (thing id, version stamp).
pub async fn create_note(api: &Api, rid: &str, token: &str, text: &str) -> (String, String) {
    let reply = post_thing(api, rid, token, &note_xml(NOTE_TYPE, text)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let location = reply.header("location").to_owned();
    let tid = location.rsplit('/').next().unwrap().to_owned();
    (tid, reply.etag())
}

/// The path of an absolute URL the API gave out.
pub fn path_of(url: &str) -> &str {
    url.strip_prefix(PUBLIC_URL)
        .unwrap_or_else(|| panic!("{url} is not under {PUBLIC_URL}"))
}

/// The text of the first `<name>…</name>` in `xml`.
pub fn element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    Some(&xml[start..end])
}
