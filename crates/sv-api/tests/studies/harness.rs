//! Study helpers over the shared in-process API (`common/harness.rs`): study tokens, uploads,
//! and upload bodies (multipart, zip, DICOMDIR) built in memory.

use std::io::{Cursor, Write};
use std::path::Path;

use axum::body::Body;
use axum::http::StatusCode;
use serde_json::Value;
use zip::write::SimpleFileOptions;

pub use crate::common::{Api, Reply, STUDY_TYPE, api, api_with_config, get, path_of, record, send};

/// A token of `rid` with `permissions` on medical image studies.
pub async fn token(api: &Api, rid: &str, owner: &str, permissions: &[&str]) -> String {
    crate::common::token(api, rid, owner, Some(STUDY_TYPE), permissions).await
}

/// POSTs `bytes` to the record's studies (`query` appended as is, e.g. `?replace=true`).
pub async fn upload(
    api: &Api,
    rid: &str,
    token: &str,
    content_type: &str,
    query: &str,
    bytes: Vec<u8>,
) -> Reply {
    let uri = format!("/v1/records/{rid}/studies{query}");
    let headers = [("content-type", content_type)];
    send(api, "POST", &uri, Some(token), &headers, Body::from(bytes)).await
}

pub const MULTIPART: &str =
    "multipart/related; type=\"application/dicom\"; boundary=\"b0undary-1\"";

/// A multipart/related body (boundary `b0undary-1`); parts with `None` carry no Content-Type
/// (another header instead).
pub fn multipart(parts: &[(Option<&str>, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (content_type, bytes) in parts {
        out.extend_from_slice(b"\r\n--b0undary-1\r\n");
        match content_type {
            Some(ct) => out.extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes()),
            None => out.extend_from_slice(b"Content-Description: no type given\r\n"),
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(bytes);
    }
    out.extend_from_slice(b"\r\n--b0undary-1--");
    out
}

/// A zip of `(path, bytes)`, every entry deflated.
pub fn zip_of(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(false);
    for (name, bytes) in entries {
        zip.start_file(name.as_str(), options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// The `98892003` DICOMDIR set: `(path under the set, bytes)`, 17 MR images.
pub fn dicomdir_set() -> Vec<(String, Vec<u8>)> {
    let root = sv_testkit::fixtures::dicom_fixture("dicomdirtests/98892003");
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    out.sort();
    out
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(root, &path, out);
        } else {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.push((rel, std::fs::read(&path).unwrap()));
        }
    }
}

/// The fixture DICOMDIR describing the `dicomdirtests` sets.
pub fn dicomdir() -> Vec<u8> {
    sv_testkit::fixtures::read_dicom_fixture("dicomdirtests/DICOMDIR")
}

/// One explicit VR little endian element.
fn ex(group: u16, element: u16, vr: &str, value: &[u8]) -> Vec<u8> {
    let mut v = value.to_vec();
    if v.len() % 2 == 1 {
        v.push(if vr == "UI" || vr == "OB" { 0 } else { b' ' });
    }
    let mut out = Vec::new();
    out.extend_from_slice(&group.to_le_bytes());
    out.extend_from_slice(&element.to_le_bytes());
    out.extend_from_slice(vr.as_bytes());
    if vr == "OB" {
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&(v.len() as u32).to_le_bytes());
    } else {
        out.extend_from_slice(&(v.len() as u16).to_le_bytes());
    }
    out.extend_from_slice(&v);
    out
}

/// A Basic Text SR document (no pixel data, so no preview) in its own study.
pub fn text_report(study: &str, sop: &str) -> Vec<u8> {
    const SR: &[u8] = b"1.2.840.10008.5.1.4.1.1.88.11";
    let meta_body = [
        ex(0x0002, 0x0001, "OB", &[0, 1]),
        ex(0x0002, 0x0002, "UI", SR),
        ex(0x0002, 0x0003, "UI", sop.as_bytes()),
        ex(0x0002, 0x0010, "UI", b"1.2.840.10008.1.2.1"),
    ]
    .concat();
    let mut out = vec![0u8; 128];
    out.extend_from_slice(b"DICM");
    out.extend(ex(
        0x0002,
        0x0000,
        "UL",
        &(meta_body.len() as u32).to_le_bytes(),
    ));
    out.extend(meta_body);
    out.extend(ex(0x0008, 0x0016, "UI", SR));
    out.extend(ex(0x0008, 0x0018, "UI", sop.as_bytes()));
    out.extend(ex(0x0008, 0x0020, "DA", b"20240102"));
    out.extend(ex(0x0008, 0x0060, "CS", b"SR"));
    out.extend(ex(0x0020, 0x000D, "UI", study.as_bytes()));
    out.extend(ex(0x0020, 0x000E, "UI", format!("{study}.1").as_bytes()));
    out
}

/// Studies listed for the record.
pub async fn studies(api: &Api, rid: &str, token: &str) -> Vec<Value> {
    let reply = get(api, &format!("/v1/records/{rid}/studies"), token).await;
    assert_eq!(reply.status, StatusCode::OK);
    reply.json().as_array().unwrap().clone()
}
