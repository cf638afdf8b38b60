//! Hostile and broken `<thing>` bodies: each refused with its code, nothing stored.

use axum::body::Body;
use axum::http::StatusCode;
use sv_api::ApiLimits;

use crate::harness::*;

/// Nothing was written to the record: no things, an empty change feed.
async fn nothing_stored(api: &Api, rid: &str, owner: &str) {
    let page = get_json(api, &format!("/v1/records/{rid}/things?state=all"), owner).await;
    assert_eq!(page.json()["things"], serde_json::json!([]));
    let feed = get_json(api, &format!("/v1/records/{rid}/operations"), owner).await;
    assert_eq!(feed.json()["latest"], 0);
}

#[tokio::test]
async fn hostile_xml_is_refused_and_nothing_is_stored() {
    let api = api();
    let (rid, owner) = record(&api, "A").await;
    let deep = format!(
        "<thing><type-id>{NOTE_TYPE}</type-id><data-xml>{}{}</data-xml></thing>",
        "<a>".repeat(100),
        "</a>".repeat(100)
    );
    let cases: Vec<(String, StatusCode, &str)> = vec![
        (
            format!(
                "<?xml version=\"1.0\"?><!DOCTYPE thing [<!ENTITY x \"boom\">]>\
                 <thing><type-id>{NOTE_TYPE}</type-id><data-xml><a>&x;</a></data-xml></thing>"
            ),
            StatusCode::BAD_REQUEST,
            "doctype-forbidden",
        ),
        (
            format!(
                "<!DOCTYPE thing SYSTEM \"file:///etc/passwd\"><thing><type-id>{NOTE_TYPE}</type-id></thing>"
            ),
            StatusCode::BAD_REQUEST,
            "doctype-forbidden",
        ),
        (
            format!(
                "<thing><type-id>{NOTE_TYPE}</type-id><data-xml><a>&lol;</a></data-xml></thing>"
            ),
            StatusCode::BAD_REQUEST,
            "undefined-entity",
        ),
        (
            format!("<thing><type-id>{NOTE_TYPE}</type-id><data-xml><a></b></data-xml></thing>"),
            StatusCode::BAD_REQUEST,
            "malformed-xml",
        ),
        ("<thing>".into(), StatusCode::BAD_REQUEST, "malformed-xml"),
        ("".into(), StatusCode::BAD_REQUEST, "malformed-xml"),
        (deep, StatusCode::BAD_REQUEST, "too-deep"),
        (
            format!(
                "<thing><type-id>{NOTE_TYPE}</type-id><data-xml><a>{}</a></data-xml></thing>",
                "x".repeat(2 << 20)
            ),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
        ),
        (
            "<other/>".into(),
            StatusCode::BAD_REQUEST,
            "unexpected-element",
        ),
    ];
    for (xml, status, code) in cases {
        let reply = post_thing(&api, &rid, &owner, &xml).await;
        let head: String = xml.chars().take(60).collect();
        assert_eq!(
            (reply.status, reply.code().as_str()),
            (status, code),
            "{head}"
        );
    }
    let bad_utf8 = Body::from(b"<thing><type-id>\xff\xfe</type-id></thing>".to_vec());
    let uri = format!("/v1/records/{rid}/things");
    let reply = send(
        &api,
        "POST",
        &uri,
        Some(&owner),
        &[("content-type", XML)],
        bad_utf8,
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let json = Body::from(r#"{"thing": 1}"#);
    let ct = [("content-type", "application/json")];
    let reply = send(&api, "POST", &uri, Some(&owner), &ct, json).await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type")
    );
    nothing_stored(&api, &rid, &owner).await;
}

#[tokio::test]
async fn hostile_updates_leave_the_thing_as_it_was() {
    let api = api_with(ApiLimits {
        max_document_bytes: 4096,
        ..ApiLimits::default()
    });
    let (rid, owner) = record(&api, "A").await;
    let (tid, v1) = create_note(&api, &rid, &owner, "kept").await;
    let uri = format!("/v1/records/{rid}/things/{tid}");
    let if_match = format!("\"{v1}\"");
    let headers = [("content-type", XML), ("if-match", if_match.as_str())];
    for body in [
        "<!DOCTYPE x><thing/>".to_owned(),
        "<thing><data-xml><a></data-xml></thing>".to_owned(),
        format!(
            "<thing><data-xml><a>{}</a></data-xml></thing>",
            "y".repeat(5000)
        ),
    ] {
        let reply = send(&api, "PUT", &uri, Some(&owner), &headers, Body::from(body)).await;
        assert!(reply.status.is_client_error(), "{}", reply.status);
        assert!(!reply.code().is_empty());
    }
    let read = get(&api, &uri, &owner).await;
    assert_eq!(read.etag(), v1);
    assert!(read.text().contains("<text>kept</text>"));
}
