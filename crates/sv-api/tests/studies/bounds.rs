//! The upload path under load: instances above the spool bound go through a spool file (the
//! body is never held whole), and the request timeout cuts stalled requests but no upload.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::StatusCode;
use sv_api::{ApiConfig, ApiLimits, AppState};
use sv_model::SecretHash;
use sv_testkit::fixtures::read_dicom_fixture;
use sv_vault::VaultConfig;

use crate::common::{ADMIN, PUBLIC_URL};
use crate::harness::*;

const SPOOL_ABOVE: u64 = 64 << 10;

fn spooling_api() -> Api {
    api_with_config(
        ApiLimits::default(),
        VaultConfig {
            spool_above_bytes: SPOOL_ABOVE,
            ..VaultConfig::default()
        },
    )
}

/// A synthetic CT slice (512 × 512 × 16 bit: 0.5 MB, far above the bound).
fn big_ct(index: u32) -> Vec<u8> {
    sv_dicom::synthetic::ct_series_slice(
        "1.2.826.0.1.3680043.10.9.2",
        "1.2.826.0.1.3680043.10.9.2.1",
        index,
    )
}

async fn blob_of(api: &Api, rid: &str, token: &str, entry: &serde_json::Value) -> Vec<u8> {
    let thing = entry["thing_id"].as_str().unwrap();
    let sop = entry["sop_instance_uid"].as_str().unwrap();
    let reply = get(
        api,
        &format!("/v1/records/{rid}/things/{thing}/blobs/{sop}"),
        token,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    reply.bytes.to_vec()
}

/// One instance above the bound, declared or streamed without a length, is spooled, stored
/// whole and reads back byte-identical; one below the bound is not spooled.
#[tokio::test]
async fn an_instance_above_the_spool_bound_is_ingested_from_a_spool_file() {
    let api = spooling_api();
    let (rid, owner) = record(&api, "spool").await;
    let big = big_ct(1);
    assert!(big.len() as u64 > SPOOL_ABOVE);

    let declared = upload(&api, &rid, &owner, "application/dicom", "", big.clone()).await;
    assert_eq!(declared.status, StatusCode::CREATED, "{}", declared.text());
    assert_eq!(
        api.vault.spooled_ingests(),
        1,
        "the declared body was spooled"
    );
    let entry = &declared.json()["instances"][0];
    assert_eq!(entry["status"], "stored");
    assert!(
        entry["preview"].is_string(),
        "the preview was made from the spooled bytes"
    );
    assert_eq!(blob_of(&api, &rid, &owner, entry).await, big);

    // No Content-Length: the body streams in 16 KiB chunks and crosses the bound midway.
    let streamed = big_ct(2);
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = streamed
        .chunks(16 << 10)
        .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
        .collect();
    let body = Body::from_stream(futures_util::stream::iter(chunks));
    let uri = format!("/v1/records/{rid}/studies");
    let headers = [("content-type", "application/dicom")];
    let reply = send(&api, "POST", &uri, Some(&owner), &headers, body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    assert_eq!(
        api.vault.spooled_ingests(),
        2,
        "the streamed body was spooled"
    );
    let entry = &reply.json()["instances"][0];
    assert_eq!(blob_of(&api, &rid, &owner, entry).await, streamed);

    let small = read_dicom_fixture("CT_small.dcm");
    assert!((small.len() as u64) < SPOOL_ABOVE);
    let reply = upload(&api, &rid, &owner, "application/dicom", "", small).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(
        api.vault.spooled_ingests(),
        2,
        "a small instance stays in memory"
    );
}

/// In a multipart batch, each part above the bound is spooled on its own; the others are not.
#[tokio::test]
async fn multipart_parts_above_the_spool_bound_are_spooled() {
    let api = spooling_api();
    let (rid, owner) = record(&api, "spool parts").await;
    let (big, small) = (big_ct(3), read_dicom_fixture("CT_small.dcm"));
    let body = multipart(&[
        (Some("application/dicom"), &small),
        (Some("application/dicom"), &big),
    ]);
    let reply = upload(&api, &rid, &owner, MULTIPART, "", body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let report = reply.json();
    assert_eq!(report["stored"], 2, "{report}");
    assert_eq!(
        api.vault.spooled_ingests(),
        1,
        "only the big part was spooled"
    );
    assert_eq!(
        blob_of(&api, &rid, &owner, &report["instances"][1]).await,
        big
    );
}

/// A one-shot latch: `open` once, `wait` until it is.
#[derive(Default)]
struct Latch(Mutex<bool>, Condvar);

impl Latch {
    fn open(&self) {
        *self.0.lock().unwrap() = true;
        self.1.notify_all();
    }

    fn wait(&self) {
        let mut open = self.0.lock().unwrap();
        while !*open {
            open = self.1.wait(open).unwrap();
        }
    }
}

/// With the only worker slot taken, a frames request (which needs a slot) stalls: the request
/// timeout answers it 503 `request-timeout`. An upload stalled the same way is not cut: it is
/// stored once the slot frees. (A zero timeout: every wait is past it, so nothing here depends
/// on how long anything takes.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_timeout_cuts_a_stalled_request_but_not_an_upload() {
    let api = api_with_config(
        ApiLimits::default(),
        VaultConfig {
            workers: 1,
            ..VaultConfig::default()
        },
    );
    let (rid, owner) = record(&api, "timeouts").await;
    let stored = upload(
        &api,
        &rid,
        &owner,
        "application/dicom",
        "",
        read_dicom_fixture("CT_small.dcm"),
    )
    .await;
    assert_eq!(stored.status, StatusCode::CREATED);
    let entry = &stored.json()["instances"][0];
    let frames = format!(
        "/v1/records/{rid}/dicomweb/studies/{}/series/{}/instances/{}/frames/1",
        entry["study_instance_uid"].as_str().unwrap(),
        entry["series_instance_uid"].as_str().unwrap(),
        entry["sop_instance_uid"].as_str().unwrap(),
    );
    // The same vault behind a router whose requests time out at once.
    let impatient = Api {
        app: sv_api::router(AppState::new(
            api.vault.clone(),
            ApiConfig {
                admin_token_hash: SecretHash::of(ADMIN.as_bytes()),
                public_url: PUBLIC_URL.into(),
                limits: ApiLimits {
                    request_timeout: Duration::ZERO,
                    ..ApiLimits::default()
                },
                cors_allowed_origins: Vec::new(),
            },
        )),
        vault: api.vault.clone(),
        dir: tempfile::tempdir().unwrap(),
    };

    let (started, release) = (Arc::new(Latch::default()), Arc::new(Latch::default()));
    let holder = tokio::spawn({
        let (vault, started, release) = (api.vault.clone(), started.clone(), release.clone());
        async move {
            vault
                .run_blocking(move |_| {
                    started.open();
                    release.wait();
                    Ok(())
                })
                .await
        }
    });
    tokio::task::spawn_blocking({
        let started = started.clone();
        move || started.wait()
    })
    .await
    .unwrap();

    let upload_task = tokio::spawn({
        let api = Api {
            app: impatient.app.clone(),
            vault: impatient.vault.clone(),
            dir: tempfile::tempdir().unwrap(),
        };
        let (rid, owner) = (rid.clone(), owner.clone());
        async move { upload(&api, &rid, &owner, "application/dicom", "", big_ct(9)).await }
    });
    // A hang guard, not a measurement: without the timeout the request would wait for the
    // slot this test holds forever, and the test should fail rather than hang.
    let stalled = tokio::time::timeout(Duration::from_secs(600), get(&impatient, &frames, &owner))
        .await
        .expect("the stalled request was never answered");
    assert_eq!(
        stalled.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        stalled.text()
    );
    assert_eq!(stalled.code(), "request-timeout");

    release.open();
    holder.await.unwrap().unwrap();
    let uploaded = upload_task.await.unwrap();
    assert_eq!(uploaded.status, StatusCode::CREATED, "{}", uploaded.text());
    assert_eq!(uploaded.json()["instances"][0]["status"], "stored");
}
