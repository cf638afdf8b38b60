//! Memory bench: put a 1 GiB blob streamed from a generator reader, print resident memory growth.
//!
//! `cargo bench -p sv-blob --bench memory` (target: peak growth under 32 MiB).

mod support;

use std::io::{self, Read};
use std::time::Instant;

use sv_blob::{BlobStore, LocalBlobStore};

const BLOB_LEN: u64 = 1 << 30;

/// Produces `remaining` pseudo-random bytes straight into the caller's buffer.
struct Generator {
    state: u64,
    remaining: u64,
}

impl Read for Generator {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.remaining as usize);
        support::fill(&mut self.state, &mut buf[..n]);
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// `(VmHWM, VmRSS)` in KiB from /proc/self/status.
fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` and `cargo test --benches` probes: nothing to list
    }
    let dir = support::scratch_dir("memory");
    let store = LocalBlobStore::open(dir.path().join("store")).expect("open store");
    let (hwm0, rss0) = memory_kib();
    let started = Instant::now();
    let put = store
        .put(&mut Generator {
            state: 0x5eed_1234_abcd_0001,
            remaining: BLOB_LEN,
        })
        .expect("put 1 GiB");
    let put_secs = started.elapsed().as_secs_f64();
    let (hwm1, rss1) = memory_kib();

    let started = Instant::now();
    let mut reader = store.get(&put.id, None).expect("get");
    let mut buf = vec![0u8; 256 * 1024];
    let mut read = 0u64;
    loop {
        match reader.read(&mut buf).expect("verified read") {
            0 => break,
            n => read += n as u64,
        }
    }
    assert_eq!(read, BLOB_LEN);
    drop(reader);
    let get_secs = started.elapsed().as_secs_f64();
    let (hwm2, rss2) = memory_kib();
    let mib = BLOB_LEN as f64 / (1 << 20) as f64;
    println!(
        "put 1 GiB from a generator: {put_secs:.2} s ({:.0} MiB/s), id {}",
        mib / put_secs,
        put.id
    );
    println!("  before put: VmHWM {hwm0} KiB, VmRSS {rss0} KiB");
    println!("  after put:  VmHWM {hwm1} KiB, VmRSS {rss1} KiB");
    println!(
        "  put peak growth (VmHWM): {:.1} MiB (target < 32 MiB)",
        (hwm1 - hwm0) as f64 / 1024.0
    );
    println!(
        "verified get of 1 GiB: {get_secs:.2} s ({:.0} MiB/s)",
        mib / get_secs
    );
    println!("  after get:  VmHWM {hwm2} KiB, VmRSS {rss2} KiB");
    println!(
        "  put+get peak growth (VmHWM): {:.1} MiB",
        (hwm2 - hwm0) as f64 / 1024.0
    );
    store.delete(&put.id).expect("delete");
}
