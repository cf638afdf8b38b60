//! A real, throwaway Garage (S3-compatible store) for tests: one single-node server per test
//! process, started on first use, and a key prefix of its own for each test in its one
//! bucket, so the tests of one binary run in parallel against it without seeing each other.
//!
//! The server lives in a temporary directory: loopback only, free ports, `replication_factor
//! = 1`, data and metadata fsynced, sqlite metadata, started with `server --single-node
//! --default-bucket`, which lays out the node and makes the key and the bucket itself
//! (`GARAGE_DEFAULT_*`). It creates them before its S3 port opens, so an answering port means
//! a usable bucket.
//!
//! The server stops itself: a small watchdog shell starts it and then waits for the end of a
//! pipe this process holds. When the process ends, however it ends (SIGKILL included), the
//! pipe closes; the watchdog then stops the server (SIGTERM, then SIGKILL after 10 s) and
//! removes the directory.
//!
//! Where the binary is: `GARAGE`, else `~/.cargo/bin/garage`, else `garage` on the `PATH`.
//! Without it every test that asks for a bucket fails, saying how to install it: it never
//! passes silently.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The bucket every test shares (each under its own prefix).
const BUCKET: &str = "sv-test";
/// The S3 region the server signs for.
const REGION: &str = "garage";
/// The access key the server is started with (Garage wants 8+ characters of `[A-Za-z0-9-_.]`).
const ACCESS_KEY_ID: &str = "GKsvtest000000000000000001";

/// Where one test's objects go: the shared server and bucket, and a key prefix no other test
/// of this process uses.
#[derive(Clone)]
pub struct S3Target {
    /// `http://127.0.0.1:<port>`: path-style requests only.
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// `t<n>`, unique within this process.
    pub prefix: String,
}

impl std::fmt::Debug for S3Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Target")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// A fresh prefix in the bucket of this process's Garage (started on first use). Panics,
/// saying why, when Garage cannot be started.
pub fn target() -> S3Target {
    let server = SERVER.get_or_init(Server::start);
    let n = server.next.fetch_add(1, Ordering::Relaxed);
    S3Target {
        endpoint: format!("http://127.0.0.1:{}", server.s3_port),
        region: REGION.into(),
        bucket: BUCKET.into(),
        access_key_id: ACCESS_KEY_ID.into(),
        secret_access_key: server.secret.clone(),
        prefix: format!("t{n}"),
    }
}

static SERVER: OnceLock<Server> = OnceLock::new();

struct Server {
    s3_port: u16,
    secret: String,
    next: AtomicU64,
    /// Never waited for: its stdin, held for the life of the process, ends with it, and that
    /// tells the watchdog to stop the server.
    _watchdog: Mutex<Child>,
}

/// Starts Garage, then stops it and removes the directory once its standard input ends.
/// Garage is started before the signals are ignored, so it keeps its own handlers.
const WATCHDOG: &str = r#"
"$GARAGE_BIN" -c "$1/garage.toml" server --single-node --default-bucket \
    >"$1/garage.log" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$1/garage.pid"
trap '' HUP INT TERM
cat >/dev/null
kill -TERM "$pid" 2>/dev/null
i=0
while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
kill -KILL "$pid" 2>/dev/null
rm -rf "$1"
"#;

impl Server {
    fn start() -> Server {
        let bin = binary();
        let secret = random_hex(32);
        let mut last = String::new();
        // Free ports are found by binding and letting go: another process may take one in
        // between, so a start that does not come up is tried again on new ports.
        for _ in 0..3 {
            let dir = tempfile::Builder::new()
                .prefix("sv-garage-")
                .tempdir()
                .expect("create a directory for the test Garage")
                .keep();
            let (s3_port, rpc_port) = free_ports();
            write_config(&dir, s3_port, rpc_port);
            let watchdog = watchdog(&bin, &dir, &secret);
            match wait_ready(&dir, s3_port) {
                Ok(()) => {
                    return Server {
                        s3_port,
                        secret,
                        next: AtomicU64::new(1),
                        _watchdog: Mutex::new(watchdog),
                    };
                }
                Err(why) => {
                    last = format!(
                        "{why}\n{}",
                        std::fs::read_to_string(dir.join("garage.log")).unwrap_or_default()
                    );
                    drop(watchdog); // closes its stdin: it stops that server and cleans up
                }
            }
        }
        panic!("the test Garage ({}) did not start:\n{last}", bin.display());
    }
}

/// Where the `garage` binary is; panics with what to do when it is missing.
fn binary() -> PathBuf {
    const INSTALL: &str = "these tests need a real Garage 2.5.0 server. Install it with \
         `cargo install garage --version 2.5.0 --locked` (scripts/test does, into ~/.cargo/bin) \
         or set GARAGE to the binary";
    if let Some(path) = std::env::var_os("GARAGE") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "GARAGE={} is not a file: {INSTALL}",
            path.display()
        );
        return path;
    }
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|home| home.join("bin").join("garage"));
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join("garage"));
    cargo_bin
        .into_iter()
        .chain(on_path)
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("garage not found: {INSTALL}"))
}

fn write_config(dir: &Path, s3_port: u16, rpc_port: u16) {
    let config = format!(
        r#"metadata_dir = "{dir}/meta"
data_dir = "{dir}/data"
db_engine = "sqlite"
replication_factor = 1
metadata_fsync = true
data_fsync = true
rpc_bind_addr = "127.0.0.1:{rpc_port}"
rpc_public_addr = "127.0.0.1:{rpc_port}"
rpc_secret = "{rpc_secret}"

[s3_api]
s3_region = "{REGION}"
api_bind_addr = "127.0.0.1:{s3_port}"
"#,
        dir = dir.display(),
        rpc_secret = random_hex(32),
    );
    std::fs::write(dir.join("garage.toml"), config).expect("write the test Garage's config");
}

/// Starts the watchdog, which starts Garage and cleans `dir` up when this process ends (its
/// stdin is piped).
fn watchdog(bin: &Path, dir: &Path, secret: &str) -> Child {
    use std::os::unix::process::CommandExt as _;
    Command::new("sh")
        .args(["-c", WATCHDOG, "sv-garage-watchdog"])
        .arg(dir)
        .env("GARAGE_BIN", bin)
        .env("GARAGE_DEFAULT_ACCESS_KEY", ACCESS_KEY_ID)
        .env("GARAGE_DEFAULT_SECRET_KEY", secret)
        .env("GARAGE_DEFAULT_BUCKET", BUCKET)
        .env("RUST_LOG", "garage=warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0) // a terminal's Ctrl-C must not reach it before the server
        .spawn()
        .expect("start the test Garage's watchdog (sh)")
}

/// Waits until the S3 port answers (the key and bucket exist by then), or the server died.
fn wait_ready(dir: &Path, s3_port: u16) -> Result<(), String> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if TcpStream::connect(("127.0.0.1", s3_port)).is_ok() {
            return Ok(());
        }
        let pid = std::fs::read_to_string(dir.join("garage.pid")).unwrap_or_default();
        let pid = pid.trim();
        if !pid.is_empty() && !alive(pid) {
            return Err("garage exited".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err("garage's S3 port did not open within 30 s".into())
}

/// Whether process `pid` runs (a zombie does not).
fn alive(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

/// Two distinct free loopback ports (both held while the second is found).
fn free_ports() -> (u16, u16) {
    let bind = || TcpListener::bind("127.0.0.1:0").expect("find a free loopback port");
    let (a, b) = (bind(), bind());
    let port = |l: &TcpListener| l.local_addr().expect("bound address").port();
    (port(&a), port(&b))
}

fn random_hex(bytes: usize) -> String {
    let mut random = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut random))
        .expect("read /dev/urandom");
    random.iter().map(|b| format!("{b:02x}")).collect()
}
