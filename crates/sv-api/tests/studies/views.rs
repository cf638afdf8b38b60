//! The study list and details, previews at three levels with caching, and the archive.

use std::collections::HashMap;
use std::io::{Cursor, Read};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::StatusCode;
use serde_json::{Value, json};
use sv_testkit::fixtures::read_dicom_fixture;

use crate::harness::*;

/// Uploads the zipped `98892003` set; returns the report and the uploaded bytes by SOP UID.
async fn upload_set(api: &Api, rid: &str, token: &str) -> (Value, HashMap<String, Vec<u8>>) {
    let set = dicomdir_set();
    let reply = upload(api, rid, token, "application/zip", "", zip_of(&set)).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let report = reply.json();
    let by_source: HashMap<&str, &Vec<u8>> = set.iter().map(|(p, b)| (p.as_str(), b)).collect();
    let by_sop = report["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let source = i["source"].as_str().unwrap();
            let sop = i["sop_instance_uid"].as_str().unwrap().to_owned();
            (sop, by_source[source].clone())
        })
        .collect();
    (report, by_sop)
}

fn decode(reply: &Reply) -> image::DynamicImage {
    let format = match reply.header("content-type") {
        "image/jpeg" => image::ImageFormat::Jpeg,
        "image/png" => image::ImageFormat::Png,
        other => panic!("preview served as {other}"),
    };
    image::load_from_memory_with_format(&reply.bytes, format).unwrap()
}

#[tokio::test]
async fn the_list_and_details_describe_the_studies() {
    let api = api();
    let (rid, owner) = record(&api, "A").await;
    let (report, by_sop) = upload_set(&api, &rid, &owner).await;
    let sr = text_report(
        "1.2.826.0.1.3680043.2.1143.78",
        "1.2.826.0.1.3680043.2.1143.78.1.1",
    );
    let stored = upload(&api, &rid, &owner, "application/dicom", "", sr).await;
    assert_eq!(stored.status, StatusCode::CREATED);

    let listed = studies(&api, &rid, &owner).await;
    let set_studies = report["studies"].as_array().unwrap().len();
    assert_eq!(listed.len(), set_studies + 1);
    let mr_uid = report["studies"][0]["study_instance_uid"].as_str().unwrap();
    let mr = listed
        .iter()
        .find(|s| s["study_instance_uid"] == mr_uid)
        .unwrap();
    let in_study: Vec<&Value> = report["instances"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["study_instance_uid"] == mr_uid)
        .collect();
    let series: std::collections::HashSet<&str> = in_study
        .iter()
        .map(|i| i["series_instance_uid"].as_str().unwrap())
        .collect();
    assert_eq!(mr["instance_count"].as_u64(), Some(in_study.len() as u64));
    let total: u64 = listed
        .iter()
        .map(|s| s["instance_count"].as_u64().unwrap())
        .sum();
    assert_eq!(total, by_sop.len() as u64 + 1);
    assert_eq!(mr["series_count"].as_u64(), Some(series.len() as u64));
    assert_eq!(mr["modalities"], serde_json::json!(["MR"]));
    assert_eq!(mr["thing_id"], report["studies"][0]["thing_id"]);
    assert!(mr["preview_url"].as_str().unwrap().contains("/preview?v="));
    assert!(mr["archive_url"].as_str().unwrap().ends_with("/archive"));
    let report_study = listed
        .iter()
        .find(|s| s["modalities"] == serde_json::json!(["SR"]))
        .unwrap();
    assert!(
        report_study["preview_url"].is_null(),
        "no image, no preview"
    );
    // Newest first.
    let dates: Vec<&str> = listed.iter().map(|s| s["date"].as_str().unwrap()).collect();
    let mut sorted = dates.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(dates, sorted);

    let details = get(&api, path_of(mr["url"].as_str().unwrap()), &owner).await;
    assert_eq!(details.status, StatusCode::OK);
    let details = details.json();
    assert_eq!(details["series"].as_array().unwrap().len(), series.len());
    let listed_sops: usize = details["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["instances"].as_array().unwrap().len())
        .sum();
    assert_eq!(listed_sops, in_study.len());
    let missing = get(
        &api,
        &format!("/v1/records/{rid}/studies/1.2.3.999"),
        &owner,
    )
    .await;
    assert_eq!(
        (missing.status, missing.code().as_str()),
        (StatusCode::NOT_FOUND, "not-found")
    );
}

#[tokio::test]
async fn previews_at_every_level_with_etags_and_revalidation() {
    let api = api();
    let (rid, owner) = record(&api, "A").await;
    let reader = token(&api, &rid, &owner, &["read"]).await;
    let (report, _) = upload_set(&api, &rid, &owner).await;
    let study = report["studies"][0]["study_instance_uid"].as_str().unwrap();
    let first = &report["instances"][0];
    let series = first["series_instance_uid"].as_str().unwrap();
    let base = format!("/v1/records/{rid}/studies/{study}");
    let urls = [
        format!("{base}/preview"),
        format!("{base}/series/{series}/preview"),
        path_of(first["preview"].as_str().unwrap()).to_owned(),
    ];
    for (level, uri) in urls.iter().enumerate() {
        let reply = get(&api, uri, &reader).await;
        assert_eq!(reply.status, StatusCode::OK, "{uri}");
        let image = decode(&reply);
        assert!(
            image.width().min(image.height()) >= 500,
            "{uri}: {}x{}",
            image.width(),
            image.height()
        );
        let etag = reply.header("etag").to_owned();
        assert_eq!(
            etag,
            format!(
                "\"{}\"",
                sv_model::BlobId::of(&reply.bytes).to_hex().as_str()
            )
        );
        let caching = reply.header("cache-control");
        if level == 2 {
            assert!(caching.contains("max-age=86400"), "{caching}");
        } else {
            assert!(caching.contains("no-cache"), "{caching}");
        }

        let headers = [("if-none-match", etag.as_str())];
        let again = send(&api, "GET", uri, Some(&reader), &headers, Body::empty()).await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED);
        assert!(again.bytes.is_empty());
        assert_eq!(again.header("etag"), etag);

        let hex = etag.trim_matches('"');
        let pinned = get(&api, &format!("{uri}?v={hex}"), &reader).await;
        assert!(pinned.header("cache-control").contains("immutable"));
    }

    let sr = text_report(
        "1.2.826.0.1.3680043.2.1143.79",
        "1.2.826.0.1.3680043.2.1143.79.1.1",
    );
    let stored = upload(&api, &rid, &owner, "application/dicom", "", sr)
        .await
        .json();
    let sr_entry = &stored["instances"][0];
    assert!(sr_entry["preview"].is_null());
    let sr_uri = format!(
        "/v1/records/{rid}/studies/{}/series/{}/instances/{}/preview",
        sr_entry["study_instance_uid"].as_str().unwrap(),
        sr_entry["series_instance_uid"].as_str().unwrap(),
        sr_entry["sop_instance_uid"].as_str().unwrap()
    );
    let none = get(&api, &sr_uri, &reader).await;
    assert_eq!(
        (none.status, none.code().as_str()),
        (StatusCode::NOT_FOUND, "no-preview")
    );
    let wrong_series = get(&api, &format!("{base}/series/1.2.3/preview"), &reader).await;
    assert_eq!(wrong_series.status, StatusCode::NOT_FOUND);
    let (_, stranger) = record(&api, "B").await;
    assert_eq!(
        get(&api, &urls[0], &stranger).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_archive_holds_exactly_the_uploaded_instances() {
    let api = api();
    let (rid, owner) = record(&api, "A").await;
    let (report, by_sop) = upload_set(&api, &rid, &owner).await;
    let archive_url = report["studies"][0]["archive_url"].as_str().unwrap();
    let study = report["studies"][0]["study_instance_uid"].as_str().unwrap();

    let reply = get(&api, path_of(archive_url), &owner).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-type"), "application/zip");
    assert_eq!(
        reply.header("content-disposition"),
        format!("attachment; filename=\"{study}.zip\"")
    );
    let mut zip = zip::ZipArchive::new(Cursor::new(reply.bytes.to_vec())).unwrap();
    let mut seen = HashMap::new();
    let mut previews = 0;
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).unwrap();
        let name = entry.name().unwrap().into_owned();
        assert_eq!(
            entry.compression(),
            zip::CompressionMethod::Stored,
            "{name}"
        );
        assert!(
            entry.last_modified().unwrap().year() > 1980,
            "{name}: entries are dated"
        );
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        if name.starts_with("previews/") {
            previews += 1;
            continue;
        }
        let (series, file) = name.split_once('/').unwrap();
        let sop = file.strip_suffix(".dcm").unwrap();
        let uploaded = report["instances"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["sop_instance_uid"] == sop)
            .unwrap();
        assert_eq!(uploaded["series_instance_uid"], series);
        seen.insert(sop.to_owned(), bytes);
    }
    let expected: HashMap<String, Vec<u8>> = report["instances"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["study_instance_uid"] == study)
        .map(|i| {
            let sop = i["sop_instance_uid"].as_str().unwrap().to_owned();
            let bytes = by_sop[&sop].clone();
            (sop, bytes)
        })
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(seen, expected, "byte for byte, nothing more, nothing less");
    assert_eq!(previews, expected.len());

    let missing = get(
        &api,
        &format!("/v1/records/{rid}/studies/1.2.3/archive"),
        &owner,
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn study_and_series_previews_follow_new_instances() {
    let api = api();
    // Learn the set's studies in a scratch record, then grow one study file by file.
    let (scratch, scratch_owner) = record(&api, "scratch").await;
    let (report, by_sop) = upload_set(&api, &scratch, &scratch_owner).await;
    let study = report["studies"][0]["study_instance_uid"].as_str().unwrap();
    let members: Vec<&Value> = report["instances"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["study_instance_uid"] == study)
        .collect();
    assert!(members.len() >= 2);

    let (rid, owner) = record(&api, "A").await;
    let preview = format!("/v1/records/{rid}/studies/{study}/preview");
    for (n, member) in members.iter().enumerate() {
        let bytes = by_sop[member["sop_instance_uid"].as_str().unwrap()].clone();
        let stored = upload(&api, &rid, &owner, "application/dicom", "", bytes).await;
        assert_eq!(stored.status, StatusCode::CREATED);
        // The preview is asked for first (it may answer from its cache), then the list
        // computes the study afresh: both must name the same image.
        let served = get(&api, &preview, &owner).await;
        assert_eq!(served.status, StatusCode::OK);
        let listed = studies(&api, &rid, &owner).await;
        let url = listed[0]["preview_url"].as_str().unwrap();
        let current = url.split("?v=").nth(1).unwrap();
        assert_eq!(
            served.header("etag").trim_matches('"'),
            current,
            "after {} instances",
            n + 1
        );
        assert_eq!(listed[0]["instance_count"].as_u64(), Some(n as u64 + 1));
    }
}

/// Stores `CT_small.dcm`; returns its instance preview path and its study preview path.
async fn one_image(api: &Api, rid: &str, owner: &str) -> (String, String) {
    let ct = read_dicom_fixture("CT_small.dcm");
    let stored = upload(api, rid, owner, "application/dicom", "", ct).await;
    assert_eq!(stored.status, StatusCode::CREATED);
    let report = stored.json();
    let instance = path_of(report["instances"][0]["preview"].as_str().unwrap()).to_owned();
    let study = report["studies"][0]["study_instance_uid"].as_str().unwrap();
    (
        instance,
        format!("/v1/records/{rid}/studies/{study}/preview"),
    )
}

/// Issues a read token on studies; returns its id and secret.
async fn reader_token(
    api: &Api,
    rid: &str,
    owner: &str,
    expires_in: Option<i64>,
) -> (String, String) {
    let mut body = json!({"label": "viewer", "grants": [{
        "type_id": "cdfc0a9b-6d3b-4d16-afa8-02b86d621a8d", "permissions": ["read"]}]});
    if let Some(s) = expires_in {
        body["expires_in"] = json!(s);
    }
    let headers = [("content-type", "application/json")];
    let uri = format!("/v1/records/{rid}/tokens");
    let body = Body::from(body.to_string());
    let reply = send(api, "POST", &uri, Some(owner), &headers, body).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let v = reply.json();
    (
        v["id"].as_str().unwrap().to_owned(),
        v["token"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn a_preview_served_again_from_memory_is_the_same_and_still_revalidates() {
    let api = api();
    let (rid, owner) = record(&api, "A").await;
    let (instance, study) = one_image(&api, &rid, &owner).await;
    for uri in [&instance, &study] {
        // The first answer reads the file; the second comes from the vault's memory.
        let first = get(&api, uri, &owner).await;
        let second = get(&api, uri, &owner).await;
        assert_eq!(
            (first.status, second.status),
            (StatusCode::OK, StatusCode::OK)
        );
        assert!(!first.bytes.is_empty());
        assert_eq!(first.bytes, second.bytes, "{uri}");
        let etag = first.header("etag");
        assert_eq!(second.header("etag"), etag);
        assert_eq!(
            etag,
            format!(
                "\"{}\"",
                sv_model::BlobId::of(&second.bytes).to_hex().as_str()
            )
        );
        assert_eq!(second.header("content-type"), first.header("content-type"));
        assert_eq!(
            second.header("content-length"),
            first.bytes.len().to_string()
        );
        assert_eq!(
            second.header("cache-control"),
            first.header("cache-control")
        );

        let weak = format!("W/{etag}");
        for tag in [etag, "\"0000\", *", weak.as_str()] {
            let headers = [("if-none-match", tag)];
            let again = send(&api, "GET", uri, Some(&owner), &headers, Body::empty()).await;
            assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{uri} {tag}");
            assert!(again.bytes.is_empty());
            assert_eq!(again.header("etag"), etag);
        }
        let stale = [("if-none-match", "\"0000\"")];
        let changed = send(&api, "GET", uri, Some(&owner), &stale, Body::empty()).await;
        assert_eq!(changed.status, StatusCode::OK);
        assert_eq!(changed.bytes, first.bytes);
        let hex = etag.trim_matches('"');
        let pinned = get(&api, &format!("{uri}?v={hex}"), &owner).await;
        assert_eq!(pinned.bytes, first.bytes);
        assert!(pinned.header("cache-control").contains("immutable"));
    }
    let missing = get(
        &api,
        &instance.replace("/instances/", "/instances/9"),
        &owner,
    )
    .await;
    assert_eq!(
        (missing.status, missing.code().as_str()),
        (StatusCode::NOT_FOUND, "not-found")
    );
}

#[tokio::test]
async fn a_revoked_token_is_refused_on_the_next_preview() {
    let api = api();
    let (rid, owner) = record(&api, "A").await;
    let (instance, study) = one_image(&api, &rid, &owner).await;
    let (id, reader) = reader_token(&api, &rid, &owner, None).await;
    for uri in [&instance, &study] {
        assert_eq!(get(&api, uri, &reader).await.status, StatusCode::OK);
        assert_eq!(get(&api, uri, &reader).await.status, StatusCode::OK);
    }
    // The token is known from memory now; other tokens' access is still checked per request.
    let (_, stranger) = record(&api, "B").await;
    assert_eq!(
        get(&api, &instance, &stranger).await.status,
        StatusCode::NOT_FOUND
    );
    let creator = token(&api, &rid, &owner, &["create"]).await;
    assert_eq!(
        get(&api, &instance, &creator).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(&api, &instance, &creator).await.status,
        StatusCode::FORBIDDEN
    );

    let uri = format!("/v1/records/{rid}/tokens/{id}");
    let revoked = send(&api, "DELETE", &uri, Some(&owner), &[], Body::empty()).await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    for uri in [&instance, &study] {
        let refused = get(&api, uri, &reader).await;
        assert_eq!(
            (refused.status, refused.code().as_str()),
            (StatusCode::UNAUTHORIZED, "invalid-token"),
            "{uri}"
        );
    }
    assert_eq!(get(&api, &instance, &owner).await.status, StatusCode::OK);
    let again = send(&api, "DELETE", &uri, Some(&owner), &[], Body::empty()).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_expired_token_is_refused_even_when_remembered() {
    let api = api();
    let (rid, owner) = record(&api, "A").await;
    let (instance, _) = one_image(&api, &rid, &owner).await;
    let issued = Instant::now();
    let (_, reader) = reader_token(&api, &rid, &owner, Some(2)).await;
    let served = get(&api, &instance, &reader).await;
    assert!(
        issued.elapsed() < Duration::from_secs(2),
        "the first request must come before the expiry for this test to mean anything"
    );
    assert_eq!(served.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(2100).saturating_sub(issued.elapsed())).await;
    for _ in 0..2 {
        let refused = get(&api, &instance, &reader).await;
        assert_eq!(
            (refused.status, refused.code().as_str()),
            (StatusCode::UNAUTHORIZED, "token-expired")
        );
    }
}

#[tokio::test]
async fn the_openapi_document_describes_the_study_routes() {
    let api = api();
    let doc = send(&api, "GET", "/v1/openapi.json", None, &[], Body::empty())
        .await
        .json();
    let paths = &doc["paths"];
    assert!(paths["/v1/records/{rid}/studies"]["post"].is_object());
    assert!(paths["/v1/records/{rid}/studies"]["get"].is_object());
    for suffix in [
        "",
        "/preview",
        "/archive",
        "/series/{series}/preview",
        "/series/{series}/instances/{sop}/preview",
    ] {
        let path = format!("/v1/records/{{rid}}/studies/{{study}}{suffix}");
        assert!(paths[&path]["get"].is_object(), "{path}");
    }
    let schemas = &doc["components"]["schemas"];
    for name in [
        "UploadReport",
        "InstanceEntry",
        "StudySummary",
        "StudyDetails",
    ] {
        assert!(schemas[name].is_object(), "{name}");
    }
}
