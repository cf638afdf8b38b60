//! Records, tokens and authentication, in process (no socket).

#[path = "common/harness.rs"]
mod harness;

use axum::body::Body;
use axum::http::StatusCode;
use serde_json::{Value, json};

use harness::{ADMIN, Api, api, send};

/// A JSON call: the status and the body as JSON (`Null` when empty).
async fn call(
    api: &Api,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let reply = match body {
        Some(b) => {
            let headers = [("content-type", "application/json")];
            send(api, method, uri, token, &headers, Body::from(b.to_string())).await
        }
        None => send(api, method, uri, token, &[], Body::empty()).await,
    };
    let value = if reply.bytes.is_empty() {
        Value::Null
    } else {
        reply.json()
    };
    (reply.status, value)
}

#[tokio::test]
async fn admin_creates_records_and_owners_issue_scoped_tokens() {
    let api = api();
    let (status, created) = call(
        &api,
        "POST",
        "/v1/records",
        Some(ADMIN),
        Some(json!({"name": "Jane"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let rid = created["id"].as_str().unwrap();
    let owner = created["token"].as_str().unwrap();
    assert_eq!(owner.len(), 64);

    let grants = json!({"label": "viewer app", "grants": [{"type_id": "cdfc0a9b-6d3b-4d16-afa8-02b86d621a8d", "permissions": ["read"]}], "expires_in": 3600});
    let (status, issued) = call(
        &api,
        "POST",
        &format!("/v1/records/{rid}/tokens"),
        Some(owner),
        Some(grants.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let viewer = issued["token"].as_str().unwrap();
    assert!(issued["expires_at"].is_string());

    // The viewer may not issue tokens; listing shows no secrets.
    let (status, err) = call(
        &api,
        "POST",
        &format!("/v1/records/{rid}/tokens"),
        Some(viewer),
        Some(grants),
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let (status, list) = call(
        &api,
        "GET",
        &format!("/v1/records/{rid}/tokens"),
        Some(owner),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert!(!list.to_string().contains(viewer) && !list.to_string().contains(owner));

    // Revoked tokens stop working.
    let id = issued["id"].as_str().unwrap();
    let (status, _) = call(
        &api,
        "DELETE",
        &format!("/v1/records/{rid}/tokens/{id}"),
        Some(owner),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, err) = call(
        &api,
        "GET",
        &format!("/v1/records/{rid}/tokens"),
        Some(viewer),
        None,
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid-token"))
    );
}

#[tokio::test]
async fn missing_wrong_and_foreign_tokens_get_nothing() {
    let api = api();
    let (_, a) = call(
        &api,
        "POST",
        "/v1/records",
        Some(ADMIN),
        Some(json!({"name": "A"})),
    )
    .await;
    let (_, b) = call(
        &api,
        "POST",
        "/v1/records",
        Some(ADMIN),
        Some(json!({"name": "B"})),
    )
    .await;
    let a_rid = a["id"].as_str().unwrap();
    let b_owner = b["token"].as_str().unwrap();
    let uri = format!("/v1/records/{a_rid}/tokens");

    let (status, err) = call(&api, "GET", &uri, None, None).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("missing-token"))
    );
    let (status, err) = call(&api, "GET", &uri, Some("nope"), None).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid-token"))
    );
    let (status, err) = call(&api, "GET", &uri, Some(b_owner), None).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not-found")),
        "another record's token sees nothing"
    );
    let (status, _) = call(
        &api,
        "POST",
        "/v1/records",
        Some(b_owner),
        Some(json!({"name": "C"})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "only the admin creates records"
    );
}

#[tokio::test]
async fn bad_token_requests_are_refused_with_a_reason() {
    let api = api();
    let (_, rec) = call(
        &api,
        "POST",
        "/v1/records",
        Some(ADMIN),
        Some(json!({"name": "A"})),
    )
    .await;
    let rid = rec["id"].as_str().unwrap();
    let owner = rec["token"].as_str().unwrap();
    let uri = format!("/v1/records/{rid}/tokens");
    for (body, code) in [
        (
            json!({"label": "x", "grants": [{"permissions": ["fly"]}]}),
            "invalid-grant",
        ),
        (
            json!({"label": "x", "grants": [{"type_id": "nope", "permissions": ["read"]}]}),
            "invalid-grant",
        ),
        (json!({"label": "", "grants": []}), "invalid-label"),
        (
            json!({"label": "x", "grants": [], "expires_in": 0}),
            "invalid-expiry",
        ),
    ] {
        let (status, err) = call(&api, "POST", &uri, Some(owner), Some(body)).await;
        assert_eq!(
            (status, err["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some(code))
        );
    }
}

#[tokio::test]
async fn health_and_openapi_need_no_token() {
    let api = api();
    let (status, _) = call(&api, "GET", "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, doc) = call(&api, "GET", "/v1/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["paths"]["/v1/records/{rid}/tokens"]["post"].is_object());
}

/// JSON bodies obey `max_document_bytes`: over it, 413 with the API's error body (declared
/// or streamed without a length), after the token is checked, and nothing is made.
#[tokio::test]
async fn json_bodies_over_the_document_limit_are_413_after_authentication() {
    let api = harness::api_with(sv_api::ApiLimits {
        max_document_bytes: 4096,
        ..sv_api::ApiLimits::default()
    });
    let json_type = [("content-type", "application/json")];
    let big = json!({ "name": "x".repeat(5000) }).to_string();

    let reply = send(
        &api,
        "POST",
        "/v1/records",
        Some(ADMIN),
        &json_type,
        Body::from(big.clone()),
    )
    .await;
    assert_eq!(
        reply.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        reply.text()
    );
    assert_eq!(reply.code(), "payload-too-large");

    // No Content-Length: cut while it streams.
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = big
        .as_bytes()
        .chunks(1000)
        .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
        .collect();
    let streamed = Body::from_stream(futures_util::stream::iter(chunks));
    let reply = send(
        &api,
        "POST",
        "/v1/records",
        Some(ADMIN),
        &json_type,
        streamed,
    )
    .await;
    assert_eq!(
        reply.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        reply.text()
    );
    assert_eq!(reply.code(), "payload-too-large");

    // Without a token the answer is about the token, not the body.
    let reply = send(
        &api,
        "POST",
        "/v1/records",
        None,
        &json_type,
        Body::from(big.clone()),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);

    // A token request of a record, over the limit, is refused the same way; nothing was made.
    let (rid, owner) = harness::record(&api, "limits").await;
    let uri = format!("/v1/records/{rid}/tokens");
    let reply = send(
        &api,
        "POST",
        &uri,
        Some(&owner),
        &json_type,
        Body::from(big),
    )
    .await;
    assert_eq!(
        reply.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        reply.text()
    );
    let (status, tokens) = call(&api, "GET", &uri, Some(&owner), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        tokens.as_array().map(Vec::len),
        Some(1),
        "only the owner's token: {tokens}"
    );

    // Within the limit, all is as before.
    let (status, _) = call(
        &api,
        "POST",
        "/v1/records",
        Some(ADMIN),
        Some(json!({ "name": "small" })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
}
