//! Create, read, update, delete and history round trips, in XML and JSON, with `If-Match`.

use axum::body::Body;
use axum::http::StatusCode;

use crate::harness::*;

#[tokio::test]
async fn a_thing_round_trips_in_xml() {
    let api = api();
    let (rid, owner) = record(&api, "A").await;
    let created = post_thing(&api, &rid, &owner, &note_xml(NOTE_TYPE, "first")).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    assert!(
        created
            .header("content-type")
            .starts_with("application/xml")
    );
    let location = created.header("location").to_owned();
    let tid = location.rsplit('/').next().unwrap().to_owned();
    assert_eq!(
        location,
        format!("{PUBLIC_URL}/v1/records/{rid}/things/{tid}")
    );
    let v1 = created.etag();
    let body = created.text();
    assert!(body.contains(&format!(
        "<thing-id version-stamp=\"{v1}\">{tid}</thing-id>"
    )));
    assert!(body.contains("<thing-state>Active</thing-state>"));
    assert!(body.contains("<audit-action>Created</audit-action>"));

    let uri = format!("/v1/records/{rid}/things/{tid}");
    let read = get(&api, &uri, &owner).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.etag(), v1);
    let data = element(&read.text(), "data-xml").unwrap().trim().to_owned();
    assert_eq!(
        data, "<note><text>first</text></note><common><note>c</note></common>",
        "data-xml comes back byte for byte"
    );
    // eff-date is the creation time.
    let text = read.text();
    let eff = element(&text, "eff-date").unwrap();
    let created_at = element(element(&text, "created").unwrap(), "timestamp").unwrap();
    assert_eq!(eff, created_at);

    // Update with the current version.
    let update = format!(
        "<thing><thing-id version-stamp=\"{v1}\">{tid}</thing-id><type-id>{NOTE_TYPE}</type-id>\
         <flags>16</flags><data-xml><note><text>second</text></note></data-xml></thing>"
    );
    let if_match = format!("\"{v1}\"");
    let headers = [("content-type", XML), ("if-match", if_match.as_str())];
    let updated = send(
        &api,
        "PUT",
        &uri,
        Some(&owner),
        &headers,
        Body::from(update),
    )
    .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text());
    let v2 = updated.etag();
    assert_ne!(v1, v2);
    let read = get(&api, &uri, &owner).await;
    assert_eq!(read.etag(), v2);
    let text = read.text();
    assert_eq!(
        element(&text, "data-xml").map(str::trim),
        Some("<note><text>second</text></note>")
    );
    assert_eq!(element(&text, "flags"), Some("16"));
    assert_eq!(element(&text, "eff-date"), Some(eff), "eff-date kept");

    // Delete, then the thing is gone but its history is not.
    let deleted = send(&api, "DELETE", &uri, Some(&owner), &[], Body::empty()).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let v3 = deleted.etag();
    let gone = get(&api, &uri, &owner).await;
    assert_eq!(
        (gone.status, gone.code().as_str()),
        (StatusCode::NOT_FOUND, "not-found")
    );
    let again = send(&api, "DELETE", &uri, Some(&owner), &[], Body::empty()).await;
    assert_eq!(
        again.status,
        StatusCode::NO_CONTENT,
        "deleting twice changes nothing"
    );
    assert_eq!(again.etag(), v3);

    let history = get(&api, &format!("{uri}/versions"), &owner).await;
    assert_eq!(history.status, StatusCode::OK);
    let xml = history.text();
    assert!(xml.starts_with("<thing-versions>"), "{xml}");
    let stamps: Vec<_> = [&v1, &v2, &v3]
        .iter()
        .map(|v| xml.find(&format!("version-stamp=\"{v}\"")).unwrap())
        .collect();
    assert!(stamps.windows(2).all(|w| w[0] < w[1]), "oldest first");
    assert_eq!(xml.matches("<version ").count(), 3);
    assert!(xml.contains("<audit-action>Deleted</audit-action>"));

    // An old version stays readable by its stamp.
    let old = get(&api, &format!("{uri}?version={v1}"), &owner).await;
    assert_eq!(old.status, StatusCode::OK);
    assert_eq!(old.etag(), v1);
    assert!(old.text().contains("<text>first</text>"));
}

#[tokio::test]
async fn a_thing_round_trips_in_json() {
    let api = api();
    let (rid, owner) = record(&api, "A").await;
    let uri = format!("/v1/records/{rid}/things");
    let headers = [("content-type", XML), ("accept", "application/json")];
    let body = Body::from(note_xml(NOTE_TYPE, "json &amp; xml"));
    let created = send(&api, "POST", &uri, Some(&owner), &headers, body).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let thing = created.json();
    let tid = thing["thing_id"].as_str().unwrap().to_owned();
    assert_eq!(thing["version_stamp"].as_str().unwrap(), created.etag());
    assert_eq!(thing["type_id"], NOTE_TYPE);
    assert_eq!(thing["state"], "Active");
    assert_eq!(thing["flags"], 0);
    assert_eq!(thing["created"]["action"], "Created");
    assert_eq!(thing["created"]["person_id"], rid.as_str());
    assert_eq!(thing["blobs"], serde_json::json!([]));
    assert_eq!(
        thing["data_xml"],
        "<note><text>json &amp; xml</text></note><common><note>c</note></common>"
    );

    let read = get_json(&api, &format!("{uri}/{tid}?sections=core"), &owner).await;
    let v = read.json();
    assert_eq!(v["state"], "Active");
    assert!(v.get("data_xml").is_none() && v.get("created").is_none() && v.get("blobs").is_none());

    let history = get_json(&api, &format!("{uri}/{tid}/versions"), &owner).await;
    let h = history.json();
    assert_eq!(h["thing_id"], tid.as_str());
    assert_eq!(h["versions"].as_array().unwrap().len(), 1);
    assert_eq!(h["versions"][0]["state"], "Active");
    assert_eq!(h["versions"][0]["updated"]["action"], "Created");
}

#[tokio::test]
async fn stale_or_missing_versions_change_nothing() {
    let api = api();
    let (rid, owner) = record(&api, "A").await;
    let (tid, v1) = create_note(&api, &rid, &owner, "original").await;
    let uri = format!("/v1/records/{rid}/things/{tid}");
    let xml = note_xml(NOTE_TYPE, "changed");
    let put = |if_match: Option<String>| {
        let xml = xml.clone();
        let uri = uri.clone();
        let owner = owner.clone();
        let api = &api;
        async move {
            let mut headers = vec![("content-type", XML.to_owned())];
            if let Some(m) = if_match {
                headers.push(("if-match", m));
            }
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            send(api, "PUT", &uri, Some(&owner), &headers, Body::from(xml)).await
        }
    };

    let reply = put(None).await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (StatusCode::PRECONDITION_REQUIRED, "version-required")
    );
    let reply = put(Some("*".into())).await;
    assert_eq!(reply.status, StatusCode::PRECONDITION_REQUIRED);
    let stale = format!("\"{}\"", uuid_like());
    let reply = put(Some(stale.clone())).await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (StatusCode::PRECONDITION_FAILED, "version-conflict")
    );
    let reply = put(Some(format!("W/\"{v1}\""))).await;
    assert_eq!(
        reply.status,
        StatusCode::PRECONDITION_FAILED,
        "weak tags never match If-Match"
    );

    // A good update makes v1 stale.
    let reply = put(Some(format!("\"{v1}\""))).await;
    assert_eq!(reply.status, StatusCode::OK);
    let v2 = reply.etag();
    let reply = put(Some(format!("\"{v1}\""))).await;
    assert_eq!(reply.status, StatusCode::PRECONDITION_FAILED);
    assert!(reply.json()["message"].as_str().unwrap().contains(&v2));

    // A stale delete deletes nothing.
    let if_match = format!("\"{v1}\"");
    let headers = [("if-match", if_match.as_str())];
    let reply = send(&api, "DELETE", &uri, Some(&owner), &headers, Body::empty()).await;
    assert_eq!(reply.status, StatusCode::PRECONDITION_FAILED);
    let read = get(&api, &uri, &owner).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.etag(), v2);
    let history = get_json(&api, &format!("{uri}/versions"), &owner).await;
    assert_eq!(history.json()["versions"].as_array().unwrap().len(), 2);

    // The body's thing-id and type-id must agree with the URL and the stored type.
    let if_match = format!("\"{v2}\"");
    let headers = [("content-type", XML), ("if-match", if_match.as_str())];
    let other = note_xml(OTHER_TYPE, "x");
    let reply = send(&api, "PUT", &uri, Some(&owner), &headers, Body::from(other)).await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (StatusCode::BAD_REQUEST, "type-mismatch")
    );
    let wrong_id = format!(
        "<thing><thing-id version-stamp=\"{v2}\">{}</thing-id><data-xml><a/></data-xml></thing>",
        uuid_like()
    );
    let reply = send(
        &api,
        "PUT",
        &uri,
        Some(&owner),
        &headers,
        Body::from(wrong_id),
    )
    .await;
    assert_eq!(reply.code(), "thing-id-mismatch");
    let wrong_version = format!(
        "<thing><thing-id version-stamp=\"{v1}\">{tid}</thing-id><data-xml><a/></data-xml></thing>"
    );
    let reply = send(
        &api,
        "PUT",
        &uri,
        Some(&owner),
        &headers,
        Body::from(wrong_version),
    )
    .await;
    assert_eq!(reply.code(), "version-mismatch");
    assert_eq!(get(&api, &uri, &owner).await.etag(), v2);

    // Without <data-xml> an update keeps the stored XML (HealthVault's empty update).
    let flags_only = "<thing><flags>1</flags></thing>";
    let reply = send(
        &api,
        "PUT",
        &uri,
        Some(&owner),
        &headers,
        Body::from(flags_only),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.text().contains("<text>changed</text>"));
}

#[tokio::test]
async fn creates_need_a_type_and_data_and_no_id() {
    let api = api();
    let (rid, owner) = record(&api, "A").await;
    for (xml, code) in [
        (
            "<thing><data-xml><a/></data-xml></thing>".to_owned(),
            "missing-type-id",
        ),
        (
            format!("<thing><type-id>{NOTE_TYPE}</type-id></thing>"),
            "missing-data-xml",
        ),
        (
            format!(
                "<thing><thing-id version-stamp=\"{0}\">{0}</thing-id><type-id>{NOTE_TYPE}</type-id>\
                 <data-xml><a/></data-xml></thing>",
                uuid_like()
            ),
            "thing-id-mismatch",
        ),
        (
            "<thing><type-id>nope</type-id><data-xml><a/></data-xml></thing>".to_owned(),
            "invalid-value",
        ),
    ] {
        let reply = post_thing(&api, &rid, &owner, &xml).await;
        assert_eq!(
            (reply.status, reply.code()),
            (StatusCode::BAD_REQUEST, code.to_owned()),
            "{xml}"
        );
    }
    let unknown = get(
        &api,
        &format!("/v1/records/{rid}/things/{}", uuid_like()),
        &owner,
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let junk = get(
        &api,
        &format!("/v1/records/{rid}/things/not-a-guid"),
        &owner,
    )
    .await;
    assert_eq!(junk.status, StatusCode::NOT_FOUND);
}

/// A fresh GUID, known to nothing.
pub fn uuid_like() -> String {
    sv_model::ThingId::new_random().to_string()
}
