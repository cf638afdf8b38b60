//! The harness: the real `studyvault` binary on 127.0.0.1 (port 0, read back from its first
//! line), a temporary data directory, a ureq client, and a kill on drop.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const ADMIN: &str = "it-admin-token-0123456789abcdef";

/// A command for the binary with no `STUDYVAULT_*` leaking in from the environment.
pub fn studyvault() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_studyvault"));
    for (name, _) in std::env::vars() {
        if name.starts_with("STUDYVAULT_") {
            cmd.env_remove(name);
        }
    }
    cmd
}

/// A running server; stopped (SIGKILL) when dropped unless stopped gracefully before.
pub struct Server {
    pub base: String,
    pub data: PathBuf,
    pub log: PathBuf,
    pub first_lines: Vec<String>,
    child: Option<Child>,
    _dir: Option<tempfile::TempDir>,
}

#[derive(Default)]
pub struct Options {
    pub env: Vec<(String, String)>,
    pub args: Vec<String>,
    /// Use this data directory (kept) instead of a fresh temporary one.
    pub data: Option<PathBuf>,
    /// Leave STUDYVAULT_ADMIN_TOKEN unset (the server makes `<data>/admin.token`).
    pub no_admin_env: bool,
}

impl Server {
    pub fn start() -> Server {
        Server::start_with(Options::default())
    }

    pub fn start_with(options: Options) -> Server {
        let (dir, data) = match options.data {
            Some(d) => (None, d),
            None => {
                let dir = tempfile::tempdir().expect("temp dir");
                let data = dir.path().join("data");
                (Some(dir), data)
            }
        };
        std::fs::create_dir_all(&data).unwrap();
        let log = data.with_extension(format!("{}.log", std::process::id()));
        let log_file = std::fs::File::create(&log).unwrap();
        let mut cmd = studyvault();
        cmd.arg("serve")
            .arg("--data")
            .arg(&data)
            .args(["--listen", "127.0.0.1:0"])
            .args(&options.args)
            .env("STUDYVAULT_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file);
        if !options.no_admin_env {
            cmd.env("STUDYVAULT_ADMIN_TOKEN", ADMIN);
        }
        for (k, v) in &options.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start studyvault serve");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut first_lines = Vec::new();
        let base = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(url) = line.strip_prefix("studyvault listening on ") {
                        break url.trim().to_string();
                    }
                    first_lines.push(line);
                }
                _ => {
                    let _ = child.kill();
                    panic!(
                        "server exited before listening: {}",
                        std::fs::read_to_string(&log).unwrap_or_default()
                    );
                }
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
        let server = Server {
            base,
            data,
            log,
            first_lines,
            child: Some(child),
            _dir: dir,
        };
        server.wait_healthy();
        server
    }

    fn wait_healthy(&self) {
        let started = Instant::now();
        if let Some(addr) = self.base.strip_prefix("https://") {
            // The test client speaks plain HTTP only: wait for the port instead.
            while std::net::TcpStream::connect(addr).is_err() {
                assert!(
                    started.elapsed() < Duration::from_secs(30),
                    "server not listening"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            return;
        }
        while started.elapsed() < Duration::from_secs(30) {
            if self.get("/healthz", None).status == 200 {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("server not healthy after 30 s");
    }

    /// SIGTERM, then wait for the exit; returns whether it exited successfully.
    pub fn stop(&mut self) -> bool {
        let mut child = self.child.take().expect("running");
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status.success();
            }
            if started.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                panic!("server did not stop within 30 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL, as a power cut or the OOM killer would: no shutdown, nothing flushed by us.
    pub fn kill(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
    }

    /// The server's process id (the same after `serve` restarts itself, see `malloc.rs`).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.get_with(path, token, &[])
    }

    pub fn get_with(&self, path: &str, token: Option<&str>, headers: &[(&str, &str)]) -> Reply {
        let mut req = agent().get(self.url(path));
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Reply::read(req.call().expect("GET"))
    }

    pub fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Reply {
        let mut req = ureq::http::Request::builder()
            .method(method)
            .uri(self.url(path));
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(body.to_vec()).unwrap();
        Reply::read(agent().run(req).expect("request"))
    }

    pub fn post(&self, path: &str, token: Option<&str>, content_type: &str, body: &[u8]) -> Reply {
        self.send("POST", path, token, &[("Content-Type", content_type)], body)
    }

    /// Creates a record with the admin token: (id, owner token).
    pub fn create_record(&self, name: &str) -> (String, String) {
        let body = serde_json::json!({ "name": name }).to_string();
        let reply = self.post(
            "/v1/records",
            Some(ADMIN),
            "application/json",
            body.as_bytes(),
        );
        assert_eq!(reply.status, 201, "{}", reply.text());
        let v = reply.json();
        (
            v["id"].as_str().unwrap().to_string(),
            v["token"].as_str().unwrap().to_string(),
        )
    }

    /// Issues a token on `rid` with `grants` (`[(type_id or null, ["read", …])]`).
    pub fn issue_token(
        &self,
        rid: &str,
        owner: &str,
        grants: Value,
        expires_in: Option<i64>,
    ) -> String {
        let body =
            serde_json::json!({"label": "test app", "grants": grants, "expires_in": expires_in});
        let reply = self.post(
            &format!("/v1/records/{rid}/tokens"),
            Some(owner),
            "application/json",
            body.to_string().as_bytes(),
        );
        assert_eq!(reply.status, 201, "{}", reply.text());
        reply.json()["token"].as_str().unwrap().to_string()
    }

    /// Uploads every `.dcm` fixture, one by one, in name order. Some are broken on purpose:
    /// they are refused and stored nowhere, but never with a 5xx.
    pub fn upload_every_fixture(&self, rid: &str, token: &str) {
        let dir = fixture_path("CT_small.dcm").parent().unwrap().to_path_buf();
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "dcm"))
            .collect();
        files.sort();
        for path in &files {
            let reply = self.upload_dicom(rid, token, &std::fs::read(path).unwrap());
            assert!(reply.status < 500, "{}: {}", path.display(), reply.text());
        }
    }

    /// Uploads one DICOM file; returns the report.
    pub fn upload_dicom(&self, rid: &str, token: &str, bytes: &[u8]) -> Reply {
        self.post(
            &format!("/v1/records/{rid}/studies"),
            Some(token),
            "application/dicom",
            bytes,
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(&self.log);
    }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// A whole response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: ureq::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    fn read(mut response: ureq::http::Response<ureq::Body>) -> Reply {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .body_mut()
            .with_config()
            .limit(1 << 30)
            .read_to_vec()
            .unwrap_or_default();
        Reply {
            status,
            headers,
            body,
        }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.text()))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a 4xx with a `{"code","message"}` JSON body and returns the code.
    pub fn error_code(&self, status: u16) -> String {
        assert_eq!(self.status, status, "{}", self.text());
        let v = self.json();
        let code = v["code"].as_str().unwrap_or_else(|| panic!("no code: {v}"));
        assert!(v["message"].is_string(), "no message: {v}");
        assert!(
            code.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
            "{code}"
        );
        code.to_string()
    }
}

/// A fixture's bytes.
pub fn fixture(name: &str) -> Vec<u8> {
    sv_testkit::fixtures::read_dicom_fixture(name)
}

pub fn fixture_path(name: &str) -> PathBuf {
    sv_testkit::fixtures::dicom_fixture(name)
}

/// A zip of `(name, bytes)` entries (deflated).
pub fn zip_of(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut out);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in entries {
            zip.start_file(*name, options).unwrap();
            std::io::Write::write_all(&mut zip, bytes).unwrap();
        }
        zip.finish().unwrap();
    }
    out.into_inner()
}

/// Every file under `dir`, with its path relative to `base` as the zip entry name.
pub fn files_under(base: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let p = e.path();
        if p.is_dir() {
            files_under(base, &p, out);
        } else {
            let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
            out.push((rel, std::fs::read(&p).unwrap()));
        }
    }
}

/// The Python of the test venv that `scripts/test` makes (or `STUDYVAULT_TEST_PYTHON`).
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("STUDYVAULT_TEST_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-venv/bin/python");
    assert!(
        venv.exists(),
        "no test venv at {}: run scripts/test, which makes it",
        venv.display()
    );
    venv
}

/// A script of `tests/python/`.
pub fn python_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/python")
        .join(name)
}
