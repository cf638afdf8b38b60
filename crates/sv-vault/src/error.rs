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
    /// The frames or bulk data asked for cannot be answered from this instance.
    #[error("{0}")]
    Frames(FrameRefusal),
    #[error("background task failed: {0}")]
    Task(String),
    /// A stored instance could not be de-identified for a share.
    #[error("an instance could not be de-identified: {0}")]
    Deidentify(String),
    /// A race with the garbage collector that only a new request can settle (see
    /// `maintenance.rs`): nothing was named; the client should send the same request again.
    #[error("the store is busy; send the request again")]
    Busy,
}

/// Why a frame or bulk data request cannot be answered (the request's fault or a pixel data
/// layout we do not serve, not a broken file).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameRefusal {
    /// Empty, with frame 0, or with a number repeated.
    #[error("invalid frame list: {0}")]
    InvalidList(&'static str),
    /// A frame beyond the instance's `frames` (0 when it has no Pixel Data).
    #[error("frame {number} does not exist: the instance has {frames}")]
    NoSuchFrame { number: u32, frames: u32 },
    /// Pixel data that cannot be cut into frames, or encapsulated Pixel Data asked for whole.
    #[error("not servable: {0}")]
    NotServable(String),
}
