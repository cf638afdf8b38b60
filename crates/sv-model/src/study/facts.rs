//! Per-instance facts: what the store keeps about each DICOM instance of a study.
//!
//! They are the source of truth for a study thing: the HealthVault XML, the FHIR resource and
//! the DICOMweb answers are all derived from them, so adding one instance writes one record.
//! Attribute values stay in their DICOM text form (DA, TM, PN, …), decoded to UTF-8.

use sv_blob::BlobId;

use crate::Timestamp;

/// Study-level attributes as one instance states them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StudyAttributes {
    pub study_date: Option<String>,
    pub study_time: Option<String>,
    pub description: Option<String>,
    pub accession_number: Option<String>,
    pub referring_physician: Option<String>,
    pub reason: Option<String>,
    pub patient_name: Option<String>,
    pub patient_id: Option<String>,
    pub patient_birth_date: Option<String>,
    pub patient_sex: Option<String>,
    pub study_id: Option<String>,
    pub timezone_offset: Option<String>,
}

/// Series-level attributes as one instance states them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SeriesAttributes {
    pub series_number: Option<i32>,
    pub modality: Option<String>,
    pub description: Option<String>,
    pub body_part: Option<String>,
    pub laterality: Option<String>,
    pub institution_name: Option<String>,
    pub series_date: Option<String>,
    pub series_time: Option<String>,
    pub acquisition_date: Option<String>,
    pub acquisition_time: Option<String>,
}

/// A coded concept as DICOM gives it (Code Value, Coding Scheme Designator, Code Meaning).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    pub value: String,
    pub scheme: String,
    pub meaning: Option<String>,
}

/// The stored preview of an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewRef {
    pub blob_id: BlobId,
    pub length: u64,
    pub media_type: String,
    pub width: u32,
    pub height: u32,
}

impl PreviewRef {
    /// `jpg` or `png`: the suffix of the preview's blob name.
    pub fn extension(&self) -> &'static str {
        if self.media_type == "image/png" {
            "png"
        } else {
            "jpg"
        }
    }
}

/// Everything the store keeps about one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceFacts {
    pub study_instance_uid: String,
    pub series_instance_uid: String,
    pub sop_instance_uid: String,
    pub sop_class_uid: String,
    pub instance_number: Option<i32>,
    pub transfer_syntax_uid: String,
    pub rows: Option<u32>,
    pub columns: Option<u32>,
    pub number_of_frames: Option<u32>,
    pub study: StudyAttributes,
    pub series: SeriesAttributes,
    /// The DICOM file as stored.
    pub blob_id: BlobId,
    pub length: u64,
    /// The rendered preview, for images that could be rendered.
    pub preview: Option<PreviewRef>,
    /// Why an image has no preview (a stable reason code), when it has none.
    pub preview_error: Option<String>,
    /// For Key Object Selection documents: the SOP Instance UIDs they name as key images.
    pub key_image_refs: Vec<String>,
    pub received: Timestamp,
    /// (0008,1032) Procedure Code Sequence: what was done (a study-level fact).
    pub procedure_codes: Vec<Code>,
    /// A document's title: the Concept Name Code Sequence's meaning (SR, KOS, PDF …).
    pub title: Option<String>,
}

impl InstanceFacts {
    /// The blob name of the DICOM file: its SOP Instance UID.
    pub fn blob_name(&self) -> &str {
        &self.sop_instance_uid
    }

    /// The blob name of its preview, `<SOPInstanceUID>.preview.jpg` (or `.png`).
    pub fn preview_blob_name(&self) -> Option<String> {
        self.preview
            .as_ref()
            .map(|p| preview_name(&self.sop_instance_uid, p))
    }
}

/// `<uid>.preview.<ext>`: the naming rule for instance, series and study previews alike.
pub(crate) fn preview_name(uid: &str, preview: &PreviewRef) -> String {
    format!("{uid}.preview.{}", preview.extension())
}
