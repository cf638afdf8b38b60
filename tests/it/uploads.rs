//! Uploads of every kind (`application/dicom`, `multipart/related`, `application/zip` with
//! nested folders, DICOMDIR and junk), duplicates, conflicts and replacement.

use crate::server::{Server, files_under, fixture, fixture_path, zip_of};

/// A multipart/related body of DICOM parts.
pub fn multipart(boundary: &str, parts: &[&[u8]]) -> Vec<u8> {
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        body.extend_from_slice(b"Content-Type: application/dicom\r\n\r\n");
        body.extend_from_slice(part);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    body
}

fn statuses(report: &serde_json::Value) -> Vec<String> {
    report["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn multipart_related_stores_each_part() {
    let server = Server::start();
    let (rid, token) = server.create_record("Multipart");
    let ct = fixture("CT_small.dcm");
    let mr = fixture("MR_small.dcm");
    let body = multipart("b0undary-x", &[&ct, &mr, &ct]);
    let reply = server.post(
        &format!("/v1/records/{rid}/studies"),
        Some(&token),
        "multipart/related; type=\"application/dicom\"; boundary=b0undary-x",
        &body,
    );
    assert_eq!(reply.status, 201, "{}", reply.text());
    let report = reply.json();
    // Parts may be ingested concurrently: which copy of CT_small is "stored" is not fixed.
    let mut got = statuses(&report);
    got.sort();
    assert_eq!(got, ["duplicate", "stored", "stored"]);
    let sources: Vec<&str> = report["instances"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["source"].as_str())
        .collect();
    assert_eq!(sources.len(), 3, "each entry names its part: {report}");
    assert_eq!(report["studies"].as_array().unwrap().len(), 2);
    let list = server.get(&format!("/v1/records/{rid}/studies"), Some(&token));
    assert_eq!(list.json().as_array().unwrap().len(), 2);
}

#[test]
fn zip_with_nested_folders_dicomdir_and_junk_stores_every_instance() {
    let server = Server::start();
    let (rid, token) = server.create_record("Zip");
    let tiny = fixture_path("dicomdirtests/TINY_ALPHA");
    let mut entries = Vec::new();
    files_under(&tiny, &tiny, &mut entries);
    let instances = entries.iter().filter(|(n, _)| n.contains("/IM")).count();
    assert!(instances > 10);
    entries.push((
        "__MACOSX/._DICOMDIR".into(),
        b"\x00\x05\x16\x07junk".to_vec(),
    ));
    entries.push(("docs/readme.txt".into(), b"burned by a CD writer".to_vec()));
    entries.push(("VIEWER/viewer.exe".into(), vec![0x4d, 0x5a, 0x90, 0, 3]));
    entries.push(("deep/er/still/CT.dcm".into(), fixture("CT_small.dcm")));
    let borrowed: Vec<(&str, Vec<u8>)> = entries
        .iter()
        .map(|(n, b)| (n.as_str(), b.clone()))
        .collect();
    let zip = zip_of(&borrowed);
    let reply = server.post(
        &format!("/v1/records/{rid}/studies"),
        Some(&token),
        "application/zip",
        &zip,
    );
    assert_eq!(reply.status, 201, "{}", reply.text());
    let report = reply.json();
    assert_eq!(report["stored"], instances + 1, "{report}");
    assert_eq!(report["failed"], 0, "{report}");
    assert!(
        report["skipped"].as_u64().unwrap() >= 4,
        "DICOMDIR, README and junk: {report}"
    );
    assert_eq!(report["studies"].as_array().unwrap().len(), 2);

    let again = server.post(
        &format!("/v1/records/{rid}/studies"),
        Some(&token),
        "application/zip",
        &zip,
    );
    assert_eq!(again.status, 200, "nothing new: {}", again.text());
    assert_eq!(again.json()["duplicates"], instances + 1);
}

#[test]
fn duplicates_are_no_ops_and_conflicts_are_refused_unless_replacing() {
    let server = Server::start();
    let (rid, token) = server.create_record("Conflicts");
    let ct = fixture("CT_small.dcm");
    let first = server.upload_dicom(&rid, &token, &ct);
    assert_eq!(first.status, 201);
    let entry = &first.json()["instances"][0];
    let (tid, sop) = (
        entry["thing_id"].as_str().unwrap().to_string(),
        entry["sop_instance_uid"].as_str().unwrap().to_string(),
    );
    let feed_before = server
        .get(
            &format!("/v1/records/{rid}/operations?since=0"),
            Some(&token),
        )
        .text();

    let dup = server.upload_dicom(&rid, &token, &ct);
    assert_eq!(dup.status, 200, "{}", dup.text());
    assert_eq!(statuses(&dup.json()), ["duplicate"]);
    let feed_after = server
        .get(
            &format!("/v1/records/{rid}/operations?since=0"),
            Some(&token),
        )
        .text();
    assert_eq!(feed_before, feed_after, "a duplicate changes nothing");

    let mut other = ct.clone();
    let last = other.len() - 1;
    other[last] ^= 0x01; // one pixel differs, same SOP Instance UID
    let conflict = server.upload_dicom(&rid, &token, &other);
    assert_eq!(conflict.status, 409, "{}", conflict.text());
    assert_eq!(statuses(&conflict.json()), ["conflict"]);
    let blob = format!("/v1/records/{rid}/things/{tid}/blobs/{sop}");
    assert_eq!(
        server.get(&blob, Some(&token)).body,
        ct,
        "the stored file is kept"
    );

    let replaced = server.post(
        &format!("/v1/records/{rid}/studies?replace=true"),
        Some(&token),
        "application/dicom",
        &other,
    );
    assert_eq!(replaced.status, 201, "{}", replaced.text());
    assert_eq!(statuses(&replaced.json()), ["replaced"]);
    assert_eq!(server.get(&blob, Some(&token)).body, other);
}
