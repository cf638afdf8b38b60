//! The HealthVault medical-image-study v2 model (type `cdfc0a9b-6d3b-4d16-afa8-02b86d621a8d`)
//! and the per-instance facts it is assembled from.
//!
//! The shapes follow `medical-image-study.2.xsd`: a study needs `when` and at least one
//! series, a series at least one image, every optional text is non-blank.

mod assemble;
mod codable;
mod datetime;
mod dicom_text;
mod digest;
mod facts;
mod non_empty;
mod party;

pub use assemble::{StudyAssembly, assemble_study};
pub use codable::{CodableValue, CodedValue};
pub use datetime::{HvDate, HvDateTime, HvTime};
pub use dicom_text::{parse_da, parse_da_tm, parse_tm, person_name_display, person_name_parts};
pub use digest::{SeriesDigest, StudyDigest};
pub use facts::{Code, InstanceFacts, PreviewRef, SeriesAttributes, StudyAttributes};
pub use non_empty::NonEmpty;
pub use party::{Address, Contact, Email, Name, Organization, Person, Phone};

use crate::NonBlank;

/// One DICOM study as HealthVault describes it (`<medical-image-study>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MedicalImageStudy {
    pub when: HvDateTime,
    pub patient_name: Option<NonBlank>,
    pub description: Option<NonBlank>,
    pub series: NonEmpty<Series>,
    pub reason: Option<CodableValue>,
    pub preview_blob_name: Option<NonBlank>,
    pub key_images: Vec<SeriesImage>,
    pub study_instance_uid: Option<NonBlank>,
    pub referring_physician: Option<Person>,
    pub accession_number: Option<NonBlank>,
}

impl MedicalImageStudy {
    /// The smallest valid study: a date and its series; everything else absent.
    pub fn new(when: HvDateTime, series: NonEmpty<Series>) -> Self {
        MedicalImageStudy {
            when,
            patient_name: None,
            description: None,
            series,
            reason: None,
            preview_blob_name: None,
            key_images: Vec::new(),
            study_instance_uid: None,
            referring_physician: None,
            accession_number: None,
        }
    }
}

/// One series of a study (`medical-image-study-series`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    pub acquisition_datetime: Option<HvDateTime>,
    pub description: Option<NonBlank>,
    pub images: NonEmpty<SeriesImage>,
    pub institution_name: Option<Organization>,
    pub modality: Option<CodableValue>,
    pub body_part: Option<CodableValue>,
    pub preview_blob_name: Option<NonBlank>,
    pub series_instance_uid: Option<NonBlank>,
}

impl Series {
    pub fn new(images: NonEmpty<SeriesImage>) -> Self {
        Series {
            acquisition_datetime: None,
            description: None,
            images,
            institution_name: None,
            modality: None,
            body_part: None,
            preview_blob_name: None,
            series_instance_uid: None,
        }
    }
}

/// One image of a series, by blob name (`medical-image-study-series-image`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesImage {
    pub image_blob_name: NonBlank,
    pub image_preview_blob_name: Option<NonBlank>,
}
