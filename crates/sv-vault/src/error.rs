//! Errors of the use cases. Expected outcomes of an ingest (duplicate, conflict, a bad file)
//! are not errors: they are the per-instance report.

use sv_model::{RecordId, ThingId};

/// A use case failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("record {0} does not exist")]
    RecordNotFound(RecordId),
    #[error("thing {0} does not exist")]
    ThingNotFound(ThingId),
    #[error("study {thing} has no instances to assemble")]
    EmptyStudy { thing: ThingId },
    #[error("metadata store failed")]
    Meta(#[from] sv_meta::MetaError),
    #[error("blob store failed")]
    Blob(#[from] sv_blob::BlobError),
    #[error("stored study cannot be expressed in the model")]
    Model(#[from] sv_model::ModelError),
    /// A stored DICOM file no longer parses (it did when it was ingested).
    #[error("a stored instance cannot be read")]
    StoredInstance(#[source] sv_dicom::DicomError),
    #[error("background task failed: {0}")]
    Task(String),
}
