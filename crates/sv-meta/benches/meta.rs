//! Metadata store throughput with a durable flush on every acknowledged write, and the size of
//! a 1,000-instance study. Prints its figures; run with `cargo bench -p sv-meta`.

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use sv_meta::{MetaStore, SledMetaStore, ThingUpdate};
use sv_model::{
    Audit, AuditAction, BlobId, BlobName, NamedBlob, Record, RecordId, Thing, ThingFlags, ThingId,
    ThingState, Timestamp, TypeId, VersionStamp,
};

/// A scratch directory under `<target>/sv-meta-bench/` (on disk, not a RAM `/tmp`).
fn scratch(name: &str) -> tempfile::TempDir {
    let exe = std::env::current_exe().expect("bench executable path");
    let target: PathBuf = exe.ancestors().nth(3).expect("target dir").to_path_buf();
    let base = target.join("sv-meta-bench");
    std::fs::create_dir_all(&base).expect("create bench dir");
    tempfile::Builder::new()
        .prefix(name)
        .tempdir_in(base)
        .expect("scratch dir")
}

fn open(name: &str) -> (tempfile::TempDir, SledMetaStore, RecordId) {
    let dir = scratch(name);
    let store = SledMetaStore::open(dir.path()).expect("open");
    let rid = RecordId::new_random();
    let record = Record {
        id: rid,
        name: "bench".into(),
        created: Timestamp::now(),
        owner_email: None,
    };
    store.create_record(&record).expect("record");
    (dir, store, rid)
}

fn thing(n: u64) -> Thing {
    let created = Audit::now(AuditAction::Created, None);
    Thing {
        id: ThingId::new_random(),
        version: VersionStamp::new_random(),
        type_id: TypeId::from_bytes([1; 16]),
        state: ThingState::Active,
        flags: ThingFlags::default(),
        eff_date: Timestamp::now(),
        created: created.clone(),
        updated: created,
        data_xml: format!(
            "<weight><when><date><y>2024</y></date></when><value><kg>{n}</kg></value></weight>"
        )
        .repeat(4),
        blobs: vec![NamedBlob {
            name: BlobName::default_blob(),
            content_type: "application/pdf".into(),
            length: 1000,
            blob_id: BlobId::of(&n.to_le_bytes()),
        }],
    }
}

fn rate(what: &str, n: u64, start: Instant, extra: &str) {
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{what:<44} {:>9.0} ops/s  ({n} in {:.2} s{extra})",
        n as f64 / secs,
        secs
    );
}

fn single_writer() {
    let (_dir, store, rid) = open("single");
    const N: u64 = 2000;
    let start = Instant::now();
    let things: Vec<Thing> = (0..N).map(thing).collect();
    for t in &things {
        store.create_thing(rid, t).expect("create");
    }
    rate("thing create, 1 writer, durable", N, start, "");
    let start = Instant::now();
    for t in &things {
        let u = ThingUpdate {
            data_xml: "<x/>".into(),
            flags: ThingFlags(0),
            eff_date: Timestamp::now(),
            version: VersionStamp::new_random(),
            audit: Audit::now(AuditAction::Updated, None),
        };
        store
            .update_thing(rid, t.id, t.version, &u)
            .expect("update");
    }
    rate("thing update, 1 writer, durable", N, start, "");
    let start = Instant::now();
    let reads = 20 * N;
    for i in 0..reads {
        let t = &things[(i * 7919 % N) as usize];
        assert!(store.thing(rid, t.id).expect("read").is_some());
    }
    rate("thing read (with named blobs)", reads, start, "");
}

fn concurrent_writers(writers: u64) {
    let (_dir, store, rid) = open("concurrent");
    let store = Arc::new(store);
    let per = 4000 / writers;
    let syncs = store.durable_syncs();
    let start = Instant::now();
    let handles: Vec<_> = (0..writers)
        .map(|w| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for i in 0..per {
                    store
                        .create_thing(rid, &thing(w * per + i))
                        .expect("create");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("writer");
    }
    let syncs = store.durable_syncs() - syncs;
    let n = per * writers;
    let what = format!("thing create, {writers} writers, group commit");
    rate(&what, n, start, &format!(", {syncs} flush+fsync rounds"));
}

fn study_ingest() {
    let (dir, store, rid) = open("study");
    let (logical0, disk0) = (
        store.logical_size().expect("size"),
        support::dir_bytes(dir.path()),
    );
    const N: u64 = 1000;
    let start = Instant::now();
    for i in 0..N {
        let f = support::realistic_facts(1, i);
        store
            .add_instance(rid, &f, false, &Audit::now(AuditAction::Updated, None))
            .expect("add");
    }
    rate("add_instance, 1 writer, 1,000-instance study", N, start, "");
    let logical = (store.logical_size().expect("size") - logical0) / N;
    let disk = support::dir_bytes(dir.path()).saturating_sub(disk0) / N;
    let sled = store.size_on_disk().expect("size");
    println!(
        "bytes per instance (1,000-instance study)      logical {logical} B, on disk {disk} B (sled size_on_disk {sled} B total)"
    );
    let tid = store
        .study_thing(rid, &support::realistic_facts(1, 0).study_instance_uid)
        .expect("study")
        .expect("exists");
    let start = Instant::now();
    for _ in 0..20 {
        assert_eq!(
            store.study_instances(rid, tid).expect("list").len(),
            N as usize
        );
    }
    rate(
        "study_instances of 1,000 (whole study reads)",
        20,
        start,
        "",
    );
    drop(store);
    let store = SledMetaStore::open(dir.path()).expect("reopen");
    let disk = support::dir_bytes(dir.path()).saturating_sub(disk0) / N;
    println!("bytes per instance on disk after reopen          {disk} B");
    drop(store);
}

fn parallel_ingest(writers: u64) {
    let (_dir, store, rid) = open("studies");
    let store = Arc::new(store);
    let per = 1000 / writers;
    let start = Instant::now();
    let handles: Vec<_> = (0..writers)
        .map(|w| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for i in 0..per {
                    let f = support::realistic_facts(w + 1, i);
                    store
                        .add_instance(rid, &f, false, &Audit::now(AuditAction::Updated, None))
                        .expect("add");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("writer");
    }
    rate(
        &format!("add_instance, {writers} writers (one study each)"),
        per * writers,
        start,
        "",
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs it too, so keep it quick there.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    single_writer();
    for w in [1, 4, 16] {
        concurrent_writers(w);
    }
    study_ingest();
    parallel_ingest(4);
}
