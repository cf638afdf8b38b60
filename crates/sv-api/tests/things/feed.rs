//! The change feed: creates, updates, deletes and blob changes in order, dense sequence
//! numbers, paging with `since`, and HealthVault's XML.

use axum::body::Body;
use axum::http::StatusCode;

use crate::harness::*;

#[tokio::test]
async fn the_feed_lists_changes_in_order_with_dense_numbers() {
    let api = api();
    let (rid, owner) = record(&api, "A").await;
    let empty = get_json(&api, &format!("/v1/records/{rid}/operations"), &owner).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(empty.json()["latest"], 0);
    assert_eq!(empty.json()["operations"], serde_json::json!([]));

    let (a, v1) = create_note(&api, &rid, &owner, "a").await;
    let (b, _) = create_note(&api, &rid, &owner, "b").await;
    let thing_a = format!("/v1/records/{rid}/things/{a}");
    let if_match = format!("\"{v1}\"");
    let headers = [("content-type", XML), ("if-match", if_match.as_str())];
    let body = Body::from(note_xml(NOTE_TYPE, "a2"));
    assert_eq!(
        send(&api, "PUT", &thing_a, Some(&owner), &headers, body)
            .await
            .status,
        StatusCode::OK
    );
    let blob = format!("{thing_a}/blobs/x");
    let ct = [("content-type", "text/plain")];
    let put = send(&api, "PUT", &blob, Some(&owner), &ct, Body::from("x")).await;
    assert_eq!(put.status, StatusCode::CREATED);
    let deleted = send(&api, "DELETE", &thing_a, Some(&owner), &[], Body::empty()).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let tombstone = deleted.etag();

    let feed = get_json(&api, &format!("/v1/records/{rid}/operations"), &owner)
        .await
        .json();
    assert_eq!(feed["latest"], 5);
    assert_eq!(feed["next_since"], 5);
    let ops = feed["operations"].as_array().unwrap();
    let seen: Vec<(u64, &str, &str)> = ops
        .iter()
        .map(|o| {
            (
                o["sequence_number"].as_u64().unwrap(),
                o["operation"].as_str().unwrap(),
                o["thing_id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (1, "Create", a.as_str()),
            (2, "Create", b.as_str()),
            (3, "Update", a.as_str()),
            (4, "Update", a.as_str()),
            (5, "Delete", a.as_str()),
        ]
    );
    assert_eq!(ops[4]["version_stamp"], tombstone.as_str());
    assert!(ops.iter().all(|o| o["type_id"] == NOTE_TYPE));

    // Paging: two at a time from 1.
    let page = get_json(
        &api,
        &format!("/v1/records/{rid}/operations?since=1&max=2"),
        &owner,
    )
    .await
    .json();
    let numbers: Vec<u64> = page["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["sequence_number"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, vec![2, 3]);
    assert_eq!(page["next_since"], 3);
    let caught_up = get_json(
        &api,
        &format!("/v1/records/{rid}/operations?since=5"),
        &owner,
    )
    .await
    .json();
    assert_eq!(caught_up["operations"], serde_json::json!([]));
    assert_eq!(caught_up["next_since"], 5);

    // HealthVault's GetRecordOperations shape.
    let accept = [("accept", "application/xml")];
    let uri = format!("/v1/records/{rid}/operations?since=4");
    let xml = send(&api, "GET", &uri, Some(&owner), &accept, Body::empty()).await;
    assert!(xml.header("content-type").starts_with("application/xml"));
    // Compared without the indentation between elements.
    let xml: String = xml.text().lines().map(str::trim).collect();
    assert!(xml.starts_with(
        "<wc:info xmlns:wc=\"urn:com.microsoft.wc.methods.response.GetRecordOperations\">"
    ));
    assert_eq!(
        element(&xml, "latest-record-operation-sequence-number"),
        Some("5")
    );
    assert!(xml.contains(&format!(
        "<record-operation><operation>Delete</operation><sequence-number>5</sequence-number>\
         <thing-id version-stamp=\"{tombstone}\">{a}</thing-id><type-id>{NOTE_TYPE}</type-id></record-operation>"
    )));

    for bad in ["since=-1", "since=x", "max=0", "max=5000"] {
        let reply = get_json(&api, &format!("/v1/records/{rid}/operations?{bad}"), &owner).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}");
    }
}
