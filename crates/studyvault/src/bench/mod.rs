//! `studyvault bench`: a load benchmark of studyvault against Orthanc, both on loopback with
//! data directories on the disk of `--dir` (the current directory by default, never a RAM
//! disk unless asked), same synthetic images, same client.
//!
//! Prints CT ingest instances/s with 1, 2 and 4 clients (fsync on, previews made) with each
//! server's CPU per instance, the file-system calls one instance costs each server (strace),
//! radiograph ingest MB/s, a zipped 200-slice CD upload, preview GET requests/s with p50/p99
//! latency at 1..64 connections, and each server's peak RSS, with the ratios against the
//! targets (ingest ≥ 1.5× Orthanc with one client and 2× with more, radiographs ≥ 1.2×, the
//! zip ≥ 2×, previews ≥ 30×, RSS < 200 MB). `--before` adds a studyvault whose small blobs
//! are files of their own (`blobs.segments = false`, the write path before layout 2).
//! Installs nothing: without Orthanc it says how to get it and measures studyvault alone.
//!
//! The DICOMweb phases (issue 9): STOW-RS ingest beside the native multipart upload of the
//! same bodies (target within 10 %), WADO-RS series retrieval MB/s (target ≥ 2× Orthanc) and
//! `thumbnail` / `rendered` requests/s (target ≥ 30× Orthanc's `/dicom-web/.../rendered`).
//! Orthanc's side needs its DICOMweb plugin (Debian `orthanc-dicomweb`); without it those
//! columns are skipped and the table says why.

mod dicomweb;
mod load;
mod report;
mod servers;
pub mod synth;
mod syscalls;
mod uploads;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

use crate::client::Reply;
use crate::secret::Secret;
use load::Target;
use report::{Figures, IngestFigures};
use servers::Server;

#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// CT slices (512×512, 16-bit) sent per ingest step, for each client count.
    #[arg(long, default_value_t = 200)]
    pub instances: usize,
    /// Client counts for the ingest steps.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4")]
    pub clients: Vec<usize>,
    /// Connection counts for the preview steps.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8,16,32,64")]
    pub connections: Vec<usize>,
    /// Seconds each preview step runs, per server.
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,
    /// Radiographs (2500×3000, 16-bit, about 15 MB) sent per radiograph step.
    #[arg(long, default_value_t = 20)]
    pub radiographs: usize,
    /// Client counts for the radiograph steps.
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    pub radiograph_clients: Vec<usize>,
    /// CT slices in the zipped CD of the zip phase.
    #[arg(long, default_value_t = 200)]
    pub zip_instances: usize,
    /// CT slices ingested under strace in the syscalls phase, per server.
    #[arg(long, default_value_t = 50)]
    pub syscall_instances: usize,
    /// Also measure studyvault with `blobs.segments = false` (each small blob a file of its
    /// own, the write path before layout 2): ingest rates and syscalls.
    #[arg(long)]
    pub before: bool,
    /// Directory the servers' data directories are made in (removed afterwards); its disk is
    /// what is measured [default: the current directory].
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// The Orthanc executable [default: Orthanc on PATH or in /usr/sbin].
    #[arg(long, value_name = "PATH")]
    pub orthanc: Option<PathBuf>,
    /// Measure studyvault only.
    #[arg(long)]
    pub no_orthanc: bool,
    /// studyvault's `workers` (ingests parsing or rendering at once) [default: its configured default].
    #[arg(long)]
    pub workers: Option<usize>,
    /// The phases to run.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "ingest,syscalls,radiograph,zip,previews,stow,wado,rendered"
    )]
    pub phases: Vec<Phase>,
    /// Instances per multipart/related request in the STOW-RS phase (which sends
    /// `--instances` slices, rounded up to whole requests, per client count and server).
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    /// Slices in the series retrieved by the WADO-RS phase.
    #[arg(long, default_value_t = 100)]
    pub series_slices: usize,
    /// Connection counts for the WADO-RS series retrieval steps.
    #[arg(long, value_delimiter = ',', default_value = "1,4")]
    pub wado_connections: Vec<usize>,
    /// Connection counts for the thumbnail / rendered steps.
    #[arg(long, value_delimiter = ',', default_value = "1,4,16")]
    pub rendered_connections: Vec<usize>,
}

/// A part of the bench.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Phase {
    /// CT ingest, one instance per request.
    Ingest,
    /// File-system calls per CT instance, under strace.
    Syscalls,
    /// Radiograph ingest, one image per request.
    Radiograph,
    /// A zipped CD of CT slices in one request.
    Zip,
    /// Native preview GETs.
    Previews,
    /// STOW-RS beside the native multipart upload.
    Stow,
    /// WADO-RS series retrieval.
    Wado,
    /// DICOMweb thumbnail and rendered GETs.
    Rendered,
}

pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let parent = match &args.dir {
        Some(d) => d.clone(),
        None => std::env::current_dir().context("no current directory")?,
    };
    // Absolute: each server runs in the directory, and Orthanc reads paths from its config.
    let parent = parent
        .canonicalize()
        .with_context(|| format!("no directory '{}'", parent.display()))?;
    let dir = tempfile_dir(&parent)?;
    if let Some(fs) = filesystem_of(&dir.path)
        && (fs == "tmpfs" || fs == "ramfs")
    {
        eprintln!(
            "warning: {} is on {fs}: fsync costs nothing there; use --dir on a real disk",
            dir.path.display()
        );
    }
    let orthanc_exe = if args.no_orthanc {
        None
    } else {
        let found = servers::find_orthanc(args.orthanc.as_deref());
        if found.is_none() {
            eprintln!(
                "Orthanc not found: install it with `sudo apt-get install -y orthanc` to compare \
                 (measuring studyvault alone)"
            );
        }
        found
    };
    if cfg!(debug_assertions) {
        eprintln!("note: this is a debug build; run `cargo run --release -p studyvault -- bench`");
    }
    let admin = Secret::generate();
    eprintln!("starting studyvault and Orthanc in {}", dir.path.display());
    let sv = servers::start_studyvault(&dir.path, &admin, args.workers, true)?;
    let sv_target = studyvault_target(&sv, &admin)?;
    let before = if args.before {
        let server = servers::start_studyvault(&dir.path, &admin, args.workers, false)?;
        let target = studyvault_target(&server, &admin)?;
        Some((server, target))
    } else {
        None
    };
    let dicomweb_phases = [Phase::Stow, Phase::Wado, Phase::Rendered]
        .iter()
        .any(|p| args.phases.contains(p));
    let plugin = servers::find_dicomweb_plugin();
    let orthanc = match &orthanc_exe {
        Some(exe) => Some(servers::start_orthanc(exe, &dir.path, plugin.as_deref())?),
        None => None,
    };
    let mut figures = Figures::default();
    // Orthanc's DICOMweb base, when its plugin answers.
    let orthanc_web = match (&orthanc, &plugin) {
        (None, _) => {
            if dicomweb_phases {
                figures.skipped.push(
                    "Orthanc's DICOMweb columns: Orthanc is not there (--no-orthanc or not \
                     installed)"
                        .into(),
                );
            }
            None
        }
        (Some(_), None) => {
            figures.skipped.push(
                "Orthanc's DICOMweb columns: its plugin is not installed (`apt-get install -y \
                 orthanc-dicomweb`: no libOrthancDicomWeb.so in /usr/share/orthanc/plugins)"
                    .into(),
            );
            None
        }
        (Some(o), Some(p)) => {
            if dicomweb_plugin_loaded(o) {
                Some(format!("{}/dicom-web", o.base))
            } else {
                figures.skipped.push(format!(
                    "Orthanc's DICOMweb columns: Orthanc did not load {} (see its log)",
                    p.display()
                ));
                None
            }
        }
    };

    let mut sv_series = synth::CtSeries::new()?;
    let mut o_series = synth::CtSeries::new()?;
    // One slice each to preview, stored before the clocks start.
    let sv_target = with_studyvault_preview(sv_target, &mut sv_series)?;
    let o_target = match &orthanc {
        Some(o) => Some(orthanc_target(o, &mut o_series)?),
        None => None,
    };

    let phase = |p: Phase| args.phases.contains(&p);
    for &clients in args.clients.iter().filter(|_| phase(Phase::Ingest)) {
        eprintln!("ingest: {} slices with {clients} clients", args.instances);
        let (studyvault, studyvault_cpu_ms) =
            ingest_step(&sv, &sv_target, &mut sv_series, clients, args.instances)?;
        let (orthanc, orthanc_cpu_ms) = match (&orthanc, &o_target) {
            (Some(o), Some(t)) => {
                let (rate, cpu) = ingest_step(o, t, &mut o_series, clients, args.instances)?;
                (Some(rate), cpu)
            }
            _ => (None, None),
        };
        let (before, before_cpu_ms) = match &before {
            Some((server, target)) => {
                let mut series = synth::CtSeries::new()?;
                let (rate, cpu) =
                    ingest_step(server, target, &mut series, clients, args.instances)?;
                (Some(rate), cpu)
            }
            None => (None, None),
        };
        figures.ingest.push(IngestFigures {
            clients,
            studyvault,
            orthanc,
            before,
            studyvault_cpu_ms,
            orthanc_cpu_ms,
            before_cpu_ms,
        });
    }
    if phase(Phase::Syscalls) {
        match syscalls::find_strace() {
            None => figures
                .skipped
                .push("syscalls: strace is not installed (`apt-get install -y strace`)".into()),
            Some(strace) => {
                let n = args.syscall_instances.max(1);
                eprintln!("syscalls: {n} slices per server under strace");
                let mut servers: Vec<(&Server, &Target)> = vec![(&sv, &sv_target)];
                if let Some((server, target)) = &before {
                    servers.push((server, target));
                }
                if let (Some(o), Some(t)) = (&orthanc, &o_target) {
                    servers.push((o, t));
                }
                for (server, target) in servers {
                    let counts = syscalls::count(&strace, server, target, n, &dir.path)?;
                    figures.syscalls.push((server.name, counts));
                }
            }
        }
    }
    for &clients in args
        .radiograph_clients
        .iter()
        .filter(|_| phase(Phase::Radiograph))
    {
        let n = args.radiographs.max(1);
        eprintln!("radiographs: {n} with {clients} clients");
        let (sv_rate, image_bytes) = uploads::radiographs(&sv_target, &mut sv_series, n, clients)?;
        let o_rate = match &o_target {
            Some(t) => Some(uploads::radiographs(t, &mut o_series, n, clients)?.0),
            None => None,
        };
        figures
            .radiographs
            .push((clients, sv_rate / 1e6, o_rate.map(|r| r / 1e6)));
        figures.radiograph_bytes = image_bytes;
    }
    if phase(Phase::Zip) {
        let n = args.zip_instances.max(1);
        eprintln!("zip: a CD of {n} slices in one request");
        figures.zip = Some(uploads::zip_upload(&sv_target, o_target.as_ref(), n)?);
    }
    let step = Duration::from_secs_f64(args.seconds.max(0.1));
    for &conns in args.connections.iter().filter(|_| phase(Phase::Previews)) {
        eprintln!("previews: {conns} connections");
        let sv_stats = load::previews(&sv_target, conns, step, 2)?;
        let o_stats = match &o_target {
            Some(t) => Some(load::previews(t, conns, step, 1)?),
            None => None,
        };
        figures.previews.push((conns, sv_stats, o_stats));
    }
    let batch = args.batch.max(1);
    figures.batch = batch;
    for (n, &clients) in args
        .clients
        .iter()
        .filter(|_| phase(Phase::Stow))
        .enumerate()
    {
        let batches = args.instances.div_ceil(batch).max(1);
        eprintln!(
            "STOW-RS: {} slices in {batches} requests of {batch} with {clients} clients",
            batches * batch
        );
        figures.stow.push(dicomweb::stow(
            &sv_target,
            orthanc_web.as_deref(),
            clients,
            batches,
            batch,
            n.is_multiple_of(2),
        )?);
    }
    if phase(Phase::Wado) || phase(Phase::Rendered) {
        eprintln!(
            "storing a series of {} slices in both for WADO-RS",
            args.series_slices
        );
        let stored = dicomweb::store_series(
            &sv_target,
            orthanc_web.as_deref(),
            args.series_slices.max(1),
            batch,
        )?;
        for &conns in args.wado_connections.iter().filter(|_| phase(Phase::Wado)) {
            eprintln!("WADO-RS series retrieval: {conns} connections");
            let (sv_stats, o_stats) = dicomweb::wado(
                &sv_target,
                &sv,
                orthanc_web.as_deref(),
                orthanc.as_ref(),
                &stored,
                conns,
                step,
            )?;
            figures.wado.push((conns, sv_stats, o_stats));
        }
        for &conns in args
            .rendered_connections
            .iter()
            .filter(|_| phase(Phase::Rendered))
        {
            eprintln!("thumbnail / rendered: {conns} connections");
            figures.rendered.push(dicomweb::rendered(
                &sv_target,
                orthanc_web.as_deref(),
                &stored,
                conns,
                step,
            )?);
        }
        figures.series = Some(stored);
    }
    figures.rss = (sv.peak_rss(), orthanc.as_ref().and_then(Server::peak_rss));
    figures.slice_bytes = synth::ct_slice("1", "1", "1", 1).len();
    print!("{}", figures.table());
    drop(orthanc);
    drop(before);
    drop(sv);
    Ok(())
}

/// One CT ingest step: fresh slices of `series`, sent by `clients` clients. Returns
/// instances/s and the server's CPU milliseconds per instance.
fn ingest_step(
    server: &Server,
    target: &Target,
    series: &mut synth::CtSeries,
    clients: usize,
    instances: usize,
) -> anyhow::Result<(f64, Option<f64>)> {
    let slices: Vec<Vec<u8>> = (0..instances).map(|_| series.next_slice().1).collect();
    let cpu_before = server.cpu_seconds();
    let rate = load::ingest(target, clients, &slices)?;
    let cpu = match (cpu_before, server.cpu_seconds()) {
        (Some(a), Some(b)) => Some((b - a) * 1e3 / instances as f64),
        _ => None,
    };
    Ok((rate, cpu))
}

/// The file system type (`ext4`, `tmpfs`) `path` is on, from the longest matching mount.
fn filesystem_of(path: &std::path::Path) -> Option<String> {
    let path = path.canonicalize().ok()?;
    let mounts = std::fs::read_to_string("/proc/mounts").ok()?;
    mounts
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (_, at, fs) = (f.next()?, f.next()?, f.next()?);
            path.starts_with(at).then(|| (at.len(), fs.to_owned()))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, fs)| fs)
}

/// A temporary directory removed on drop (the servers are dropped, so stopped, first).
struct TempDir {
    path: PathBuf,
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

fn tempfile_dir(parent: &std::path::Path) -> anyhow::Result<TempDir> {
    let mut r = [0u8; 8];
    getrandom::fill(&mut r).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let name: String = r.iter().map(|b| format!("{b:02x}")).collect();
    let path = parent.join(format!("studyvault-bench-{name}"));
    std::fs::create_dir_all(&path)
        .with_context(|| format!("could not create '{}'", path.display()))?;
    Ok(TempDir { path })
}

fn studyvault_target(sv: &Server, admin: &Secret) -> anyhow::Result<Target> {
    let agent = crate::client::agent(1, Some(Duration::from_secs(30)));
    let body = serde_json::json!({"name": "Bench Synthetic"}).to_string();
    let reply = crate::client::post(
        &agent,
        &format!("{}/v1/records", sv.base),
        Some(admin),
        "application/json",
        body,
    )?;
    if !reply.is_success() {
        anyhow::bail!(
            "studyvault refused to create a record: {}",
            reply.error_text()
        );
    }
    let created = reply.json()?;
    let rid = created["id"].as_str().context("no record id")?.to_string();
    let token = created["token"].as_str().context("no record token")?;
    Ok(Target {
        name: "studyvault",
        ingest_url: format!("{}/v1/records/{rid}/studies", sv.base),
        preview_url: format!("{}/v1/records/{rid}", sv.base),
        token: Some(Secret::new(token)),
        stored: studyvault_stored,
    })
}

/// Whether Orthanc lists its DICOMweb plugin as loaded.
fn dicomweb_plugin_loaded(o: &Server) -> bool {
    let agent = crate::client::agent(1, Some(Duration::from_secs(10)));
    crate::client::get(&agent, &format!("{}/plugins", o.base), None, &[])
        .ok()
        .filter(Reply::is_success)
        .and_then(|r| r.json().ok())
        .and_then(|v| {
            v.as_array()
                .map(|a| a.iter().any(|p| p.as_str() == Some("dicom-web")))
        })
        .unwrap_or(false)
}

fn studyvault_stored(reply: &Reply) -> bool {
    let statuses = uploads::upload_statuses(reply);
    reply.is_success() && statuses.get("stored") == Some(&1) && statuses.len() == 1
}

fn with_studyvault_preview(
    mut target: Target,
    series: &mut synth::CtSeries,
) -> anyhow::Result<Target> {
    let agent = crate::client::agent(1, Some(Duration::from_secs(30)));
    let (sop, bytes) = series.next_slice();
    target.ingest_one(&agent, &bytes)?;
    target.preview_url = format!(
        "{}/studies/{}/series/{}/instances/{sop}/preview",
        target.preview_url, series.study_uid, series.series_uid
    );
    Ok(target)
}

fn orthanc_target(o: &Server, series: &mut synth::CtSeries) -> anyhow::Result<Target> {
    let mut target = Target {
        name: "Orthanc",
        ingest_url: format!("{}/instances", o.base),
        preview_url: String::new(),
        token: None,
        stored: |r| r.is_success(),
    };
    let agent = crate::client::agent(1, Some(Duration::from_secs(30)));
    let (_, bytes) = series.next_slice();
    let reply = target.ingest_one(&agent, &bytes)?;
    let id = reply.json()?["ID"]
        .as_str()
        .context("Orthanc gave no instance ID")?
        .to_string();
    target.preview_url = format!("{}/instances/{id}/preview", o.base);
    Ok(target)
}
