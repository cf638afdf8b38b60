//! `studyvault bench`: a load benchmark of studyvault against Orthanc, both on loopback with
//! temporary directories, same synthetic CT slices, same client.
//!
//! Prints CT ingest instances/s with 1, 2 and 4 clients (fsync on, previews made), preview
//! GET requests/s with p50/p99 latency at 1..64 connections, and each server's peak RSS,
//! with the ratios against the targets (ingest ≥ 2× Orthanc, previews ≥ 30× Orthanc,
//! RSS < 200 MB). Installs nothing: without Orthanc it says how to get it and measures
//! studyvault alone.
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

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

use crate::client::Reply;
use crate::secret::Secret;
use load::Target;
use report::Figures;
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
        default_value = "ingest,previews,stow,wado,rendered"
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
    let dir = tempfile_dir()?;
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
    let sv = servers::start_studyvault(&dir.path, &admin, args.workers)?;
    let sv_target = studyvault_target(&sv, &admin)?;
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
        let slices: Vec<Vec<u8>> = (0..args.instances)
            .map(|_| sv_series.next_slice().1)
            .collect();
        let sv_rate = load::ingest(&sv_target, clients, &slices)?;
        let o_rate = match &o_target {
            Some(t) => {
                let slices: Vec<Vec<u8>> = (0..args.instances)
                    .map(|_| o_series.next_slice().1)
                    .collect();
                Some(load::ingest(t, clients, &slices)?)
            }
            None => None,
        };
        figures.ingest.push((clients, sv_rate, o_rate));
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
    drop(sv);
    Ok(())
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

fn tempfile_dir() -> anyhow::Result<TempDir> {
    let mut r = [0u8; 8];
    getrandom::fill(&mut r).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let name: String = r.iter().map(|b| format!("{b:02x}")).collect();
    let path = std::env::temp_dir().join(format!("studyvault-bench-{name}"));
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
    let mut statuses = std::collections::BTreeMap::new();
    if let Ok(v) = reply.json() {
        crate::upload::count_statuses(&v, &mut statuses);
    }
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
