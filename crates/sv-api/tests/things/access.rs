//! Every things, blobs and feed endpoint against every kind of caller: no token, an expired
//! one, another record's, a read-only one and one for another type.

use axum::body::Body;
use axum::http::StatusCode;
use sv_model::{Grant, Permissions, RecordId, Timestamp};

use crate::harness::*;

/// One request of the matrix.
struct Call {
    method: &'static str,
    uri: String,
    headers: Vec<(&'static str, String)>,
    body: String,
    write: bool,
    feed: bool,
}

fn calls(rid: &str, tid: &str, version: &str) -> Vec<Call> {
    let thing = format!("/v1/records/{rid}/things/{tid}");
    let if_match = format!("\"{version}\"");
    let call = |method, uri: String, write| Call {
        method,
        uri,
        headers: Vec::new(),
        body: String::new(),
        write,
        feed: false,
    };
    let with = |mut c: Call, headers: Vec<(&'static str, String)>, body: &str| {
        c.headers = headers;
        c.body = body.to_owned();
        c
    };
    let xml = vec![("content-type", XML.to_owned())];
    let text = vec![("content-type", "text/plain".to_owned())];
    let mut xml_if = xml.clone();
    xml_if.push(("if-match", if_match));
    vec![
        call(
            "GET",
            format!("/v1/records/{rid}/things?type-id={NOTE_TYPE}"),
            false,
        ),
        with(
            call("POST", format!("/v1/records/{rid}/things"), true),
            xml,
            &note_xml(NOTE_TYPE, "new"),
        ),
        call("GET", thing.clone(), false),
        with(
            call("PUT", thing.clone(), true),
            xml_if,
            &note_xml(NOTE_TYPE, "x"),
        ),
        call("GET", format!("{thing}/versions"), false),
        call("GET", format!("{thing}/blobs/a.txt"), false),
        with(
            call("PUT", format!("{thing}/blobs/b.txt"), true),
            text.clone(),
            "b",
        ),
        call("DELETE", format!("{thing}/blobs/a.txt"), true),
        call("GET", format!("{thing}/blob"), false),
        with(call("PUT", format!("{thing}/blob"), true), text, "d"),
        call("DELETE", format!("{thing}/blob"), true),
        call("DELETE", thing, true),
        Call {
            feed: true,
            ..call("GET", format!("/v1/records/{rid}/operations"), false)
        },
    ]
}

async fn run(api: &Api, c: &Call, token: Option<&str>) -> (StatusCode, String) {
    let headers: Vec<(&str, &str)> = c.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let reply = send(
        api,
        c.method,
        &c.uri,
        token,
        &headers,
        Body::from(c.body.clone()),
    )
    .await;
    let code = if reply.status.is_success() {
        String::new()
    } else {
        reply.code()
    };
    (reply.status, code)
}

#[tokio::test]
async fn every_endpoint_checks_the_caller() {
    let api = api();
    let (rid, owner) = record(&api, "A").await;
    let (_, foreign) = record(&api, "B").await;
    let (tid, _) = create_note(&api, &rid, &owner, "private").await;
    let thing = format!("/v1/records/{rid}/things/{tid}");
    let text = [("content-type", "text/plain")];
    for uri in [format!("{thing}/blobs/a.txt"), format!("{thing}/blob")] {
        let reply = send(&api, "PUT", &uri, Some(&owner), &text, Body::from("a")).await;
        assert!(reply.status.is_success());
    }
    let version = get(&api, &thing, &owner).await.etag();
    let reader = token(&api, &rid, &owner, Some(NOTE_TYPE), &["read"]).await;
    let other_type = token(&api, &rid, &owner, Some(OTHER_TYPE), &["all"]).await;
    let record: RecordId = rid.parse().unwrap();
    let grants = vec![Grant {
        type_id: None,
        permissions: Permissions::ALL,
    }];
    let past = Timestamp::now().plus_seconds(-60);
    let expired = api
        .vault
        .issue_token_blocking(record, "old", grants, Some(past))
        .unwrap()
        .secret
        .expose()
        .to_owned();

    let matrix = calls(&rid, &tid, &version);
    for c in &matrix {
        let what = format!("{} {}", c.method, c.uri);
        let (status, code) = run(&api, c, None).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::UNAUTHORIZED, "missing-token"),
            "{what}"
        );
        let (status, code) = run(&api, c, Some(&expired)).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::UNAUTHORIZED, "token-expired"),
            "{what}"
        );
        let (status, _) = run(&api, c, Some(&foreign)).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "another record's token: {what}"
        );
        let (status, code) = run(&api, c, Some(&other_type)).await;
        if c.feed {
            assert_eq!(status, StatusCode::OK, "{what}");
        } else {
            assert_eq!(
                (status, code.as_str()),
                (StatusCode::FORBIDDEN, "forbidden"),
                "other type: {what}"
            );
        }
        let (status, code) = run(&api, c, Some(&reader)).await;
        if c.write {
            assert_eq!(
                (status, code.as_str()),
                (StatusCode::FORBIDDEN, "forbidden"),
                "read-only: {what}"
            );
        } else {
            assert_eq!(status, StatusCode::OK, "read-only: {what}");
        }
    }
    // Nothing changed, and the other type's token sees none of this type in the feed.
    assert_eq!(get(&api, &thing, &owner).await.etag(), version);
    let feed = get_json(&api, &format!("/v1/records/{rid}/operations"), &other_type).await;
    let feed = feed.json();
    assert_eq!(feed["operations"], serde_json::json!([]));
    assert_eq!(feed["latest"], 3);
    assert_eq!(feed["next_since"], 3);

    // The owner may do all of it.
    for c in &matrix {
        let (status, _) = run(&api, c, Some(&owner)).await;
        assert!(
            status.is_success(),
            "owner: {} {} -> {status}",
            c.method,
            c.uri
        );
    }
}
