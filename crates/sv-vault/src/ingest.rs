//! Ingest: DICOM bytes in, a durable instance of a study thing out.
//!
//! The order is the storage contract (DESIGN.md, Ingest): parse the header; refuse or skip
//! early what needs no work (duplicates, conflicts); store the file as a blob; render and store
//! the preview; then one metadata transaction adds the instance to its study. Blobs are durable
//! before the metadata that names them, so a crash in between leaves only unreferenced blobs.

use sv_blob::{BlobId, PutOutcome, UnsyncedPut};
use sv_dicom::{InstanceSummary, ParsedInstance, Preview};
use sv_meta::AddInstanceOutcome;
use sv_model::study::{Code, InstanceFacts, PreviewRef, SeriesAttributes, StudyAttributes};
use sv_model::{Audit, AuditAction, BlobName, RecordId, Timestamp, TokenId};
use tracing::{debug, info};

use crate::maintenance::BlobPin;
use crate::report::{IngestStatus, InstanceReport, Reason};
use crate::{InstanceBytes, Vault, VaultError};

/// How to ingest.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// Replace an instance stored with the same SOP Instance UID but different bytes.
    pub replace: bool,
    /// The app token on whose behalf the ingest happens (for the audit trail).
    pub token: Option<TokenId>,
    /// Where the bytes came from (file name in a zip, part number), echoed in the report.
    pub source: Option<String>,
    /// Refuse (`study-mismatch`, nothing stored) an instance of another study: a STOW-RS
    /// request to `/studies/{study}` stores that study's instances only.
    pub expected_study: Option<String>,
}

/// An instance that passed the header checks and needs storing.
struct Admitted {
    parsed: ParsedInstance,
    report: InstanceReport,
}

/// The preview stage's outcome: the stored preview, or why there is none.
type Rendered = (Option<PreviewRef>, Option<Reason>);

/// A preview stored (maybe not durably yet) and pinned, or why there is none.
struct StoredPreview {
    rendered: Rendered,
    put: Option<UnsyncedPut>,
    pin: Option<BlobPin>,
    /// Its bytes, kept until the commit: to store them again if a collector of another
    /// process deleted them meanwhile (see [`Vault::commit_naming`]).
    bytes: Vec<u8>,
}

impl Vault {
    /// Ingests one instance on the calling thread (blocking: parse, hash, store, render, flush),
    /// one stage after the other. [`Vault::ingest`] runs the same stages, with the file's store
    /// and the render side by side.
    ///
    /// The file and its preview are appended without waiting, then made durable together by
    /// one sync before the metadata names them.
    ///
    /// A bad file is a `Failed` report, not an error; an error means the stores failed.
    pub fn ingest_blocking(
        &self,
        record: RecordId,
        bytes: &[u8],
        options: &IngestOptions,
    ) -> Result<InstanceReport, VaultError> {
        let admitted = match self.admit(record, bytes, options)? {
            Ok(admitted) => admitted,
            Err(done) => return Ok(done),
        };
        let (file, _file_pin) =
            self.put_pinned_unsynced(|| Some(self.inner.blobs.put_bytes_unsynced(bytes)))?;
        let preview = self.store_preview(self.render_preview(&admitted.parsed))?;
        let file_again = || self.inner.blobs.put_bytes(bytes);
        self.sync_and_commit(record, admitted, file, preview, options, file_again)
    }

    /// Ingests one instance (see [`Vault::ingest_blocking`]) off the async executor.
    ///
    /// Parsing and rendering are CPU work and wait for one of the vault's worker slots; storing
    /// the file (hash, write) runs beside the render on an IO thread, and so does storing the
    /// preview once rendered, so one upload uses both a core and the disk. The file's sync runs
    /// beside the render; the preview's, on an IO thread before the commit: the slots never
    /// sit idle behind an fsync.
    pub async fn ingest(
        &self,
        record: RecordId,
        bytes: impl AsRef<[u8]> + Send + Sync + 'static,
        options: IngestOptions,
    ) -> Result<InstanceReport, VaultError> {
        self.ingest_instance(record, InstanceBytes::memory(bytes), options)
            .await
    }

    /// [`Vault::ingest`] of bytes in memory or in a spool file. A spooled instance is read
    /// whole only on the worker slot that parses it (and dropped once parsed), and streamed
    /// from the file into the blob store.
    pub async fn ingest_instance(
        &self,
        record: RecordId,
        bytes: InstanceBytes,
        options: IngestOptions,
    ) -> Result<InstanceReport, VaultError> {
        let (input, opts) = (bytes.clone(), options.clone());
        let admitted = self
            .run_blocking(move |v| match &input {
                InstanceBytes::Memory(b) => v.admit(record, (**b).as_ref(), &opts),
                InstanceBytes::File(spool) => {
                    v.inner.spool.counted();
                    let whole = spool.read_all().map_err(sv_blob::BlobError::Source)?;
                    v.admit(record, &whole, &opts)
                }
            })
            .await?;
        let admitted = match admitted {
            Ok(admitted) => admitted,
            Err(done) => return Ok(done),
        };
        let input = bytes.clone();
        // The file's sync starts at once, beside the render: by the time the preview is
        // appended it is mostly done, and the preview's own sync is short.
        let store = self.run_io(move |v| {
            let (file, pin) = v.put_pinned_unsynced(|| {
                Some(match &input {
                    InstanceBytes::Memory(b) => v.inner.blobs.put_bytes_unsynced((**b).as_ref()),
                    // Big: streamed to a file of its own, durable at once.
                    InstanceBytes::File(spool) => v
                        .inner
                        .blobs
                        .put(&mut spool.reader())
                        .map(UnsyncedPut::durable),
                })
            })?;
            v.inner.blobs.sync_puts(&[file])?;
            Ok((file, pin))
        });
        // The preview's put is an append (no sync): it stays on the render's slot.
        let render = self.run_blocking(move |v| {
            let preview = v.store_preview(v.render_preview(&admitted.parsed))?;
            Ok((admitted, preview))
        });
        let (stored, render) = tokio::join!(store, render);
        let ((file, file_pin), (admitted, preview)) = (stored?, render?);
        // The pins live until the commit that names both blobs has ended.
        self.run_io(move |v| {
            let file_again = || match &bytes {
                InstanceBytes::Memory(b) => v.inner.blobs.put_bytes((**b).as_ref()),
                InstanceBytes::File(spool) => v.inner.blobs.put(&mut spool.reader()),
            };
            let committed =
                v.sync_and_commit(record, admitted, file, preview, &options, file_again);
            drop(file_pin);
            committed
        })
        .await
    }

    /// Parses the instance and answers what needs no storing: a refused file, a duplicate, a
    /// conflict (`Err` carries that final report).
    fn admit(
        &self,
        record: RecordId,
        bytes: &[u8],
        options: &IngestOptions,
    ) -> Result<Result<Admitted, InstanceReport>, VaultError> {
        let source = options.source.clone();
        // A refusal still says first that the record does not exist, if it does not.
        let refuse = |report: InstanceReport| {
            self.require_record(record)?;
            Ok(Err(report))
        };
        let parsed = match sv_dicom::parse(bytes, &self.inner.config.limits) {
            Ok(parsed) => parsed,
            Err(e) => {
                debug!(code = e.code(), "instance refused");
                return refuse(InstanceReport::failed(
                    source,
                    Reason::new(e.code(), e.to_string()),
                ));
            }
        };
        let summary = parsed.summary();
        let mut report = InstanceReport {
            source,
            status: IngestStatus::Failed,
            study_instance_uid: Some(summary.study_instance_uid.clone()),
            series_instance_uid: Some(summary.series_instance_uid.clone()),
            sop_instance_uid: Some(summary.sop_instance_uid.clone()),
            sop_class_uid: Some(summary.sop_class_uid.clone()),
            thing_id: None,
            blob_id: None,
            preview: false,
            reason: None,
        };
        if let Err(reason) = check_uids(summary) {
            report.reason = Some(reason);
            return refuse(report);
        }
        if let Some(expected) = &options.expected_study
            && *expected != summary.study_instance_uid
        {
            report.reason = Some(Reason::new(
                "study-mismatch",
                "the instance belongs to another study than the one addressed",
            ));
            return refuse(report);
        }

        // One question to the store: does the record exist (nothing is stored for one that
        // does not: the commit would fail after the file and its preview were written), and
        // does a live study hold this instance already (one of a deleted study is new again)?
        // Only an instance already stored needs its hash now (the blob store hashes while it
        // writes): a new one is hashed once.
        if let Some((thing, existing)) = self
            .inner
            .meta
            .live_instance(record, &summary.sop_instance_uid)
            .map_err(|e| match e {
                sv_meta::MetaError::RecordNotFound(_) => VaultError::RecordNotFound(record),
                e => e.into(),
            })?
        {
            let blob_id = BlobId::of(bytes);
            report.blob_id = Some(blob_id);
            report.thing_id = Some(thing);
            if existing.blob_id == blob_id {
                report.status = IngestStatus::Duplicate;
                report.preview = existing.preview.is_some();
                return Ok(Err(report));
            }
            if !options.replace {
                report.status = IngestStatus::Conflict;
                report.reason = Some(conflict_reason());
                return Ok(Err(report));
            }
        }
        Ok(Ok(Admitted { parsed, report }))
    }

    /// Makes the file and its preview durable (one sync for both), then commits; the preview's
    /// pin lasts until the commit has ended. `file_again` stores the file again (durably), for
    /// a commit refused because a collector of another process deleted it meanwhile.
    fn sync_and_commit(
        &self,
        record: RecordId,
        admitted: Admitted,
        file: UnsyncedPut,
        preview: StoredPreview,
        options: &IngestOptions,
        file_again: impl Fn() -> Result<PutOutcome, sv_blob::BlobError>,
    ) -> Result<InstanceReport, VaultError> {
        let StoredPreview {
            rendered,
            put,
            pin: _pin,
            bytes: preview_bytes,
        } = preview;
        let puts: Vec<UnsyncedPut> = std::iter::once(file).chain(put).collect();
        self.inner.blobs.sync_puts(&puts)?;
        let mut blobs = vec![file.outcome.id];
        blobs.extend(put.map(|p| p.outcome.id));
        let put_again = |id: &BlobId| {
            Some(if *id == file.outcome.id {
                file_again()
            } else {
                self.inner.blobs.put_bytes(&preview_bytes)
            })
        };
        self.commit_instance(
            record,
            admitted,
            file.outcome,
            rendered,
            options,
            &blobs,
            put_again,
        )
    }

    /// The last stage: with the file and its preview durable, one metadata transaction adds
    /// the instance to its study.
    #[allow(clippy::too_many_arguments)] // the stages' outcomes, each a different fact
    fn commit_instance(
        &self,
        record: RecordId,
        admitted: Admitted,
        stored: PutOutcome,
        rendered: Rendered,
        options: &IngestOptions,
        blobs: &[BlobId],
        put_again: impl FnMut(&BlobId) -> Option<Result<PutOutcome, sv_blob::BlobError>>,
    ) -> Result<InstanceReport, VaultError> {
        let Admitted { parsed, mut report } = admitted;
        report.blob_id = Some(stored.id);
        let (preview, preview_error) = rendered;
        report.preview = preview.is_some();
        report.reason = preview_error.clone();
        let facts = instance_facts(
            parsed.summary(),
            stored.id,
            stored.len,
            preview,
            preview_error,
        );
        let audit = Audit::now(AuditAction::Updated, options.token);

        let outcome = self.commit_naming(blobs, put_again, || {
            self.inner
                .meta
                .add_instance(record, &facts, options.replace, &audit)
        })??;
        match outcome {
            AddInstanceOutcome::Stored {
                thing_id: thing,
                replaced,
                ..
            } => {
                report.thing_id = Some(thing);
                report.status = if replaced {
                    IngestStatus::Replaced
                } else {
                    IngestStatus::Stored
                };
                info!(%record, %thing, status = report.status.as_str(), "instance ingested");
            }
            // Lost a race with an identical or different upload of the same instance.
            AddInstanceOutcome::Duplicate { thing_id: thing } => {
                report.thing_id = Some(thing);
                report.status = IngestStatus::Duplicate;
            }
            AddInstanceOutcome::Conflict {
                thing_id: thing, ..
            } => {
                report.thing_id = Some(thing);
                report.status = IngestStatus::Conflict;
                report.reason = Some(conflict_reason());
            }
        }
        Ok(report)
    }

    /// Renders the preview (CPU only). A file that cannot be rendered is still ingested, with
    /// the reason recorded; a non-image has neither (`Ok(None)`).
    fn render_preview(&self, parsed: &ParsedInstance) -> Result<Option<Preview>, Reason> {
        if !parsed.summary().is_image() {
            return Ok(None);
        }
        parsed
            .render_preview(&self.inner.config.preview)
            .map(Some)
            .map_err(|e| {
                info!(code = e.code(), "instance stored without a preview");
                Reason::new(e.code(), e.to_string())
            })
    }

    /// Stores what [`Vault::render_preview`] made (IO: a write; the caller syncs it), pinned
    /// until the caller has committed the metadata naming it.
    fn store_preview(
        &self,
        rendered: Result<Option<Preview>, Reason>,
    ) -> Result<StoredPreview, VaultError> {
        let none = |rendered| StoredPreview {
            rendered,
            put: None,
            pin: None,
            bytes: Vec::new(),
        };
        let preview = match rendered {
            Ok(Some(preview)) => preview,
            Ok(None) => return Ok(none((None, None))),
            Err(reason) => return Ok(none((None, Some(reason)))),
        };
        let (put, pin) =
            self.put_pinned_unsynced(|| Some(self.inner.blobs.put_bytes_unsynced(&preview.bytes)))?;
        let stored = put.outcome;
        let preview_ref = PreviewRef {
            blob_id: stored.id,
            length: stored.len,
            media_type: preview.format.media_type().to_owned(),
            width: preview.width,
            height: preview.height,
        };
        Ok(StoredPreview {
            rendered: (Some(preview_ref), None),
            put: Some(put),
            pin: Some(pin),
            bytes: preview.bytes,
        })
    }
}

fn conflict_reason() -> Reason {
    Reason::new(
        "sop-instance-conflict",
        "a different instance with this SOP Instance UID is already stored; ask to replace it",
    )
}

/// UIDs become blob names and URL segments: refuse what cannot be one.
fn check_uids(summary: &InstanceSummary) -> Result<(), Reason> {
    let uids = [
        ("StudyInstanceUID", &summary.study_instance_uid),
        ("SeriesInstanceUID", &summary.series_instance_uid),
        ("SOPInstanceUID", &summary.sop_instance_uid),
    ];
    for (keyword, uid) in uids {
        // Leave room for the ".preview.jpg" suffix within the blob-name bound.
        let fits = uid.len() <= BlobName::MAX_LEN - 16;
        if !fits || BlobName::non_empty(uid.as_str()).is_err() {
            return Err(Reason::new(
                "invalid-attribute",
                format!("{keyword} cannot be used as a name"),
            ));
        }
    }
    Ok(())
}

pub(crate) fn instance_facts(
    s: &InstanceSummary,
    blob_id: BlobId,
    length: u64,
    preview: Option<PreviewRef>,
    preview_error: Option<Reason>,
) -> InstanceFacts {
    let int = |v: Option<i64>| v.and_then(|n| i32::try_from(n).ok());
    InstanceFacts {
        study_instance_uid: s.study_instance_uid.clone(),
        series_instance_uid: s.series_instance_uid.clone(),
        sop_instance_uid: s.sop_instance_uid.clone(),
        sop_class_uid: s.sop_class_uid.clone(),
        instance_number: int(s.instance_number),
        transfer_syntax_uid: s.transfer_syntax_uid.clone(),
        rows: s.rows.map(u32::from),
        columns: s.columns.map(u32::from),
        number_of_frames: s.number_of_frames,
        study: StudyAttributes {
            study_date: s.study_date.clone(),
            study_time: s.study_time.clone(),
            description: s.study_description.clone(),
            accession_number: s.accession_number.clone(),
            referring_physician: s.referring_physician_name.clone(),
            reason: s.reason_for_study.clone(),
            patient_name: s.patient_name.clone(),
            patient_id: s.patient_id.clone(),
            patient_birth_date: s.patient_birth_date.clone(),
            patient_sex: s.patient_sex.clone(),
            study_id: s.study_id.clone(),
            timezone_offset: s.timezone_offset_from_utc.clone(),
        },
        series: SeriesAttributes {
            series_number: int(s.series_number),
            modality: s.modality.clone(),
            description: s.series_description.clone(),
            body_part: s.body_part_examined.clone(),
            laterality: s.laterality.clone(),
            institution_name: s.institution_name.clone(),
            series_date: s.series_date.clone(),
            series_time: s.series_time.clone(),
            acquisition_date: s.acquisition_date.clone(),
            acquisition_time: s.acquisition_time.clone(),
        },
        blob_id,
        length,
        preview,
        preview_error: preview_error.map(|r| r.code.to_owned()),
        key_image_refs: s.key_image_sop_instance_uids.clone(),
        received: Timestamp::now(),
        procedure_codes: s
            .procedure_codes
            .iter()
            .map(|c| Code {
                value: c.value.clone(),
                scheme: c.scheme.clone(),
                meaning: c.meaning.clone(),
            })
            .collect(),
        title: s.document_title.clone(),
    }
}
