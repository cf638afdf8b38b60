//! Put and get latency of `S3BlobStore` on a throwaway single-node Garage (loopback, fsync
//! on, `sv_testkit::garage`), for a CT slice (~40 KiB) and a 512 KiB instance; prints the
//! median and 90th percentile of each.
//!
//! `cargo bench -p sv-blob-s3 --bench s3` (add `-- <iterations>`, default 60).

use std::io::Read;
use std::time::{Duration, Instant};

use sv_blob::BlobStore;
use sv_blob_s3::{S3BlobStore, S3Config};
use sv_testkit::blob_conformance::test_bytes;

fn main() {
    let iterations: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(60);
    let t = sv_testkit::garage::target();
    let store = S3BlobStore::open(S3Config {
        region: t.region,
        prefix: t.prefix,
        ..S3Config::new(t.endpoint, t.bucket, t.access_key_id, t.secret_access_key)
    })
    .expect("open the store");
    println!("S3BlobStore on Garage (single node, loopback, fsync on); {iterations} iterations");
    println!("{:<28} {:>10} {:>10}", "operation", "median", "p90");
    for (name, len) in [("40 KiB", 40 * 1024), ("512 KiB", 512 * 1024)] {
        let blobs: Vec<Vec<u8>> = (0..iterations)
            .map(|i| test_bytes(len, (len + i) as u64))
            .collect();
        let mut ids = Vec::new();
        let put = time(&blobs, |bytes| {
            let put = store.put(&mut &bytes[..]).unwrap();
            assert!(put.created);
            ids.push(put.id);
        });
        let dedup = time(&blobs, |bytes| {
            assert!(!store.put(&mut &bytes[..]).unwrap().created);
        });
        let get = time(&ids, |id| {
            let mut out = Vec::with_capacity(len);
            store.get(id, None).unwrap().read_to_end(&mut out).unwrap();
            assert_eq!(out.len(), len);
        });
        let range = time(&ids, |id| {
            let mut out = Vec::new();
            store
                .get(id, Some(1000..5096))
                .unwrap()
                .read_to_end(&mut out)
                .unwrap();
        });
        report(&format!("put {name} (new)"), put);
        report(&format!("put {name} (dedup)"), dedup);
        report(&format!("get {name} (whole)"), get);
        report(&format!("get {name} (4 KiB range)"), range);
    }
}

fn time<T>(items: &[T], mut f: impl FnMut(&T)) -> Vec<Duration> {
    items
        .iter()
        .map(|item| {
            let started = Instant::now();
            f(item);
            started.elapsed()
        })
        .collect()
}

fn report(name: &str, mut times: Vec<Duration>) {
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1e3);
    println!("{name:<28} {:>10} {:>10}", ms(at(0.5)), ms(at(0.9)));
}
