//! The R4 `ImagingStudy` resource of one study thing, mapped from its instances' facts
//! (`standards.md` §3.1).
//!
//! Mapping decisions, beyond the table:
//! - identifiers: the Study Instance UID (`urn:dicom:uid`, `urn:oid:<uid>`), the accession
//!   number (type `ACSN`, no system: the issuer is not stored) and the Study ID (0020,0010),
//!   which is assigned by the modality and unique only in its context, so it is written as
//!   `{"use": "secondary", "type": {"text": "Study ID"}, "value": …}`.
//! - `series.modality` is 1..1: a series without a Modality gets DICOM's own `OT` (Other)
//!   in the DCM system. The study-level `modality` lists only the modalities series state.
//! - `referrer` is `{"display": …}` with the PN written as people write it (no Practitioner
//!   resources exist).
//! - `procedureCode`, `series.instance.title` and `location` are not stored, so left out.
//! - Attribute values are the study digest's: the first non-empty value an instance gave.
//! - Series come by SeriesNumber (numbered ones first) then UID; instances likewise by
//!   InstanceNumber then UID.

use std::collections::BTreeMap;

use serde::Serialize;
use sv_model::study::{
    InstanceFacts, SeriesAttributes, StudyAttributes, StudyDigest, person_name_display,
};
use sv_model::{RecordId, ThingId, Timestamp, VersionStamp};

use crate::datatypes::{
    CodeableConcept, Coding, DCM_SYSTEM, DICOM_UID_SYSTEM, Identifier, Meta, Reference, URI_SYSTEM,
    V2_0203_SYSTEM,
};
use crate::datetime::DicomDateTime;
use crate::{ENDPOINT_ID, Links, body_site};

/// The `status` every stored study has: its instances are there to be read.
pub const STUDY_STATUS: &str = "available";
/// The code system of `ImagingStudy.status`.
pub const STUDY_STATUS_SYSTEM: &str = "http://hl7.org/fhir/imagingstudy-status";
/// The modality of a series that states none: DICOM's "Other".
pub const UNKNOWN_MODALITY: &str = "OT";

/// An R4 `ImagingStudy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    tag = "resourceType",
    rename = "ImagingStudy",
    rename_all = "camelCase"
)]
pub struct ImagingStudy {
    pub id: String,
    #[serde(skip_serializing_if = "Meta::is_empty")]
    pub meta: Meta,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<Identifier>,
    pub status: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub modality: Vec<Coding>,
    pub subject: Reference,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referrer: Option<Reference>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub endpoint: Vec<Reference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number_of_series: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number_of_instances: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub procedure_code: Vec<CodeableConcept>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reason_code: Vec<CodeableConcept>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub series: Vec<ImagingStudySeries>,
}

/// `ImagingStudy.series`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImagingStudySeries {
    pub uid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<u32>,
    pub modality: Coding,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number_of_instances: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_site: Option<Coding>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub laterality: Option<Coding>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub instance: Vec<ImagingStudyInstance>,
}

/// `ImagingStudy.series.instance`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImagingStudyInstance {
    pub uid: String,
    pub sop_class: Coding,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<u32>,
    /// A document's title (the Concept Name Code Sequence's meaning: SR, KOS, PDF).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// The `ImagingStudy` of one study thing. `instances` are all of the study's instances, in
/// any order; an empty slice gives a study with no identifier and no series.
///
/// Every reference is relative (`Patient/<record>`, `Endpoint/dicomweb`), so `links` is not
/// read today; it is taken so absolute references can come without a signature change.
pub fn imaging_study(
    thing: ThingId,
    version: VersionStamp,
    updated: Timestamp,
    instances: &[InstanceFacts],
    record: RecordId,
    _links: &Links,
) -> ImagingStudy {
    let digest = StudyDigest::of(instances, version, updated);
    let mut by_series: BTreeMap<&str, Vec<&InstanceFacts>> = BTreeMap::new();
    for f in instances {
        by_series.entry(&f.series_instance_uid).or_default().push(f);
    }
    let mut study = ImagingStudy {
        id: thing.to_string(),
        meta: Meta {
            version_id: Some(version.to_string()),
            last_updated: Some(updated.to_rfc3339()),
            tag: Vec::new(),
        },
        identifier: Vec::new(),
        status: STUDY_STATUS.to_owned(),
        modality: Vec::new(),
        subject: Reference::to("Patient", &record.to_string()),
        started: None,
        referrer: None,
        endpoint: vec![Reference::to("Endpoint", ENDPOINT_ID)],
        number_of_series: None,
        number_of_instances: None,
        procedure_code: Vec::new(),
        reason_code: Vec::new(),
        description: None,
        series: Vec::new(),
    };
    let Some(digest) = digest else {
        return study;
    };
    let attrs = &digest.study;
    study.identifier = study_identifiers(&digest.study_instance_uid, attrs);
    for m in digest.modalities().filter_map(|m| non_blank(Some(m))) {
        let coding = Coding::new(DCM_SYSTEM, &m);
        if !study.modality.contains(&coding) {
            study.modality.push(coding);
        }
    }
    study.started = study_started(attrs).map(|d| d.to_fhir());
    study.referrer = referrer(attrs);
    study.number_of_series = Some(digest.series.len() as u32);
    study.number_of_instances = Some(digest.instance_count);
    study.procedure_code = procedure_codes(instances);
    study.reason_code = reason_codes(attrs);
    study.description = non_blank(attrs.description.as_deref());
    study.series = digest
        .series
        .iter()
        .map(|s| {
            let members = by_series
                .get(s.series_instance_uid.as_str())
                .map(Vec::as_slice)
                .unwrap_or_default();
            series(&s.series_instance_uid, &s.attributes, members, attrs)
        })
        .collect();
    study
        .series
        .sort_by(|a, b| by_number_then_uid((a.number, &a.uid), (b.number, &b.uid)));
    study
}

fn series(
    uid: &str,
    attrs: &SeriesAttributes,
    members: &[&InstanceFacts],
    study: &StudyAttributes,
) -> ImagingStudySeries {
    let mut instance: Vec<ImagingStudyInstance> = members
        .iter()
        .map(|f| ImagingStudyInstance {
            uid: f.sop_instance_uid.clone(),
            sop_class: sop_class_coding(&f.sop_class_uid),
            number: unsigned(f.instance_number),
            title: non_blank(f.title.as_deref()),
        })
        .collect();
    instance.sort_by(|a, b| by_number_then_uid((a.number, &a.uid), (b.number, &b.uid)));
    ImagingStudySeries {
        uid: uid.to_owned(),
        number: unsigned(attrs.series_number),
        modality: series_modality(attrs),
        description: non_blank(attrs.description.as_deref()),
        number_of_instances: Some(members.len() as u32),
        body_site: attrs.body_part.as_deref().and_then(body_site::body_site),
        laterality: attrs.laterality.as_deref().and_then(body_site::laterality),
        started: series_started(attrs, study).map(|d| d.to_fhir()),
        instance,
    }
}

/// `procedureCode`: the distinct Procedure Code Sequence items of the study's instances, in
/// the order the instances state them (PS3.16 scheme designators mapped to FHIR systems where
/// FHIR has one; otherwise a coding without a system, its code and display kept).
fn procedure_codes(instances: &[InstanceFacts]) -> Vec<CodeableConcept> {
    let mut ordered: Vec<&InstanceFacts> = instances.iter().collect();
    ordered.sort_by(|a, b| a.sop_instance_uid.cmp(&b.sop_instance_uid));
    let mut seen: Vec<(&str, &str)> = Vec::new();
    let mut out = Vec::new();
    for code in ordered.iter().flat_map(|f| &f.procedure_codes) {
        let key = (code.scheme.trim(), code.value.trim());
        if key.1.is_empty() || seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let meaning = non_blank(code.meaning.as_deref());
        out.push(CodeableConcept {
            coding: vec![Coding {
                system: coding_system(key.0).map(str::to_owned),
                code: Some(key.1.to_owned()),
                display: meaning.clone(),
            }],
            text: meaning,
        });
    }
    out
}

/// The FHIR system of a DICOM Coding Scheme Designator (PS3.16 Table 8-1), where one exists.
fn coding_system(designator: &str) -> Option<&'static str> {
    Some(match designator {
        "SCT" => "http://snomed.info/sct",
        "LN" => "http://loinc.org",
        "DCM" => DCM_SYSTEM,
        "RADLEX" => "http://www.radlex.org",
        "UCUM" => "http://unitsofmeasure.org",
        _ => return None,
    })
}

/// Numbered first, by number, then by UID.
fn by_number_then_uid(a: (Option<u32>, &str), b: (Option<u32>, &str)) -> std::cmp::Ordering {
    (a.0.is_none(), a.0, a.1).cmp(&(b.0.is_none(), b.0, b.1))
}

fn unsigned(n: Option<i32>) -> Option<u32> {
    n.and_then(|n| u32::try_from(n).ok())
}

pub(crate) fn non_blank(v: Option<&str>) -> Option<String> {
    v.map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// The study's identifiers: Study Instance UID, accession number, Study ID.
pub(crate) fn study_identifiers(uid: &str, attrs: &StudyAttributes) -> Vec<Identifier> {
    let mut ids = vec![Identifier {
        system: Some(DICOM_UID_SYSTEM.to_owned()),
        value: Some(format!("urn:oid:{}", uid.trim())),
        ..Identifier::default()
    }];
    if let Some(accession) = non_blank(attrs.accession_number.as_deref()) {
        ids.push(Identifier {
            type_: Some(CodeableConcept {
                coding: vec![Coding::new(V2_0203_SYSTEM, "ACSN")],
                text: None,
            }),
            value: Some(accession),
            ..Identifier::default()
        });
    }
    if let Some(study_id) = non_blank(attrs.study_id.as_deref()) {
        ids.push(Identifier {
            use_: Some("secondary".to_owned()),
            type_: Some(CodeableConcept::text("Study ID")),
            value: Some(study_id),
            ..Identifier::default()
        });
    }
    ids
}

/// `series.modality`, with `OT` for a series that states none.
pub(crate) fn series_modality(attrs: &SeriesAttributes) -> Coding {
    let code = non_blank(attrs.modality.as_deref()).unwrap_or_else(|| UNKNOWN_MODALITY.to_owned());
    Coding::new(DCM_SYSTEM, &code)
}

/// `series.instance.sopClass`: `urn:oid:<class>` in the RFC 3986 system.
pub(crate) fn sop_class_coding(class: &str) -> Coding {
    Coding::new(URI_SYSTEM, &format!("urn:oid:{}", class.trim()))
}

pub(crate) fn study_started(attrs: &StudyAttributes) -> Option<DicomDateTime> {
    DicomDateTime::read(
        attrs.study_date.as_deref(),
        attrs.study_time.as_deref(),
        attrs.timezone_offset.as_deref(),
    )
}

pub(crate) fn series_started(
    attrs: &SeriesAttributes,
    study: &StudyAttributes,
) -> Option<DicomDateTime> {
    DicomDateTime::read(
        attrs.series_date.as_deref(),
        attrs.series_time.as_deref(),
        study.timezone_offset.as_deref(),
    )
}

pub(crate) fn reason_codes(attrs: &StudyAttributes) -> Vec<CodeableConcept> {
    non_blank(attrs.reason.as_deref())
        .map(|r| CodeableConcept::text(&r))
        .into_iter()
        .collect()
}

pub(crate) fn referrer(attrs: &StudyAttributes) -> Option<Reference> {
    let display = person_name_display(attrs.referring_physician.as_deref()?)?;
    Some(Reference {
        reference: None,
        display: Some(display),
    })
}
