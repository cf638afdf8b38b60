//! WADO-URI against the real binary: the file byte for byte, the stored preview by default,
//! and 4xx for what it does not do.

use crate::server::{Server, fixture};

#[test]
fn wado_uri_answers_the_file_or_the_preview() {
    let server = Server::start();
    let (rid, token) = server.create_record("Legacy viewer");
    let ct = fixture("CT_small.dcm");
    let report = server.upload_dicom(&rid, &token, &ct).json();
    let entry = &report["instances"][0];
    let uids = format!(
        "studyUID={}&seriesUID={}&objectUID={}",
        entry["study_instance_uid"].as_str().unwrap(),
        entry["series_instance_uid"].as_str().unwrap(),
        entry["sop_instance_uid"].as_str().unwrap()
    );
    let wado = |query: &str| {
        server.get(
            &format!("/v1/records/{rid}/dicomweb/wado?{query}"),
            Some(&token),
        )
    };

    let file = wado(&format!(
        "requestType=WADO&{uids}&contentType=application/dicom"
    ));
    assert_eq!(file.status, 200, "{}", file.text());
    assert_eq!(file.header("content-type"), Some("application/dicom"));
    assert_eq!(file.body, ct, "the stored file, byte for byte");

    let image = wado(&format!("requestType=WADO&{uids}"));
    assert_eq!(image.status, 200);
    assert_eq!(
        image.header("content-type"),
        Some("image/jpeg"),
        "images default to JPEG"
    );
    assert!(image.body.starts_with(&[0xFF, 0xD8]));
    assert_eq!(
        wado(&format!("requestType=WADO&{uids}&contentType=image/jpeg")).status,
        200
    );

    for (query, status) in [
        (uids.clone(), 400),
        (format!("requestType=WADOX&{uids}"), 400),
        (
            "requestType=WADO&studyUID=1.2&seriesUID=1.2".to_owned(),
            400,
        ),
        (format!("requestType=WADO&{uids}&rows=128"), 400),
        (
            format!("requestType=WADO&{uids}&contentType=image/png"),
            406,
        ),
        (
            format!(
                "requestType=WADO&{uids}&contentType=application/dicom&transferSyntax=1.2.840.10008.1.2.4.50"
            ),
            406,
        ),
        (
            "requestType=WADO&studyUID=1.2&seriesUID=1.2&objectUID=1.2".to_owned(),
            404,
        ),
    ] {
        assert_eq!(wado(&query).status, status, "{query}");
    }
    let (_, other) = server.create_record("Other");
    let foreign = server.get(
        &format!("/v1/records/{rid}/dicomweb/wado?requestType=WADO&{uids}"),
        Some(&other),
    );
    assert_eq!(foreign.status, 404, "another record's token");
}
