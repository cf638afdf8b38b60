//! The bench's table: both servers side by side, ratios, and the targets met or missed.

use std::fmt::Write;

use super::load::PreviewStats;

/// Everything measured in one run.
#[derive(Debug, Default)]
pub struct Figures {
    /// (clients, studyvault instances/s, Orthanc instances/s)
    pub ingest: Vec<(usize, f64, Option<f64>)>,
    /// (connections, studyvault, Orthanc)
    pub previews: Vec<(usize, PreviewStats, Option<PreviewStats>)>,
    /// Peak RSS in bytes (studyvault, Orthanc).
    pub rss: (Option<u64>, Option<u64>),
    pub slice_bytes: usize,
}

const INGEST_TARGET: f64 = 2.0;
const PREVIEW_TARGET: f64 = 30.0;
const RSS_TARGET_MB: f64 = 200.0;

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
        let mb = |b: Option<u64>| b.map(|b| b as f64 / 1e6);
        let (sv, o) = (mb(self.rss.0), mb(self.rss.1));
        let _ = writeln!(
            t,
            "\nPeak server RSS: studyvault {} MB (target < {RSS_TARGET_MB} MB: {}), Orthanc {} MB",
            sv.map_or("?".into(), |v| format!("{v:.1}")),
            sv.map_or("-", |v| verdict(v < RSS_TARGET_MB)),
            o.map_or("-".into(), |v| format!("{v:.1}")),
        );
        t
    }
}
