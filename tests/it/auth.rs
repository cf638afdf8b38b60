//! Every endpoint refuses a missing token (401), an expired token (401), another record's
//! token (404, as if the record did not exist) and a token without the needed permission
//! (403), always with a JSON error and never with data; and nothing changes.

use serde_json::json;

use crate::http::{WEIGHT_TYPE, weight_thing};
use crate::server::{Server, fixture};
use crate::tour::STUDY_TYPE;

struct Call {
    method: &'static str,
    path: String,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    if_match: Option<String>,
    /// The token that lacks the permission this call needs.
    weak: &'static str,
}

#[test]
fn every_endpoint_refuses_missing_expired_foreign_and_weak_tokens() {
    let server = Server::start();
    let (rid, owner) = server.create_record("Auth Person A");
    let (_, other_owner) = server.create_record("Auth Person B");
    let ct = fixture("CT_small.dcm");
    let report = server.upload_dicom(&rid, &owner, &ct).json();
    let e = &report["instances"][0];
    let (study, series, sop, stid) = (
        e["study_instance_uid"].as_str().unwrap().to_string(),
        e["series_instance_uid"].as_str().unwrap().to_string(),
        e["sop_instance_uid"].as_str().unwrap().to_string(),
        e["thing_id"].as_str().unwrap().to_string(),
    );
    let xml = [("Content-Type", "application/xml")];
    let created = server.send(
        "POST",
        &format!("/v1/records/{rid}/things"),
        Some(&owner),
        &xml,
        weight_thing(70).as_bytes(),
    );
    assert_eq!(created.status, 201, "{}", created.text());
    let wetag = created.header("etag").unwrap().to_string();
    let wpath = created
        .header("location")
        .unwrap()
        .strip_prefix(&server.base)
        .unwrap()
        .to_string();
    let blob = server.send(
        "PUT",
        &format!("{wpath}/blobs/note.txt"),
        Some(&owner),
        &[("Content-Type", "text/plain")],
        b"a note",
    );
    assert!(blob.status < 300, "{}", blob.text());
    let wetag = server
        .get(&wpath, Some(&owner))
        .header("etag")
        .map_or(wetag, str::to_string);

    let expired = server.issue_token(
        &rid,
        &owner,
        json!([{"type_id": null, "permissions": ["all"]}]),
        Some(1),
    );
    let read_all = server.issue_token(
        &rid,
        &owner,
        json!([{"type_id": null, "permissions": ["read"]}]),
        None,
    );
    let weight_only = server.issue_token(
        &rid,
        &owner,
        json!([{"type_id": WEIGHT_TYPE, "permissions": ["all"]}]),
        None,
    );
    let tokens = server
        .get(&format!("/v1/records/{rid}/tokens"), Some(&owner))
        .json();
    let token_id = tokens[0]["id"].as_str().unwrap().to_string();
    std::thread::sleep(std::time::Duration::from_millis(1100));

    let r = format!("/v1/records/{rid}");
    let get = |path: String, weak| Call {
        method: "GET",
        path,
        content_type: None,
        body: Vec::new(),
        if_match: None,
        weak,
    };
    let calls = vec![
        get(format!("{r}/studies"), "weight_only"),
        get(format!("{r}/studies/{study}"), "weight_only"),
        get(format!("{r}/studies/{study}/preview"), "weight_only"),
        get(
            format!("{r}/studies/{study}/series/{series}/preview"),
            "weight_only",
        ),
        get(
            format!("{r}/studies/{study}/series/{series}/instances/{sop}/preview"),
            "weight_only",
        ),
        get(format!("{r}/studies/{study}/archive"), "weight_only"),
        get(format!("{r}/things?type-id={STUDY_TYPE}"), "weight_only"),
        get(format!("{r}/things/{stid}"), "weight_only"),
        get(format!("{r}/things/{stid}/versions"), "weight_only"),
        get(format!("{r}/things/{stid}/blobs/{sop}"), "weight_only"),
        get(format!("{r}/tokens"), "read_all"),
        Call {
            method: "POST",
            path: format!("{r}/studies"),
            content_type: Some("application/dicom"),
            body: fixture("MR_small.dcm"),
            if_match: None,
            weak: "read_all",
        },
        Call {
            method: "POST",
            path: format!("{r}/things"),
            content_type: Some("application/xml"),
            body: weight_thing(80).into_bytes(),
            if_match: None,
            weak: "read_all",
        },
        Call {
            method: "PUT",
            path: wpath.clone(),
            content_type: Some("application/xml"),
            body: weight_thing(81).into_bytes(),
            if_match: Some(wetag.clone()),
            weak: "read_all",
        },
        Call {
            method: "PUT",
            path: format!("{wpath}/blobs/other.txt"),
            content_type: Some("text/plain"),
            body: b"x".to_vec(),
            if_match: None,
            weak: "read_all",
        },
        Call {
            method: "DELETE",
            path: format!("{wpath}/blobs/note.txt"),
            content_type: None,
            body: Vec::new(),
            if_match: None,
            weak: "read_all",
        },
        Call {
            method: "DELETE",
            path: wpath.clone(),
            content_type: None,
            body: Vec::new(),
            if_match: Some(wetag.clone()),
            weak: "read_all",
        },
        Call {
            method: "POST",
            path: format!("{r}/tokens"),
            content_type: Some("application/json"),
            body: br#"{"label":"x","grants":[]}"#.to_vec(),
            if_match: None,
            weak: "read_all",
        },
        Call {
            method: "DELETE",
            path: format!("{r}/tokens/{token_id}"),
            content_type: None,
            body: Vec::new(),
            if_match: None,
            weak: "read_all",
        },
    ];

    let mut failures = Vec::new();
    for call in &calls {
        let weak = if call.weak == "read_all" {
            &read_all
        } else {
            &weight_only
        };
        for (who, token, expected) in [
            ("missing", None, 401),
            ("expired", Some(expired.as_str()), 401),
            ("other record's", Some(other_owner.as_str()), 404),
            ("weak", Some(weak.as_str()), 403),
        ] {
            let mut headers = Vec::new();
            if let Some(ct) = call.content_type {
                headers.push(("Content-Type", ct));
            }
            if let Some(m) = &call.if_match {
                headers.push(("If-Match", m.as_str()));
            }
            let reply = server.send(call.method, &call.path, token, &headers, &call.body);
            let text = reply.text();
            let json_error = serde_json::from_slice::<serde_json::Value>(&reply.body)
                .is_ok_and(|v| v["code"].is_string() && v["message"].is_string());
            if reply.status != expected
                || !json_error
                || text.contains(&study)
                || text.contains("CompressedSamples")
            {
                failures.push(format!(
                    "{} {} with {who} token: {} {}",
                    call.method,
                    call.path.replace(&rid, "{rid}"),
                    reply.status,
                    text.chars().take(120).collect::<String>()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} refusals wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // Admin-only: creating records.
    let body = br#"{"name":"x"}"#;
    let no = server.post("/v1/records", Some(&owner), "application/json", body);
    assert_eq!(no.error_code(403), "forbidden");
    assert_eq!(
        server
            .post("/v1/records", None, "application/json", body)
            .status,
        401
    );

    // Nothing changed: the weight thing, its blob and the study are as they were.
    let w = server.get(&wpath, Some(&owner));
    assert_eq!(w.header("etag"), Some(wetag.as_str()));
    assert!(w.text().contains("<kg>70</kg>"));
    let studies = server.get(&format!("{r}/studies"), Some(&owner)).json();
    assert_eq!(studies.as_array().unwrap().len(), 1);
}
