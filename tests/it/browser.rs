//! The pages in a real browser against the real server and a real SMTP server: headless
//! Chromium (Debian's, through chromedriver) driven by `tests/python/browser_check.py`, with
//! Python's aiosmtpd receiving the share mail into a Maildir. Also the recipient's viewer
//! path: `dicomweb-client` against `/s/{link}/dicomweb`.
//!
//! Skipped with a notice when chromium or chromedriver is missing, unless `CI=true`
//! (`scripts/test` installs both).

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::server::{Options, Server, fixture_path, python, python_script, zip_of};

/// A subprocess killed when the test ends, however it ends.
pub(crate) struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// aiosmtpd on loopback, delivering into `maildir` (which must not exist yet).
fn smtp_server(maildir: &Path) -> (Killed, u16) {
    smtp_server_on(maildir, free_port())
}

/// aiosmtpd on `port`.
pub(crate) fn smtp_server_on(maildir: &Path, port: u16) -> (Killed, u16) {
    let child = Command::new(python())
        .args(["-m", "aiosmtpd", "-n", "-l"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(maildir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start aiosmtpd");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "aiosmtpd did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (Killed(child), port)
}

fn browser_available() -> bool {
    let present =
        Path::new("/usr/bin/chromium").exists() && Path::new("/usr/bin/chromedriver").exists();
    if !present {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but chromium or chromedriver is missing: scripts/test installs them"
        );
        eprintln!(
            "skipped: chromium and chromium-driver are not installed (scripts/test installs them)"
        );
    }
    present
}

#[test]
fn a_patient_shares_a_study_by_mail_and_the_recipient_opens_it_in_a_browser() {
    if !browser_available() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let maildir = work.path().join("mail");
    let (_smtp, port) = smtp_server(&maildir);
    let server = Server::start_with(Options {
        env: vec![
            (
                "STUDYVAULT_SMTP_URL".into(),
                format!("smtp://127.0.0.1:{port}"),
            ),
            (
                "STUDYVAULT_SMTP_FROM".into(),
                "studyvault <vault@example.org>".into(),
            ),
        ],
        ..Options::default()
    });
    let body = serde_json::json!({"name": "Jane Doe", "owner_email": "jane@example.org"});
    let made = server.post(
        "/v1/records",
        Some(crate::server::ADMIN),
        "application/json",
        body.to_string().as_bytes(),
    );
    assert_eq!(made.status, 201, "{}", made.text());
    let owner = made.json()["token"].as_str().unwrap().to_owned();
    let rid = made.json()["id"].as_str().unwrap().to_owned();

    // A CD export as a folder (DICOMDIRs and multi-image series), and a zip of two more
    // studies.
    let folder = fixture_path("dicomdirtests");
    let zip = work.path().join("export.zip");
    let entries: Vec<(&str, Vec<u8>)> = vec![
        (
            "DICOM/CT1",
            std::fs::read(fixture_path("CT_small.dcm")).unwrap(),
        ),
        (
            "DICOM/RGB1",
            std::fs::read(fixture_path("examples_rgb_color.dcm")).unwrap(),
        ),
    ];
    std::fs::write(&zip, zip_of(&entries)).unwrap();
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    let downloads = work.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    // A share with the shortest life allowed (a minute): it opens at the start of the run,
    // and gives the 404 once it is over.
    let uploaded = server.upload_dicom(
        &rid,
        &owner,
        &std::fs::read(fixture_path("MR_small.dcm")).unwrap(),
    );
    let study = uploaded.json()["instances"][0]["study_instance_uid"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = serde_json::json!({"study_instance_uid": study, "expires_in": 60});
    let expiring = server.post(
        &format!("/v1/records/{rid}/shares"),
        Some(&owner),
        "application/json",
        body.to_string().as_bytes(),
    );
    assert_eq!(expiring.status, 201, "{}", expiring.text());
    let expiring_link = expiring.json()["url"].as_str().unwrap().to_owned();
    // The server set the expiry a minute after it made the share, before this point.
    let expires_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 60;

    let out = Command::new(python())
        .arg(python_script("browser_check.py"))
        .arg(server.url(""))
        .arg(&owner)
        .arg(&folder)
        .arg(&zip)
        .arg(&maildir)
        .arg(&shots)
        .arg(&downloads)
        .arg(&expiring_link)
        .arg(expires_at.to_string())
        .output()
        .expect("run browser_check.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "browser check failed:\n{stdout}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.logs()
    );
    assert!(stdout.contains("ok: the fifth wrong passcode locks the link"));
    assert!(stdout.contains("ok: an expired share gives the same 404 page as an unknown link"));
    // Nothing secret reaches the server's log: no link, no owner token, no session.
    let logs = server.logs();
    assert!(!logs.contains(&owner), "the owner token is in the log");
    assert!(!has_link(&logs), "a share link is in the log");
}

/// Whether a 64-hex share link appears after `/s/` anywhere in the text.
fn has_link(text: &str) -> bool {
    text.match_indices("/s/").any(|(i, _)| {
        let rest = &text[i + 3..];
        rest.len() >= 64 && rest[..64].bytes().all(|b| b.is_ascii_hexdigit())
    })
}

#[test]
fn a_viewer_with_only_the_share_link_reaches_that_study_over_dicomweb() {
    let server = Server::start();
    let (rid, owner) = server.create_record("Jane Doe");
    let study_of = |fixture: &str| -> String {
        let reply = server.upload_dicom(&rid, &owner, &crate::server::fixture(fixture));
        reply.json()["instances"][0]["study_instance_uid"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let shared = study_of("CT_small.dcm");
    let other = study_of("MR_small.dcm");
    // A share as stored, and one that de-identifies (the viewer sees remapped UIDs).
    for deidentify in [false, true] {
        let body = serde_json::json!({ "study_instance_uid": shared, "deidentify": deidentify });
        let created = server.post(
            &format!("/v1/records/{rid}/shares"),
            Some(&owner),
            "application/json",
            body.to_string().as_bytes(),
        );
        assert_eq!(created.status, 201, "{}", created.text());
        let url = created.json()["url"].as_str().unwrap().to_owned();
        let mut check = Command::new(python());
        check.arg(python_script("share_dicomweb_check.py"));
        if deidentify {
            check.arg("--deidentified");
        }
        let out = check
            .arg(format!("{url}/dicomweb"))
            .arg(&shared)
            .arg(&other)
            .output()
            .expect("run share_dicomweb_check.py");
        assert!(
            out.status.success(),
            "share DICOMweb check failed (deidentify: {deidentify}):\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(!has_link(&server.logs()), "a share link is in the log");
}

#[test]
fn a_browser_session_over_tls_gets_secure_cookies_and_hsts() {
    if !browser_available() {
        return;
    }
    let tls = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tls");
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let mut plain = Server::start_with(Options {
        data: Some(data.clone()),
        ..Options::default()
    });
    let (_, owner) = plain.create_record("Jane Doe");
    assert!(plain.stop(), "the plain server stops cleanly");
    drop(plain);
    // The same data directory, now served over HTTPS with the throwaway certificate.
    let server = Server::start_with(Options {
        data: Some(data),
        env: vec![
            (
                "STUDYVAULT_TLS_CERT_FILE".into(),
                tls.join("localhost.cert.pem").display().to_string(),
            ),
            (
                "STUDYVAULT_TLS_KEY_FILE".into(),
                tls.join("localhost.key.pem").display().to_string(),
            ),
        ],
        ..Options::default()
    });
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    let out = Command::new(python())
        .arg(python_script("tls_check.py"))
        .arg(server.url(""))
        .arg(&owner)
        .arg(&shots)
        .output()
        .expect("run tls_check.py");
    assert!(
        out.status.success(),
        "TLS browser check failed:\n{}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        server.logs()
    );
}
