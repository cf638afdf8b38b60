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

const DOSE: &str = "/studies/1.2.999.999.99.9.9999.8888/series/1.2.777.777.77.7.7777.7777/instances/1.9.999.999.99.9.9999.9999.20030818153516";
const RLE_2FRAME: &str = "/studies/1.2.826.0.1.3680043.8.498.12406831542731051035295345080039845114/series/1.2.826.0.1.3680043.8.498.16157229083793556332623330502397121062/instances/1.2.826.0.1.3680043.8.498.49043964482360854182530167603505525116";
/// The Accept values dicomweb-client sends for `retrieve_instance_frames` (standards.md §2).
const DWC_FRAMES: &str = "multipart/related; type=\"*/*\"";
const DWC_OCTET: &str = "multipart/related; type=\"application/octet-stream\"";
const DWC_JPEG: &str =
    "multipart/related; type=\"image/jpeg\"; transfer-syntax=1.2.840.10008.1.2.4.50";

#[test]
fn frames_and_bulk_data_are_sent_as_stored_in_request_order() {
    let server = Server::start();
    let (rid, token) = server.create_record("Frames");
    let dose = fixture("rtdose.dcm");
    let rle = fixture("SC_rgb_rle_2frame.dcm");
    for bytes in [&dose, &rle] {
        assert_eq!(server.upload_dicom(&rid, &token, bytes).status, 201);
    }
    let get = |path: &str, accept: Option<&str>| {
        let headers: Vec<(&str, &str)> = accept.map(|a| ("Accept", a)).into_iter().collect();
        server.get_with(&dicomweb(&rid, path), Some(&token), &headers)
    };
    // 15 frames of 10x10 32-bit doses, implicit little endian: the file ends with them.
    let pixels = &dose[dose.len() - 6000..];
    let frame = |n: usize| pixels[(n - 1) * 400..n * 400].to_vec();

    let reply = get(&format!("{DOSE}/frames/3,1,15"), Some(DWC_FRAMES));
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("multipart/related; type=\"application/octet-stream\"")
    );
    assert_eq!(parts(&reply), vec![frame(3), frame(1), frame(15)]);
    assert!(
        find(
            &reply.body,
            b"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .is_some()
    );
    let reply = get(&format!("{DOSE}/frames/2"), Some(DWC_OCTET));
    assert_eq!(parts(&reply), vec![frame(2)]);
    let reply = get(&format!("{DOSE}/bulkdata/7FE00010"), Some(DWC_FRAMES));
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(parts(&reply), vec![pixels.to_vec()]);

    // Compressed frames: their own media type, the client's default Accept, request order.
    let reply = get(&format!("{RLE_2FRAME}/frames/2,1"), Some(DWC_FRAMES));
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("multipart/related; type=\"image/dicom-rle\"")
    );
    let got = parts(&reply);
    assert_eq!(got.iter().map(Vec::len).collect::<Vec<_>>(), [664, 664]);
    assert!(
        got.iter().all(|f| f.starts_with(&[3, 0, 0, 0])),
        "RLE headers"
    );
    assert_ne!(got[0], got[1]);
    assert!(
        find(&rle, &got[0]).unwrap() > find(&rle, &got[1]).unwrap(),
        "frame 2 first"
    );
    assert!(
        find(
            &reply.body,
            b"Content-Type: image/dicom-rle; transfer-syntax=1.2.840.10008.1.2.5\r\n\r\n"
        )
        .is_some()
    );
}

#[test]
fn frame_requests_are_checked() {
    let server = Server::start();
    let (rid, token) = server.create_record("Frame checks");
    for name in ["rtdose.dcm", "SC_rgb_rle_2frame.dcm"] {
        assert_eq!(
            server.upload_dicom(&rid, &token, &fixture(name)).status,
            201
        );
    }
    let get = |path: &str, accept: Option<&str>| {
        let headers: Vec<(&str, &str)> = accept.map(|a| ("Accept", a)).into_iter().collect();
        server.get_with(&dicomweb(&rid, path), Some(&token), &headers)
    };
    for (path, accept, status) in [
        (format!("{DOSE}/frames/15"), None, 200),
        (format!("{DOSE}/frames/16"), None, 404),
        (format!("{DOSE}/frames/1,16"), None, 404),
        (format!("{DOSE}/frames/0"), None, 400),
        (format!("{DOSE}/frames/2,5,2"), None, 400),
        (format!("{DOSE}/frames/a"), None, 400),
        (format!("{DOSE}/frames/1,"), None, 400),
        (format!("{DOSE}/frames/1-3"), None, 400),
        (format!("{DOSE}/frames/1"), Some(DWC_JPEG), 406),
        (format!("{RLE_2FRAME}/frames/3"), None, 404),
        (format!("{RLE_2FRAME}/frames/1"), Some(DWC_OCTET), 406),
        (format!("{RLE_2FRAME}/frames/1"), Some(DWC_JPEG), 406),
        (format!("{RLE_2FRAME}/bulkdata/7FE00010"), None, 406),
        (format!("{DOSE}/bulkdata/00100010"), None, 404),
        (format!("{DOSE}/bulkdata/7FE0001"), None, 404),
        (format!("{DOSE}/bulkdata/7FE00010"), Some("image/jpeg"), 406),
        (
            "/studies/1.2/series/1.3/instances/1.4/frames/1".to_owned(),
            None,
            404,
        ),
        (
            "/studies/1.2/series/1.3/instances/1.4/bulkdata/7FE00010".to_owned(),
            None,
            404,
        ),
    ] {
        let reply = get(&path, accept);
        assert_eq!(reply.status, status, "{path} {accept:?}: {}", reply.text());
    }
    let other = server.create_record("Other").1;
    let reply = server.get(&dicomweb(&rid, &format!("{DOSE}/frames/1")), Some(&other));
    assert_eq!(reply.status, 404, "another record's token");
    assert_eq!(
        server
            .get(&dicomweb(&rid, &format!("{DOSE}/frames/1")), None)
            .status,
        401
    );
}
