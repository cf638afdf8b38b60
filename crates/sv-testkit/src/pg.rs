//! A real, throwaway PostgreSQL server for tests: one cluster per test process, started on
//! first use, and a fresh database for each test, so the tests of one binary run in parallel
//! against it.
//!
//! The cluster lives in a temporary directory (`initdb`, then `pg_ctl start` on 127.0.0.1 at
//! a free port, its socket in the same directory). PostgreSQL refuses to run as root: as
//! root, its commands run as the `postgres` user (`runuser`), which owns the directory.
//! Durability is off (`fsync=off`): these servers prove behaviour, not crash safety. They
//! serve TLS too (`ssl=on`, with the throwaway certificate in `tls/`, whose file
//! [`tls_ca_file`] is, for clients that ask with `sslmode=require`); plain connections stay
//! allowed.
//!
//! The server stops itself: a small watchdog shell, started first, waits for the end of a pipe
//! this process holds. When the process ends, however it ends, the pipe closes; the watchdog
//! then stops the server by the PID in `postmaster.pid` and removes the directory.
//!
//! Where the binaries are: `SV_TEST_PG_BIN`, else the newest `/usr/lib/postgresql/*/bin`
//! (Debian's `postgresql` package, which `scripts/test` installs). Without them every test
//! that asks for a database fails, saying so: it never passes silently.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use postgres::{Client, NoTls};

/// The certificate the test server's TLS presents (for `127.0.0.1` and `localhost`): the CA
/// file a client checks it against.
pub fn tls_ca_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tls/localhost.cert.pem")
}

/// The role that owns the test databases: not a superuser, as in a real deployment.
const ROLE: &str = "sv";

/// A database of its own for one test, dropped with it.
#[derive(Debug)]
pub struct PgDatabase {
    name: String,
    url: String,
}

impl PgDatabase {
    /// `postgresql://sv@127.0.0.1:<port>/<name>` (trust authentication: no password).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A direct connection as the database's owner, for tests that look under the store.
    pub fn connect(&self) -> Client {
        Client::connect(&self.url, NoTls)
            .unwrap_or_else(|e| panic!("connect to test database {}: {e}", self.name))
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        // Frees the space early; the whole cluster goes with the process anyway.
        if let Some(cluster) = CLUSTER.get() {
            let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
            let _ = cluster.admin().batch_execute(&sql);
        }
    }
}

/// A fresh, empty database on this process's cluster (started on first use), owned by a
/// non-superuser role. Panics, saying why, when PostgreSQL cannot be started.
pub fn database() -> PgDatabase {
    let cluster = CLUSTER.get_or_init(Cluster::start);
    let n = cluster.next.fetch_add(1, Ordering::Relaxed);
    let name = format!("sv_test_{n}");
    cluster
        .admin()
        .batch_execute(&format!("CREATE DATABASE {name} OWNER {ROLE}"))
        .unwrap_or_else(|e| panic!("create test database {name}: {e}"));
    PgDatabase {
        url: format!("postgresql://{ROLE}@127.0.0.1:{}/{name}", cluster.port),
        name,
    }
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();

struct Cluster {
    port: u16,
    /// A superuser connection to the `postgres` database, for creating and dropping.
    admin: Mutex<Client>,
    next: AtomicU64,
    /// Never waited for: its stdin, held for the life of the process, ends with it, and that
    /// tells the watchdog to stop the server.
    _watchdog: Mutex<Child>,
}

/// Stops the server and removes the directory once its standard input ends.
const WATCHDOG: &str = r#"
trap '' HUP INT TERM
cat >/dev/null
pid=$(head -n 1 "$1/data/postmaster.pid" 2>/dev/null)
if [ -n "$pid" ]; then
    kill -INT "$pid" 2>/dev/null
    i=0
    while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    kill -KILL "$pid" 2>/dev/null
fi
rm -rf "$1"
"#;

impl Cluster {
    fn admin(&self) -> std::sync::MutexGuard<'_, Client> {
        self.admin.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn start() -> Cluster {
        let bin = binaries();
        let dir = tempfile::Builder::new()
            .prefix("sv-pg-")
            .tempdir()
            .expect("create a directory for the test PostgreSQL")
            .keep();
        let watchdog = watchdog(&dir);
        let user = RunAs::detect();
        user.give(&dir);
        let data = dir.join("data");
        user.run(
            &dir,
            &bin.join("initdb"),
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-U".as_ref(),
                "postgres".as_ref(),
                "-A".as_ref(),
                "trust".as_ref(),
                "-E".as_ref(),
                "UTF8".as_ref(),
                "--locale=C".as_ref(),
                "--no-sync".as_ref(),
            ],
        )
        .unwrap_or_else(|out| panic!("initdb failed:\n{out}"));
        install_certificate(&dir, &user);
        let port = start_server(&bin, &dir, &user);
        let mut admin = Client::connect(
            &format!("host=127.0.0.1 port={port} user=postgres dbname=postgres"),
            NoTls,
        )
        .unwrap_or_else(|e| panic!("connect to the test PostgreSQL: {e}"));
        admin
            .batch_execute(&format!("CREATE ROLE {ROLE} LOGIN"))
            .unwrap_or_else(|e| panic!("create the test role: {e}"));
        Cluster {
            port,
            admin: Mutex::new(admin),
            next: AtomicU64::new(1),
            _watchdog: Mutex::new(watchdog),
        }
    }
}

/// Puts the server's certificate and key in `dir`, the key readable by the server alone (it
/// refuses one that others may read).
fn install_certificate(dir: &Path, user: &RunAs) {
    use std::os::unix::fs::PermissionsExt as _;
    let tls = Path::new(env!("CARGO_MANIFEST_DIR")).join("tls");
    for (from, to, mode) in [
        ("localhost.cert.pem", "server.crt", 0o644),
        ("localhost.key.pem", "server.key", 0o600),
    ] {
        let to = dir.join(to);
        std::fs::copy(tls.join(from), &to)
            .unwrap_or_else(|e| panic!("copy the test certificate {from}: {e}"));
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(mode)).unwrap();
        user.give(&to);
    }
}

/// Where the server binaries are; panics with what to do when they are missing.
fn binaries() -> PathBuf {
    let has_server = |d: &Path| {
        ["postgres", "initdb", "pg_ctl"]
            .iter()
            .all(|b| d.join(b).is_file())
    };
    if let Some(dir) = std::env::var_os("SV_TEST_PG_BIN") {
        let dir = PathBuf::from(dir);
        assert!(
            has_server(&dir),
            "SV_TEST_PG_BIN={} has no postgres, initdb and pg_ctl",
            dir.display()
        );
        return dir;
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            has_server(&bin).then_some((major, bin))
        })
        .collect();
    found.sort();
    match found.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "PostgreSQL server binaries not found: these tests need a real server. Install \
             Debian's `postgresql` package (scripts/test does) or set SV_TEST_PG_BIN to the \
             directory holding postgres, initdb and pg_ctl"
        ),
    }
}

/// Starts the watchdog, which cleans `dir` up when this process ends (its stdin is piped).
fn watchdog(dir: &Path) -> Child {
    use std::os::unix::process::CommandExt as _;
    Command::new("sh")
        .args(["-c", WATCHDOG, "sv-pg-watchdog"])
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0) // a terminal's Ctrl-C must not reach it before the server
        .spawn()
        .expect("start the test PostgreSQL's watchdog (sh)")
}

/// Starts the server on a free loopback port (another one if that port was taken meanwhile).
fn start_server(bin: &Path, dir: &Path, user: &RunAs) -> u16 {
    let log = dir.join("log");
    let mut last = String::new();
    for _ in 0..5 {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("find a free loopback port");
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k {} -c max_connections=300 \
             -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
             -c ssl=on -c ssl_cert_file={0}/server.crt -c ssl_key_file={0}/server.key",
            dir.display()
        );
        let started = user.run(
            dir,
            &bin.join("pg_ctl"),
            &[
                "-D".as_ref(),
                dir.join("data").as_os_str(),
                "-l".as_ref(),
                log.as_os_str(),
                "-w".as_ref(),
                "-t".as_ref(),
                "60".as_ref(),
                "-o".as_ref(),
                options.as_ref(),
                "start".as_ref(),
            ],
        );
        match started {
            Ok(_) => return port,
            Err(out) => {
                last = format!(
                    "{out}\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    panic!("the test PostgreSQL did not start:\n{last}");
}

/// Who runs PostgreSQL's commands: this process's user, or `postgres` when that is root.
enum RunAs {
    Me,
    Postgres { uid: u32, gid: u32 },
}

impl RunAs {
    fn detect() -> RunAs {
        if effective_uid() != Some(0) {
            return RunAs::Me;
        }
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        let ids = passwd.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.first() == Some(&"postgres") && f.len() > 3)
                .then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
                .flatten()
        });
        match ids {
            Some((uid, gid)) => RunAs::Postgres { uid, gid },
            None => panic!(
                "running as root, the test PostgreSQL needs the `postgres` user (Debian's \
                 postgresql package makes it)"
            ),
        }
    }

    /// Makes `dir` the server's own.
    fn give(&self, dir: &Path) {
        if let RunAs::Postgres { uid, gid } = self {
            std::os::unix::fs::chown(dir, Some(*uid), Some(*gid))
                .unwrap_or_else(|e| panic!("chown {} to postgres: {e}", dir.display()));
        }
    }

    /// Runs a PostgreSQL command in `dir`; `Err` carries its output when it fails.
    fn run(&self, dir: &Path, program: &Path, args: &[&std::ffi::OsStr]) -> Result<String, String> {
        let mut cmd = match self {
            RunAs::Me => Command::new(program),
            RunAs::Postgres { .. } => {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(program);
                c
            }
        };
        let out = cmd
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", program.display()));
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if out.status.success() {
            Ok(text)
        } else {
            Err(format!("{} ({}):\n{text}", program.display(), out.status))
        }
    }
}

/// This process's effective user id, from `/proc/self/status`.
fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}
