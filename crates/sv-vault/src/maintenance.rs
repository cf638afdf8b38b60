//! Maintenance: the consistency check, and garbage collection, offline or while the server runs.
//!
//! A blob is durable before metadata names it, so between the two steps a blob is stored and
//! unreferenced; a crash or a lost race there leaves it so for good. The collector removes such
//! blobs without ever taking one that is about to be named:
//!
//! - **Pins.** Every writer pins the blob it put until its metadata commit has ended
//!   ([`Vault::put_pinned`]). The collector skips pinned blobs, and deletes each blob while it
//!   holds the fence's lock, so a pin and a deletion never interleave.
//! - **The put before the pin.** A put that found its bytes already stored (dedup) may have
//!   found an orphan the collector deletes before the writer pins it. Every deletion bumps the
//!   fence's epoch; a writer that sees the epoch moved between its put and its pin checks that
//!   its blob is still there and puts it again if not.
//! - **A grace period.** A blob is deleted only once it has been seen unreferenced, and still is,
//!   for at least the grace period (two passes at least that far apart). This protects writers
//!   the pins cannot see (another process on shared stores) whose blob is younger than the grace.
//! - **A last look.** Right before deleting, under the lock, the collector reads the blob's
//!   reference count again: a name committed since the pass read every reference stops it.
//!
//! - **Marks, across processes.** Pins live in this process. When several processes share the
//!   stores (API nodes on one PostgreSQL and one bucket), the collector marks its candidates
//!   in the metadata store first ([`sv_meta::MetaStore::mark_for_collection`]), which orders
//!   the marking with every commit that names a blob: a commit that comes after is refused
//!   ([`sv_meta::MetaError::BlobCollected`]). The refused writer waits for the deletion to
//!   end, stores its blob again if it is gone, clears the mark and commits again
//!   ([`Vault::commit_naming`]). A store one process owns has no marks: marking is then the
//!   last look at the reference count.
//!
//! Offline (`studyvault gc` on a stopped store) is the same with a zero grace period.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sv_blob::{BlobError, BlobId, CompactReport, PutOutcome, UnsyncedPut};
use sv_meta::{Collection, MetaError};
use sv_model::Timestamp;
use tracing::{info, warn};

use crate::{Vault, VaultError};

pub use sv_meta::FsckReport;

/// What a garbage collection pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Blobs in the blob store.
    pub examined: u64,
    /// Unreferenced blobs not yet unreferenced for the whole grace period, left for a later pass.
    pub waiting: u64,
    /// Blobs no name referred to, now deleted.
    pub deleted: Vec<BlobId>,
    pub bytes_freed: u64,
    /// What the blob store's compaction did after the deletions (segment files rewritten).
    pub compacted: CompactReport,
}

/// Segment files with less than this share of live bytes are rewritten after a pass.
pub const COMPACT_BELOW: f64 = 0.5;

/// How long a writer refused by a collector's mark waits for that deletion to end.
const COLLECTION_WAIT: Duration = Duration::from_secs(10);
/// A mark older than this that is still not deleted was left by a collector that stopped
/// midway: the next pass, on any node, finishes it.
const UNFINISHED_AFTER: Duration = Duration::from_secs(120);
/// The marks of deleted blobs are kept this long: a writer that found such a blob stored
/// before its deletion has committed (and been refused) or failed well within it.
const KEEP_DELETED_MARKS: Duration = Duration::from_secs(24 * 3600);

fn ago(d: Duration) -> Timestamp {
    let micros = i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
    Timestamp::from_unix_micros(Timestamp::now().unix_micros().saturating_sub(micros))
}

/// Checks that metadata and blobs agree (see [`sv_meta::fsck`]).
pub fn fsck_report(vault: &Vault) -> Result<FsckReport, VaultError> {
    Ok(sv_meta::fsck(
        vault.inner.meta.as_ref(),
        vault.inner.blobs.as_ref(),
    )?)
}

/// What keeps the collector off the blobs writers are about to name (see the module doc).
#[derive(Debug, Default)]
pub(crate) struct GcFence {
    state: Arc<Mutex<FenceState>>,
    /// Unreferenced blobs by when a pass first saw them so: the grace period runs from there.
    suspects: Mutex<HashMap<BlobId, Instant>>,
}

#[derive(Debug, Default)]
struct FenceState {
    /// Deletions so far.
    epoch: u64,
    /// Blobs between their put and the end of their metadata commit, with how many writers.
    pinned: HashMap<BlobId, usize>,
}

/// A writer's hold on a blob it put: the collector leaves the blob alone while this lives.
#[derive(Debug)]
#[must_use = "the pin must live until the metadata commit naming the blob has ended"]
pub(crate) struct BlobPin {
    state: Arc<Mutex<FenceState>>,
    id: BlobId,
}

impl Drop for BlobPin {
    fn drop(&mut self) {
        let mut state = lock(&self.state);
        if let Some(count) = state.pinned.get_mut(&self.id) {
            *count -= 1;
            if *count == 0 {
                state.pinned.remove(&self.id);
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl GcFence {
    fn epoch(&self) -> u64 {
        lock(&self.state).epoch
    }

    /// Pins `id`; also says whether the collector deleted anything since `epoch`.
    fn pin(&self, id: BlobId, epoch: u64) -> (BlobPin, bool) {
        let mut state = lock(&self.state);
        *state.pinned.entry(id).or_default() += 1;
        let collected = state.epoch != epoch;
        drop(state);
        let pin = BlobPin {
            state: Arc::clone(&self.state),
            id,
        };
        (pin, collected)
    }
}

impl Vault {
    /// Runs `put` and pins what it stored until the returned pin is dropped, which the caller
    /// does once the metadata naming the blob is committed (or refused).
    ///
    /// `put` may run twice: when the collector deleted the very blob the first put found stored,
    /// the second put stores it again. A source that cannot be read twice answers `None` from
    /// its second call, and the writer gets [`VaultError::Busy`] (the client retries).
    pub(crate) fn put_pinned(
        &self,
        mut put: impl FnMut() -> Option<Result<PutOutcome, BlobError>>,
    ) -> Result<(PutOutcome, BlobPin), VaultError> {
        let (stored, pin) =
            self.put_pinned_unsynced(|| put().map(|r| r.map(UnsyncedPut::durable)))?;
        Ok((stored.outcome, pin))
    }

    /// [`Vault::put_pinned`] for a put that may not be durable yet: the caller syncs the put
    /// returned (which may be the second one) before committing the metadata naming it.
    pub(crate) fn put_pinned_unsynced(
        &self,
        mut put: impl FnMut() -> Option<Result<UnsyncedPut, BlobError>>,
    ) -> Result<(UnsyncedPut, BlobPin), VaultError> {
        let fence = &self.inner.gc;
        let before = fence.epoch();
        let stored = put().expect("the first put always runs")?;
        let id = stored.outcome.id;
        let (pin, collected) = fence.pin(id, before);
        if collected && !self.inner.blobs.contains(&id)? {
            info!(blob = %id, "blob collected between its put and its pin; storing it again");
            return match put() {
                Some(again) => {
                    let again = again?;
                    debug_assert_eq!(again.outcome.id, id);
                    Ok((again, pin))
                }
                None => Err(VaultError::Busy),
            };
        }
        Ok((stored, pin))
    }

    /// Deletes every blob that no name refers to (blocking), at once: for a stopped store
    /// (`studyvault gc`). A running server collects with [`Vault::collect_garbage_blocking`].
    pub fn gc_blocking(&self) -> Result<GcReport, VaultError> {
        self.collect_garbage_blocking(Duration::ZERO)
    }

    /// One collector pass (blocking), safe while the vault ingests: deletes the blobs no name
    /// has referred to for at least `grace`, as seen by this vault's passes (see the module
    /// doc), and remembers the younger ones for a later pass.
    pub fn collect_garbage_blocking(&self, grace: Duration) -> Result<GcReport, VaultError> {
        self.collect_garbage_with(grace, |_| {})
    }

    /// [`Vault::collect_garbage_blocking`], with `before_delete` run on each blob about to be
    /// deleted, before the lock and the last look (tests use it to race the collector).
    fn collect_garbage_with(
        &self,
        grace: Duration,
        before_delete: impl Fn(&BlobId),
    ) -> Result<GcReport, VaultError> {
        // Blobs first, then references: a blob named after the list was read is either in the
        // references or caught by the last look.
        let listed = self.inner.blobs.list()?;
        let referenced: HashSet<BlobId> = self
            .inner
            .meta
            .referenced_blobs()?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let mut report = GcReport {
            examined: listed.len() as u64,
            ..GcReport::default()
        };
        let now = Instant::now();
        let due: Vec<BlobId> = {
            let mut suspects = lock(&self.inner.gc.suspects);
            let unreferenced: HashSet<BlobId> = listed
                .into_iter()
                .filter(|id| !referenced.contains(id))
                .collect();
            suspects.retain(|id, _| unreferenced.contains(id));
            for id in &unreferenced {
                suspects.entry(*id).or_insert(now);
            }
            let due: Vec<BlobId> = suspects
                .iter()
                .filter(|(_, seen)| now.duration_since(**seen) >= grace)
                .map(|(id, _)| *id)
                .collect();
            report.waiting = (suspects.len() - due.len()) as u64;
            due
        };
        // Marks some collector left unfinished (it stopped midway) are finished here.
        let mut chosen = self
            .inner
            .meta
            .unfinished_collections(ago(UNFINISHED_AFTER))?;
        chosen.extend(self.inner.meta.mark_for_collection(&due)?);
        chosen.sort_unstable();
        chosen.dedup();
        for id in chosen {
            before_delete(&id);
            let mut failed = None;
            let done = self.inner.meta.collect_marked(&id, &mut || {
                self.delete_if_unreferenced(&id).unwrap_or_else(|e| {
                    failed = Some(e);
                    Collection::Kept
                })
            })?;
            if let Some(e) = failed {
                return Err(e);
            }
            if let Some(Collection::Deleted(len)) = done {
                report.bytes_freed += len;
                report.deleted.push(id);
            }
            lock(&self.inner.gc.suspects).remove(&id);
        }
        self.inner
            .meta
            .forget_collections(ago(KEEP_DELETED_MARKS))?;
        // The space of deleted small blobs comes back only when their segment is rewritten.
        report.compacted = self.inner.blobs.compact(COMPACT_BELOW)?;
        info!(
            examined = report.examined,
            waiting = report.waiting,
            deleted = report.deleted.len(),
            bytes_freed = report.bytes_freed,
            segments_rewritten = report.compacted.segments_rewritten,
            "garbage collection pass finished"
        );
        Ok(report)
    }

    /// Deletes `id` unless a writer of this process holds it or a name refers to it.
    fn delete_if_unreferenced(&self, id: &BlobId) -> Result<Collection, VaultError> {
        let mut state = lock(&self.inner.gc.state);
        if state.pinned.contains_key(id) || self.inner.meta.blob_refcount(id)? > 0 {
            return Ok(Collection::Kept);
        }
        let Some(len) = self.inner.blobs.len(id)? else {
            return Ok(Collection::Gone);
        };
        if !self.inner.blobs.delete(id)? {
            return Ok(Collection::Gone);
        }
        state.epoch += 1;
        Ok(Collection::Deleted(len))
    }

    /// Runs `commit`, a metadata change naming `blobs`. If a collector of another process
    /// marked one of them (see the module's notes), waits for that deletion to end, stores
    /// what is gone again with `put_again` (`None`: this source cannot be read again, and the
    /// writer gets [`VaultError::Busy`]: the client sends it again), clears the marks and
    /// commits again. Answers the commit's own outcome inside.
    pub(crate) fn commit_naming<R>(
        &self,
        blobs: &[BlobId],
        mut put_again: impl FnMut(&BlobId) -> Option<Result<PutOutcome, BlobError>>,
        commit: impl Fn() -> Result<R, MetaError>,
    ) -> Result<Result<R, MetaError>, VaultError> {
        const ATTEMPTS: usize = 3;
        for attempt in 1..=ATTEMPTS {
            match commit() {
                Err(MetaError::BlobCollected) if attempt < ATTEMPTS => {
                    info!(
                        attempt,
                        "a blob to be named is being collected; waiting for it"
                    );
                    self.settle_collected(blobs, &mut put_again)?;
                }
                Err(MetaError::BlobCollected) => {
                    warn!("blobs to be named kept being collected; the client should retry");
                    return Err(VaultError::Busy);
                }
                other => return Ok(other),
            }
        }
        unreachable!("the last attempt returns")
    }

    /// Waits until the collections marked on `blobs` have deleted, stores again those gone,
    /// and clears their marks.
    fn settle_collected(
        &self,
        blobs: &[BlobId],
        put_again: &mut impl FnMut(&BlobId) -> Option<Result<PutOutcome, BlobError>>,
    ) -> Result<(), VaultError> {
        let deadline = Instant::now() + COLLECTION_WAIT;
        let marks = loop {
            let marks = self.inner.meta.collection_marks(blobs)?;
            if marks.iter().all(|m| m.deleted) {
                break marks;
            }
            if Instant::now() >= deadline {
                return Err(VaultError::Busy);
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        for mark in &marks {
            if !self.inner.blobs.contains(&mark.blob_id)? {
                let Some(stored) = put_again(&mark.blob_id) else {
                    return Err(VaultError::Busy);
                };
                let stored = stored?;
                debug_assert_eq!(stored.id, mark.blob_id);
            }
        }
        // Every marked blob is in the store again, after the deletions seen: commits may name
        // it, unless a collector has marked it again since (that mark stays, and refuses).
        self.inner.meta.unmark_collected(&marks)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use sv_model::{
        Audit, AuditAction, BlobName, NamedBlob, Thing, ThingId, ThingState, TypeId, VersionStamp,
    };

    use super::*;
    use crate::VaultConfig;

    fn vault() -> (tempfile::TempDir, Vault) {
        let dir = tempfile::tempdir().unwrap();
        let vault = Vault::open(dir.path(), VaultConfig::default()).unwrap();
        (dir, vault)
    }

    fn orphan(vault: &Vault, bytes: &[u8]) -> BlobId {
        vault.inner.blobs.put_bytes(bytes).unwrap().id
    }

    fn stored(vault: &Vault, id: &BlobId) -> bool {
        vault.inner.blobs.contains(id).unwrap()
    }

    /// Two nodes: one PostgreSQL database, one blob store. Node B ingests an instance whose
    /// file is an orphan that node A's collector is deleting right then: B's put finds it
    /// stored (nothing on B pins it for A to see), A has marked it and deletes it, B's commit
    /// is refused, waits for the deletion, stores the file again and commits.
    #[test]
    fn a_writer_on_another_node_racing_the_collector_gets_its_blob_back() {
        let db = sv_testkit::pg::database();
        let blobs: Arc<dyn sv_blob::BlobStore> = Arc::new(sv_blob::MemoryBlobStore::new());
        let node = || {
            let meta = sv_meta::PgMetaStore::open(db.url(), 2).unwrap();
            Vault::with_stores(Arc::new(meta), Arc::clone(&blobs), VaultConfig::default())
        };
        let (a, b) = (node(), node());
        let (record, _) = a.create_record_blocking("two nodes").unwrap();
        let bytes = sv_dicom::synthetic::ct_series_slice("1.2.3.9", "1.2.3.9.1", 1);
        let file = orphan(&a, &bytes);

        let ingested = Mutex::new(None);
        let report = std::thread::scope(|scope| {
            a.collect_garbage_with(Duration::ZERO, |id| {
                if *id != file {
                    return;
                }
                // A has marked the file: B's put finds it stored, its commit is refused.
                let (b, bytes, ingested) = (&b, &bytes, &ingested);
                scope.spawn(move || {
                    let r = b.ingest_blocking(record.id, bytes, &crate::IngestOptions::default());
                    *lock(ingested) = Some(r);
                });
                std::thread::sleep(Duration::from_millis(500));
                assert!(lock(ingested).is_none(), "B committed a marked blob");
            })
            .unwrap()
        });
        assert_eq!(
            report.deleted,
            [file],
            "A deleted the orphan B had found stored"
        );
        let ingested = lock(&ingested).take().unwrap().unwrap();
        assert_eq!(ingested.status, crate::report::IngestStatus::Stored);
        assert!(
            stored(&b, &file),
            "B stored the file again before naming it"
        );
        let fsck = fsck_report(&a).unwrap();
        assert!(fsck.problems.is_empty(), "{:?}", fsck.problems);
        assert_eq!(
            a.inner.meta.collection_marks(&[file]).unwrap(),
            [],
            "B cleared the mark"
        );
    }

    #[test]
    fn an_orphan_goes_only_once_unreferenced_for_the_whole_grace_period() {
        let (_dir, vault) = vault();
        let id = orphan(&vault, b"left by a crash");
        let grace = Duration::from_millis(300);
        let first = vault.collect_garbage_blocking(grace).unwrap();
        assert_eq!((first.deleted.len(), first.waiting), (0, 1));
        assert!(
            stored(&vault, &id),
            "a fresh orphan waits out the grace period"
        );
        std::thread::sleep(grace);
        let second = vault.collect_garbage_blocking(grace).unwrap();
        assert_eq!(second.deleted, vec![id]);
        assert_eq!(second.bytes_freed, b"left by a crash".len() as u64);
        assert!(!stored(&vault, &id));
    }

    #[test]
    fn a_pass_gives_the_space_of_deleted_small_blobs_back() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = sv_blob::LocalBlobStore::open_with(
            dir.path().join("blobs"),
            sv_blob::LocalOptions {
                segment_len: 64 << 10,
                ..sv_blob::LocalOptions::default()
            },
        )
        .unwrap();
        let meta = sv_meta::SledMetaStore::open(dir.path().join("meta")).unwrap();
        let vault = Vault::with_stores(
            std::sync::Arc::new(meta),
            std::sync::Arc::new(blobs),
            VaultConfig::default(),
        );
        let ids: Vec<BlobId> = (0..40u8).map(|i| orphan(&vault, &[i; 8 << 10])).collect();
        let report = vault.gc_blocking().unwrap();
        assert_eq!(report.deleted.len(), ids.len());
        assert!(
            report.compacted.segments_rewritten >= 3,
            "sealed segments of orphans only are rewritten: {report:?}"
        );
        assert!(
            report.compacted.bytes_reclaimed >= 3 * (60 << 10),
            "{report:?}"
        );
    }

    #[test]
    fn a_pinned_blob_is_left_until_its_writer_lets_go() {
        let (_dir, vault) = vault();
        let (put, pin) = vault
            .put_pinned(|| Some(vault.inner.blobs.put_bytes(b"being named")))
            .unwrap();
        let report = vault.gc_blocking().unwrap();
        assert!(report.deleted.is_empty(), "{report:?}");
        assert!(stored(&vault, &put.id));
        drop(pin);
        assert_eq!(vault.gc_blocking().unwrap().deleted, vec![put.id]);
    }

    #[test]
    fn a_dedup_put_racing_the_collector_gets_its_blob_back() {
        // The orphan is found stored by the put (dedup), then collected before the writer
        // pins it: the writer must notice and store it again before naming it.
        let (_dir, vault) = vault();
        let bytes = b"an orphan that a retry names".to_vec();
        let id = orphan(&vault, &bytes);
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let (put, pin) = vault
            .put_pinned(|| {
                let outcome = vault.inner.blobs.put_bytes(&bytes);
                if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                    assert!(!outcome.as_ref().unwrap().created, "found stored");
                    let collected = vault.gc_blocking().unwrap();
                    assert_eq!(collected.deleted, vec![id], "collected before the pin");
                }
                Some(outcome)
            })
            .unwrap();
        assert_eq!(put.id, id);
        assert!(
            stored(&vault, &id),
            "stored again before the pin was handed out"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        drop(pin);
    }

    #[test]
    fn a_source_that_cannot_be_read_twice_asks_the_client_to_retry() {
        let (_dir, vault) = vault();
        let bytes = b"streamed once".to_vec();
        orphan(&vault, &bytes);
        let mut first = true;
        let answer = vault.put_pinned(|| {
            if !std::mem::take(&mut first) {
                return None;
            }
            let outcome = vault.inner.blobs.put_bytes(&bytes);
            vault.gc_blocking().unwrap();
            Some(outcome)
        });
        assert!(matches!(answer, Err(VaultError::Busy)), "{answer:?}");
    }

    #[test]
    fn a_name_committed_after_the_pass_read_the_references_stops_the_deletion() {
        // A writer the pins cannot see (another node on shared stores) names the blob while
        // the pass runs: the last look under the lock must see the new reference.
        let (_dir, vault) = vault();
        let (record, _) = vault.create_record_blocking("gc").unwrap();
        let created = Audit::now(AuditAction::Created, None);
        let thing = Thing {
            id: ThingId::new_random(),
            version: VersionStamp::new_random(),
            type_id: TypeId::from_bytes([7; 16]),
            state: ThingState::Active,
            flags: Default::default(),
            eff_date: created.timestamp,
            created: created.clone(),
            updated: created,
            data_xml: "<note/>".into(),
            blobs: Vec::new(),
        };
        vault.inner.meta.create_thing(record.id, &thing).unwrap();
        let id = orphan(&vault, b"named by another node");
        let named = AtomicBool::new(false);
        let report = vault
            .collect_garbage_with(Duration::ZERO, |about| {
                assert_eq!(*about, id);
                let blob = NamedBlob {
                    name: BlobName::new("scan").unwrap(),
                    content_type: "application/octet-stream".into(),
                    length: 21,
                    blob_id: id,
                };
                let audit = Audit::now(AuditAction::Updated, None);
                (vault.inner.meta)
                    .put_named_blob(record.id, thing.id, None, &blob, &audit)
                    .unwrap();
                named.store(true, Ordering::SeqCst);
            })
            .unwrap();
        assert!(named.load(Ordering::SeqCst));
        assert!(report.deleted.is_empty(), "{report:?}");
        assert!(stored(&vault, &id));
    }
}
