//! The bench's table: both servers side by side, ratios, and the targets met or missed.

use std::fmt::Write;

use super::dicomweb::{RenderedFigures, StoredSeries, StowFigures};
use super::load::GetStats;
use super::syscalls::Counts;
use super::uploads::ZipFigures;

/// Everything measured in one run.
#[derive(Debug, Default)]
pub struct Figures {
    pub ingest: Vec<IngestFigures>,
    /// (clients, studyvault MB/s, Orthanc MB/s) of radiograph ingest.
    pub radiographs: Vec<(usize, f64, Option<f64>)>,
    pub radiograph_bytes: usize,
    pub zip: Option<ZipFigures>,
    /// (server, per-instance file-system calls).
    pub syscalls: Vec<(&'static str, Counts)>,
    /// (connections, studyvault, Orthanc)
    pub previews: Vec<(usize, GetStats, Option<GetStats>)>,
    /// STOW-RS and native multipart upload, per client count.
    pub stow: Vec<StowFigures>,
    /// Instances per multipart request.
    pub batch: usize,
    /// The series the WADO-RS and rendered phases read.
    pub series: Option<StoredSeries>,
    /// (connections, studyvault, Orthanc) WADO-RS series retrieval.
    pub wado: Vec<(usize, GetStats, Option<GetStats>)>,
    pub rendered: Vec<RenderedFigures>,
    /// What was not measured, and why.
    pub skipped: Vec<String>,
    /// Peak RSS in bytes (studyvault, Orthanc).
    pub rss: (Option<u64>, Option<u64>),
    pub slice_bytes: usize,
}

/// CT ingest: 1.5× Orthanc with one client, 2× with more.
fn ingest_target(clients: usize) -> f64 {
    if clients <= 1 { 1.5 } else { 2.0 }
}
const RADIOGRAPH_TARGET: f64 = 1.2;
const ZIP_TARGET: f64 = 2.0;
const PREVIEW_TARGET: f64 = 30.0;
const RSS_TARGET_MB: f64 = 200.0;
/// STOW-RS within 10 % of the native upload.
const STOW_TARGET: f64 = 0.9;
const WADO_TARGET: f64 = 2.0;
const RENDERED_TARGET: f64 = 30.0;

fn ratio(a: f64, b: Option<f64>) -> String {
    match b {
        Some(b) if b > 0.0 => format!("{:.1}x", a / b),
        _ => "-".into(),
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

fn ms(d: std::time::Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

impl Figures {
    pub fn table(&self) -> String {
        let mut t = String::new();
        if !self.ingest.is_empty() {
            self.ingest_table(&mut t);
        }
        if !self.syscalls.is_empty() {
            self.syscalls_table(&mut t);
        }
        if !self.radiographs.is_empty() {
            self.radiograph_table(&mut t);
        }
        if let Some(zip) = &self.zip {
            zip_table(&mut t, zip);
        }
        if !self.previews.is_empty() {
            self.previews_table(&mut t);
        }
        if !self.stow.is_empty() {
            self.stow_table(&mut t);
        }
        if !self.wado.is_empty() {
            self.wado_table(&mut t);
        }
        if !self.rendered.is_empty() {
            self.rendered_table(&mut t);
        }
        let mb = |b: Option<u64>| b.map(|b| b as f64 / 1e6);
        let (sv, o) = (mb(self.rss.0), mb(self.rss.1));
        let _ = writeln!(
            t,
            "\nPeak server RSS: studyvault {} MB (target < {RSS_TARGET_MB} MB: {}), Orthanc {} MB",
            sv.map_or("?".into(), |v| format!("{v:.1}")),
            sv.map_or("-", |v| verdict(v < RSS_TARGET_MB)),
            o.map_or("-".into(), |v| format!("{v:.1}")),
        );
        for s in &self.skipped {
            let _ = writeln!(t, "skipped: {s}");
        }
        t
    }

    fn ingest_table(&self, t: &mut String) {
        let _ = writeln!(
            t,
            "\nCT ingest over HTTP (512x512 16-bit slices, {} KB each, one per request; fsync on, \
             previews made; CPU is the server's own, per instance)",
            self.slice_bytes / 1024
        );
        let before = self.ingest.iter().any(|f| f.before.is_some());
        let _ = write!(
            t,
            "{:>8} {:>14} {:>8} {:>12} {:>8} {:>7} {:>8}",
            "clients", "studyvault /s", "CPU ms", "Orthanc /s", "CPU ms", "ratio", "target"
        );
        if before {
            let _ = write!(t, " {:>20} {:>8}", "studyvault files /s", "CPU ms");
        }
        let _ = writeln!(t);
        let cpu = |c: Option<f64>| c.map_or("-".into(), |c| format!("{c:.2}"));
        for f in &self.ingest {
            let target = ingest_target(f.clients);
            let ok = f.orthanc.map(|o| f.studyvault >= target * o);
            let _ = write!(
                t,
                "{:>8} {:>14.1} {:>8} {:>12} {:>8} {:>7} {:>8}",
                f.clients,
                f.studyvault,
                cpu(f.studyvault_cpu_ms),
                f.orthanc.map_or("-".into(), |o| format!("{o:.1}")),
                cpu(f.orthanc_cpu_ms),
                ratio(f.studyvault, f.orthanc),
                format!(">={target}x {}", ok.map_or("-", verdict)),
            );
            if before {
                let _ = write!(
                    t,
                    " {:>20} {:>8}",
                    f.before.map_or("-".into(), |b| format!("{b:.1}")),
                    cpu(f.before_cpu_ms)
                );
            }
            let _ = writeln!(t);
        }
    }

    fn syscalls_table(&self, t: &mut String) {
        let n = self.syscalls.first().map_or(0, |(_, c)| c.instances);
        let _ = writeln!(
            t,
            "\nFile-system calls per CT instance (strace -f of the server, {n} slices, one \
             client; previews included)"
        );
        let _ = write!(t, "{:>22}", "");
        for (name, _) in &self.syscalls {
            let _ = write!(t, " {name:>20}");
        }
        let _ = writeln!(t);
        let rows: [(&str, Count); 7] = [
            ("files created", |c| c.files_created),
            ("directories made", |c| c.dirs_created),
            ("file fsyncs", |c| c.file_syncs),
            ("directory fsyncs", |c| c.dir_syncs),
            ("sync_file_range", |c| c.sync_file_range),
            ("renames + links", |c| c.renames_links),
            ("unlinks", |c| c.unlinks),
        ];
        for (label, get) in rows {
            let _ = write!(t, "{label:>22}");
            for (_, c) in &self.syscalls {
                let _ = write!(t, " {:>20.2}", get(c));
            }
            let _ = writeln!(t);
        }
    }

    fn radiograph_table(&self, t: &mut String) {
        let _ = writeln!(
            t,
            "\nRadiograph ingest over HTTP (2500x3000 DX images, {:.1} MB each, one per request)",
            self.radiograph_bytes as f64 / 1e6
        );
        let _ = writeln!(
            t,
            "{:>8} {:>16} {:>16} {:>8} {:>12}",
            "clients",
            "studyvault MB/s",
            "Orthanc MB/s",
            "ratio",
            format!("target >={RADIOGRAPH_TARGET}x")
        );
        for (clients, sv, o) in &self.radiographs {
            let ok = o.map(|o| *sv >= RADIOGRAPH_TARGET * o);
            let _ = writeln!(
                t,
                "{:>8} {:>16.1} {:>16} {:>8} {:>12}",
                clients,
                sv,
                o.map_or("-".into(), |o| format!("{o:.1}")),
                ratio(*sv, *o),
                ok.map_or("-", verdict)
            );
        }
    }

    fn previews_table(&self, t: &mut String) {
        let _ = writeln!(
            t,
            "\nPreview GET (one instance preview, JPEG; latency in ms)"
        );
        let _ = writeln!(
            t,
            "{:>6} {:>12} {:>8} {:>8} {:>12} {:>8} {:>8} {:>8} {:>12}",
            "conns",
            "sv req/s",
            "sv p50",
            "sv p99",
            "Orthanc /s",
            "O p50",
            "O p99",
            "ratio",
            "target >=30x"
        );
        for (conns, sv, o) in &self.previews {
            let ok = o.map(|o| sv.per_second >= PREVIEW_TARGET * o.per_second);
            let _ = writeln!(
                t,
                "{:>6} {:>12.0} {:>8} {:>8} {:>12} {:>8} {:>8} {:>8} {:>12}",
                conns,
                sv.per_second,
                ms(sv.p50),
                ms(sv.p99),
                o.map_or("-".into(), |o| format!("{:.1}", o.per_second)),
                o.map_or("-".into(), |o| ms(o.p50)),
                o.map_or("-".into(), |o| ms(o.p99)),
                ratio(sv.per_second, o.map(|o| o.per_second)),
                ok.map_or("-", verdict)
            );
        }
        let sv_n: usize = self.previews.iter().map(|p| p.1.requests).sum();
        let o_n: usize = self
            .previews
            .iter()
            .filter_map(|p| p.2)
            .map(|o| o.requests)
            .sum();
        let _ = writeln!(
            t,
            "(preview requests measured: studyvault {sv_n}, Orthanc {o_n})"
        );
    }

    fn stow_table(&self, t: &mut String) {
        let _ = writeln!(
            t,
            "\nSTOW-RS ingest (multipart/related, {} CT slices per request, fresh slices per \
             column; fsync on, previews made), instances/s",
            self.batch
        );
        let _ = writeln!(
            t,
            "{:>8} {:>11} {:>11} {:>12} {:>13} {:>13} {:>11}",
            "clients",
            "sv native",
            "sv STOW",
            "STOW/native",
            "target>=0.9x",
            "Orthanc STOW",
            "sv/Orthanc"
        );
        for f in &self.stow {
            let _ = writeln!(
                t,
                "{:>8} {:>11.1} {:>11.1} {:>11.2}x {:>13} {:>13} {:>11}",
                f.clients,
                f.native,
                f.stow,
                f.stow / f.native,
                verdict(f.stow >= STOW_TARGET * f.native),
                f.orthanc.map_or("-".into(), |o| format!("{o:.1}")),
                ratio(f.stow, f.orthanc)
            );
        }
    }

    fn wado_table(&self, t: &mut String) {
        let (slices, mb) = self
            .series
            .as_ref()
            .map_or((0, 0.0), |s| (s.slices, s.bytes as f64 / 1e6));
        let _ = writeln!(
            t,
            "\nWADO-RS series retrieval (GET .../studies/{{s}}/series/{{se}}, {slices} slices, \
             {mb:.1} MB of files per answer, transfer-syntax=*; latency in ms)"
        );
        let _ = writeln!(
            t,
            "{:>6} {:>10} {:>8} {:>8} {:>12} {:>8} {:>8} {:>8} {:>11}",
            "conns",
            "sv MB/s",
            "sv p50",
            "sv p99",
            "Orthanc MB/s",
            "O p50",
            "O p99",
            "ratio",
            "target>=2x"
        );
        for (conns, sv, o) in &self.wado {
            let o_mb = o.map(|o| o.mb_per_second());
            let _ = writeln!(
                t,
                "{:>6} {:>10.1} {:>8} {:>8} {:>12} {:>8} {:>8} {:>8} {:>11}",
                conns,
                sv.mb_per_second(),
                ms(sv.p50),
                ms(sv.p99),
                o_mb.map_or("-".into(), |v| format!("{v:.1}")),
                o.map_or("-".into(), |o| ms(o.p50)),
                o.map_or("-".into(), |o| ms(o.p99)),
                ratio(sv.mb_per_second(), o_mb),
                o_mb.map_or("-", |o| verdict(sv.mb_per_second() >= WADO_TARGET * o))
            );
        }
        // Server CPU per MB sent: the servers' own cost, apart from the loopback and client.
        let per_mb = |s: &GetStats| s.server_cpu.map(|c| c * 1e3 / (s.bytes as f64 / 1e6));
        for (conns, sv, o) in &self.wado {
            let _ = writeln!(
                t,
                "{:>6} conns: server CPU per MB sent: studyvault {} ms, Orthanc {} ms",
                conns,
                per_mb(sv).map_or("?".into(), |v| format!("{v:.3}")),
                o.as_ref()
                    .and_then(per_mb)
                    .map_or("-".into(), |v| format!("{v:.3}")),
            );
        }
    }

    fn rendered_table(&self, t: &mut String) {
        let _ = writeln!(
            t,
            "\nDICOMweb thumbnail / rendered GET (one CT instance, JPEG; studyvault .../thumbnail \
             and .../rendered, Orthanc /dicom-web/.../rendered; requests/s, p50 ms)"
        );
        let _ = writeln!(
            t,
            "{:>6} {:>10} {:>7} {:>11} {:>7} {:>11} {:>7} {:>10} {:>10} {:>12}",
            "conns",
            "sv thumb/s",
            "p50",
            "sv render/s",
            "p50",
            "Orthanc /s",
            "O p50",
            "thumb/O",
            "render/O",
            "target>=30x"
        );
        for f in &self.rendered {
            let o = f.orthanc.map(|o| o.per_second);
            let worst = f.thumbnail.per_second.min(f.rendered.per_second);
            let _ = writeln!(
                t,
                "{:>6} {:>10.0} {:>7} {:>11.0} {:>7} {:>11} {:>7} {:>10} {:>10} {:>12}",
                f.connections,
                f.thumbnail.per_second,
                ms(f.thumbnail.p50),
                f.rendered.per_second,
                ms(f.rendered.p50),
                o.map_or("-".into(), |v| format!("{v:.1}")),
                f.orthanc.map_or("-".into(), |o| ms(o.p50)),
                ratio(f.thumbnail.per_second, o),
                ratio(f.rendered.per_second, o),
                o.map_or("-", |o| verdict(worst >= RENDERED_TARGET * o))
            );
        }
    }
}

/// One row of the syscalls table: a count read off a server's [`Counts`].
type Count = fn(&Counts) -> f64;

/// One CT ingest step.
#[derive(Debug, Clone, Copy)]
pub struct IngestFigures {
    pub clients: usize,
    /// Instances per second.
    pub studyvault: f64,
    pub orthanc: Option<f64>,
    /// studyvault with `blobs.segments = false` (each blob a file, as before layout 2).
    pub before: Option<f64>,
    /// Server CPU (user + system) per instance.
    pub studyvault_cpu_ms: Option<f64>,
    pub orthanc_cpu_ms: Option<f64>,
    pub before_cpu_ms: Option<f64>,
}

fn zip_table(t: &mut String, zip: &ZipFigures) {
    let _ = writeln!(
        t,
        "\nZipped CD upload ({} CT slices, deflated, {:.1} MB, one application/zip request; \
         Orthanc: POST /instances)",
        zip.instances,
        zip.zip_bytes as f64 / 1e6
    );
    let per_s = |d: std::time::Duration| zip.instances as f64 / d.as_secs_f64();
    let sv = per_s(zip.studyvault);
    let o = zip.orthanc.map(per_s);
    let ok = o.map(|o| sv >= ZIP_TARGET * o);
    let _ = writeln!(
        t,
        "{:>16} {:>16} {:>8} {:>12}",
        "studyvault /s",
        "Orthanc /s",
        "ratio",
        format!("target >={ZIP_TARGET}x")
    );
    let _ = writeln!(
        t,
        "{:>16.1} {:>16} {:>8} {:>12}",
        sv,
        o.map_or("-".into(), |o| format!("{o:.1}")),
        ratio(sv, o),
        ok.map_or("-", verdict)
    );
}
