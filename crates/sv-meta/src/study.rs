//! The study index: what `add_instance` reports, and the entries `fsck` walks.

use sv_model::{BlobId, ThingId, VersionStamp};

/// What adding one DICOM instance did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddInstanceOutcome {
    /// The instance is stored: `version` is the study thing's new version.
    Stored {
        thing_id: ThingId,
        version: VersionStamp,
        /// True when this instance created the study thing.
        created_study: bool,
        /// True when it replaced a different instance with the same SOP Instance UID.
        replaced: bool,
    },
    /// The same bytes were already stored under this SOP Instance UID: nothing was written.
    Duplicate { thing_id: ThingId },
    /// Different bytes are stored under this SOP Instance UID and `replace` was false.
    Conflict { thing_id: ThingId, existing: BlobId },
}

/// One entry of the SOP Instance UID index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceIndexEntry {
    pub sop_instance_uid: String,
    pub series_instance_uid: String,
    pub thing_id: ThingId,
    pub blob_id: BlobId,
}
