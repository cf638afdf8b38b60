//! Per-instance ingest reports: what happened to each file of an upload.

use sv_blob::BlobId;
use sv_model::ThingId;

/// What became of one instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestStatus {
    /// New, and now durable.
    Stored,
    /// Replaced an earlier, different instance with the same SOP Instance UID (on request).
    Replaced,
    /// The same bytes were already stored under this SOP Instance UID: nothing changed.
    Duplicate,
    /// Different bytes already stored under this SOP Instance UID; refused (ask to replace).
    Conflict,
    /// Not stored; see the reason.
    Failed,
}

impl IngestStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            IngestStatus::Stored => "stored",
            IngestStatus::Replaced => "replaced",
            IngestStatus::Duplicate => "duplicate",
            IngestStatus::Conflict => "conflict",
            IngestStatus::Failed => "failed",
        }
    }

    /// Whether the instance is in the store after this ingest (new or already there).
    pub fn is_present(&self) -> bool {
        matches!(
            self,
            IngestStatus::Stored | IngestStatus::Replaced | IngestStatus::Duplicate
        )
    }
}

/// A stable reason code with a message free of patient data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    pub code: &'static str,
    pub message: String,
}

impl Reason {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Reason {
            code,
            message: message.into(),
        }
    }
}

/// The report on one instance of an ingest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceReport {
    /// Where the instance came from in the upload (a file name in a zip, a part number), if
    /// the caller said.
    pub source: Option<String>,
    pub status: IngestStatus,
    pub study_instance_uid: Option<String>,
    pub series_instance_uid: Option<String>,
    pub sop_instance_uid: Option<String>,
    pub sop_class_uid: Option<String>,
    pub thing_id: Option<ThingId>,
    pub blob_id: Option<BlobId>,
    /// Whether a preview was made (or already existed, for a duplicate).
    pub preview: bool,
    /// Why it failed, or why an image has no preview.
    pub reason: Option<Reason>,
}

impl InstanceReport {
    pub(crate) fn failed(source: Option<String>, reason: Reason) -> Self {
        InstanceReport {
            source,
            status: IngestStatus::Failed,
            study_instance_uid: None,
            series_instance_uid: None,
            sop_instance_uid: None,
            sop_class_uid: None,
            thing_id: None,
            blob_id: None,
            preview: false,
            reason: Some(reason),
        }
    }
}
