//! `InstanceSummary`: every study, series and instance attribute HealthVault, FHIR and QIDO need.
//!
//! Values are the raw DICOM strings decoded to UTF-8 (Specific Character Set honoured) and trimmed
//! of padding. Their readings as HealthVault values (DA, TM, PN) are `sv_model::study::parse_da`,
//! `parse_tm` and `person_name_display`, where study assembly uses them.

use dicom_dictionary_std::tags;
use dicom_object::DefaultDicomObject;

use crate::attrs::{Obj, first_item, int, items, text};
use crate::error::DicomError;
use crate::framing::MetaInfo;

/// (0032,1030) ReasonForStudy: retired, but HealthVault maps it.
const REASON_FOR_STUDY: dicom_core::Tag = dicom_core::Tag(0x0032, 0x1030);

/// SOP Class UID of Key Object Selection documents.
pub const KEY_OBJECT_SELECTION_SOP_CLASS: &str = "1.2.840.10008.5.1.4.1.1.88.59";

/// Study, series and instance attributes of one instance, as plain values.
///
/// `Debug` shows identifiers and image facts only: names, dates of birth and free text are
/// patient data and stay out of logs.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct InstanceSummary {
    // --- study ---
    /// (0020,000D), required.
    pub study_instance_uid: String,
    /// (0008,0020) DA, e.g. `20090108`.
    pub study_date: Option<String>,
    /// (0008,0030) TM.
    pub study_time: Option<String>,
    /// (0008,1030).
    pub study_description: Option<String>,
    /// (0008,0050).
    pub accession_number: Option<String>,
    /// (0008,0090) PN, raw (`Family^Given`).
    pub referring_physician_name: Option<String>,
    /// (0032,1030) ReasonForStudy, else (0040,1002) ReasonForTheRequestedProcedure (top level or
    /// first Request Attributes item), else (0032,1060) RequestedProcedureDescription.
    pub reason_for_study: Option<String>,
    /// (0010,0010) PN, raw.
    pub patient_name: Option<String>,
    /// (0010,0020).
    pub patient_id: Option<String>,
    /// (0010,0030) DA.
    pub patient_birth_date: Option<String>,
    /// (0010,0040) `M`, `F`, `O`.
    pub patient_sex: Option<String>,
    /// (0020,0010).
    pub study_id: Option<String>,
    /// (0008,0201) `&ZZXX`, e.g. `+0100`.
    pub timezone_offset_from_utc: Option<String>,
    /// (0008,0005) as found in the file (text here is already UTF-8).
    pub specific_character_set: Option<String>,
    /// (0040,1001) RequestedProcedureID of the first Request Attributes item.
    pub requested_procedure_id: Option<String>,
    /// (0040,0009) ScheduledProcedureStepID of the first Request Attributes item.
    pub scheduled_procedure_step_id: Option<String>,

    // --- series ---
    /// (0020,000E), required.
    pub series_instance_uid: String,
    /// (0020,0011) IS.
    pub series_number: Option<i64>,
    /// (0008,0060) CS.
    pub modality: Option<String>,
    /// (0008,103E).
    pub series_description: Option<String>,
    /// (0018,0015) CS.
    pub body_part_examined: Option<String>,
    /// (0020,0060) Laterality, else (0020,0062) ImageLaterality.
    pub laterality: Option<String>,
    /// (0008,0021) DA.
    pub series_date: Option<String>,
    /// (0008,0031) TM.
    pub series_time: Option<String>,
    /// (0008,0022) DA.
    pub acquisition_date: Option<String>,
    /// (0008,0032) TM.
    pub acquisition_time: Option<String>,
    /// (0008,002A) DT.
    pub acquisition_datetime: Option<String>,
    /// (0008,0080).
    pub institution_name: Option<String>,
    /// (0040,0244) DA.
    pub performed_procedure_step_start_date: Option<String>,
    /// (0040,0245) TM.
    pub performed_procedure_step_start_time: Option<String>,

    // --- instance ---
    /// (0008,0018), else the meta's MediaStorageSOPInstanceUID; required.
    pub sop_instance_uid: String,
    /// (0008,0016), else the meta's MediaStorageSOPClassUID; required.
    pub sop_class_uid: String,
    /// (0020,0013) IS.
    pub instance_number: Option<i64>,
    /// (0002,0010) as declared (what the pixel codec follows).
    pub transfer_syntax_uid: String,
    /// (0008,0008) ImageType, values joined by `\`.
    pub image_type: Option<String>,
    /// (0008,0023) DA.
    pub content_date: Option<String>,
    /// (0008,0033) TM.
    pub content_time: Option<String>,
    /// Code meaning of the first (0040,A043) ConceptNameCodeSequence item: an SR/KOS title.
    pub document_title: Option<String>,
    /// (0028,0010).
    pub rows: Option<u16>,
    /// (0028,0011).
    pub columns: Option<u16>,
    /// (0028,0008) IS; `None` when absent or unreadable (rendering then says which).
    pub number_of_frames: Option<u32>,
    /// (0028,0002).
    pub samples_per_pixel: Option<u16>,
    /// (0028,0004).
    pub photometric_interpretation: Option<String>,
    /// (0028,0100).
    pub bits_allocated: Option<u16>,
    /// (0028,0101).
    pub bits_stored: Option<u16>,
    /// (0028,0103): 0 unsigned, 1 two's complement.
    pub pixel_representation: Option<u16>,
    /// Whether (7FE0,0010) Pixel Data is present (always `false` from a header-only parse,
    /// which stops before it; use [`InstanceSummary::is_image`]).
    pub has_pixel_data: bool,
    /// For Key Object Selection documents: SOP Instance UIDs of the key images, in content order.
    pub key_image_sop_instance_uids: Vec<String>,
    /// (0008,1032) Procedure Code Sequence items that carry a code value and a scheme (at
    /// most [`MAX_PROCEDURE_CODES`]).
    pub procedure_codes: Vec<ProcedureCode>,
}

/// Most Procedure Code Sequence items kept.
pub const MAX_PROCEDURE_CODES: usize = 8;

/// One Procedure Code Sequence item: (0008,0100) Code Value (or (0008,0119) Long Code Value),
/// (0008,0102) Coding Scheme Designator, (0008,0104) Code Meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcedureCode {
    pub value: String,
    pub scheme: String,
    pub meaning: Option<String>,
}

impl std::fmt::Debug for InstanceSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstanceSummary")
            .field("study_instance_uid", &self.study_instance_uid)
            .field("series_instance_uid", &self.series_instance_uid)
            .field("sop_instance_uid", &self.sop_instance_uid)
            .field("sop_class_uid", &self.sop_class_uid)
            .field("transfer_syntax_uid", &self.transfer_syntax_uid)
            .field("modality", &self.modality)
            .field("rows", &self.rows)
            .field("columns", &self.columns)
            .field("number_of_frames", &self.number_of_frames)
            .field(
                "photometric_interpretation",
                &self.photometric_interpretation,
            )
            .finish_non_exhaustive()
    }
}

impl InstanceSummary {
    /// Whether this instance has pixels to preview: Rows, Columns and Pixel Data (or, after a
    /// header-only parse, Rows, Columns and a photometric interpretation).
    pub fn is_image(&self) -> bool {
        let dims = self.rows.unwrap_or(0) > 0 && self.columns.unwrap_or(0) > 0;
        dims && (self.has_pixel_data || self.photometric_interpretation.is_some())
    }

    /// Whether this is a Key Object Selection document.
    pub fn is_key_object_selection(&self) -> bool {
        self.sop_class_uid == KEY_OBJECT_SELECTION_SOP_CLASS
    }

    /// Number of frames, 1 when the attribute is absent.
    pub fn frames(&self) -> u32 {
        self.number_of_frames.unwrap_or(1).max(1)
    }
}

fn required(v: Option<String>, keyword: &'static str, strict: bool) -> Result<String, DicomError> {
    match v {
        Some(v) => Ok(v),
        None if strict => Err(DicomError::MissingAttribute { keyword }),
        None => Ok(String::new()),
    }
}

fn u16_of(o: &Obj, tag: dicom_core::Tag) -> Option<u16> {
    int(o, tag).and_then(|v| u16::try_from(v).ok())
}

/// Builds the summary; `full` says whether Pixel Data was read (else its absence means nothing).
pub(crate) fn extract(
    file: &DefaultDicomObject,
    meta: &MetaInfo,
    full: bool,
    strict: bool,
) -> Result<InstanceSummary, DicomError> {
    let o: &Obj = file;
    let request = first_item(o, tags::REQUEST_ATTRIBUTES_SEQUENCE);
    let from_request = |tag| request.and_then(|r| text(r, tag));
    let reason = text(o, REASON_FOR_STUDY)
        .or_else(|| text(o, tags::REASON_FOR_THE_REQUESTED_PROCEDURE))
        .or_else(|| from_request(tags::REASON_FOR_THE_REQUESTED_PROCEDURE))
        .or_else(|| text(o, tags::REQUESTED_PROCEDURE_DESCRIPTION))
        .or_else(|| from_request(tags::REQUESTED_PROCEDURE_DESCRIPTION));
    let sop_class_uid = required(
        text(o, tags::SOP_CLASS_UID).or_else(|| meta.sop_class_uid.clone()),
        "SOPClassUID",
        strict,
    )?;
    let key_images = if sop_class_uid == KEY_OBJECT_SELECTION_SOP_CLASS {
        key_images(o)
    } else {
        Vec::new()
    };
    Ok(InstanceSummary {
        study_instance_uid: required(
            text(o, tags::STUDY_INSTANCE_UID),
            "StudyInstanceUID",
            strict,
        )?,
        study_date: text(o, tags::STUDY_DATE),
        study_time: text(o, tags::STUDY_TIME),
        study_description: text(o, tags::STUDY_DESCRIPTION),
        accession_number: text(o, tags::ACCESSION_NUMBER),
        referring_physician_name: text(o, tags::REFERRING_PHYSICIAN_NAME),
        reason_for_study: reason,
        patient_name: text(o, tags::PATIENT_NAME),
        patient_id: text(o, tags::PATIENT_ID),
        patient_birth_date: text(o, tags::PATIENT_BIRTH_DATE),
        patient_sex: text(o, tags::PATIENT_SEX),
        study_id: text(o, tags::STUDY_ID),
        timezone_offset_from_utc: text(o, tags::TIMEZONE_OFFSET_FROM_UTC),
        specific_character_set: text(o, tags::SPECIFIC_CHARACTER_SET),
        requested_procedure_id: from_request(tags::REQUESTED_PROCEDURE_ID),
        scheduled_procedure_step_id: from_request(tags::SCHEDULED_PROCEDURE_STEP_ID),
        series_instance_uid: required(
            text(o, tags::SERIES_INSTANCE_UID),
            "SeriesInstanceUID",
            strict,
        )?,
        series_number: int(o, tags::SERIES_NUMBER),
        modality: text(o, tags::MODALITY),
        series_description: text(o, tags::SERIES_DESCRIPTION),
        body_part_examined: text(o, tags::BODY_PART_EXAMINED),
        laterality: text(o, tags::LATERALITY).or_else(|| text(o, tags::IMAGE_LATERALITY)),
        series_date: text(o, tags::SERIES_DATE),
        series_time: text(o, tags::SERIES_TIME),
        acquisition_date: text(o, tags::ACQUISITION_DATE),
        acquisition_time: text(o, tags::ACQUISITION_TIME),
        acquisition_datetime: text(o, tags::ACQUISITION_DATE_TIME),
        institution_name: text(o, tags::INSTITUTION_NAME),
        performed_procedure_step_start_date: text(o, tags::PERFORMED_PROCEDURE_STEP_START_DATE),
        performed_procedure_step_start_time: text(o, tags::PERFORMED_PROCEDURE_STEP_START_TIME),
        sop_instance_uid: required(
            text(o, tags::SOP_INSTANCE_UID).or_else(|| meta.sop_instance_uid.clone()),
            "SOPInstanceUID",
            strict,
        )?,
        sop_class_uid,
        instance_number: int(o, tags::INSTANCE_NUMBER),
        transfer_syntax_uid: file.meta().transfer_syntax().to_string(),
        image_type: text(o, tags::IMAGE_TYPE),
        content_date: text(o, tags::CONTENT_DATE),
        content_time: text(o, tags::CONTENT_TIME),
        document_title: first_item(o, tags::CONCEPT_NAME_CODE_SEQUENCE)
            .and_then(|i| text(i, tags::CODE_MEANING)),
        rows: u16_of(o, tags::ROWS),
        columns: u16_of(o, tags::COLUMNS),
        number_of_frames: int(o, tags::NUMBER_OF_FRAMES).and_then(|v| u32::try_from(v).ok()),
        samples_per_pixel: u16_of(o, tags::SAMPLES_PER_PIXEL),
        photometric_interpretation: text(o, tags::PHOTOMETRIC_INTERPRETATION),
        bits_allocated: u16_of(o, tags::BITS_ALLOCATED),
        bits_stored: u16_of(o, tags::BITS_STORED),
        pixel_representation: u16_of(o, tags::PIXEL_REPRESENTATION),
        has_pixel_data: full && o.get(tags::PIXEL_DATA).is_some(),
        key_image_sop_instance_uids: key_images,
        procedure_codes: items(o, tags::PROCEDURE_CODE_SEQUENCE)
            .iter()
            .filter_map(|item| {
                Some(ProcedureCode {
                    value: text(item, tags::CODE_VALUE)
                        .or_else(|| text(item, tags::LONG_CODE_VALUE))?,
                    scheme: text(item, tags::CODING_SCHEME_DESIGNATOR)?,
                    meaning: text(item, tags::CODE_MEANING),
                })
            })
            .take(MAX_PROCEDURE_CODES)
            .collect(),
    })
}

/// Referenced SOP Instance UIDs of IMAGE content items anywhere in the content tree (bounded).
fn key_images(o: &Obj) -> Vec<String> {
    let mut out = Vec::new();
    collect_images(o, 0, &mut out);
    out
}

fn collect_images(o: &Obj, depth: u32, out: &mut Vec<String>) {
    if depth > 32 {
        return;
    }
    for item in items(o, tags::CONTENT_SEQUENCE) {
        if text(item, tags::VALUE_TYPE).as_deref() == Some("IMAGE") {
            for r in items(item, tags::REFERENCED_SOP_SEQUENCE) {
                if let Some(uid) = text(r, tags::REFERENCED_SOP_INSTANCE_UID)
                    && !out.contains(&uid)
                {
                    out.push(uid);
                }
            }
        }
        collect_images(item, depth + 1, out);
    }
}
