//! Share mail through a real SMTP server (Python's aiosmtpd on loopback, into a Maildir): a
//! server that is down when the study is shared gets the mail once it is up, the mail carries
//! the link, the note and the expiry and never the passcode, and the share's state follows.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::browser::{free_port, smtp_server_on};
use crate::server::{Options, Server, fixture};

fn mails(maildir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(maildir.join("new")) else {
        return Vec::new();
    };
    entries
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect()
}

/// The text part of a mail, quoted-printable decoded.
fn decoded(mail: &str) -> String {
    mail.replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=")
}

#[test]
fn a_mail_server_down_at_share_time_gets_the_share_mail_when_it_comes_up() {
    let work = tempfile::tempdir().unwrap();
    let maildir = work.path().join("mail");
    let port = free_port();
    // Nothing listens on the port yet.
    let server = Server::start_with(Options {
        env: vec![
            (
                "STUDYVAULT_SMTP_URL".into(),
                format!("smtp://127.0.0.1:{port}"),
            ),
            ("STUDYVAULT_SMTP_FROM".into(), "vault@example.org".into()),
            ("STUDYVAULT_SMTP_RETRY_FIRST_SECS".into(), "1".into()),
        ],
        ..Options::default()
    });
    let (rid, owner) = server.create_record("Jane Doe");
    let uploaded = server.upload_dicom(&rid, &owner, &fixture("CT_small.dcm"));
    let study = uploaded.json()["instances"][0]["study_instance_uid"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = serde_json::json!({
        "study_instance_uid": study,
        "email": "doctor@example.org",
        "passcode": "given-by-phone-77",
        "note": "The scan from last week",
        "expires_in": 3 * 86_400,
    });
    let created = server.post(
        &format!("/v1/records/{rid}/shares"),
        Some(&owner),
        "application/json",
        body.to_string().as_bytes(),
    );
    assert_eq!(created.status, 201, "{}", created.text());
    let created = created.json();
    assert_eq!(created["mail"], "queued");
    let url = created["url"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();

    // Let at least one attempt fail against the closed port.
    let shares = format!("/v1/records/{rid}/shares/{id}/log");
    let started = Instant::now();
    loop {
        let log = server.get(&shares, Some(&owner)).json();
        if log["share"]["mail"]["attempts"].as_u64().unwrap_or(0) >= 1 {
            assert_eq!(log["share"]["mail"]["state"], "queued");
            assert!(log["share"]["mail"]["reason"].is_string(), "why it failed");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no attempt was made"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(mails(&maildir).is_empty());

    let (_smtp, _) = smtp_server_on(&maildir, port);
    let started = Instant::now();
    let mail = loop {
        if let Some(m) = mails(&maildir).into_iter().next() {
            break m;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the mail did not arrive after the server came up"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let text = decoded(&mail);
    assert!(text.contains("To: doctor@example.org"), "{text}");
    assert!(text.contains(&url), "the link");
    assert!(text.contains("The scan from last week"), "the note");
    assert!(text.contains("Jane Doe"), "who shared it");
    assert!(text.contains("UTC"), "the expiry");
    assert!(!text.contains("given-by-phone-77"), "never the passcode");
    assert!(text.contains("multipart/alternative"));
    let started = Instant::now();
    loop {
        let log = server.get(&shares, Some(&owner)).json();
        if log["share"]["mail"]["state"] == "sent" {
            let events: Vec<&str> = log["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["event"].as_str().unwrap())
                .collect();
            assert!(events.contains(&"mail-sent"), "{events:?}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "state not sent"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let logs = server.logs();
    assert!(
        !logs.contains("doctor@example.org"),
        "an address in the log"
    );
    assert!(
        !logs.contains("given-by-phone-77"),
        "the passcode in the log"
    );
}
