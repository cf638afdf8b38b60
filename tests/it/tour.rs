//! The README's tour, over HTTP: create a record, upload a fixture, list it, fetch its preview,
//! its XML and its DICOM file back; and the same with the command line (`record create`,
//! `upload`), then `export`, `fsck` and `gc` on the stopped data directory.

use crate::server::{ADMIN, Options, Server, fixture, fixture_path, studyvault, zip_of};

pub const STUDY_TYPE: &str = "cdfc0a9b-6d3b-4d16-afa8-02b86d621a8d";

#[test]
fn tour_create_upload_list_preview_xml_and_file() {
    let server = Server::start();
    assert_eq!(server.get("/healthz", None).status, 200);
    let (rid, token) = server.create_record("Tour Person");

    let ct = fixture("CT_small.dcm");
    let reply = server.upload_dicom(&rid, &token, &ct);
    assert_eq!(reply.status, 201, "{}", reply.text());
    let report = reply.json();
    assert_eq!(report["stored"], 1, "{report}");
    let entry = &report["instances"][0];
    assert_eq!(entry["status"], "stored");
    let study = entry["study_instance_uid"].as_str().unwrap().to_string();
    let sop = entry["sop_instance_uid"].as_str().unwrap().to_string();
    let tid = entry["thing_id"].as_str().unwrap().to_string();

    let list = server.get(&format!("/v1/records/{rid}/studies"), Some(&token));
    assert_eq!(list.status, 200, "{}", list.text());
    let list = list.json();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["study_instance_uid"], study.as_str());

    let preview = server.get(
        &format!("/v1/records/{rid}/studies/{study}/preview"),
        Some(&token),
    );
    assert_eq!(preview.status, 200, "{}", preview.text());
    assert_eq!(preview.header("content-type"), Some("image/jpeg"));
    assert!(preview.body.starts_with(&[0xFF, 0xD8]), "a JPEG");
    let instance_preview = server.get(
        entry["preview"]
            .as_str()
            .unwrap()
            .strip_prefix(&server.base)
            .unwrap(),
        Some(&token),
    );
    assert_eq!(instance_preview.status, 200);

    let things = server.get(
        &format!("/v1/records/{rid}/things?type-id={STUDY_TYPE}"),
        Some(&token),
    );
    assert_eq!(things.status, 200, "{}", things.text());
    let xml = things.text();
    assert!(xml.contains("<things"), "{xml}");
    assert!(xml.contains("<medical-image-study"), "{xml}");
    assert!(xml.contains(&study), "the study UID is in the XML");

    let thing = server.get(&format!("/v1/records/{rid}/things/{tid}"), Some(&token));
    assert_eq!(thing.status, 200);
    assert!(thing.text().contains("<thing"));

    let file = server.get(
        &format!("/v1/records/{rid}/things/{tid}/blobs/{sop}"),
        Some(&token),
    );
    assert_eq!(file.status, 200, "{}", file.text());
    assert_eq!(file.body, ct, "the DICOM file comes back byte for byte");
}

#[test]
fn admin_token_is_generated_once_into_the_data_directory_and_printed_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = Server::start_with(Options {
        data: Some(data.clone()),
        no_admin_env: true,
        ..Options::default()
    });
    let path = data.join("admin.token");
    let token = std::fs::read_to_string(&path).unwrap().trim().to_string();
    assert_eq!(token.len(), 64);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let printed = server.first_lines.join("\n");
    assert!(
        printed.contains(&token),
        "printed at first start: {printed}"
    );
    assert!(!server.logs().contains(&token), "never in the logs");
    let body = br#"{"name":"A"}"#;
    let created = server.post("/v1/records", Some(&token), "application/json", body);
    assert_eq!(created.status, 201, "{}", created.text());
    assert!(server.stop(), "clean exit on SIGTERM");

    let server = Server::start_with(Options {
        data: Some(data.clone()),
        no_admin_env: true,
        ..Options::default()
    });
    assert!(
        !server.first_lines.join("\n").contains(&token),
        "printed only once"
    );
    let again = server.post("/v1/records", Some(&token), "application/json", body);
    assert_eq!(again.status, 201, "the same token still works");
}

#[test]
fn cli_record_create_upload_then_export_fsck_and_gc_on_the_stopped_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = Server::start_with(Options {
        data: Some(data.clone()),
        no_admin_env: true,
        ..Options::default()
    });
    let out = studyvault()
        .args([
            "record",
            "create",
            "--name",
            "CLI Person",
            "--url",
            &server.base,
        ])
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rid = created["id"].as_str().unwrap().to_string();
    let token = created["token"].as_str().unwrap().to_string();

    let tiny = fixture_path("dicomdirtests/TINY_ALPHA");
    let zip = dir.path().join("mr.zip");
    std::fs::write(&zip, zip_of(&[("a/b/MR.dcm", fixture("MR_small.dcm"))])).unwrap();
    let out = studyvault()
        .args(["upload", "--quiet", "-j", "3", "--url", &server.base])
        .args(["--token", &token, "--record", &rid])
        .arg(&tiny)
        .arg(fixture_path("CT_small.dcm"))
        .arg(&zip)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let instances = count_files(&tiny) - 2; // DICOMDIR and README
    assert!(
        stdout.contains(&format!("{} stored", instances + 2)),
        "{stdout}"
    );
    let refused = studyvault()
        .args(["upload", "--quiet", "--url", &server.base])
        .args(["--token", "not-a-token", "--record", &rid])
        .arg(fixture_path("CT_small.dcm"))
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("401 invalid-token"));
    let again = studyvault()
        .args(["upload", "--quiet", "--url", &server.base])
        .args(["--token", &token, "--record", &rid])
        .arg(fixture_path("CT_small.dcm"))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("1 duplicate"));
    assert!(server.stop());

    let export = dir.path().join("export");
    let out = studyvault()
        .args(["export", "--record", &rid, "--data"])
        .arg(&data)
        .arg("--out")
        .arg(&export)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let studies: Vec<_> = std::fs::read_dir(&export).unwrap().collect();
    assert_eq!(
        studies.len(),
        3,
        "TINY_ALPHA's study, CT_small's and MR_small's"
    );
    for study in studies {
        assert!(study.unwrap().path().join("study.xml").is_file());
    }
    let ct = fixture("CT_small.dcm");
    let dcm = find(&export, ".dcm");
    assert_eq!(dcm.len(), instances + 2);
    let ct_file = dcm
        .iter()
        .find(|p| std::fs::read(p).unwrap() == ct)
        .unwrap();
    let series = ct_file.parent().unwrap();
    assert!(
        !find(series, ".preview.jpg").is_empty(),
        "previews beside the files"
    );

    let fsck = studyvault()
        .arg("fsck")
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        fsck.status.success(),
        "{}",
        String::from_utf8_lossy(&fsck.stdout)
    );
    let gc = studyvault()
        .arg("gc")
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert!(gc.status.success());
    assert!(String::from_utf8_lossy(&gc.stdout).contains("deleted 0"));

    // A running server holds the directory: the offline commands refuse, with a hint.
    let _server = Server::start_with(Options {
        data: Some(data.clone()),
        env: vec![("STUDYVAULT_ADMIN_TOKEN".into(), ADMIN.into())],
        ..Options::default()
    });
    let busy = studyvault()
        .arg("gc")
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert!(!busy.status.success());
    assert!(String::from_utf8_lossy(&busy.stderr).contains("server running"));
}

fn count_files(dir: &std::path::Path) -> usize {
    let mut out = Vec::new();
    crate::server::files_under(dir, dir, &mut out);
    out.len()
}

fn find(dir: &std::path::Path, suffix: &str) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in walk(dir) {
        if entry.to_string_lossy().ends_with(suffix) {
            out.push(entry);
        }
    }
    out
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
