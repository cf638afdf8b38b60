//! studyvault's use cases: ingest, reading studies, and maintenance (fsck, gc).
//!
//! Architecture invariants:
//! - this crate composes the stores and the DICOM crate; it knows nothing of HTTP;
//! - every `*_blocking` method does IO or CPU-heavy work and must run off the async executor;
//!   the async methods do that for the caller, on a pool bounded to `VaultConfig::workers`
//!   concurrent jobs, so one big upload (a JPEG 2000 radiograph takes 1–2 s to decode) cannot
//!   starve the server;
//! - blobs are durable before any metadata names them.

mod access;
mod batch;
mod derived;
mod error;
mod ingest;
mod mail;
mod maintenance;
mod preview_cache;
mod render;
mod report;
mod search;
mod secret_cache;
mod sessions;
mod sharing;
mod shown;
mod spool;
mod studies;
mod things;

use std::path::Path;
use std::sync::Arc;

use sv_blob::{BlobStore, LocalBlobStore};
use sv_meta::{MetaStore, SledMetaStore};
use sv_model::RecordId;
use tokio::sync::Semaphore;

pub use access::{Access, AuthFailure, IssuedToken, Principal};
pub use batch::{Batch, BatchItem, ZipIngestError, ZipLimits, ZipRefusal};
pub use derived::DerivedPreviews;
pub use error::{FrameRefusal, VaultError};
pub use ingest::IngestOptions;
pub use maintenance::{COMPACT_BELOW, GcReport, fsck_report};
pub use preview_cache::PREVIEW_CACHE_BYTES;
pub use report::{IngestStatus, InstanceReport, Reason};
pub use search::{
    DigestFilter, InstanceFilter, SeriesFilter, SopResolver, StudyFilter, StudyHit, StudyLookup,
    StudyOrder, StudyPage, StudySearch, Window, newest_first, series_order,
};
pub use sessions::{PATIENT_ABSOLUTE, PATIENT_IDLE, PatientSession, SIGNIN_LINK_MINUTES};
pub use sharing::{
    CreatedShare, NewShare, OpenOutcome, ShareAccess, ShareLanding, ShareRefusal, SharingConfig,
    VIEWER_KEY_HOURS, csrf_token, display_date, valid_email,
};
pub use shown::{AsShared, ShownInstance};
pub use spool::{InstanceBytes, SpoolFile, SpoolReader};
pub use studies::{FrameBytes, StudyListing, StudyView};
pub use sv_mail::{MailConfig, MailError, Mailer, RetryPolicy, Transport};
pub use things::{BlobPut, FeedPage, Outcome, ThingDraft, ThingHistory, ThingRefusal};

// The store types that cross this crate's API: callers name them through the vault, so the
// HTTP crate depends on the use cases, not on the stores (ARCHITECTURE.md, code map).
pub use sv_blob::{BlobReader, is_corrupt_io};
pub use sv_meta::{Change, ChangeOp, StateFilter, ThingCursor, ThingQuery};
// Rendering requests and their answers cross the vault's API the same way.
pub use sv_dicom::{Preview, PreviewFormat, RenderError, RenderRequest, VoiWindow, WindowFunction};

/// What a vault is allowed to do; the binary fills it from configuration.
#[derive(Debug, Clone)]
pub struct VaultConfig {
    /// Bounds on one DICOM instance (size, pixels per frame, frames, nesting).
    pub limits: sv_dicom::Limits,
    /// Preview size bounds and format.
    pub preview: sv_dicom::PreviewOptions,
    /// How many ingests may parse or render at once (the CPU work; storing files and metadata
    /// runs beside it, bounded by the uploads in flight).
    pub workers: usize,
    /// Share links: where they point, how long they live.
    pub sharing: SharingConfig,
    /// Instances above this many bytes are spooled to a file while they arrive and wait for
    /// ingest, instead of being held in memory (`spool.rs`).
    pub spool_above_bytes: u64,
    /// Where spool files go: `None` is `<data>/spool` for [`Vault::open`] and the system's
    /// temporary directory for [`Vault::with_stores`].
    pub spool_dir: Option<std::path::PathBuf>,
    /// How long a token or share is remembered after it was read from the store. A change on
    /// this node evicts it at once, and so does one on another node when the store tells of it
    /// ([`MetaStore::on_invalidation`]); this bounds how long a change goes unseen when the
    /// store could not tell.
    pub secret_cache_ttl: std::time::Duration,
}

/// The default of [`VaultConfig::secret_cache_ttl`].
pub const SECRET_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// The default of [`VaultConfig::spool_above_bytes`]: 64 MiB (a CT slice is 0.5 MB, a
/// radiograph 15, a multi-frame ultrasound or tomosynthesis many times more).
pub const SPOOL_ABOVE_BYTES: u64 = 64 << 20;

impl Default for VaultConfig {
    fn default() -> Self {
        VaultConfig {
            limits: sv_dicom::Limits::default(),
            preview: sv_dicom::PreviewOptions::default(),
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            sharing: SharingConfig::default(),
            spool_above_bytes: SPOOL_ABOVE_BYTES,
            secret_cache_ttl: SECRET_CACHE_TTL,
            spool_dir: None,
        }
    }
}

/// The store as a whole: metadata, blobs and the rules that tie them together.
///
/// Cheap to clone; clones share everything.
#[derive(Debug, Clone)]
pub struct Vault {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    meta: Arc<dyn MetaStore>,
    blobs: Arc<dyn BlobStore>,
    config: VaultConfig,
    /// One permit per running CPU job, held by the job itself (not by the caller's future),
    /// so a caller that goes away (a client disconnecting) frees it only when the job ends.
    workers: Arc<Semaphore>,
    /// Tokens already resolved, by secret hash (see `access.rs` for how it stays correct).
    tokens: access::TokenCache,
    /// Usable shares by link hash, for the recipient's image and DICOMweb reads.
    shares: sharing::ShareCache,
    /// Verified preview bytes, by blob id.
    previews: preview_cache::PreviewBytes,
    /// Derived (series and study) previews, by study thing version.
    derived: derived::DerivedCache,
    /// Set once when mail is configured ([`Vault::enable_mail`]).
    mail: std::sync::OnceLock<mail::MailService>,
    passcode_gate: sharing::PasscodeGate,
    spool: spool::Spool,
    /// Keeps the garbage collector off blobs between their put and their naming.
    gc: maintenance::GcFence,
}

impl Inner {
    /// Forgets what another node's change may have made stale.
    fn forget(&self, change: sv_meta::Invalidation) {
        use sv_meta::Invalidation;
        match change {
            Invalidation::Token { record, id } => {
                self.tokens.evict(|t| t.id == id && t.record_id == record)
            }
            Invalidation::Share { record, id } => {
                self.shares.evict(|s| s.id == id && s.record_id == record)
            }
            Invalidation::Thing { record, thing } => self
                .shares
                .evict(|s| s.record_id == record && s.thing_id == thing),
            Invalidation::Everything => {
                self.tokens.evict(|_| true);
                self.shares.evict(|_| true);
            }
        }
    }
}

impl Vault {
    /// Opens (creating if needed) the embedded default under `data_dir`: sled metadata in
    /// `meta/` and blob files in `blobs/`. Each store locks its directory.
    pub fn open(data_dir: &Path, mut config: VaultConfig) -> Result<Vault, VaultError> {
        let meta = SledMetaStore::open(data_dir.join("meta"))?;
        let blobs = LocalBlobStore::open(data_dir.join("blobs"))?;
        config
            .spool_dir
            .get_or_insert_with(|| data_dir.join("spool"));
        Ok(Vault::with_stores(Arc::new(meta), Arc::new(blobs), config))
    }

    /// A vault over stores the caller made (tests, other engines).
    pub fn with_stores(
        meta: Arc<dyn MetaStore>,
        blobs: Arc<dyn BlobStore>,
        config: VaultConfig,
    ) -> Vault {
        let workers = Arc::new(Semaphore::new(config.workers.max(1)));
        // A spool directory that cannot be made is replaced, with a warning, by the system's
        // temporary directory: uploads still work, and memory stays bounded.
        let spool = config
            .spool_dir
            .clone()
            .map_or_else(spool::Spool::in_temp_dir, |dir| {
                spool::Spool::open(dir).unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "spool directory unusable; using the temporary directory");
                    spool::Spool::in_temp_dir()
                })
            });
        let ttl = config.secret_cache_ttl;
        let inner = Arc::new(Inner {
            meta,
            blobs,
            config,
            workers,
            tokens: access::TokenCache::new(ttl),
            shares: sharing::ShareCache::new(ttl),
            previews: preview_cache::PreviewBytes::default(),
            derived: derived::DerivedCache::default(),
            mail: std::sync::OnceLock::new(),
            passcode_gate: sharing::PasscodeGate::default(),
            spool,
            gc: maintenance::GcFence::default(),
        });
        // Weak: the store keeps the sink, and the vault keeps the store.
        let weak = Arc::downgrade(&inner);
        inner.meta.on_invalidation(Arc::new(move |change| {
            if let Some(inner) = weak.upgrade() {
                inner.forget(change);
            }
        }));
        Vault { inner }
    }

    /// Ok when the metadata store answers a read (blocking).
    pub fn health_blocking(&self) -> Result<(), VaultError> {
        self.inner.meta.record(RecordId::from_bytes([0; 16]))?;
        Ok(())
    }

    pub fn config(&self) -> &VaultConfig {
        &self.inner.config
    }

    /// Runs `job` on a blocking thread once one of the vault's worker slots is free.
    ///
    /// The slot belongs to the job: dropping the returned future (the client went away, a
    /// timeout fired) cannot stop a blocking job, so its slot stays taken until the job ends,
    /// and no more than `workers` jobs ever run at once.
    pub async fn run_blocking<T, F>(&self, job: F) -> Result<T, VaultError>
    where
        F: FnOnce(&Vault) -> Result<T, VaultError> + Send + 'static,
        T: Send + 'static,
    {
        let permit = self
            .inner
            .workers
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| VaultError::Task("worker pool closed".into()))?;
        let vault = self.clone();
        tokio::task::spawn_blocking(move || {
            let result = job(&vault);
            drop(permit);
            result
        })
        .await
        .map_err(|e| VaultError::Task(e.to_string()))?
    }

    /// Worker slots free right now (see [`Vault::run_blocking`]).
    pub fn free_workers(&self) -> usize {
        self.inner.workers.available_permits()
    }

    /// Runs a short blocking job (a metadata read, a small write) on tokio's blocking threads,
    /// without waiting for a worker slot: it must never queue behind a long render.
    pub async fn run_io<T, F>(&self, job: F) -> Result<T, VaultError>
    where
        F: FnOnce(&Vault) -> Result<T, VaultError> + Send + 'static,
        T: Send + 'static,
    {
        let vault = self.clone();
        tokio::task::spawn_blocking(move || job(&vault))
            .await
            .map_err(|e| VaultError::Task(e.to_string()))?
    }
}
