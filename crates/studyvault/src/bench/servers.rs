//! The two servers under test, each a child process on a loopback port with its own temporary
//! directory, stopped when dropped.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::secret::Secret;

/// A running server process; killed and reaped on drop.
#[derive(Debug)]
pub struct Server {
    pub name: &'static str,
    pub base: String,
    child: Child,
    log: PathBuf,
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Peak resident memory so far (VmHWM), in bytes.
    pub fn peak_rss(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    }

    /// CPU time the server has used so far (user + system), in seconds.
    pub fn cpu_seconds(&self) -> Option<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).ok()?;
        // Fields after the command name, which is in parentheses and may hold spaces.
        let rest = &stat[stat.rfind(')')? + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: f64 =
            fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
        // /proc counts in USER_HZ, which Linux fixes at 100 for user space.
        Some(ticks / 100.0)
    }

    fn wait_ready(&mut self, path: &str, timeout: Duration) -> anyhow::Result<()> {
        let agent = crate::client::agent(1, Some(Duration::from_secs(2)));
        let started = Instant::now();
        let url = format!("{}{path}", self.base);
        while started.elapsed() < timeout {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "{} exited ({status}) before it was ready; its log: {}",
                    self.name,
                    self.log.display()
                );
            }
            if crate::client::get(&agent, &url, None, &[]).is_ok_and(|r| r.is_success()) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!("{} was not ready after {timeout:?}", self.name)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nothing listens on now.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn log_file(dir: &Path, name: &str) -> anyhow::Result<(std::fs::File, PathBuf)> {
    let path = dir.join(format!("{name}.log"));
    Ok((std::fs::File::create(&path)?, path))
}

/// Starts this very binary as `studyvault serve` on a fresh data directory; with `segments`
/// false, its small blobs are files of their own, as before the segment layout (the bench's
/// "before").
pub fn start_studyvault(
    dir: &Path,
    admin: &Secret,
    workers: Option<usize>,
    segments: bool,
) -> anyhow::Result<Server> {
    let port = free_port()?;
    let exe = std::env::current_exe().context("cannot find the studyvault executable")?;
    let (name, tag) = if segments {
        ("studyvault", "studyvault")
    } else {
        ("studyvault (files)", "studyvault-files")
    };
    let (log, log_path) = log_file(dir, tag)?;
    let mut cmd = Command::new(exe);
    for (name, _) in std::env::vars() {
        if name.starts_with("STUDYVAULT_") {
            cmd.env_remove(name);
        }
    }
    if let Some(w) = workers {
        cmd.env("STUDYVAULT_WORKERS", w.to_string());
    }
    cmd.env("STUDYVAULT_BLOBS_SEGMENTS", segments.to_string());
    let child = cmd
        .arg("serve")
        .arg("--data")
        .arg(dir.join(format!("{tag}-data")))
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .env("STUDYVAULT_ADMIN_TOKEN", admin.expose())
        .env("STUDYVAULT_LOG", "warn")
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("could not start studyvault serve")?;
    let mut server = Server {
        name,
        base: format!("http://127.0.0.1:{port}"),
        child,
        log: log_path,
    };
    server.wait_ready("/healthz", Duration::from_secs(30))?;
    Ok(server)
}

/// The Orthanc executable, if installed.
pub fn find_orthanc(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return p.is_file().then(|| p.to_path_buf());
    }
    find_on_path("Orthanc", &["/usr/sbin", "/usr/bin"])
}

/// The executable `name` on PATH, else in one of `also`.
pub fn find_on_path(name: &str, also: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(also.iter().map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Orthanc's DICOMweb plugin (Debian `orthanc-dicomweb`), if installed.
pub fn find_dicomweb_plugin() -> Option<PathBuf> {
    [
        "/usr/share/orthanc/plugins",
        "/usr/lib/orthanc/plugins",
        "/usr/local/share/orthanc/plugins",
    ]
    .iter()
    .map(|d| Path::new(d).join("libOrthancDicomWeb.so"))
    .find(|p| p.is_file())
}

/// Starts Orthanc with its default settings except ports, directories and access (loopback
/// only, no authentication), and with the DICOMweb plugin at `/dicom-web/` when given (as
/// the packaged /etc/orthanc/dicomweb.json has it).
pub fn start_orthanc(exe: &Path, dir: &Path, dicomweb: Option<&Path>) -> anyhow::Result<Server> {
    let port = free_port()?;
    let dicom_port = free_port()?;
    let storage = dir.join("orthanc-storage");
    std::fs::create_dir_all(&storage)?;
    let config = serde_json::json!({
        "Name": "bench",
        "HttpPort": port,
        "DicomPort": dicom_port,
        "StorageDirectory": storage,
        "IndexDirectory": storage,
        "RemoteAccessAllowed": false,
        "AuthenticationEnabled": false,
        "Plugins": dicomweb.into_iter().collect::<Vec<_>>(),
        "DicomWeb": {"Enable": dicomweb.is_some(), "Root": "/dicom-web/"},
    });
    let config_path = dir.join("orthanc.json");
    std::fs::write(&config_path, serde_json::to_vec_pretty(&config)?)?;
    let (log, log_path) = log_file(dir, "orthanc")?;
    let child = Command::new(exe)
        .arg(&config_path)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("could not start Orthanc")?;
    let mut server = Server {
        name: "Orthanc",
        base: format!("http://127.0.0.1:{port}"),
        child,
        log: log_path,
    };
    server.wait_ready("/system", Duration::from_secs(60))?;
    Ok(server)
}
