//! The vault under load stays bounded: a worker slot is held for as long as its job runs,
//! whatever became of the caller, and instances above the spool bound are ingested from
//! spool files, not memory.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use sv_blob::{BlobStore, LocalBlobStore};
use sv_meta::{MetaStore, SledMetaStore};
use sv_model::{Record, RecordId, Timestamp};
use sv_vault::{
    BatchItem, IngestOptions, IngestStatus, InstanceBytes, Vault, VaultConfig, ZipLimits,
};

struct TestVault {
    vault: Vault,
    blobs: Arc<dyn BlobStore>,
    record: RecordId,
    _dir: tempfile::TempDir,
}

fn test_vault(config: VaultConfig) -> TestVault {
    let dir = tempfile::tempdir().unwrap();
    let meta: Arc<dyn MetaStore> = Arc::new(SledMetaStore::open(dir.path().join("meta")).unwrap());
    let blobs: Arc<dyn BlobStore> =
        Arc::new(LocalBlobStore::open(dir.path().join("blobs")).unwrap());
    let config = VaultConfig {
        spool_dir: Some(dir.path().join("spool")),
        ..config
    };
    let vault = Vault::with_stores(meta.clone(), blobs.clone(), config);
    let record = RecordId::new_random();
    meta.create_record(&Record {
        id: record,
        name: "bounds".into(),
        created: Timestamp::now(),
        owner_email: None,
    })
    .unwrap();
    TestVault {
        vault,
        blobs,
        record,
        _dir: dir,
    }
}

/// A one-shot latch: `open` once, `wait` until it is.
#[derive(Default)]
struct Latch(Mutex<bool>, Condvar);

impl Latch {
    fn open(&self) {
        *self.0.lock().unwrap() = true;
        self.1.notify_all();
    }

    fn wait(&self) {
        let mut open = self.0.lock().unwrap();
        while !*open {
            open = self.1.wait(open).unwrap();
        }
    }
}

/// Counts the jobs running at once and remembers the most.
#[derive(Default)]
struct Gauge {
    now: AtomicUsize,
    most: AtomicUsize,
}

impl Gauge {
    fn enter(&self) {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
    }

    fn leave(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A client that disconnects mid-job (its request future is dropped) cannot stop the blocking
/// job: the job keeps its worker slot until it ends, so the next client's job waits for it
/// and no more than `workers` jobs ever run at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_keeps_its_worker_slot_after_its_client_goes_away() {
    let t = test_vault(VaultConfig {
        workers: 1,
        ..VaultConfig::default()
    });
    let gauge = Arc::new(Gauge::default());
    let release = Arc::new(Latch::default());
    let (started_tx, started_rx) = tokio::sync::oneshot::channel();

    let client = tokio::spawn({
        let (vault, gauge, release) = (t.vault.clone(), gauge.clone(), release.clone());
        async move {
            vault
                .run_blocking(move |_| {
                    gauge.enter();
                    let _ = started_tx.send(());
                    release.wait();
                    gauge.leave();
                    Ok(())
                })
                .await
        }
    });
    started_rx.await.unwrap();
    // Should an assertion below fail, the held job is let go, so the test fails, not hangs.
    struct Release(Arc<Latch>);
    impl Drop for Release {
        fn drop(&mut self) {
            self.0.open();
        }
    }
    let _release_on_failure = Release(release.clone());
    // The client disconnects: its request future is dropped mid-job.
    client.abort();
    assert!(client.await.unwrap_err().is_cancelled());
    assert_eq!(
        t.vault.free_workers(),
        0,
        "the abandoned job still runs, so its slot is still taken"
    );

    let second = tokio::spawn({
        let (vault, gauge) = (t.vault.clone(), gauge.clone());
        async move {
            vault
                .run_blocking(move |_| {
                    gauge.enter();
                    gauge.leave();
                    Ok(())
                })
                .await
        }
    });
    release.open();
    second.await.unwrap().unwrap();
    assert_eq!(
        gauge.most.load(Ordering::SeqCst),
        1,
        "never two jobs at once"
    );
    assert_eq!(
        t.vault.free_workers(),
        1,
        "both jobs ended, both slots came back"
    );
}

fn ct(index: u32) -> Vec<u8> {
    sv_dicom::synthetic::ct_series_slice(
        "1.2.826.0.1.3680043.10.9.1",
        "1.2.826.0.1.3680043.10.9.1.1",
        index,
    )
}

fn read_blob(blobs: &dyn BlobStore, id: &sv_model::BlobId) -> Vec<u8> {
    let mut out = Vec::new();
    blobs.get(id, None).unwrap().read_to_end(&mut out).unwrap();
    out
}

/// A spooled instance (in a file, not memory) is ingested like one in memory: stored, its
/// blob byte-identical, its preview made; and the vault counts it as read from the spool.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_from_a_spool_file_is_ingested_whole() {
    let t = test_vault(VaultConfig {
        spool_above_bytes: 64 << 10,
        ..VaultConfig::default()
    });
    let bytes = ct(1);
    assert!(bytes.len() as u64 > t.vault.spool_above_bytes());
    let mut file = t.vault.spool_file().unwrap();
    file.write_all(&bytes).unwrap();
    let spooled = InstanceBytes::File(Arc::new(sv_vault::SpoolFile::new(file, bytes.len() as u64)));
    let report = t
        .vault
        .ingest_instance(t.record, spooled, IngestOptions::default())
        .await
        .unwrap();
    assert_eq!(report.status, IngestStatus::Stored, "{report:?}");
    assert!(report.preview);
    assert_eq!(read_blob(&*t.blobs, &report.blob_id.unwrap()), bytes);
    assert_eq!(t.vault.spooled_ingests(), 1);
}

/// Zip entries above the spool bound are inflated into spool files, one below it (a README)
/// into memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zip_entries_above_the_spool_bound_are_spooled() {
    let big = ct(1);
    let t = test_vault(VaultConfig {
        spool_above_bytes: big.len() as u64 - 1,
        ..VaultConfig::default()
    });
    let second = ct(2);
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    zip.start_file("IMG1", options).unwrap();
    zip.write_all(&big).unwrap();
    zip.start_file("IMG2", options).unwrap();
    zip.write_all(&second).unwrap();
    zip.start_file("README.TXT", options).unwrap();
    zip.write_all(b"not dicom").unwrap();
    let bytes = zip.finish().unwrap().into_inner();
    let mut file = tempfile::tempfile().unwrap();
    file.write_all(&bytes).unwrap();
    std::io::Seek::rewind(&mut file).unwrap();

    let limits = ZipLimits {
        max_entries: 10,
        max_expanded_bytes: 1 << 30,
    };
    let items = t
        .vault
        .ingest_zip(t.record, file, limits, IngestOptions::default())
        .await
        .unwrap();
    let stored: Vec<_> = items
        .iter()
        .filter_map(|i| match i {
            BatchItem::Instance(r) if r.status == IngestStatus::Stored => r.blob_id,
            _ => None,
        })
        .collect();
    assert_eq!(stored.len(), 2, "{items:?}");
    assert_eq!(read_blob(&*t.blobs, &stored[0]), big);
    assert_eq!(read_blob(&*t.blobs, &stored[1]), second);
    assert_eq!(
        t.vault.spooled_ingests(),
        2,
        "both instances came from spool files"
    );
}
