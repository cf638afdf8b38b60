//! DICOMweb over HTTP against the real binary: the Python `dicomweb-client` stores, searches
//! and retrieves through it (tests/python/dicomweb_check.py); retrieval sends the stored files
//! byte for byte; malformed queries, Accept headers and bodies are answered per PS3.18, never
//! with a 5xx; and the access rules are the rest of the API's.

use std::process::Command;

use crate::server::{Options, Reply, Server, fixture, fixture_path, python, python_script};

const STUDY_TYPE: &str = "cdfc0a9b-6d3b-4d16-afa8-02b86d621a8d";

fn dicomweb(rid: &str, path: &str) -> String {
    format!("/v1/records/{rid}/dicomweb{path}")
}

#[test]
fn dicomweb_client_stores_searches_and_retrieves() {
    let server = Server::start();
    let (rid, token) = server.create_record("DICOMweb Person");
    let base = server.url(&dicomweb(&rid, ""));
    let files = ["CT_small.dcm", "MR_small.dcm", "SC_rgb_rle.dcm"].map(fixture_path);
    let out = Command::new(python())
        .arg(python_script("dicomweb_check.py"))
        .arg(&base)
        .arg(&token)
        .args(&files)
        .output()
        .expect("run dicomweb_check.py");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "dicomweb-client failed:\n{report}\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.logs()
    );
    assert!(
        report.contains("all checks passed for 3 instances"),
        "{report}"
    );
}

/// The parts of a `multipart/related` answer, split the way dicomweb-client splits them.
fn parts(reply: &Reply) -> Vec<Vec<u8>> {
    let content_type = reply.header("content-type").unwrap();
    assert!(
        content_type.starts_with("multipart/related"),
        "{content_type}"
    );
    let boundary = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
        .unwrap()
        .trim_matches('"');
    let delimiter = format!("\r\n--{boundary}");
    let body = [b"\r\n".as_slice(), &reply.body].concat();
    let mut out = Vec::new();
    let mut rest = &body[..];
    while let Some(at) = find(rest, delimiter.as_bytes()) {
        let segment = &rest[..at];
        if let Some(h) = find(segment, b"\r\n\r\n") {
            out.push(segment[h + 4..].to_vec());
        }
        rest = &rest[at + delimiter.len()..];
    }
    assert!(
        rest.starts_with(b"--"),
        "the body ends with the close delimiter"
    );
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn retrieval_sends_the_stored_files_byte_for_byte() {
    let server = Server::start();
    let (rid, token) = server.create_record("Bytes");
    let ct = fixture("CT_small.dcm");
    assert_eq!(server.upload_dicom(&rid, &token, &ct).status, 201);
    // Group 2 without the preamble, as a STOW client may send it.
    let mr = fixture("MR_small.dcm");
    assert_eq!(&mr[128..132], b"DICM");
    let bare = mr[132..].to_vec();
    let stored = server.upload_dicom(&rid, &token, &bare);
    assert_eq!(stored.status, 201, "{}", stored.text());

    let studies = server.get(&dicomweb(&rid, "/studies"), Some(&token)).json();
    let uid = |o: &serde_json::Value, tag: &str| o[tag]["Value"][0].as_str().unwrap().to_owned();
    let ct_study = studies
        .as_array()
        .unwrap()
        .iter()
        .map(|s| uid(s, "0020000D"))
        .find(|s| s.ends_with("12322"))
        .unwrap();
    let reply = server.get(
        &dicomweb(&rid, &format!("/studies/{ct_study}")),
        Some(&token),
    );
    assert_eq!(reply.status, 200);
    assert_eq!(
        parts(&reply),
        vec![ct.clone()],
        "the stored file, byte for byte"
    );

    let instances = server
        .get(&dicomweb(&rid, "/instances?Modality=MR"), Some(&token))
        .json();
    let mr_instance = &instances[0];
    let path = format!(
        "/studies/{}/series/{}/instances/{}",
        uid(mr_instance, "0020000D"),
        uid(mr_instance, "0020000E"),
        uid(mr_instance, "00080018")
    );
    let reply = server.get_with(
        &dicomweb(&rid, &path),
        Some(&token),
        &[(
            "Accept",
            "multipart/related; type=\"application/dicom\"; transfer-syntax=*",
        )],
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    let expected = [vec![0u8; 128], b"DICM".to_vec(), bare].concat();
    assert_eq!(
        parts(&reply),
        vec![expected],
        "the preamble it came without, then the bytes"
    );
}

#[test]
fn malformed_requests_get_4xx_and_never_5xx() {
    let server = Server::start();
    let (rid, token) = server.create_record("Hostile");
    assert_eq!(
        server
            .upload_dicom(&rid, &token, &fixture("CT_small.dcm"))
            .status,
        201
    );
    let study = "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322";
    let get = |path: &str, headers: &[(&str, &str)]| {
        server.get_with(&dicomweb(&rid, path), Some(&token), headers)
    };
    for (path, status) in [
        ("/studies?StudyDate=2004-01-19", 400),
        ("/studies?StudyDate=20040119-20030101x", 400),
        ("/studies?NotAKeyword=1", 400),
        ("/studies?limit=many", 400),
        ("/studies?offset=-1", 400),
        ("/studies?StudyDate=19990101-19991231", 204),
        ("/studies/1.2.3/series", 204),
        ("/studies/1.2.3", 404),
        ("/studies/1.2.3/metadata", 404),
        ("/studies/1.2.3/thumbnail", 404),
    ] {
        let reply = get(path, &[]);
        assert_eq!(reply.status, status, "{path}: {}", reply.text());
    }
    let warned = get("/studies?00081030=x&SomeSequence.PatientName=y", &[]);
    assert!(warned.status < 500);
    let accept_xml = get("/studies", &[("Accept", "application/dicom+xml")]);
    assert_eq!(accept_xml.status, 406);
    let transcode = get(
        &format!("/studies/{study}"),
        &[(
            "Accept",
            "multipart/related; type=\"application/dicom\"; transfer-syntax=1.2.840.10008.1.2.4.50",
        )],
    );
    assert_eq!(transcode.status, 406, "no transcoding");
    for query in [
        "window=40",
        "window=40,0",
        "viewport=10",
        "quality=0",
        "annotation=patient",
    ] {
        let reply = get(&format!("/studies/{study}/rendered?{query}"), &[]);
        assert_eq!(reply.status, 400, "{query}: {}", reply.text());
    }
    let gif = get(
        &format!("/studies/{study}/rendered"),
        &[("Accept", "image/gif")],
    );
    assert_eq!(gif.status, 406);

    let stow = |content_type: &str, body: &[u8]| {
        server.post(
            &dicomweb(&rid, "/studies"),
            Some(&token),
            content_type,
            body,
        )
    };
    assert_eq!(
        stow("application/dicom", &fixture("CT_small.dcm")).status,
        415
    );
    assert_eq!(
        stow(
            "multipart/related; type=\"application/dicom+xml\"; boundary=x",
            b""
        )
        .status,
        415
    );
    assert_eq!(
        stow(
            "multipart/related; type=\"application/dicom\"; boundary=x",
            b"garbage"
        )
        .status,
        400
    );
    let not_dicom = b"--x\r\nContent-Type: application/dicom\r\n\r\nnot dicom at all\r\n--x--";
    let refused = stow(
        "multipart/related; type=\"application/dicom\"; boundary=x",
        not_dicom,
    );
    assert_eq!(refused.status, 400, "{}", refused.text());
    assert_eq!(
        refused.header("content-type"),
        Some("application/dicom+json")
    );
    let body = refused.json();
    assert_eq!(body["00081198"]["Value"][0]["00081197"]["Value"][0], 0xC000);
}

#[test]
fn dicomweb_keeps_the_access_rules() {
    let server = Server::start();
    let (rid, token) = server.create_record("Owner");
    assert_eq!(
        server
            .upload_dicom(&rid, &token, &fixture("CT_small.dcm"))
            .status,
        201
    );
    let (_, other) = server.create_record("Other");
    let reader = server.issue_token(
        &rid,
        &token,
        serde_json::json!([{"type_id": STUDY_TYPE, "permissions": ["read"]}]),
        None,
    );
    let notes = server.issue_token(
        &rid,
        &token,
        serde_json::json!([{"type_id": "a5294488-a6d6-4b8b-8d19-1d0c9c6b1e2a", "permissions": ["read", "create"]}]),
        None,
    );
    let studies = dicomweb(&rid, "/studies");
    assert_eq!(server.get(&studies, None).status, 401);
    assert_eq!(server.get(&studies, Some(&notes)).status, 403);
    assert_eq!(
        server.get(&studies, Some(&other)).status,
        404,
        "another record's token"
    );
    assert_eq!(server.get(&studies, Some(&reader)).status, 200);
    let stow = |token: &str| {
        server.post(
            &studies,
            Some(token),
            "multipart/related; type=\"application/dicom\"; boundary=x",
            b"--x\r\nContent-Type: application/dicom\r\n\r\nx\r\n--x--",
        )
    };
    assert_eq!(stow(&reader).status, 403, "storing needs create");
    assert_eq!(stow(&other).status, 404);
}

#[test]
fn cors_is_off_by_default_and_answers_only_configured_origins() {
    let preflight = |server: &Server, path: &str, origin: &str| {
        server.send(
            "OPTIONS",
            path,
            None,
            &[
                ("Origin", origin),
                ("Access-Control-Request-Method", "GET"),
                ("Access-Control-Request-Headers", "authorization"),
            ],
            b"",
        )
    };
    let plain = Server::start();
    let (rid, token) = plain.create_record("No CORS");
    let studies = dicomweb(&rid, "/studies");
    let reply = plain.get_with(
        &studies,
        Some(&token),
        &[("Origin", "https://viewer.example")],
    );
    assert!(
        reply.header("access-control-allow-origin").is_none(),
        "off by default"
    );
    assert!(
        preflight(&plain, &studies, "https://viewer.example")
            .header("access-control-allow-origin")
            .is_none()
    );

    let server = Server::start_with(Options {
        env: vec![(
            "STUDYVAULT_CORS_ALLOWED_ORIGINS".into(),
            "https://viewer.example".into(),
        )],
        ..Options::default()
    });
    let (rid, token) = server.create_record("CORS");
    for path in [
        dicomweb(&rid, "/studies"),
        format!("/v1/records/{rid}/fhir/metadata"),
    ] {
        let ok = preflight(&server, &path, "https://viewer.example");
        assert!(ok.status < 300, "{path}: {}", ok.status);
        assert_eq!(
            ok.header("access-control-allow-origin"),
            Some("https://viewer.example"),
            "{path}"
        );
        let other = preflight(&server, &path, "https://elsewhere.example");
        assert!(
            other.header("access-control-allow-origin").is_none(),
            "{path}"
        );
        let get = server.get_with(&path, Some(&token), &[("Origin", "https://viewer.example")]);
        assert!(get.status < 300, "{path}: {}", get.status);
        assert_eq!(
            get.header("access-control-allow-origin"),
            Some("https://viewer.example")
        );
    }
    let native = server.get_with(
        &format!("/v1/records/{rid}/studies"),
        Some(&token),
        &[("Origin", "https://viewer.example")],
    );
    assert!(
        native.header("access-control-allow-origin").is_none(),
        "only the FHIR and DICOMweb routes"
    );
}
