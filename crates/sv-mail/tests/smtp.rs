//! sv-mail against a real SMTP server: Python's aiosmtpd writing a Maildir, on a loopback port.
//!
//! The interpreter is `STUDYVAULT_TEST_PYTHON` (set by `scripts/test` to a venv made from
//! `tests/python/requirements.txt`). Without it the tests print a notice and pass, unless
//! `CI=true`, where they fail.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use sv_mail::{
    MailConfig, MailState, Mailer, MemoryOutbox, RetryPolicy, SendError, ShareMail, run_outbox,
    share_mail,
};
use time::macros::datetime;

const LINK: &str = "https://vault.example.org/s/q2Zr8x-Link_Token";
const TO: &str = "doctor@example.org";

/// The test Python, or `None` (after a notice) when the test should be skipped.
fn python() -> Option<PathBuf> {
    match std::env::var_os("STUDYVAULT_TEST_PYTHON") {
        Some(python) => Some(PathBuf::from(python)),
        None if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("STUDYVAULT_TEST_PYTHON is not set (scripts/test sets it); CI=true needs it")
        }
        None => {
            eprintln!(
                "skipped: set STUDYVAULT_TEST_PYTHON to a Python with aiosmtpd==1.4.6 \
                 (scripts/test does) to run the SMTP tests"
            );
            None
        }
    }
}

/// A loopback port nobody listens on (bound, noted and closed).
fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    listener.local_addr().unwrap().port()
}

/// aiosmtpd on 127.0.0.1:`port`, storing what it receives in a Maildir; killed on drop.
struct SmtpServer {
    child: Child,
    dir: tempfile::TempDir,
}

impl SmtpServer {
    fn start(python: &Path, port: u16) -> SmtpServer {
        let dir = tempfile::tempdir().unwrap();
        // aiosmtpd's Mailbox needs a path that does not exist yet: it makes the Maildir.
        let maildir = dir.path().join("maildir");
        let stderr = std::fs::File::create(dir.path().join("stderr")).unwrap();
        let child = Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {}: {e}", python.display()));
        let mut server = SmtpServer { child, dir };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("aiosmtpd exited ({status}): {}", server.stderr());
            }
            assert!(
                Instant::now() < deadline,
                "aiosmtpd did not listen: {}",
                server.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr")).unwrap_or_default()
    }

    /// The messages delivered so far, as text with `\n` line ends.
    fn messages(&self) -> Vec<String> {
        let new = self.dir.path().join("maildir").join("new");
        let Ok(entries) = std::fs::read_dir(new) else {
            return Vec::new();
        };
        entries
            .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
            .map(|text| text.replace("\r\n", "\n"))
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config(port: u16) -> MailConfig {
    MailConfig {
        url: format!("smtp://127.0.0.1:{port}"),
        from: "studyvault <noreply@vault.example.org>".to_owned(),
        timeout: Duration::from_secs(10),
    }
}

fn the_mail() -> sv_mail::Mail {
    share_mail(ShareMail {
        to: TO,
        sender_name: "Ana Lima",
        note: Some("Hello <doctor> & thanks,\nsee the CT."),
        link: LINK,
        expires: datetime!(2026-12-14 09:30 UTC),
        study_description: Some("CT chest"),
        study_date: Some("2026-11-30"),
        has_passcode: true,
    })
}

/// A parsed message part: unfolded headers (lowercase names) and the body.
struct Part {
    headers: Vec<(String, String)>,
    body: String,
}

impl Part {
    fn parse(text: &str) -> Part {
        let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in head.lines() {
            if line.starts_with([' ', '\t']) {
                let (_, value) = headers.last_mut().expect("a continuation after a header");
                value.push(' ');
                value.push_str(line.trim());
            } else if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        Part {
            headers,
            body: body.to_owned(),
        }
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {name} header"))
    }

    /// The multipart's parts, split on the boundary its Content-Type names.
    fn parts(&self) -> Vec<Part> {
        let content_type = self.header("content-type");
        let boundary = content_type
            .split("boundary=")
            .nth(1)
            .expect("a boundary")
            .trim_matches('"');
        let delimiter = format!("--{boundary}");
        self.body
            .split(&delimiter)
            .skip(1)
            .take_while(|part| !part.starts_with("--"))
            .map(|part| Part::parse(part.trim_start_matches('\n')))
            .collect()
    }

    /// The body with its quoted-printable transfer encoding undone.
    fn decoded(&self) -> String {
        assert_eq!(self.header("content-transfer-encoding"), "quoted-printable");
        let bytes = self.body.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'=' if bytes.get(i + 1) == Some(&b'\n') => i += 2,
                b'=' => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                    out.push(u8::from_str_radix(hex, 16).unwrap());
                    i += 3;
                }
                b => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        String::from_utf8(out).unwrap()
    }
}

#[tokio::test]
async fn a_share_mail_arrives_as_multipart_alternative() {
    let Some(python) = python() else { return };
    let port = free_port();
    let server = SmtpServer::start(&python, port);
    let mailer = Mailer::new(&config(port)).unwrap();

    mailer.send(&the_mail()).await.unwrap();

    let messages = server.messages();
    assert_eq!(messages.len(), 1, "{}", server.stderr());
    let message = Part::parse(&messages[0]);
    assert_eq!(
        message.header("from"),
        "studyvault <noreply@vault.example.org>"
    );
    assert_eq!(message.header("to"), TO);
    assert_eq!(
        message.header("subject"),
        "Ana Lima shared a medical imaging study with you"
    );
    let id = message.header("message-id");
    assert!(
        id.starts_with('<') && id.ends_with('>') && id.contains('@'),
        "{id}"
    );
    let date = message.header("date");
    assert!(date.ends_with("+0000") || date.ends_with("GMT"), "{date}");
    assert!(
        message
            .header("content-type")
            .starts_with("multipart/alternative;")
    );

    let parts = message.parts();
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0].header("content-type"), "text/plain; charset=utf-8");
    assert_eq!(parts[1].header("content-type"), "text/html; charset=utf-8");
    let (text, html) = (parts[0].decoded(), parts[1].decoded());
    for body in [&text, &html] {
        assert!(body.contains(LINK), "{body}");
        assert!(body.contains("14 December 2026, 09:30 UTC"), "{body}");
        assert!(body.contains("You will also need a passcode"), "{body}");
    }
    assert!(
        text.contains("Hello <doctor> & thanks,\nsee the CT."),
        "{text}"
    );
    assert!(
        html.contains("Hello &#60;doctor&#62; &#38; thanks,\nsee the CT."),
        "{html}"
    );
    assert!(html.contains(&format!("href=\"{LINK}\"")), "{html}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_delivers_once_the_server_comes_up() {
    let Some(python) = python() else { return };
    let port = free_port();
    let outbox = Arc::new(MemoryOutbox::new());
    let id = outbox.queue(the_mail(), SystemTime::now());
    let mailer = Arc::new(Mailer::new(&config(port)).unwrap());
    assert_eq!(
        mailer.send(&the_mail()).await,
        Err(SendError::transient("connection refused by mail server"))
    );

    let wake = Arc::new(tokio::sync::Notify::new());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let policy = RetryPolicy {
        first: Duration::from_millis(200),
        factor: 2,
        max_delay: Duration::from_secs(1),
        give_up_after: Duration::from_secs(120),
        max_attempts: 1000,
    };
    let worker = tokio::spawn(run_outbox(
        outbox.clone(),
        mailer,
        Arc::clone(&wake),
        policy,
        stopped,
    ));
    wake.notify_one();

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(MailState::Queued {
            attempts: 1..,
            last_error,
            ..
        }) = outbox.state(&id)
        {
            assert_eq!(
                last_error.as_deref(),
                Some("connection refused by mail server")
            );
            break;
        }
        assert!(Instant::now() < deadline, "no failed attempt recorded");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let server = tokio::task::spawn_blocking(move || SmtpServer::start(&python, port))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !matches!(outbox.state(&id), Some(MailState::Sent { .. })) {
        assert!(
            Instant::now() < deadline,
            "not delivered: {:?}",
            outbox.state(&id)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let messages = server.messages();
    assert_eq!(messages.len(), 1, "{}", server.stderr());
    let message = Part::parse(&messages[0]);
    assert!(message.parts()[0].decoded().contains(LINK));

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(1), worker)
        .await
        .expect("the worker stops promptly")
        .unwrap();
}

#[tokio::test]
async fn starttls_required_sends_nothing_to_a_server_without_it() {
    let Some(python) = python() else { return };
    let port = free_port();
    let server = SmtpServer::start(&python, port);
    let mut config = config(port);
    config.url = format!("smtp+starttls://127.0.0.1:{port}");
    let mailer = Mailer::new(&config).unwrap();

    let err = mailer.send(&the_mail()).await.unwrap_err();

    assert_eq!(
        err,
        SendError::transient(
            "mail server could not be used: STARTTLS is not supported on this server"
        )
    );
    assert!(server.messages().is_empty());
}
