//! `GET …/things`: paging across pages, state and date filters, sections, bad parameters.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::StatusCode;

use crate::harness::*;

#[tokio::test]
async fn pages_cover_every_thing_once_in_json_and_xml() {
    let api = api();
    let (rid, owner) = record(&api, "A").await;
    let mut made = BTreeSet::new();
    for i in 0..5 {
        made.insert(create_note(&api, &rid, &owner, &format!("n{i}")).await.0);
    }
    let other = post_thing(&api, &rid, &owner, &note_xml(OTHER_TYPE, "other")).await;
    assert_eq!(other.status, StatusCode::CREATED);

    // JSON, following `next`.
    let mut seen = BTreeSet::new();
    let mut uri = format!("/v1/records/{rid}/things?type-id={NOTE_TYPE}&max=2");
    let mut pages = 0;
    loop {
        let reply = get_json(&api, &uri, &owner).await;
        assert_eq!(reply.status, StatusCode::OK);
        let page = reply.json();
        for t in page["things"].as_array().unwrap() {
            assert_eq!(t["type_id"], NOTE_TYPE);
            assert!(t["data_xml"].as_str().unwrap().starts_with("<note>"));
            assert!(
                seen.insert(t["thing_id"].as_str().unwrap().to_owned()),
                "seen twice"
            );
        }
        pages += 1;
        match page["next"].as_str() {
            Some(next) => {
                let link = reply.header("link");
                assert!(link.ends_with("; rel=\"next\""), "{link}");
                assert!(link.contains(&format!("after={next}")), "{link}");
                uri = format!("/v1/records/{rid}/things?type-id={NOTE_TYPE}&max=2&after={next}");
            }
            None => break,
        }
    }
    assert_eq!(seen, made);
    assert_eq!(pages, 3);

    // XML: <things> with a <continuation>, sent back as `continuation`.
    let first = get(
        &api,
        &format!("/v1/records/{rid}/things?type-id={NOTE_TYPE}&max=3"),
        &owner,
    )
    .await;
    let xml = first.text();
    assert!(
        xml.starts_with("<things>") && xml.ends_with("</things>"),
        "{xml}"
    );
    assert_eq!(xml.matches("<thing>").count(), 3);
    let token = element(&xml, "continuation").unwrap().to_owned();
    let second = get(
        &api,
        &format!("/v1/records/{rid}/things?type-id={NOTE_TYPE}&max=3&continuation={token}"),
        &owner,
    )
    .await;
    let xml = second.text();
    assert_eq!(xml.matches("<thing>").count(), 2);
    assert!(
        element(&xml, "continuation").is_none(),
        "the last page has none"
    );

    // Without a type: every type (the owner may read them all).
    let all = get_json(&api, &format!("/v1/records/{rid}/things"), &owner).await;
    assert_eq!(all.json()["things"].as_array().unwrap().len(), 6);
}

#[tokio::test]
async fn filters_by_state_dates_and_sections() {
    let api = api();
    let (rid, owner) = record(&api, "A").await;
    let (a, _) = create_note(&api, &rid, &owner, "a").await;
    let (_b, _) = create_note(&api, &rid, &owner, "b").await;
    let del = format!("/v1/records/{rid}/things/{a}");
    let reply = send(&api, "DELETE", &del, Some(&owner), &[], Body::empty()).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);

    let count = |query: String| {
        let api = &api;
        let owner = owner.clone();
        let rid = rid.clone();
        async move {
            let uri = format!("/v1/records/{rid}/things?type-id={NOTE_TYPE}{query}");
            let reply = get_json(api, &uri, &owner).await;
            assert_eq!(reply.status, StatusCode::OK, "{uri}: {}", reply.text());
            reply.json()["things"].as_array().unwrap().len()
        }
    };
    assert_eq!(count(String::new()).await, 1, "active by default");
    assert_eq!(count("&state=deleted".into()).await, 1);
    assert_eq!(count("&state=all".into()).await, 2);
    assert_eq!(count("&state=ACTIVE".into()).await, 1);
    let future = "2999-01-01T00:00:00Z";
    let past = "2000-01-01T00:00:00Z";
    assert_eq!(count(format!("&updated-min={future}")).await, 0);
    assert_eq!(
        count(format!("&updated-min={past}&updated-max={future}")).await,
        1
    );
    assert_eq!(count(format!("&eff-date-max={past}")).await, 0);
    assert_eq!(count(format!("&eff-date-min={past}&state=all")).await, 2);

    let reply = get(
        &api,
        &format!("/v1/records/{rid}/things?type-id={NOTE_TYPE}&sections=core"),
        &owner,
    )
    .await;
    let xml = reply.text();
    assert!(xml.contains("<thing-state>Active</thing-state>"));
    assert!(!xml.contains("<data-xml>") && !xml.contains("<created>"));
    let reply = get(
        &api,
        &format!("/v1/records/{rid}/things?type-id={NOTE_TYPE}&sections="),
        &owner,
    )
    .await;
    assert!(
        !reply.text().contains("<thing-state>"),
        "an empty list: keys only"
    );
}

#[tokio::test]
async fn bad_query_parameters_are_400_with_a_code() {
    let api = api();
    let (rid, owner) = record(&api, "A").await;
    for (query, code) in [
        ("type-id=nope", "invalid-type-id"),
        ("state=gone", "invalid-state"),
        ("max=0", "invalid-max"),
        ("max=1001", "invalid-max"),
        ("max=x", "invalid-max"),
        ("after=nope", "invalid-cursor"),
        ("updated-min=yesterday", "invalid-date"),
        ("eff-date-max=2020-01-01", "invalid-date"),
        ("sections=core,secrets", "unknown-section"),
    ] {
        let reply = get(&api, &format!("/v1/records/{rid}/things?{query}"), &owner).await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::BAD_REQUEST, code.to_owned()),
            "{query}"
        );
    }
}

#[tokio::test]
async fn the_openapi_document_describes_things_blobs_and_the_feed() {
    let api = api();
    let reply = send(&api, "GET", "/v1/openapi.json", None, &[], Body::empty()).await;
    let doc = reply.json();
    let paths = &doc["paths"];
    for (path, methods) in [
        ("/v1/records/{rid}/things", &["get", "post"][..]),
        (
            "/v1/records/{rid}/things/{tid}",
            &["get", "put", "delete"][..],
        ),
        ("/v1/records/{rid}/things/{tid}/versions", &["get"][..]),
        (
            "/v1/records/{rid}/things/{tid}/blobs/{name}",
            &["get", "put", "delete"][..],
        ),
        (
            "/v1/records/{rid}/things/{tid}/blob",
            &["get", "put", "delete"][..],
        ),
        ("/v1/records/{rid}/operations", &["get"][..]),
    ] {
        for m in methods {
            assert!(paths[path][m].is_object(), "{m} {path}");
        }
    }
    let params: Vec<&str> = paths["/v1/records/{rid}/things"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for name in [
        "type-id",
        "state",
        "updated-min",
        "eff-date-max",
        "max",
        "after",
        "sections",
    ] {
        assert!(params.contains(&name), "{name} in {params:?}");
    }
    for schema in [
        "ThingJson",
        "ThingsPage",
        "AuditJson",
        "BlobJson",
        "VersionsJson",
        "Operations",
        "StoredBlob",
    ] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
}

#[tokio::test]
async fn malformed_query_strings_are_json_errors() {
    let api = api();
    let (rid, owner) = record(&api, "A").await;
    for uri in [
        format!("/v1/records/{rid}/things?max=1&max=2"),
        format!("/v1/records/{rid}/operations?since=1&since=2"),
    ] {
        let reply = get(&api, &uri, &owner).await;
        assert_eq!(
            (reply.status, reply.code().as_str()),
            (StatusCode::BAD_REQUEST, "invalid-query"),
            "{uri}"
        );
    }
}
