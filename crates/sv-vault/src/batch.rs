//! Batches: many instances in one upload (a multipart body, a zipped CD export), ingested with
//! bounded concurrency and reported entry by entry; one bad file never loses the others.
//!
//! A zip is read from a file the caller spooled, and its bounds are checked before anything is
//! stored: the entry count and the declared expanded size from the central directory, then a
//! verification pass that inflates every entry into nothing, so a zip that lies about its sizes
//! or is damaged is refused whole. Entries are then read one at a time on a blocking thread and
//! handed to the ingest workers. DICOMDIR, operating-system clutter and non-DICOM files are
//! reported as skipped; entries with unsafe paths (`../`, absolute) as failed (`unsafe-path`).

use std::fs::File;
use std::io::{self, Read};

use sv_model::RecordId;
use tokio::task::JoinSet;
use tracing::{error, info};
use zip::ZipArchive;
use zip::result::ZipError;

use crate::{
    IngestOptions, IngestStatus, InstanceBytes, InstanceReport, Reason, SpoolFile, Vault,
    VaultError,
};

/// One entry of a batch report, in upload order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchItem {
    /// An entry that went through ingest, whatever became of it.
    Instance(InstanceReport),
    /// An entry that is not an instance: DICOMDIR, a README, `.DS_Store`.
    Skipped { source: String, reason: Reason },
}

/// Instances of one upload being ingested, at most `max_inflight` at a time, so the bytes held
/// in memory stay bounded however long the upload is.
#[derive(Debug)]
pub struct Batch {
    vault: Vault,
    record: RecordId,
    options: IngestOptions,
    /// Report files that are not DICOM as skipped rather than failed (a CD export has some).
    skip_not_dicom: bool,
    max_inflight: usize,
    inflight: JoinSet<(usize, BatchItem)>,
    items: Vec<Option<BatchItem>>,
}

impl Batch {
    /// A batch ingesting into `record` with `options` (its `source` is set per entry).
    pub fn new(vault: &Vault, record: RecordId, options: IngestOptions) -> Batch {
        Batch {
            vault: vault.clone(),
            record,
            options,
            skip_not_dicom: false,
            max_inflight: vault.config().workers.max(1) + 1,
            inflight: JoinSet::new(),
            items: Vec::new(),
        }
    }

    /// Files that are not DICOM become `Skipped` instead of `Failed`.
    pub fn skipping_non_dicom(mut self) -> Batch {
        self.skip_not_dicom = true;
        self
    }

    /// Hands one instance to the workers; waits first while `max_inflight` are under way.
    pub async fn submit(
        &mut self,
        source: String,
        bytes: impl AsRef<[u8]> + Send + Sync + 'static,
    ) {
        self.submit_instance(source, InstanceBytes::memory(bytes))
            .await;
    }

    /// [`Batch::submit`] of bytes in memory or in a spool file.
    pub async fn submit_instance(&mut self, source: String, bytes: InstanceBytes) {
        while self.inflight.len() >= self.max_inflight {
            self.join_one().await;
        }
        let slot = self.items.len();
        self.items.push(None);
        let vault = self.vault.clone();
        let record = self.record;
        let skip = self.skip_not_dicom;
        let options = IngestOptions {
            source: Some(source.clone()),
            ..self.options.clone()
        };
        self.inflight.spawn(async move {
            let item = match vault.ingest_instance(record, bytes, options).await {
                Ok(report) => classify(report, skip),
                Err(e) => {
                    error!(error = %e, %record, "ingest of a batch entry failed");
                    BatchItem::Instance(store_failed(source))
                }
            };
            (slot, item)
        });
    }

    /// Records an entry refused before ingest (too large, unsafe path …).
    pub fn fail(&mut self, source: String, reason: Reason) {
        self.items
            .push(Some(BatchItem::Instance(InstanceReport::failed(
                Some(source),
                reason,
            ))));
    }

    /// Records an entry that is not an instance.
    pub fn skip(&mut self, source: String, reason: Reason) {
        self.items.push(Some(BatchItem::Skipped { source, reason }));
    }

    /// Entries so far (submitted, failed or skipped).
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Waits for every instance and returns the report, in upload order.
    pub async fn finish(mut self) -> Vec<BatchItem> {
        while !self.inflight.is_empty() {
            self.join_one().await;
        }
        self.items
            .into_iter()
            .map(|i| i.unwrap_or_else(|| BatchItem::Instance(store_failed(String::new()))))
            .collect()
    }

    async fn join_one(&mut self) {
        match self.inflight.join_next().await {
            Some(Ok((slot, item))) => self.items[slot] = Some(item),
            // A panicked ingest leaves its slot empty; `finish` reports it as failed.
            Some(Err(e)) => error!(error = %e, "batch ingest task failed"),
            None => {}
        }
    }
}

fn classify(report: InstanceReport, skip_not_dicom: bool) -> BatchItem {
    let not_dicom = report.status == IngestStatus::Failed
        && report
            .reason
            .as_ref()
            .is_some_and(|r| r.code == "not-dicom");
    match (skip_not_dicom && not_dicom, report.reason.clone()) {
        (true, Some(reason)) => BatchItem::Skipped {
            source: report.source.unwrap_or_default(),
            reason,
        },
        _ => BatchItem::Instance(report),
    }
}

fn store_failed(source: String) -> InstanceReport {
    InstanceReport::failed(
        Some(source),
        Reason::new("internal", "the server could not store this instance"),
    )
}

/// Bounds on a zip upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZipLimits {
    pub max_entries: usize,
    /// Most bytes all entries together may expand to (declared and actual).
    pub max_expanded_bytes: u64,
}

/// Why a zip upload is refused as a whole (nothing of it is stored).
#[derive(Debug, thiserror::Error)]
pub enum ZipRefusal {
    #[error("the upload is not a zip archive")]
    NotAZip,
    #[error("the zip archive is damaged")]
    Damaged,
    #[error("the zip archive has more than {max} entries")]
    TooManyEntries { max: usize },
    #[error("the zip archive expands to more than {max} bytes")]
    TooLarge { max: u64 },
}

/// A zip ingest failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum ZipIngestError {
    #[error(transparent)]
    Refused(#[from] ZipRefusal),
    #[error("cannot read the spooled zip")]
    Io(#[source] io::Error),
    #[error(transparent)]
    Vault(#[from] VaultError),
}

/// What to do with one zip entry, decided from the central directory.
#[derive(Debug)]
enum Plan {
    Ingest { index: usize, source: String },
    Fail { source: String, reason: Reason },
    Skip { source: String, reason: Reason },
}

/// One entry on its way from the reader thread to the workers.
#[derive(Debug)]
enum Entry {
    Bytes {
        source: String,
        bytes: InstanceBytes,
    },
    Fail {
        source: String,
        reason: Reason,
    },
    Skip {
        source: String,
        reason: Reason,
    },
}

impl Vault {
    /// Ingests every DICOM file of a zip (folders, DICOMDIR sets, clutter), entry by entry.
    ///
    /// Refused whole, before anything is stored, when it is not a zip, is damaged, has too many
    /// entries or expands (declared or actually) beyond `limits`.
    pub async fn ingest_zip(
        &self,
        record: RecordId,
        file: File,
        limits: ZipLimits,
        options: IngestOptions,
    ) -> Result<Vec<BatchItem>, ZipIngestError> {
        let max_instance = self.config().limits.max_instance_bytes;
        // The check inflates every entry: CPU work, so it takes a worker slot like a parse.
        let (archive, plans) = self
            .run_blocking(move |_| Ok(check_zip(file, limits, max_instance)))
            .await??;
        info!(%record, entries = plans.len(), "zip upload accepted");

        let (tx, mut rx) = tokio::sync::mpsc::channel::<Entry>(1);
        let vault = self.clone();
        let reader = tokio::task::spawn_blocking(move || read_entries(&vault, archive, plans, &tx));
        let mut batch = Batch::new(self, record, options).skipping_non_dicom();
        while let Some(entry) = rx.recv().await {
            match entry {
                Entry::Bytes { source, bytes } => batch.submit_instance(source, bytes).await,
                Entry::Fail { source, reason } => batch.fail(source, reason),
                Entry::Skip { source, reason } => batch.skip(source, reason),
            }
        }
        let items = batch.finish().await;
        reader
            .await
            .map_err(|e| VaultError::Task(e.to_string()))?
            .map_err(ZipIngestError::Io)?;
        Ok(items)
    }
}

/// Opens the archive, checks its bounds and plans every entry (blocking).
fn check_zip(
    file: File,
    limits: ZipLimits,
    max_instance: u64,
) -> Result<(ZipArchive<File>, Vec<Plan>), ZipIngestError> {
    let mut archive = ZipArchive::new(file).map_err(|e| match e {
        ZipError::Io(e) if e.kind() != io::ErrorKind::UnexpectedEof => ZipIngestError::Io(e),
        _ => ZipRefusal::NotAZip.into(),
    })?;
    if archive.len() > limits.max_entries {
        return Err(ZipRefusal::TooManyEntries {
            max: limits.max_entries,
        }
        .into());
    }
    let mut plans = Vec::with_capacity(archive.len());
    let mut declared: u64 = 0;
    for index in 0..archive.len() {
        let entry = archive
            .by_index_data(index)
            .map_err(|_| ZipRefusal::Damaged)?;
        if entry.is_dir() {
            continue;
        }
        let source = String::from_utf8_lossy(entry.name_raw()).into_owned();
        declared = declared.saturating_add(entry.size());
        plans.push(plan_entry(index, source, &entry, max_instance));
    }
    if declared > limits.max_expanded_bytes {
        return Err(ZipRefusal::TooLarge {
            max: limits.max_expanded_bytes,
        }
        .into());
    }
    verify(&mut archive, &mut plans, limits.max_expanded_bytes)?;
    Ok((archive, plans))
}

fn plan_entry(
    index: usize,
    source: String,
    entry: &zip::read::ZipFileEntry<'_>,
    max_instance: u64,
) -> Plan {
    // The zip crate makes absolute names relative; a CD export has none, so refuse them too.
    let bytes = source.as_bytes();
    let absolute = bytes.first().is_some_and(|b| matches!(b, b'/' | b'\\'))
        || (bytes.len() > 1 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':');
    let Some(path) = entry.enclosed_name().filter(|_| !absolute) else {
        let reason = Reason::new("unsafe-path", "the entry's path leaves the archive");
        return Plan::Fail { source, reason };
    };
    let base = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let clutter = base == ".DS_Store"
        || base.starts_with("._")
        || base.eq_ignore_ascii_case("thumbs.db")
        || base.eq_ignore_ascii_case("desktop.ini")
        || path.components().any(|c| c.as_os_str() == "__MACOSX");
    if base.eq_ignore_ascii_case("DICOMDIR") {
        let reason = Reason::new(
            "dicomdir",
            "a DICOMDIR is a directory of the set, not an instance",
        );
        Plan::Skip { source, reason }
    } else if clutter {
        let reason = Reason::new("not-dicom", "an operating-system file");
        Plan::Skip { source, reason }
    } else if entry.encrypted() {
        let reason = Reason::new("unsupported-zip-entry", "the entry is encrypted");
        Plan::Fail { source, reason }
    } else if entry.size() > max_instance {
        let reason = Reason::new(
            "too-large",
            format!("an instance is at most {max_instance} bytes"),
        );
        Plan::Fail { source, reason }
    } else {
        Plan::Ingest { index, source }
    }
}

/// Inflates every entry to be ingested into nothing, counting: damage (CRC, truncation), sizes
/// that differ from the directory's and a total over the bound refuse the whole zip.
fn verify(
    archive: &mut ZipArchive<File>,
    plans: &mut [Plan],
    max_expanded: u64,
) -> Result<(), ZipIngestError> {
    let mut total: u64 = 0;
    for plan in plans.iter_mut() {
        let Plan::Ingest { index, source } = plan else {
            continue;
        };
        let mut entry = match archive.by_index(*index) {
            Ok(entry) => entry,
            Err(ZipError::UnsupportedArchive(_) | ZipError::CompressionMethodNotSupported(_)) => {
                let reason = Reason::new(
                    "unsupported-zip-entry",
                    "the entry's compression method is not supported",
                );
                *plan = Plan::Fail {
                    source: std::mem::take(source),
                    reason,
                };
                continue;
            }
            Err(ZipError::Io(e)) => return Err(ZipIngestError::Io(e)),
            Err(_) => return Err(ZipRefusal::Damaged.into()),
        };
        let declared = entry.size();
        let budget = max_expanded.saturating_sub(total);
        let read = io::copy(
            &mut (&mut entry).take(budget.saturating_add(1)),
            &mut io::sink(),
        )
        .map_err(|_| ZipRefusal::Damaged)?;
        total = total.saturating_add(read);
        if total > max_expanded {
            return Err(ZipRefusal::TooLarge { max: max_expanded }.into());
        }
        if read != declared {
            return Err(ZipRefusal::Damaged.into());
        }
    }
    Ok(())
}

/// Reads the planned entries in order and sends them on (blocking; stops when nobody listens).
fn read_entries(
    vault: &Vault,
    mut archive: ZipArchive<File>,
    plans: Vec<Plan>,
    tx: &tokio::sync::mpsc::Sender<Entry>,
) -> io::Result<()> {
    for plan in plans {
        let entry = match plan {
            Plan::Fail { source, reason } => Entry::Fail { source, reason },
            Plan::Skip { source, reason } => Entry::Skip { source, reason },
            Plan::Ingest { index, source } => match read_entry(vault, &mut archive, index) {
                Ok(bytes) => Entry::Bytes { source, bytes },
                Err(ZipError::Io(e)) if e.kind() != io::ErrorKind::InvalidData => return Err(e),
                Err(_) => Entry::Fail {
                    source,
                    reason: Reason::new("malformed-zip", "the entry cannot be read"),
                },
            },
        };
        if tx.blocking_send(entry).is_err() {
            break;
        }
    }
    Ok(())
}

/// One entry's bytes; its size was checked (against the instance bound) and verified. An
/// entry above the vault's spool bound is inflated into a spool file, not into memory.
fn read_entry(
    vault: &Vault,
    archive: &mut ZipArchive<File>,
    index: usize,
) -> Result<InstanceBytes, ZipError> {
    let entry = archive.by_index(index)?;
    let size = entry.size();
    if size > vault.spool_above_bytes() {
        let mut file = vault.spool_file()?;
        let written = io::copy(&mut entry.take(size), &mut file)?;
        return Ok(InstanceBytes::File(std::sync::Arc::new(SpoolFile::new(
            file, written,
        ))));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    entry.take(size).read_to_end(&mut bytes)?;
    Ok(InstanceBytes::memory(bytes))
}
