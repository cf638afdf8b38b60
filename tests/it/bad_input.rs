//! Bad input, each answered with a 4xx JSON error `{"code","message"}`, the server still
//! serving and nothing already stored lost or changed (checked at the end, and by `fsck`).

use crate::server::{Options, Reply, Server, fixture, studyvault, zip_of};
use crate::uploads::multipart;

fn limited() -> Server {
    Server::start_with(Options {
        env: vec![
            (
                "STUDYVAULT_LIMITS_MAX_UPLOAD_BYTES".into(),
                "4_000_000".into(),
            ),
            (
                "STUDYVAULT_LIMITS_MAX_ZIP_EXPANDED_BYTES".into(),
                "8_000_000".into(),
            ),
            (
                "STUDYVAULT_LIMITS_MAX_DOCUMENT_BYTES".into(),
                "65536".into(),
            ),
        ],
        ..Options::default()
    })
}

/// Asserts a 4xx JSON error and returns its code.
fn refused(reply: &Reply, what: &str) -> String {
    assert!(
        (400..500).contains(&reply.status),
        "{what}: expected a 4xx, got {} {}",
        reply.status,
        reply.text()
    );
    reply.error_code(reply.status)
}

/// CT_small with Rows and Columns (explicit VR LE, US) set to 65535.
fn huge_declared_image() -> Vec<u8> {
    let mut bytes = fixture("CT_small.dcm");
    for element in [0x10u8, 0x11] {
        let tag = [0x28, 0x00, element, 0x00, b'U', b'S', 0x02, 0x00];
        let at = bytes
            .windows(8)
            .position(|w| w == tag)
            .expect("Rows/Columns in CT_small");
        bytes[at + 8] = 0xFF;
        bytes[at + 9] = 0xFF;
    }
    bytes
}

#[test]
fn bad_input_gets_4xx_json_and_loses_nothing() {
    let mut server = limited();
    let (rid, token) = server.create_record("Bad Input");
    let t = Some(token.as_str());
    let studies = format!("/v1/records/{rid}/studies");
    let ct = fixture("CT_small.dcm");
    let first = server.upload_dicom(&rid, &token, &ct).json();
    let e = &first["instances"][0];
    let blob = format!(
        "/v1/records/{rid}/things/{}/blobs/{}",
        e["thing_id"].as_str().unwrap(),
        e["sop_instance_uid"].as_str().unwrap()
    );
    let dicom = |body: &[u8]| server.post(&studies, t, "application/dicom", body);
    let zip = |body: &[u8]| server.post(&studies, t, "application/zip", body);
    let xml = |body: &[u8]| {
        server.send(
            "POST",
            &format!("/v1/records/{rid}/things"),
            t,
            &[("Content-Type", "application/xml")],
            body,
        )
    };
    let mut codes = Vec::new();

    codes.push(refused(
        &dicom(b"this is a text file, not DICOM at all"),
        "not DICOM",
    ));
    codes.push(refused(&dicom(&ct[..ct.len() / 2]), "truncated DICOM"));
    codes.push(refused(
        &dicom(&huge_declared_image()),
        "huge declared image",
    ));
    let bomb = zip_of(&[("bomb/IM0001.dcm", vec![0u8; 20_000_000])]);
    assert!(bomb.len() < 100_000, "small on the wire");
    let code = refused(&zip(&bomb), "zip bomb");
    assert_eq!(code, "zip-too-large");
    codes.push(code);
    codes.push(refused(
        &zip(b"PK\x03\x04 but not really a zip"),
        "damaged zip",
    ));
    let garbage = server.post(
        &studies,
        t,
        "multipart/related; type=\"application/dicom\"; boundary=xyz",
        b"no boundary line anywhere in here",
    );
    codes.push(refused(&garbage, "malformed multipart"));
    let unterminated = multipart("xyz", &[&ct])[..200].to_vec();
    let cut = server.post(
        &studies,
        t,
        "multipart/related; type=\"application/dicom\"; boundary=xyz",
        &unterminated,
    );
    codes.push(refused(&cut, "multipart cut short"));
    codes.push(refused(
        &server.post(&studies, t, "image/png", b"\x89PNG"),
        "unsupported type",
    ));
    codes.push(refused(&xml(b"<thing><type-id>"), "malformed XML"));
    let doctype = br#"<?xml version="1.0"?><!DOCTYPE thing [<!ENTITY lol "lol">]><thing><type-id>3d34d87e-7fc1-4153-800f-f56592cb0d17</type-id><data-xml><weight>&lol;</weight></data-xml></thing>"#;
    codes.push(refused(&xml(doctype), "XML with a DOCTYPE"));
    let big_xml = format!(
        "<thing><type-id>3d34d87e-7fc1-4153-800f-f56592cb0d17</type-id><data-xml><w>{}</w></data-xml></thing>",
        "x".repeat(100_000)
    );
    let code = refused(&xml(big_xml.as_bytes()), "oversized XML");
    assert_eq!(server.send("GET", "/healthz", None, &[], b"").status, 200);
    codes.push(code);
    // Expect: 100-continue, as a client sending a big body should: the server answers 413
    // from Content-Length without reading the body.
    let big = server.send(
        "POST",
        &studies,
        t,
        &[
            ("Content-Type", "application/dicom"),
            ("Expect", "100-continue"),
        ],
        &vec![0u8; 5_000_000],
    );
    assert_eq!(big.status, 413, "oversized upload: {}", big.text());
    codes.push(big.error_code(413));
    assert_eq!(server.get("/healthz", None).status, 200, "still serving");

    // A ../ entry is refused by name; the rest of the zip is not lost, nothing is written
    // outside the data directory.
    let slip = zip_of(&[
        ("../../escaped.dcm", fixture("MR_small.dcm")),
        ("ok/CT.dcm", ct.clone()),
    ]);
    let report = zip(&slip);
    assert!(report.status < 300, "{}", report.text());
    let report = report.json();
    let unsafe_entry = report["instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["source"].as_str().unwrap_or("").contains(".."))
        .unwrap_or_else(|| panic!("the ../ entry is reported: {report}"));
    assert_eq!(unsafe_entry["status"], "failed");
    assert_eq!(unsafe_entry["reason"]["code"], "unsafe-path");
    assert!(!server.data.parent().unwrap().join("escaped.dcm").exists());
    let only_slip = zip(&zip_of(&[("../escaped.dcm", fixture("MR_small.dcm"))]));
    assert!(
        only_slip.status >= 400 || only_slip.json()["stored"] == 0,
        "{}",
        only_slip.text()
    );

    eprintln!("codes: {codes:?}");
    assert!(codes.iter().all(|c| !c.is_empty()));
    // Nothing lost or changed.
    let list = server.get(&studies, t).json();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(server.get(&blob, t).body, ct);
    assert!(
        !server.logs().contains("CompressedSamples"),
        "no patient names in logs"
    );
    assert!(server.stop());
    let fsck = studyvault()
        .arg("fsck")
        .arg("--data")
        .arg(&server.data)
        .output()
        .unwrap();
    assert!(
        fsck.status.success(),
        "{}",
        String::from_utf8_lossy(&fsck.stdout)
    );
}
