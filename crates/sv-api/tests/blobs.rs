//! Blob bytes over HTTP, in process: put, get, replace, delete, the default blob, ranges,
//! ETags, bad names, limits, preconditions and corruption found mid-stream.

#[path = "common/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::StatusCode;
use futures_util::stream;
use sv_api::ApiLimits;

use harness::*;

/// `len` bytes that differ from position to position.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

/// A record with one note thing: (api, thing URI, owner token).
async fn thing_with(limits: ApiLimits) -> (Api, String, String) {
    let api = api_with(limits);
    let (rid, owner) = record(&api, "A").await;
    let (tid, _) = create_note(&api, &rid, &owner, "has blobs").await;
    (api, format!("/v1/records/{rid}/things/{tid}"), owner)
}

async fn put(api: &Api, uri: &str, token: &str, ct: &str, bytes: Vec<u8>) -> Reply {
    let headers = [("content-type", ct)];
    send(api, "PUT", uri, Some(token), &headers, Body::from(bytes)).await
}

async fn get_with(api: &Api, uri: &str, token: &str, headers: &[(&str, &str)]) -> Reply {
    send(api, "GET", uri, Some(token), headers, Body::empty()).await
}

#[tokio::test]
async fn blobs_put_get_replace_and_delete() {
    let (api, thing, owner) = thing_with(ApiLimits::default()).await;
    let before = get(&api, &thing, &owner).await.etag();
    let uri = format!("{thing}/blobs/scan%20one.png");
    let bytes = pattern(200_000);
    let stored = put(&api, &uri, &owner, "image/png", bytes.clone()).await;
    assert_eq!(stored.status, StatusCode::CREATED, "{}", stored.text());
    let blake3 = blake3_hex(&bytes);
    assert_eq!(stored.etag(), blake3);
    let v = stored.json();
    assert_eq!(v["name"], "scan one.png");
    assert_eq!(v["length"], 200_000);
    assert_eq!(v["content_type"], "image/png");
    assert_eq!(path_of(v["blob_ref_url"].as_str().unwrap()), uri);
    assert_eq!(
        stored.header("location"),
        v["blob_ref_url"].as_str().unwrap()
    );
    let version = v["version_stamp"].as_str().unwrap().to_owned();
    assert_ne!(version, before, "a blob change is a new thing version");
    assert_eq!(get(&api, &thing, &owner).await.etag(), version);

    let got = get(&api, &uri, &owner).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.bytes.as_ref(), bytes.as_slice());
    assert_eq!(got.header("content-type"), "image/png");
    assert_eq!(got.header("content-length"), "200000");
    assert_eq!(got.header("accept-ranges"), "bytes");
    assert_eq!(got.header("etag"), format!("\"{blake3}\""));

    // The thing's blob-payload names it, with a URL that works.
    let xml = get(&api, &thing, &owner).await.text();
    assert!(xml.contains("<name>scan one.png</name>"));
    assert!(xml.contains(&format!("<blob-ref-url>{PUBLIC_URL}{uri}</blob-ref-url>")));

    // Replacing: 200, new bytes.
    let replaced = put(&api, &uri, &owner, "image/png", b"short".to_vec()).await;
    assert_eq!(replaced.status, StatusCode::OK);
    assert_eq!(get(&api, &uri, &owner).await.bytes.as_ref(), b"short");

    // The default blob lives at …/blob; an empty name under …/blobs/ is refused.
    let default = format!("{thing}/blob");
    let stored = put(&api, &default, &owner, "text/plain", b"default".to_vec()).await;
    assert_eq!(stored.status, StatusCode::CREATED);
    assert_eq!(stored.json()["name"], "");
    assert_eq!(get(&api, &default, &owner).await.bytes.as_ref(), b"default");
    let xml = get(&api, &thing, &owner).await.text();
    assert!(xml.contains("<name/>") || xml.contains("<name></name>"));
    assert!(xml.contains(&format!(
        "<blob-ref-url>{PUBLIC_URL}{default}</blob-ref-url>"
    )));

    // Delete: the name goes, other names stay.
    let removed = send(&api, "DELETE", &uri, Some(&owner), &[], Body::empty()).await;
    assert_eq!(removed.status, StatusCode::OK);
    assert!(removed.json()["version_stamp"].is_string());
    let gone = get(&api, &uri, &owner).await;
    assert_eq!(
        (gone.status, gone.code().as_str()),
        (StatusCode::NOT_FOUND, "not-found")
    );
    let again = send(&api, "DELETE", &uri, Some(&owner), &[], Body::empty()).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(get(&api, &default, &owner).await.status, StatusCode::OK);
    let empty = put(
        &api,
        &format!("{thing}/blobs/empty"),
        &owner,
        "text/plain",
        Vec::new(),
    )
    .await;
    assert_eq!(empty.status, StatusCode::CREATED);
    let empty = get(&api, &format!("{thing}/blobs/empty"), &owner).await;
    assert_eq!((empty.status, empty.bytes.len()), (StatusCode::OK, 0));
}

#[tokio::test]
async fn ranges_and_conditional_reads() {
    let (api, thing, owner) = thing_with(ApiLimits::default()).await;
    let uri = format!("{thing}/blobs/data.bin");
    let bytes = pattern(1000);
    put(
        &api,
        &uri,
        &owner,
        "application/octet-stream",
        bytes.clone(),
    )
    .await;
    let etag = format!("\"{}\"", blake3_hex(&bytes));

    for (range, start, end) in [
        ("bytes=0-9", 0, 10),
        ("bytes=-10", 990, 1000),
        ("bytes=100-199", 100, 200),
        ("bytes=990-", 990, 1000),
        ("bytes=995-5000", 995, 1000),
        ("BYTES=0-0", 0, 1),
    ] {
        let reply = get_with(&api, &uri, &owner, &[("range", range)]).await;
        assert_eq!(reply.status, StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(reply.bytes.as_ref(), &bytes[start..end], "{range}");
        assert_eq!(
            reply.header("content-range"),
            format!("bytes {start}-{}/1000", end - 1)
        );
        assert_eq!(reply.header("content-length"), (end - start).to_string());
        assert_eq!(reply.header("etag"), etag);
    }
    for range in ["bytes=1000-", "bytes=5000-6000", "bytes=-0"] {
        let reply = get_with(&api, &uri, &owner, &[("range", range)]).await;
        assert_eq!(reply.status, StatusCode::RANGE_NOT_SATISFIABLE, "{range}");
        assert_eq!(reply.header("content-range"), "bytes */1000");
        assert_eq!(reply.code(), "range-not-satisfiable");
    }
    // Several ranges, other units and nonsense: the whole blob.
    for range in ["bytes=0-1,5-6", "items=0-1", "bytes=abc", "bytes=9-3"] {
        let reply = get_with(&api, &uri, &owner, &[("range", range)]).await;
        assert_eq!(reply.status, StatusCode::OK, "{range}");
        assert_eq!(reply.bytes.len(), 1000);
    }
    // If-Range with another tag: the whole blob; with ours: the range.
    let stale = [("range", "bytes=0-9"), ("if-range", "\"00\"")];
    assert_eq!(
        get_with(&api, &uri, &owner, &stale).await.status,
        StatusCode::OK
    );
    let fresh = [("range", "bytes=0-9"), ("if-range", etag.as_str())];
    assert_eq!(
        get_with(&api, &uri, &owner, &fresh).await.status,
        StatusCode::PARTIAL_CONTENT
    );

    // If-None-Match: 304 with no body; another tag reads normally.
    for tag in [
        etag.as_str(),
        "*",
        &format!("W/{etag}"),
        &format!("\"x\", {etag}"),
    ] {
        let reply = get_with(&api, &uri, &owner, &[("if-none-match", tag)]).await;
        assert_eq!(reply.status, StatusCode::NOT_MODIFIED, "{tag}");
        assert!(reply.bytes.is_empty());
        assert_eq!(reply.header("etag"), etag);
    }
    let reply = get_with(&api, &uri, &owner, &[("if-none-match", "\"other\"")]).await;
    assert_eq!(reply.status, StatusCode::OK);

    // An empty blob has no satisfiable range.
    let empty = format!("{thing}/blobs/empty");
    put(&api, &empty, &owner, "text/plain", Vec::new()).await;
    let reply = get_with(&api, &empty, &owner, &[("range", "bytes=-10")]).await;
    assert_eq!(reply.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(reply.header("content-range"), "bytes */0");
}

#[tokio::test]
async fn bad_names_and_bodies_write_nothing() {
    let (api, thing, owner) = thing_with(ApiLimits {
        max_blob_bytes: 10_000,
        ..ApiLimits::default()
    })
    .await;
    let version = get(&api, &thing, &owner).await.etag();
    let long = "x".repeat(256);
    for name in [
        "a%2Fb",
        "a%5Cb",
        "a%00b",
        "..",
        "x..y",
        "tab%09",
        "%FF",
        long.as_str(),
    ] {
        let uri = format!("{thing}/blobs/{name}");
        let reply = put(&api, &uri, &owner, "text/plain", b"x".to_vec()).await;
        assert_eq!(
            (reply.status, reply.code().as_str()),
            (StatusCode::BAD_REQUEST, "invalid-blob-name"),
            "{name}"
        );
        let reply = get(&api, &uri, &owner).await;
        assert_eq!(reply.code(), "invalid-blob-name", "{name}");
    }
    let reply = put(
        &api,
        &format!("{thing}/blobs/"),
        &owner,
        "text/plain",
        b"x".to_vec(),
    )
    .await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (StatusCode::BAD_REQUEST, "invalid-blob-name")
    );

    // No Content-Type.
    let uri = format!("{thing}/blobs/ok");
    let reply = send(&api, "PUT", &uri, Some(&owner), &[], Body::from("x")).await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (StatusCode::BAD_REQUEST, "content-type-required")
    );

    // Over the limit, declared or streamed without a length: 413, nothing stored.
    let reply = put(&api, &uri, &owner, "text/plain", pattern(10_001)).await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large")
    );
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = (0..4).map(|_| Ok(pattern(4000))).collect();
    let streamed = Body::from_stream(stream::iter(chunks));
    let ct = [("content-type", "text/plain")];
    let reply = send(&api, "PUT", &uri, Some(&owner), &ct, streamed).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    let failing: Vec<Result<Vec<u8>, std::io::Error>> = vec![
        Ok(pattern(100)),
        Err(std::io::Error::other("client went away")),
    ];
    let reply = send(
        &api,
        "PUT",
        &uri,
        Some(&owner),
        &ct,
        Body::from_stream(stream::iter(failing)),
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        get(&api, &thing, &owner).await.etag(),
        version,
        "the thing did not change"
    );
    assert!(!blob_file_exists(
        api.dir.path(),
        &blake3_hex(&pattern(10_001))
    ));

    // Exactly at the limit, streamed: stored.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![Ok(pattern(6000)), Ok(pattern(4000))];
    let reply = send(
        &api,
        "PUT",
        &uri,
        Some(&owner),
        &ct,
        Body::from_stream(stream::iter(chunks)),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.json()["length"], 10_000);
}

#[tokio::test]
async fn blob_writes_honour_if_match() {
    let (api, thing, owner) = thing_with(ApiLimits::default()).await;
    let v1 = get(&api, &thing, &owner).await.etag();
    let uri = format!("{thing}/blobs/a");
    let stale = format!("\"{}\"", sv_model::VersionStamp::new_random());
    let headers = [("content-type", "text/plain"), ("if-match", stale.as_str())];
    let reply = send(&api, "PUT", &uri, Some(&owner), &headers, Body::from("a")).await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (StatusCode::PRECONDITION_FAILED, "version-conflict")
    );
    assert_eq!(get(&api, &uri, &owner).await.status, StatusCode::NOT_FOUND);

    let current = format!("\"{v1}\"");
    let headers = [
        ("content-type", "text/plain"),
        ("if-match", current.as_str()),
    ];
    let reply = send(&api, "PUT", &uri, Some(&owner), &headers, Body::from("a")).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let v2 = reply.json()["version_stamp"].as_str().unwrap().to_owned();

    let reply = send(
        &api,
        "DELETE",
        &uri,
        Some(&owner),
        &[("if-match", current.as_str())],
        Body::empty(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(get(&api, &uri, &owner).await.status, StatusCode::OK);
    let fresh = format!("\"{v2}\"");
    let reply = send(
        &api,
        "DELETE",
        &uri,
        Some(&owner),
        &[("if-match", fresh.as_str())],
        Body::empty(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn corruption_found_mid_stream_aborts_the_body() {
    let (api, thing, owner) = thing_with(ApiLimits::default()).await;
    let uri = format!("{thing}/blobs/big");
    // Over the blob store's whole-verify bound (1 MiB), so reads verify group by group.
    let bytes = pattern(2 << 20);
    assert_eq!(
        put(
            &api,
            &uri,
            &owner,
            "application/octet-stream",
            bytes.clone()
        )
        .await
        .status,
        StatusCode::CREATED
    );
    let path = find_blob_file(api.dir.path(), &blake3_hex(&bytes)).expect("the blob file");
    let mut stored = std::fs::read(&path).unwrap();
    stored[1_900_000] ^= 0xff;
    std::fs::write(&path, &stored).unwrap();

    let reply = get(&api, &uri, &owner).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "the first groups verify, so the answer starts"
    );
    assert!(
        reply.body_error,
        "the body must fail, never end cleanly with wrong bytes"
    );
    // A range inside the good part is still served.
    let reply = get_with(&api, &uri, &owner, &[("range", "bytes=0-99")]).await;
    assert_eq!(reply.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(reply.bytes.as_ref(), &bytes[..100]);
}

fn blake3_hex(bytes: &[u8]) -> String {
    sv_model::BlobId::of(bytes).to_string()
}

fn find_blob_file(dir: &Path, hex: &str) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()? {
        let path = entry.ok()?.path();
        if path.is_dir() {
            if let Some(found) = find_blob_file(&path, hex) {
                return Some(found);
            }
        } else if path.file_name().is_some_and(|n| n == hex) {
            return Some(path);
        }
    }
    None
}

fn blob_file_exists(dir: &Path, hex: &str) -> bool {
    find_blob_file(dir, hex).is_some()
}
