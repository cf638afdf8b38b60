//! A medical-image-study thing through the generic things API: assembled on read, its
//! blob-ref-urls fetchable, and written only by ingest.

use axum::body::Body;
use axum::http::StatusCode;
use sv_model::RecordId;
use sv_testkit::fixtures::read_dicom_fixture;
use sv_vault::{IngestOptions, IngestStatus};

use crate::harness::*;

/// Ingests CT_small.dcm into `rid`: (thing id, study UID, series UID, SOP UID).
fn ingest_ct(api: &Api, rid: &str) -> (String, String, String, String) {
    let record: RecordId = rid.parse().unwrap();
    let bytes = read_dicom_fixture("CT_small.dcm");
    let report = api
        .vault
        .ingest_blocking(record, &bytes, &IngestOptions::default())
        .unwrap();
    assert_eq!(report.status, IngestStatus::Stored, "{report:?}");
    (
        report.thing_id.unwrap().to_string(),
        report.study_instance_uid.unwrap(),
        report.series_instance_uid.unwrap(),
        report.sop_instance_uid.unwrap(),
    )
}

#[tokio::test]
async fn a_study_reads_assembled_with_fetchable_blobs() {
    let api = api();
    let (rid, owner) = record(&api, "A").await;
    let (tid, study_uid, series_uid, sop_uid) = ingest_ct(&api, &rid);
    let viewer = token(&api, &rid, &owner, Some(STUDY_TYPE), &["read"]).await;

    let reply = get(&api, &format!("/v1/records/{rid}/things/{tid}"), &viewer).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let xml = reply.text();
    assert!(xml.contains("<type-id name=\"Medical image study\">"));
    let study = element(&xml, "data-xml").unwrap().trim();
    assert!(study.starts_with("<medical-image-study>"), "{study}");
    assert!(study.contains(&format!(
        "<study-instance-uid>{study_uid}</study-instance-uid>"
    )));
    assert!(study.contains(&format!("<image-blob-name>{sop_uid}</image-blob-name>")));

    // Every blob-ref-url answers with the bytes its blob-payload describes.
    let payload = element(&xml, "blob-payload").unwrap();
    let mut names = Vec::new();
    for blob in payload.split("<blob>").skip(1) {
        let name = element(blob, "name").unwrap().to_owned();
        let length: usize = element(blob, "content-length").unwrap().parse().unwrap();
        let content_type = element(blob, "content-type").unwrap().to_owned();
        let url = element(blob, "blob-ref-url").unwrap().replace("&amp;", "&");
        let fetched = get(&api, path_of(&url), &viewer).await;
        assert_eq!(fetched.status, StatusCode::OK, "{name}");
        assert_eq!(fetched.bytes.len(), length, "{name}");
        assert_eq!(fetched.header("content-type"), content_type);
        assert_eq!(fetched.header("etag").len(), 66);
        names.push(name);
    }
    for expected in [
        sop_uid.clone(),
        format!("{sop_uid}.preview.jpg"),
        format!("{series_uid}.preview.jpg"),
        format!("{study_uid}.preview.jpg"),
    ] {
        assert!(names.contains(&expected), "{expected} not in {names:?}");
    }
    let dicom = get(
        &api,
        &format!("/v1/records/{rid}/things/{tid}/blobs/{sop_uid}"),
        &viewer,
    )
    .await;
    assert_eq!(&dicom.bytes[128..132], b"DICM");

    // The study is found by its type, assembled in the page too.
    let page = get_json(
        &api,
        &format!("/v1/records/{rid}/things?type-id={STUDY_TYPE}"),
        &viewer,
    )
    .await;
    let things = page.json()["things"].as_array().unwrap().clone();
    assert_eq!(things.len(), 1);
    assert!(things[0]["data_xml"].as_str().unwrap().contains(&study_uid));
    assert!(things[0]["blobs"].as_array().unwrap().len() >= 4);
}

#[tokio::test]
async fn only_ingest_writes_studies() {
    let api = api();
    let (rid, owner) = record(&api, "A").await;
    let (tid, _, _, sop_uid) = ingest_ct(&api, &rid);
    let before = get(&api, &format!("/v1/records/{rid}/things/{tid}"), &owner).await;
    let version = before.etag();

    let create = note_xml(STUDY_TYPE, "fake");
    let reply = post_thing(&api, &rid, &owner, &create).await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (StatusCode::CONFLICT, "managed-by-ingest")
    );

    let uri = format!("/v1/records/{rid}/things/{tid}");
    let if_match = format!("\"{version}\"");
    let headers = [("content-type", XML), ("if-match", if_match.as_str())];
    let reply = send(
        &api,
        "PUT",
        &uri,
        Some(&owner),
        &headers,
        Body::from(create),
    )
    .await;
    assert_eq!(reply.code(), "managed-by-ingest");
    let blob = format!("{uri}/blobs/{sop_uid}");
    let ct = [("content-type", "application/dicom")];
    let reply = send(&api, "PUT", &blob, Some(&owner), &ct, Body::from("x")).await;
    assert_eq!(reply.code(), "managed-by-ingest");
    let reply = send(&api, "DELETE", &blob, Some(&owner), &[], Body::empty()).await;
    assert_eq!(reply.code(), "managed-by-ingest");
    assert_eq!(
        get(&api, &uri, &owner).await.etag(),
        version,
        "nothing changed"
    );

    // Deleting a study is allowed, and it is then gone from reads and blob reads.
    let reply = send(&api, "DELETE", &uri, Some(&owner), &[], Body::empty()).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(get(&api, &uri, &owner).await.status, StatusCode::NOT_FOUND);
    assert_eq!(get(&api, &blob, &owner).await.status, StatusCode::NOT_FOUND);
}
