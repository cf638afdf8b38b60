//! The bench's table: both servers side by side, ratios, and the targets met or missed.

use std::fmt::Write;

use super::dicomweb::{RenderedFigures, StoredSeries, StowFigures};
use super::load::GetStats;

/// Everything measured in one run.
#[derive(Debug, Default)]
pub struct Figures {
    /// (clients, studyvault instances/s, Orthanc instances/s)
    pub ingest: Vec<(usize, f64, Option<f64>)>,
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

const INGEST_TARGET: f64 = 2.0;
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
            "\nCT ingest over HTTP (512x512 16-bit slices, {} KB each; fsync on, previews made)",
            self.slice_bytes / 1024
        );
        let _ = writeln!(
            t,
            "{:>8} {:>16} {:>16} {:>8} {:>12}",
            "clients", "studyvault /s", "Orthanc /s", "ratio", "target >=2x"
        );
        for (clients, sv, o) in &self.ingest {
            let ok = o.map(|o| *sv >= INGEST_TARGET * o);
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
