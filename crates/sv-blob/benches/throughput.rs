//! Put/get throughput of `LocalBlobStore` next to plain `write`+`fsync`+blake3 on the same disk.
//!
//! `cargo bench -p sv-blob --bench throughput`: criterion groups for 1 MiB and 256 MiB, then a
//! plainly printed table of medians and the store/plain ratio (target >= 0.8).

mod support;

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput};
use sv_blob::{BlobId, BlobStore, LocalBlobStore};

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

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = support::scratch_dir("throughput");
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
}
