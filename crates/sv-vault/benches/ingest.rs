//! The whole ingest pipeline per instance: parse, hash, store, render, encode, metadata, fsync.
//!
//! `cargo bench -p sv-vault --bench ingest` (release) prints:
//! - CPU and wall time per instance for a synthetic 512×512 16-bit CT slice (200 of one series)
//!   and a 2500×3000 16-bit radiograph (20), into a fresh vault with every write durable, next
//!   to the CPU of parse + render + encode alone on the same bytes (what storage adds is the
//!   difference);
//! - the process's peak RSS over that run;
//! - metadata per instance (logical and on disk) after a 1,000-instance study ingested one
//!   instance at a time, and on disk once that study has grown to 5,000.
//!
//! Inputs are generated one at a time, outside the timed windows, so they do not inflate RSS.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sv_blob::LocalBlobStore;
use sv_dicom::synthetic::{ct_series_slice, radiograph_instance};
use sv_meta::{MetaStore, SledMetaStore};
use sv_model::{Record, RecordId, Timestamp};
use sv_vault::{IngestOptions, IngestStatus, Vault, VaultConfig};

struct Bench {
    /// A multi-threaded runtime like the server's: ingest runs the async path it serves.
    rt: tokio::runtime::Runtime,
    vault: Vault,
    meta: Arc<SledMetaStore>,
    record: RecordId,
    _dir: tempfile::TempDir,
}

fn fresh_vault() -> Bench {
    // Under target/, on the real disk: fsync costs what it costs in production.
    let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/sv-vault-bench");
    std::fs::create_dir_all(&base).unwrap();
    let dir = tempfile::tempdir_in(base).unwrap();
    let meta = Arc::new(SledMetaStore::open(dir.path().join("meta")).unwrap());
    let blobs = Arc::new(LocalBlobStore::open(dir.path().join("blobs")).unwrap());
    let config = VaultConfig {
        workers: 1,
        ..VaultConfig::default()
    };
    let vault = Vault::with_stores(meta.clone(), blobs, config);
    let record = RecordId::new_random();
    meta.create_record(&Record {
        id: record,
        name: "bench".into(),
        created: Timestamp::now(),
        owner_email: None,
    })
    .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    Bench {
        rt,
        vault,
        meta,
        record,
        _dir: dir,
    }
}

/// CPU time of the whole process, every thread (also those that have exited), exactly.
fn cpu_time() -> Duration {
    cpu_time::ProcessTime::now().as_duration()
}

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

struct Costs {
    cpu: Duration,
    wall: Duration,
    /// CPU of parse + render + encode alone, on the same bytes, without storing anything.
    render_cpu: Duration,
    n: u32,
}

/// Ingests instances `numbers` of one series of study `tag`, one at a time.
fn ingest_series(
    b: &Bench,
    numbers: std::ops::Range<u32>,
    make: fn(&str, &str, u32) -> Vec<u8>,
    tag: &str,
) -> Costs {
    let n = numbers.len() as u32;
    let study = format!("2.25.{}.{tag}", std::process::id());
    let series = format!("{study}.1");
    let mut costs = Costs {
        cpu: Duration::ZERO,
        wall: Duration::ZERO,
        render_cpu: Duration::ZERO,
        n,
    };
    let config = b.vault.config().clone();
    for i in numbers {
        let bytes = make(&study, &series, i);
        let cpu0 = cpu_time();
        let parsed = sv_dicom::parse(&bytes, &config.limits).unwrap();
        std::hint::black_box(parsed.render_preview(&config.preview).unwrap());
        costs.render_cpu += cpu_time() - cpu0;
        let (cpu0, wall0) = (cpu_time(), Instant::now());
        let report =
            b.rt.block_on(b.vault.ingest(b.record, bytes, IngestOptions::default()))
                .unwrap();
        costs.wall += wall0.elapsed();
        costs.cpu += cpu_time() - cpu0;
        assert_eq!(report.status, IngestStatus::Stored, "{:?}", report.reason);
        assert!(report.preview, "every synthetic instance gets a preview");
    }
    costs
}

fn per_instance(d: Duration, n: u32) -> String {
    format!("{:8.2} ms", d.as_secs_f64() * 1000.0 / f64::from(n))
}

fn main() {
    // `cargo test --benches` runs this without `--bench`: keep that run short.
    let full = std::env::args().any(|a| a == "--bench");
    let (ct_n, xr_n, big_n, long_n) = if full {
        (200, 20, 1000, 5000)
    } else {
        (5, 1, 20, 40)
    };

    let b = fresh_vault();
    let rss_before = status_kib("VmRSS:");
    let ct = ingest_series(&b, 0..ct_n, ct_series_slice, "ct");
    let xr = ingest_series(&b, 0..xr_n, radiograph_instance, "xr");
    let peak = status_kib("VmHWM:");
    println!("ingest pipeline per instance (parse, hash, store, render, encode, metadata, fsync)");
    println!(
        "  {:<38} {:>11} {:>11} {:>24}",
        "", "CPU", "wall", "parse+render+encode CPU"
    );
    for (label, c) in [
        (format!("CT 512x512 16-bit ({ct_n} of one series)"), &ct),
        (format!("radiograph 2500x3000 16-bit ({xr_n})"), &xr),
    ] {
        println!(
            "  {label:<38} {} {} {:>24}",
            per_instance(c.cpu, c.n),
            per_instance(c.wall, c.n),
            per_instance(c.render_cpu, c.n)
        );
    }
    println!(
        "  peak RSS over the run: {:.1} MB (RSS before: {:.1} MB)",
        peak as f64 / 1024.0,
        rss_before as f64 / 1024.0
    );
    drop(b);

    let b = fresh_vault();
    let before_logical = b.meta.logical_size().unwrap();
    let before_disk = b.meta.size_on_disk().unwrap();
    let big = ingest_series(&b, 0..big_n, ct_series_slice, "big");
    let logical = b.meta.logical_size().unwrap() - before_logical;
    let disk = b.meta.size_on_disk().unwrap().saturating_sub(before_disk);
    println!("metadata after a {big_n}-instance study, one instance at a time");
    println!(
        "  logical (keys + values): {:7.0} B per instance",
        logical as f64 / f64::from(big_n)
    );
    println!(
        "  on disk (sled files):    {:7.0} B per instance",
        disk as f64 / f64::from(big_n)
    );
    println!(
        "  ingest wall time:        {} per instance",
        per_instance(big.wall, big.n)
    );
    // sled is a log: pages rewritten as the study grows stay on disk until their segment is
    // reclaimed, which happens as the log grows. The same study carried on to more instances
    // shows where the on-disk figure settles.
    ingest_series(&b, big_n..long_n, ct_series_slice, "big");
    let disk = b.meta.size_on_disk().unwrap().saturating_sub(before_disk);
    println!(
        "  on disk once the same study has {long_n}: {:5.0} B per instance",
        disk as f64 / f64::from(long_n)
    );
}
