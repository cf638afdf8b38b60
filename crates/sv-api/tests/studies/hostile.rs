//! Hostile and broken uploads: each refused with its code, nothing stored before it lost, and
//! the server still answering.

use axum::body::Body;
use axum::http::StatusCode;
use sv_api::ApiLimits;
use sv_testkit::fixtures::read_dicom_fixture;
use sv_vault::VaultConfig;

use crate::harness::*;

/// A record with one stored study; returns (api, rid, owner, that study's preview path).
async fn with_one_study(limits: ApiLimits, config: VaultConfig) -> (Api, String, String, String) {
    let api = api_with_config(limits, config);
    let (rid, owner) = record(&api, "A").await;
    let mr = read_dicom_fixture("MR_small.dcm");
    let reply = upload(&api, &rid, &owner, "application/dicom", "", mr).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let preview = path_of(reply.json()["studies"][0]["preview_url"].as_str().unwrap()).to_owned();
    (api, rid, owner, preview)
}

/// The earlier study is still listed and served.
async fn intact(api: &Api, rid: &str, owner: &str, preview: &str) {
    let listed = studies(api, rid, owner).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["instance_count"], 1);
    assert_eq!(get(api, preview, owner).await.status, StatusCode::OK);
}

#[tokio::test]
async fn bad_single_files_get_their_reason() {
    let mut config = VaultConfig::default();
    config.limits.max_pixels_per_frame = 100 * 100;
    let (api, rid, owner, preview) = with_one_study(ApiLimits::default(), config).await;
    let ct = read_dicom_fixture("CT_small.dcm");
    let cases = [
        (
            b"hello, not DICOM".to_vec(),
            StatusCode::BAD_REQUEST,
            "not-dicom",
        ),
        (
            read_dicom_fixture("MR_truncated.dcm"),
            StatusCode::BAD_REQUEST,
            "truncated",
        ),
        (
            ct[..ct.len() / 3].to_vec(),
            StatusCode::BAD_REQUEST,
            "truncated",
        ),
        // 128 × 128 pixels declared, over this vault's 100 × 100 bound.
        (ct, StatusCode::PAYLOAD_TOO_LARGE, "too-large"),
    ];
    for (bytes, status, code) in cases {
        let reply = upload(&api, &rid, &owner, "application/dicom", "", bytes).await;
        assert_eq!((reply.status, reply.code()), (status, code.to_owned()));
        assert_eq!(reply.json()["instances"][0]["status"], "failed");
    }
    intact(&api, &rid, &owner, &preview).await;
}

#[tokio::test]
async fn unusable_bodies_are_refused_whole() {
    let (api, rid, owner, preview) =
        with_one_study(ApiLimits::default(), VaultConfig::default()).await;
    let ct = read_dicom_fixture("CT_small.dcm");
    let bad_boundary = "multipart/related; type=\"application/dicom\"; boundary=other";
    let cases: Vec<(&str, Vec<u8>, StatusCode, &str)> = vec![
        (
            "text/plain",
            b"hello".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
        ),
        (
            "multipart/related; type=\"application/dicom+json\"; boundary=b",
            b"--b--".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
        ),
        (
            "multipart/related; type=\"application/dicom\"",
            multipart(&[(None, &ct)]),
            StatusCode::BAD_REQUEST,
            "malformed-multipart",
        ),
        (
            bad_boundary,
            multipart(&[(None, &ct)]),
            StatusCode::BAD_REQUEST,
            "malformed-multipart",
        ),
        (
            MULTIPART,
            multipart(&[(None, &ct)])[..ct.len() / 2].to_vec(),
            StatusCode::BAD_REQUEST,
            "malformed-multipart",
        ),
        (
            MULTIPART,
            [&b"\r\n--b0undary-1\r\n\r\n"[..], &ct, b"\r\n--b0undary-1--"].concat(),
            StatusCode::BAD_REQUEST,
            "malformed-multipart",
        ),
        (
            "application/zip",
            ct.clone(),
            StatusCode::BAD_REQUEST,
            "malformed-zip",
        ),
        (
            "application/zip",
            zip_of(&[("a.dcm".into(), ct.clone())])[..200].to_vec(),
            StatusCode::BAD_REQUEST,
            "malformed-zip",
        ),
    ];
    for (content_type, body, status, code) in cases {
        let reply = upload(&api, &rid, &owner, content_type, "", body).await;
        assert_eq!(
            (reply.status, reply.code()),
            (status, code.to_owned()),
            "{content_type}"
        );
    }
    intact(&api, &rid, &owner, &preview).await;
}

#[tokio::test]
async fn a_truncated_batch_keeps_the_parts_before_the_cut() {
    let (api, rid, owner, _) = with_one_study(ApiLimits::default(), VaultConfig::default()).await;
    let ct = read_dicom_fixture("CT_small.dcm");
    let sr = text_report(
        "1.2.826.0.1.3680043.2.1143.80",
        "1.2.826.0.1.3680043.2.1143.80.1.1",
    );
    let body = multipart(&[(None, &sr), (None, &ct)]);
    let cut = body[..body.len() - ct.len() / 2].to_vec();
    let reply = upload(&api, &rid, &owner, MULTIPART, "", cut).await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (StatusCode::BAD_REQUEST, "malformed-multipart")
    );
    let report = reply.json();
    assert_eq!(report["instances"][0]["status"], "stored", "{report}");
    assert_eq!(studies(&api, &rid, &owner).await.len(), 2);
}

#[tokio::test]
async fn zip_bombs_and_zip_slip() {
    let limits = ApiLimits {
        max_zip_expanded_bytes: 2 << 20,
        max_zip_entries: 8,
        ..ApiLimits::default()
    };
    let (api, rid, owner, preview) = with_one_study(limits, VaultConfig::default()).await;
    let blobs_before = studies(&api, &rid, &owner).await;

    // Three 1 MiB entries of zeros: a few KiB compressed, 3 MiB expanded.
    let bomb: Vec<(String, Vec<u8>)> = (0..3)
        .map(|i| (format!("bomb/{i}.dcm"), vec![0u8; 1 << 20]))
        .collect();
    let zipped = zip_of(&bomb);
    assert!(zipped.len() < 64 << 10);
    let reply = upload(&api, &rid, &owner, "application/zip", "", zipped).await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "zip-too-large")
    );

    let many: Vec<(String, Vec<u8>)> = (0..9).map(|i| (format!("{i}.txt"), vec![b'x'])).collect();
    let reply = upload(&api, &rid, &owner, "application/zip", "", zip_of(&many)).await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "zip-too-large")
    );
    assert_eq!(
        studies(&api, &rid, &owner).await,
        blobs_before,
        "nothing of a refused zip is stored"
    );

    let ct = read_dicom_fixture("CT_small.dcm");
    let slip = vec![
        ("../evil.dcm".to_owned(), ct.clone()),
        ("/abs/evil.dcm".to_owned(), ct.clone()),
        ("ok/ct.dcm".to_owned(), ct),
    ];
    let reply = upload(&api, &rid, &owner, "application/zip", "", zip_of(&slip)).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let report = reply.json();
    let outcome: Vec<(&str, &str)> = report["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["status"].as_str().unwrap(),
                i["reason"]["code"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        outcome,
        [
            ("failed", "unsafe-path"),
            ("failed", "unsafe-path"),
            ("stored", "")
        ]
    );
    assert_eq!(get(&api, &preview, &owner).await.status, StatusCode::OK);
}

#[tokio::test]
async fn bodies_over_the_upload_limit_get_413() {
    let limits = ApiLimits {
        max_upload_bytes: 64 << 10,
        ..ApiLimits::default()
    };
    let (api, rid, owner, preview) = with_one_study(limits, VaultConfig::default()).await;
    let big = vec![7u8; 100 << 10];
    let uri = format!("/v1/records/{rid}/studies");

    // Declared: refused before reading.
    let length = big.len().to_string();
    let headers = [
        ("content-type", "application/zip"),
        ("content-length", length.as_str()),
    ];
    let reply = send(
        &api,
        "POST",
        &uri,
        Some(&owner),
        &headers,
        Body::from(big.clone()),
    )
    .await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large")
    );

    // Streamed without a length, for each kind of upload.
    for content_type in ["application/zip", MULTIPART, "application/dicom"] {
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
            big.chunks(8 << 10).map(|c| Ok(c.to_vec())).collect();
        let body = Body::from_stream(futures_util::stream::iter(chunks));
        let headers = [("content-type", content_type)];
        let reply = send(&api, "POST", &uri, Some(&owner), &headers, body).await;
        assert_eq!(
            reply.status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{content_type}"
        );
        assert!(
            ["payload-too-large", "too-large"].contains(&reply.code().as_str()),
            "{content_type}: {}",
            reply.code()
        );
    }
    intact(&api, &rid, &owner, &preview).await;
}

/// Sets every entry's declared uncompressed size to `size`, in the local headers and the
/// central directory alike (no data descriptors: the test writer seeks back).
fn declare_sizes(zip: &mut [u8], size: u32) {
    let mut i = 0;
    while i + 46 <= zip.len() {
        match &zip[i..i + 4] {
            b"PK\x03\x04" => zip[i + 22..i + 26].copy_from_slice(&size.to_le_bytes()),
            b"PK\x01\x02" => zip[i + 24..i + 28].copy_from_slice(&size.to_le_bytes()),
            _ => {}
        }
        i += 1;
    }
}

#[tokio::test]
async fn a_zip_that_lies_about_its_sizes_stores_nothing() {
    let limits = ApiLimits {
        max_zip_expanded_bytes: 2 << 20,
        ..ApiLimits::default()
    };
    let (api, rid, owner, preview) = with_one_study(limits, VaultConfig::default()).await;
    let ct = read_dicom_fixture("CT_small.dcm");
    // A real instance first, then 3 MiB of zeros declared as 1 KiB each.
    let mut entries = vec![("ok/ct.dcm".to_owned(), ct)];
    entries.extend((0..3).map(|i| (format!("bomb/{i}.dcm"), vec![0u8; 1 << 20])));
    let mut zipped = zip_of(&entries);
    declare_sizes(&mut zipped, 1024);
    let reply = upload(&api, &rid, &owner, "application/zip", "", zipped).await;
    assert!(
        [
            (StatusCode::PAYLOAD_TOO_LARGE, "zip-too-large"),
            (StatusCode::BAD_REQUEST, "malformed-zip")
        ]
        .contains(&(reply.status, reply.code().as_str())),
        "{} {}",
        reply.status,
        reply.code()
    );
    intact(&api, &rid, &owner, &preview).await;
}
