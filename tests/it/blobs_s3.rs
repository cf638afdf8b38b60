//! The real binary with its blobs in S3 (a throwaway Garage, `sv_testkit::garage`) and its
//! metadata in PostgreSQL (`sv_testkit::pg`): a study goes in and comes back out, `fsck` and
//! `gc` work on the stopped deployment, and the data directory holds neither store. Built
//! with `--features s3` only (scripts/test turns it on).

use sv_blob::{BlobId, BlobStore as _};

use crate::server::{Options, Server, fixture, studyvault};

#[test]
fn a_server_on_s3_and_postgres_keeps_no_store_under_its_data_directory() {
    let db = sv_testkit::pg::database();
    let s3 = sv_testkit::garage::target();
    let env = sv_testkit::node_env(&db, &s3);
    let mut server = Server::start_with(Options {
        env: env.clone(),
        ..Options::default()
    });
    let (rid, token) = server.create_record("On S3");
    let ct = fixture("CT_small.dcm");
    let report = server.upload_dicom(&rid, &token, &ct);
    assert_eq!(report.status, 201, "{}", report.text());
    let entry = &report.json()["instances"][0];
    let blob = format!(
        "/v1/records/{rid}/things/{}/blobs/{}",
        entry["thing_id"].as_str().unwrap(),
        entry["sop_instance_uid"].as_str().unwrap()
    );
    assert_eq!(server.get(&blob, Some(&token)).body, ct);
    let part = server.get_with(&blob, Some(&token), &[("Range", "bytes=100-199")]);
    assert_eq!(part.status, 206, "{}", part.text());
    assert_eq!(part.body, &ct[100..200]);
    let studies = server.get(&format!("/v1/records/{rid}/studies"), Some(&token));
    assert_eq!(studies.status, 200, "{}", studies.text());
    assert!(server.stop(), "{}", server.logs());
    assert!(
        !server.logs().contains(&s3.secret_access_key),
        "the S3 secret stays out of the logs"
    );

    let data = server.data.clone();
    assert!(!data.join("blobs").exists(), "no local blob store was made");
    assert!(!data.join("meta").exists(), "no sled store was made");
    let bucket = bucket(&s3);
    let ids = bucket.list().unwrap();
    assert!(
        ids.contains(&BlobId::of(&ct)),
        "the instance is in the bucket"
    );
    assert!(ids.len() >= 2, "and its preview: {ids:?}");

    for (command, says) in [("fsck", "ok"), ("gc", "deleted 0")] {
        let out = studyvault()
            .arg(command)
            .arg("--data")
            .arg(&data)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{command}: {stdout}{stderr}");
        assert!(stdout.contains(says), "{command}: {stdout}");
    }
    assert_eq!(bucket.list().unwrap(), ids, "gc kept every referenced blob");
    assert!(!data.join("blobs").exists());
}

/// The test's own client of the bucket prefix the servers use.
pub fn bucket(s3: &sv_testkit::garage::S3Target) -> sv_blob_s3::S3BlobStore {
    sv_blob_s3::S3BlobStore::open(sv_blob_s3::S3Config {
        region: s3.region.clone(),
        prefix: s3.prefix.clone(),
        ..sv_blob_s3::S3Config::new(
            &s3.endpoint,
            &s3.bucket,
            &s3.access_key_id,
            &s3.secret_access_key,
        )
    })
    .unwrap()
}
