//! Every upload kind, duplicates, conflicts and replacement, and who may upload.

use axum::http::StatusCode;
use sv_testkit::fixtures::read_dicom_fixture;

use crate::harness::*;

#[tokio::test]
async fn one_file_is_stored_then_duplicate_then_conflict_then_replaced() {
    let api = api();
    let (rid, owner) = record(&api, "A").await;
    let ct = read_dicom_fixture("CT_small.dcm");

    let first = upload(&api, &rid, &owner, "application/dicom", "", ct.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let report = first.json();
    assert_eq!(
        (report["stored"].as_u64(), report["failed"].as_u64()),
        (Some(1), Some(0))
    );
    let entry = &report["instances"][0];
    assert_eq!(entry["status"], "stored");
    assert!(entry["source"].is_null());
    let study = entry["study_instance_uid"].as_str().unwrap();
    assert!(entry["preview"].as_str().unwrap().ends_with("/preview"));
    assert_eq!(report["studies"][0]["study_instance_uid"], study);
    assert_eq!(report["studies"][0]["thing_id"], entry["thing_id"]);

    let again = upload(&api, &rid, &owner, "application/dicom", "", ct.clone()).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json()["instances"][0]["status"], "duplicate");
    assert_eq!(again.json()["duplicates"], 1);

    let mut changed = ct.clone();
    let last = changed.len() - 1;
    changed[last] ^= 1;
    let conflict = upload(&api, &rid, &owner, "application/dicom", "", changed.clone()).await;
    assert_eq!(conflict.status, StatusCode::CONFLICT);
    assert_eq!(conflict.code(), "sop-instance-conflict");
    assert_eq!(conflict.json()["instances"][0]["status"], "conflict");

    let replaced = upload(
        &api,
        &rid,
        &owner,
        "application/dicom",
        "?replace=true",
        changed,
    )
    .await;
    assert_eq!(replaced.status, StatusCode::CREATED);
    assert_eq!(replaced.json()["instances"][0]["status"], "replaced");
    assert_eq!(replaced.json()["replaced"], 1);

    let listed = studies(&api, &rid, &owner).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["instance_count"], 1);
}

#[tokio::test]
async fn a_multipart_batch_reports_each_part() {
    let api = api();
    let (rid, owner) = record(&api, "A").await;
    let ct = read_dicom_fixture("CT_small.dcm");
    let mr = read_dicom_fixture("MR_small.dcm");
    let sr = text_report(
        "1.2.826.0.1.3680043.2.1143.77",
        "1.2.826.0.1.3680043.2.1143.77.1.1",
    );
    let body = multipart(&[
        (Some("application/dicom"), &ct),
        (Some("application/dicom"), b"this part is junk, not DICOM"),
        (None, &mr),
        (Some("application/dicom"), &sr),
        (Some("application/json"), b"{}"),
    ]);
    let reply = upload(&api, &rid, &owner, MULTIPART, "", body).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let report = reply.json();
    let statuses: Vec<(&str, &str, &str)> = report["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["source"].as_str().unwrap(),
                i["status"].as_str().unwrap(),
                i["reason"]["code"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("part 1", "stored", ""),
            ("part 2", "failed", "not-dicom"),
            ("part 3", "stored", ""),
            ("part 4", "stored", ""),
            ("part 5", "failed", "unsupported-media-type"),
        ]
    );
    assert_eq!(
        (report["stored"].as_u64(), report["failed"].as_u64()),
        (Some(3), Some(2))
    );
    assert!(
        report["instances"][3]["preview"].is_null(),
        "a report has no preview"
    );
    assert_eq!(report["studies"].as_array().unwrap().len(), 3);

    // The same batch again: everything already there.
    let again = upload(
        &api,
        &rid,
        &owner,
        MULTIPART,
        "",
        multipart(&[(None, &ct), (None, &mr)]),
    )
    .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json()["duplicates"], 2);

    // No CRLF before the first boundary, a CRLF after the last, a bare boundary parameter.
    let mut plain = multipart(&[(Some("application/dicom"), &ct)])[2..].to_vec();
    plain.extend_from_slice(b"\r\n");
    let bare = "multipart/related; boundary=b0undary-1; type=application/dicom";
    let reply = upload(&api, &rid, &owner, bare, "", plain).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json());
    assert_eq!(reply.json()["duplicates"], 1);
}

#[tokio::test]
async fn a_zipped_cd_with_dicomdir_folders_and_clutter() {
    let api = api();
    let (rid, owner) = record(&api, "A").await;
    let set = dicomdir_set();
    let mut entries: Vec<(String, Vec<u8>)> = set
        .iter()
        .map(|(p, b)| (format!("CD/DICOM/98892003/{p}"), b.clone()))
        .collect();
    entries.push(("CD/DICOMDIR".into(), dicomdir()));
    entries.push((
        "CD/README.txt".into(),
        b"Viewer on this CD: run setup.exe\n".to_vec(),
    ));
    entries.push(("CD/.DS_Store".into(), b"\0\0\0\x01Bud1\0\0\x10\0".to_vec()));
    entries.push((
        "__MACOSX/CD/._README.txt".into(),
        b"\0\x05\x16\x07".to_vec(),
    ));
    let reply = upload(&api, &rid, &owner, "application/zip", "", zip_of(&entries)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.json());
    let report = reply.json();
    assert_eq!(report["stored"].as_u64(), Some(set.len() as u64));
    assert_eq!(report["skipped"], 4);
    assert_eq!(report["failed"], 0);
    let skipped: Vec<(&str, &str)> = report["instances"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["status"] == "skipped")
        .map(|i| {
            (
                i["source"].as_str().unwrap(),
                i["reason"]["code"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        skipped,
        [
            ("CD/DICOMDIR", "dicomdir"),
            ("CD/README.txt", "not-dicom"),
            ("CD/.DS_Store", "not-dicom"),
            ("__MACOSX/CD/._README.txt", "not-dicom"),
        ]
    );
    assert_eq!(
        report["instances"][0]["source"].as_str().unwrap(),
        format!("CD/DICOM/98892003/{}", set[0].0)
    );

    // Uploading the same CD again stores nothing new.
    let again = upload(&api, &rid, &owner, "application/zip", "", zip_of(&entries)).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json()["duplicates"].as_u64(), Some(set.len() as u64));
}

#[tokio::test]
async fn only_tokens_that_may_create_studies_upload() {
    let api = api();
    let (rid, owner) = record(&api, "A").await;
    let (_, other_owner) = record(&api, "B").await;
    let reader = token(&api, &rid, &owner, &["read"]).await;
    let creator = token(&api, &rid, &owner, &["create"]).await;
    let ct = read_dicom_fixture("CT_small.dcm");

    let denied = upload(&api, &rid, &reader, "application/dicom", "", ct.clone()).await;
    assert_eq!(
        (denied.status, denied.code().as_str()),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    let foreign = upload(
        &api,
        &rid,
        &other_owner,
        "application/dicom",
        "",
        ct.clone(),
    )
    .await;
    assert_eq!(
        (foreign.status, foreign.code().as_str()),
        (StatusCode::NOT_FOUND, "not-found")
    );
    let uri = format!("/v1/records/{rid}/studies");
    let headers = [("content-type", "application/dicom")];
    let anonymous = send(&api, "POST", &uri, None, &headers, ct.clone().into()).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.code(), "missing-token");

    let created = upload(&api, &rid, &creator, "application/dicom", "", ct.clone()).await;
    assert_eq!(created.status, StatusCode::CREATED);
    // Replacing changes stored data: create alone is not enough.
    let replace = upload(
        &api,
        &rid,
        &creator,
        "application/dicom",
        "?replace=true",
        ct,
    )
    .await;
    assert_eq!(replace.status, StatusCode::FORBIDDEN);
    // Readers read, other records see nothing.
    assert_eq!(studies(&api, &rid, &reader).await.len(), 1);
    let foreign = get(&api, &uri, &other_owner).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
}
