//! `studyvault migrate --to`: a store the real binary made (a CT study ingested over HTTP, a
//! thing with a named blob, a token, a share) is moved, stopped, into PostgreSQL and S3 (a
//! throwaway database, `sv_testkit::pg`, and Garage, `sv_testkit::garage`); a server on the
//! destination then answers every read as the source did, byte for byte, and `fsck` is clean
//! on both. Built with `--features s3` only (scripts/test turns it on).

use crate::http::weight_thing;
use crate::server::{Options, Reply, Server, fixture, studyvault};

/// The destination's configuration: PostgreSQL metadata, S3 blobs.
fn destination_toml(db: &sv_testkit::pg::PgDatabase, s3: &sv_testkit::garage::S3Target) -> String {
    format!(
        "[meta]\nbackend = \"postgres\"\npostgres.url = \"{}\"\n\n\
         [blobs]\nbackend = \"s3\"\n\
         s3.endpoint = \"{}\"\ns3.region = \"{}\"\ns3.bucket = \"{}\"\n\
         s3.access_key_id = \"{}\"\ns3.secret_access_key = \"{}\"\ns3.prefix = \"{}\"\n",
        db.url(),
        s3.endpoint,
        s3.region,
        s3.bucket,
        s3.access_key_id,
        s3.secret_access_key,
        s3.prefix
    )
}

/// Runs `studyvault <args>`; (success, stdout and stderr).
fn run(args: &[&std::ffi::OsStr]) -> (bool, String) {
    let out = studyvault().args(args).output().expect("run studyvault");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// An answer with the server's own address taken out (links are built on it).
fn comparable(server: &Server, reply: &Reply) -> (u16, Vec<u8>) {
    let body = String::from_utf8(reply.body.clone())
        .map(|text| text.replace(&server.base, "<base>").into_bytes())
        .unwrap_or_else(|_| reply.body.clone());
    (reply.status, body)
}

#[test]
fn a_migrated_store_answers_byte_for_byte_on_postgres_and_s3() {
    let db = sv_testkit::pg::database();
    let s3 = sv_testkit::garage::target();
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("destination.toml");
    std::fs::write(&dest, destination_toml(&db, &s3)).unwrap();

    // The embedded store, made by the real server.
    let mut source = Server::start();
    let (rid, owner) = source.create_record("Moving Up");
    let ct = fixture("CT_small.dcm");
    let report = source.upload_dicom(&rid, &owner, &ct);
    assert_eq!(report.status, 201, "{}", report.text());
    let mr = source.upload_dicom(&rid, &owner, &fixture("MR_small.dcm"));
    assert_eq!(mr.status, 201, "{}", mr.text());
    let entry = &report.json()["instances"][0];
    let s = |k: &str| entry[k].as_str().unwrap().to_owned();
    let (study_thing, study, series, sop) = (
        s("thing_id"),
        s("study_instance_uid"),
        s("series_instance_uid"),
        s("sop_instance_uid"),
    );
    let created = source.send(
        "POST",
        &format!("/v1/records/{rid}/things"),
        Some(&owner),
        &[("Content-Type", "application/xml")],
        weight_thing(70).as_bytes(),
    );
    assert_eq!(created.status, 201, "{}", created.text());
    let weight = created
        .header("location")
        .unwrap()
        .strip_prefix(&source.base)
        .unwrap()
        .to_owned();
    let put = source.send(
        "PUT",
        &format!("{weight}/blobs/note.txt"),
        Some(&owner),
        &[("Content-Type", "text/plain")],
        b"a note on the weight",
    );
    assert!(put.status < 300, "{}", put.text());
    let reader = source.issue_token(
        &rid,
        &owner,
        serde_json::json!([{"type_id": null, "permissions": ["read"]}]),
        None,
    );
    let body = serde_json::json!({"study_instance_uid": study, "expires_in": 3600});
    let shared = source.post(
        &format!("/v1/records/{rid}/shares"),
        Some(&owner),
        "application/json",
        body.to_string().as_bytes(),
    );
    assert_eq!(shared.status, 201, "{}", shared.text());
    let shared = shared.json();
    let share_id = shared["id"].as_str().unwrap().to_owned();
    let link = shared["url"]
        .as_str()
        .unwrap()
        .strip_prefix(&source.base)
        .unwrap()
        .to_owned();
    assert_eq!(
        source.get(&format!("{link}/dicomweb/studies"), None).status,
        200
    );

    // What the destination must answer the same.
    let r = format!("/v1/records/{rid}");
    let study_type = "cdfc0a9b-6d3b-4d16-afa8-02b86d621a8d";
    let o = Some(owner.as_str());
    let reads: Vec<(String, Option<&str>)> = [
        (format!("{r}/things/{study_thing}/blobs/{sop}"), o),
        (
            format!("{r}/things/{study_thing}/blobs/{sop}.preview.jpg"),
            o,
        ),
        (format!("{r}/studies/{study}/preview"), o),
        (format!("{r}/studies/{study}/series/{series}/preview"), o),
        (
            format!("{r}/studies/{study}/series/{series}/instances/{sop}/preview"),
            o,
        ),
        (format!("{r}/things?type-id={study_type}"), o),
        (format!("{r}/things/{study_thing}"), o),
        (format!("{r}/things/{study_thing}/versions"), o),
        (weight.clone(), o),
        (format!("{weight}/versions"), o),
        (format!("{weight}/blobs/note.txt"), o),
        (format!("{r}/studies"), o),
        (format!("{r}/operations"), o),
        (format!("{r}/tokens"), o),
        (format!("{r}/fhir/ImagingStudy"), o),
        (format!("{r}/dicomweb/studies"), o),
        (format!("{r}/dicomweb/studies/{study}/metadata"), o),
        (format!("{r}/studies"), Some(reader.as_str())),
        (format!("{link}/dicomweb/studies"), None),
        (
            format!("{link}/dicomweb/studies/{study}/series/{series}/instances/{sop}"),
            None,
        ),
    ]
    .into();
    // A share's counters and log change as its link is read: these are read last on the
    // source and first on the destination.
    let share_reads = [format!("{r}/shares"), format!("{r}/shares/{share_id}/log")];
    let capture = |server: &Server, reads: &[(String, Option<&str>)]| -> Vec<(u16, Vec<u8>)> {
        reads
            .iter()
            .map(|(path, token)| {
                let reply = server.get(path, *token);
                assert_eq!(reply.status, 200, "{path}: {}", reply.text());
                comparable(server, &reply)
            })
            .collect()
    };
    let share_reads: Vec<(String, Option<&str>)> =
        share_reads.into_iter().map(|p| (p, o)).collect();
    let before = capture(&source, &reads);
    let shares_before = capture(&source, &share_reads);
    assert_eq!(before[0].1, ct, "the instance as uploaded");

    // Not while the source server runs: sled's lock says so.
    let data = source.data.clone();
    let migrate = |data: &std::path::Path| {
        run(&[
            "migrate".as_ref(),
            "--data".as_ref(),
            data.as_os_str(),
            "--to".as_ref(),
            dest.as_os_str(),
        ])
    };
    let (ok, out) = migrate(&data);
    assert!(!ok, "migrated a running store: {out}");
    assert!(out.contains("is a server running on it"), "{out}");
    assert!(source.stop(), "{}", source.logs());

    let (ok, out) = migrate(&data);
    assert!(ok, "{out}");
    assert!(
        out.contains("metadata: 1 records copied, 0 already there"),
        "{out}"
    );
    assert!(out.lines().any(|l| l == "ok"), "{out}");
    assert!(
        !out.contains(&s3.secret_access_key),
        "no secret in the report"
    );
    // Again: everything is there already, and still verifies.
    let (ok, again) = migrate(&data);
    assert!(ok, "{again}");
    assert!(
        again.contains("0 copied") && again.contains("0 records copied, 1 already there"),
        "{again}"
    );

    // A server on the destination answers as the source did.
    let mut moved = Server::start_with(Options {
        args: vec!["--config".into(), dest.display().to_string()],
        ..Options::default()
    });
    let shares_after = capture(&moved, &share_reads);
    assert!(
        shares_after == shares_before,
        "the shares and their log differ"
    );
    for ((path, token), want) in reads.iter().zip(&before) {
        let got = comparable(&moved, &moved.get(path, *token));
        assert_eq!(got.0, want.0, "{path}");
        assert!(got.1 == want.1, "{path}: answers differ");
    }
    // The share's secret is the same one: revoking it on the destination closes its link.
    let revoked = moved.send(
        "DELETE",
        &format!("{r}/shares/{share_id}"),
        Some(&owner),
        &[],
        b"",
    );
    assert!(revoked.status < 300, "{}", revoked.text());
    assert_eq!(
        moved.get(&format!("{link}/dicomweb/studies"), None).status,
        404
    );
    assert!(moved.stop(), "{}", moved.logs());

    for args in [
        vec!["fsck".as_ref(), "--data".as_ref(), data.as_os_str()],
        vec![
            "--config".as_ref(),
            dest.as_os_str(),
            "fsck".as_ref(),
            "--data".as_ref(),
            moved.data.as_os_str(),
        ],
    ] {
        let (ok, out) = run(&args);
        assert!(ok, "{out}");
        assert!(out.lines().any(|l| l == "ok"), "{out}");
    }
}
