//! Put/get throughput of `LocalBlobStore` next to plain `write`+`fsync`+blake3 on the same disk,
//! and the grouped write path against the per-file one for DICOM-sized puts.
//!
//! `cargo bench -p sv-blob --bench throughput`: criterion groups for 1 MiB and 256 MiB, then a
//! plainly printed table of medians and the store/plain ratio (target >= 0.8), then a table of
//! "instances" (a 512 KiB slice and a 40 KiB preview, put one after the other) at 1, 2 and 4
//! threads, through segments (layout 2) and through a file per blob (layout 1's write path):
//! instances/s, CPU per instance and files created, fdatasyncs and directory fsyncs per
//! instance. `SV_BENCH_INSTANCES_ONLY=1` runs only that table.

mod support;

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput};
use sv_blob::{BlobId, BlobStore, IoCounts, LocalBlobStore, LocalOptions};

const MIB: usize = 1 << 20;
const SIZES: [(usize, &str); 2] = [(MIB, "1MiB"), (256 * MIB, "256MiB")];
const BUF_LEN: usize = 256 * 1024;

/// Stamps `data` so every put stores new bytes (no dedup), as a distinct upload would.
fn stamp(data: &mut [u8], counter: &mut u64) {
    *counter += 1;
    data[..8].copy_from_slice(&counter.to_le_bytes());
}

fn put_store(store: &LocalBlobStore, data: &mut [u8], counter: &mut u64) -> Duration {
    stamp(data, counter);
    let started = Instant::now();
    let put = store.put(&mut &data[..]).expect("put");
    let elapsed = started.elapsed();
    assert!(put.created);
    store.delete(&put.id).expect("delete");
    // Untimed, like the delete: a 1 MiB blob is a segment record, whose space only compaction
    // gives back (here: unlinking each sealed segment, all dead, once the log rolls past it).
    store.compact(0.5).expect("compact");
    elapsed
}

/// Plain `write` + `fsync` + blake3, the baseline; with `durable_name`, also the
/// directory fsync that makes a new file's name survive a crash, which any durable store owes.
fn put_plain(dir: &Path, data: &mut [u8], counter: &mut u64, durable_name: bool) -> Duration {
    stamp(data, counter);
    let path = dir.join("plain-put.bin");
    let started = Instant::now();
    let mut file = File::create(&path).expect("create");
    let mut hasher = blake3::Hasher::new();
    for chunk in data.chunks(BUF_LEN) {
        hasher.update(chunk);
        file.write_all(chunk).expect("write");
    }
    file.sync_all().expect("fsync");
    if durable_name {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .expect("fsync dir");
    }
    std::hint::black_box(hasher.finalize());
    let elapsed = started.elapsed();
    std::fs::remove_file(&path).expect("remove");
    // Untimed, like the store's delete: commit the removal now, so the next timed put (of either
    // kind) does not pay for this one's cleanup.
    File::open(dir)
        .and_then(|d| d.sync_all())
        .expect("fsync dir");
    elapsed
}

fn get_store(store: &LocalBlobStore, id: &BlobId, buf: &mut [u8]) -> Duration {
    let started = Instant::now();
    let mut reader = store.get(id, None).expect("get");
    while reader.read(buf).expect("verified read") > 0 {}
    started.elapsed()
}

fn get_plain(path: &Path, buf: &mut [u8]) -> Duration {
    let started = Instant::now();
    let mut file = File::open(path).expect("open");
    let mut hasher = blake3::Hasher::new();
    loop {
        match file.read(buf).expect("read") {
            0 => break,
            n => {
                hasher.update(&buf[..n]);
            }
        }
    }
    std::hint::black_box(hasher.finalize());
    started.elapsed()
}

struct Fixture {
    store: LocalBlobStore,
    plain_dir: std::path::PathBuf,
    data: Vec<u8>,
    counter: u64,
    /// A stored copy and a plain file of `data`, for the read side.
    stored: BlobId,
    plain_file: std::path::PathBuf,
    buf: Vec<u8>,
}

impl Fixture {
    fn new(dir: &Path, size: usize) -> Fixture {
        let store = LocalBlobStore::open(dir.join(format!("store-{size}"))).expect("open store");
        let plain_dir = dir.join(format!("plain-{size}"));
        std::fs::create_dir_all(&plain_dir).expect("plain dir");
        let mut data = vec![0u8; size];
        support::fill(&mut 0x1234_5678_9abc_def1, &mut data);
        let stored = store.put_bytes(&data).expect("put fixture").id;
        let plain_file = plain_dir.join("plain-get.bin");
        std::fs::write(&plain_file, &data).expect("write plain fixture");
        Fixture {
            store,
            plain_dir,
            data,
            counter: 0,
            stored,
            plain_file,
            buf: vec![0u8; BUF_LEN],
        }
    }
}

fn sum(iters: u64, mut one: impl FnMut() -> Duration) -> Duration {
    (0..iters).map(|_| one()).sum()
}

fn criterion_groups(c: &mut Criterion, fixtures: &mut [(Fixture, &str)]) {
    for (f, label) in fixtures.iter_mut() {
        let mut group = c.benchmark_group(format!("put/{label}"));
        group.throughput(Throughput::Bytes(f.data.len() as u64));
        if f.data.len() > MIB {
            group.sample_size(10).sampling_mode(SamplingMode::Flat);
            group
                .warm_up_time(Duration::from_secs(1))
                .measurement_time(Duration::from_secs(8));
        }
        group.bench_function("sv-blob", |b| {
            b.iter_custom(|n| sum(n, || put_store(&f.store, &mut f.data, &mut f.counter)))
        });
        group.bench_function("plain write+fsync+blake3", |b| {
            b.iter_custom(|n| {
                sum(n, || {
                    put_plain(&f.plain_dir, &mut f.data, &mut f.counter, false)
                })
            })
        });
        group.finish();

        let mut group = c.benchmark_group(format!("get/{label}"));
        group.throughput(Throughput::Bytes(f.data.len() as u64));
        if f.data.len() > MIB {
            group.sample_size(10).sampling_mode(SamplingMode::Flat);
            group
                .warm_up_time(Duration::from_secs(1))
                .measurement_time(Duration::from_secs(5));
        }
        group.bench_function("sv-blob verified", |b| {
            b.iter_custom(|n| sum(n, || get_store(&f.store, &f.stored, &mut f.buf)))
        });
        group.bench_function("plain read+blake3", |b| {
            b.iter_custom(|n| sum(n, || get_plain(&f.plain_file, &mut f.buf)))
        });
        group.finish();
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Alternates store and plain runs so both see the same disk state, and prints median ratios.
fn print_ratios(fixtures: &mut [(Fixture, &str)]) {
    println!("\nsv-blob vs plain, medians of alternating runs (ratio = store throughput / plain):");
    for (f, label) in fixtures.iter_mut() {
        let rounds = if f.data.len() > MIB { 7 } else { 101 };
        let (mut ps, mut pp, mut pd, mut gs, mut gp) = (vec![], vec![], vec![], vec![], vec![]);
        for _ in 0..rounds {
            ps.push(put_store(&f.store, &mut f.data, &mut f.counter));
            pp.push(put_plain(&f.plain_dir, &mut f.data, &mut f.counter, false));
            pd.push(put_plain(&f.plain_dir, &mut f.data, &mut f.counter, true));
            gs.push(get_store(&f.store, &f.stored, &mut f.buf));
            gp.push(get_plain(&f.plain_file, &mut f.buf));
        }
        let mibs = |d: Duration| f.data.len() as f64 / MIB as f64 / d.as_secs_f64();
        let (store_put, durable) = (median(ps.clone()), median(pd));
        println!(
            "  put {label:>6}: plain + directory fsync {:>7.0} MiB/s, ratio {:.2} (a durable name)",
            mibs(durable),
            durable.as_secs_f64() / store_put.as_secs_f64()
        );
        for (what, store, plain) in [
            ("put", median(ps), median(pp)),
            ("get", median(gs), median(gp)),
        ] {
            println!(
                "  {what} {label:>6}: sv-blob {:>7.0} MiB/s, plain {:>7.0} MiB/s, ratio {:.2} ({rounds} rounds)",
                mibs(store),
                mibs(plain),
                plain.as_secs_f64() / store.as_secs_f64()
            );
        }
    }
}

const SLICE_LEN: usize = 512 * 1024;
const PREVIEW_LEN: usize = 40 * 1024;
const INSTANCES: usize = 240;

/// CPU time of the whole process (all threads) so far, from `/proc/self/stat` (Linux; clock
/// ticks, usually 10 ms: over a run of hundreds of instances that is a few per cent).
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

struct InstanceRun {
    per_sec: f64,
    cpu_per_instance: Option<Duration>,
    counts: IoCounts,
}

/// Puts `INSTANCES` instances (slice then preview, distinct bytes each) from `threads` threads
/// into a fresh store opened with `options`.
fn put_instances(dir: &Path, options: LocalOptions, threads: usize) -> InstanceRun {
    let root = dir.join(format!(
        "instances-{}-{threads}",
        options.small_blobs_in_segments
    ));
    let store = LocalBlobStore::open_with(&root, options).expect("open store");
    let per_thread = INSTANCES / threads;
    let run = |first: u64, count: usize| {
        std::thread::scope(|s| {
            for t in 0..threads as u64 {
                let store = &store;
                s.spawn(move || {
                    let mut seed = 0x9e37_79b9_7f4a_7c15 ^ (t + 1);
                    let mut slice = vec![0u8; SLICE_LEN];
                    let mut preview = vec![0u8; PREVIEW_LEN];
                    support::fill(&mut seed, &mut slice);
                    support::fill(&mut seed, &mut preview);
                    for i in 0..count as u64 {
                        let mut counter = first + (t << 32 | i);
                        stamp(&mut slice, &mut counter);
                        stamp(&mut preview, &mut counter);
                        assert!(store.put_bytes(&slice).expect("put slice").created);
                        assert!(store.put_bytes(&preview).expect("put preview").created);
                    }
                });
            }
        })
    };
    run(1 << 48, 8); // warm-up: first directories, first segment pages
    let before = store.io_counts();
    let cpu_before = process_cpu();
    let started = Instant::now();
    run(0, per_thread);
    let elapsed = started.elapsed();
    let cpu = process_cpu().zip(cpu_before).map(|(a, b)| a - b);
    let n = (per_thread * threads) as u32;
    let counts = store.io_counts().since(&before);
    drop(store);
    std::fs::remove_dir_all(&root).expect("remove store");
    InstanceRun {
        per_sec: n as f64 / elapsed.as_secs_f64(),
        cpu_per_instance: cpu.map(|c| c / n),
        counts,
    }
}

fn print_instances(dir: &Path) {
    println!(
        "\ninstances ({} KiB slice + {} KiB preview), {INSTANCES} per run, on {}:",
        SLICE_LEN / 1024,
        PREVIEW_LEN / 1024,
        dir.display()
    );
    println!(
        "  {:<9} {:>7} {:>9} {:>12} {:>10} {:>14} {:>13}",
        "path", "threads", "inst/s", "CPU ms/inst", "files/inst", "fdatasync/inst", "dirsync/inst"
    );
    for threads in [1, 2, 4] {
        let mut rates = Vec::new();
        for segments in [true, false] {
            let options = LocalOptions {
                small_blobs_in_segments: segments,
                ..LocalOptions::default()
            };
            let r = put_instances(dir, options, threads);
            let per = |x: u64| x as f64 / INSTANCES as f64;
            let cpu = r.cpu_per_instance.map_or("n/a".to_owned(), |c| {
                format!("{:.2}", c.as_secs_f64() * 1e3)
            });
            println!(
                "  {:<9} {threads:>7} {:>9.0} {cpu:>12} {:>10.2} {:>14.2} {:>13.2}",
                if segments { "segments" } else { "files" },
                r.per_sec,
                per(r.counts.files_created),
                per(r.counts.file_syncs),
                per(r.counts.dir_syncs),
            );
            rates.push(r.per_sec);
        }
        println!(
            "  {:<9} {threads:>7} {:>8.2}x  (segments / files, instances per second)",
            "ratio",
            rates[0] / rates[1]
        );
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = support::scratch_dir("throughput");
    if std::env::var_os("SV_BENCH_INSTANCES_ONLY").is_some() {
        print_instances(dir.path());
        return;
    }
    let mut fixtures: Vec<(Fixture, &str)> = SIZES
        .iter()
        .map(|&(size, label)| (Fixture::new(dir.path(), size), label))
        .collect();
    // Without CARGO_TARGET_DIR criterion would write `target/` inside the package directory.
    let mut c = Criterion::default()
        .output_directory(&support::target_dir().join("criterion"))
        .configure_from_args();
    criterion_groups(&mut c, &mut fixtures);
    c.final_summary();
    print_ratios(&mut fixtures);
    drop(fixtures);
    print_instances(dir.path());
}
