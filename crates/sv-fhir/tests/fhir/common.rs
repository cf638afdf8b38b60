//! Fixtures: one two-series study, its ids and links, and search helpers.

use sv_fhir::{Handling, Links, SearchContext, SearchRequest};
use sv_model::study::{InstanceFacts, SeriesAttributes, StudyAttributes, StudyDigest};
use sv_model::{BlobId, RecordId, ThingId, Timestamp, VersionStamp};

pub const STUDY_UID: &str = "1.2.840.113619.2.55.3";
pub const CT_CLASS: &str = "1.2.840.10008.5.1.4.1.1.2";
pub const SR_CLASS: &str = "1.2.840.10008.5.1.4.1.1.88.11";
/// 2025-11-22T04:42:19.123456Z
pub const UPDATED_MICROS: i64 = 1_763_786_539_123_456;

pub fn record() -> RecordId {
    RecordId::from_bytes([0x11; 16])
}
pub fn thing() -> ThingId {
    ThingId::from_bytes([0xab; 16])
}
pub fn other_thing() -> ThingId {
    ThingId::from_bytes([0x33; 16])
}
pub fn version() -> VersionStamp {
    VersionStamp::from_bytes([0x44; 16])
}
pub fn updated() -> Timestamp {
    Timestamp::from_unix_micros(UPDATED_MICROS)
}

pub fn fhir_base() -> String {
    format!("http://127.0.0.1:8080/v1/records/{}/fhir", record())
}

pub fn links() -> Links {
    Links {
        fhir_base: fhir_base(),
        dicomweb_base: format!("http://127.0.0.1:8080/v1/records/{}/dicomweb", record()),
    }
}

pub fn ctx() -> SearchContext {
    SearchContext {
        record: record(),
        links: links(),
    }
}

/// An instance of the fixture study; `edit` sets what the test needs.
pub fn instance(series: &str, sop: &str, class: &str, number: Option<i32>) -> InstanceFacts {
    InstanceFacts {
        study_instance_uid: STUDY_UID.into(),
        series_instance_uid: series.into(),
        sop_instance_uid: sop.into(),
        sop_class_uid: class.into(),
        instance_number: number,
        transfer_syntax_uid: "1.2.840.10008.1.2.1".into(),
        rows: None,
        columns: None,
        number_of_frames: None,
        study: StudyAttributes::default(),
        series: SeriesAttributes::default(),
        blob_id: BlobId::of(sop.as_bytes()),
        length: 1,
        preview: None,
        preview_error: None,
        key_image_refs: Vec::new(),
        procedure_codes: Vec::new(),
        title: None,
        received: Timestamp::from_unix_micros(0),
    }
}

pub fn study_attributes() -> StudyAttributes {
    StudyAttributes {
        study_date: Some("20090108".into()),
        study_time: Some("110409.097".into()),
        description: Some("CT CHEST W/O".into()),
        accession_number: Some("ACC-42".into()),
        referring_physician: Some("Doe^Jane^Q^Dr^MD".into()),
        reason: Some("Chest pain, acute".into()),
        patient_name: Some("Pierce^Benjamin".into()),
        patient_id: Some("PID-7".into()),
        patient_birth_date: Some("19700203".into()),
        patient_sex: Some("M".into()),
        study_id: Some("S1".into()),
        timezone_offset: Some("+0100".into()),
    }
}

/// The two-series study: a CT series numbered 2 (three instances, given out of order, one
/// without a number) and an SR series numbered 1 whose UID sorts after the CT's.
pub fn two_series_study() -> Vec<InstanceFacts> {
    let ct = SeriesAttributes {
        series_number: Some(2),
        modality: Some("CT".into()),
        description: Some("Chest 5mm".into()),
        body_part: Some("CHEST".into()),
        laterality: Some("L".into()),
        series_date: Some("20090108".into()),
        series_time: Some("1104".into()),
        ..SeriesAttributes::default()
    };
    let sr = SeriesAttributes {
        series_number: Some(1),
        modality: Some("SR".into()),
        ..SeriesAttributes::default()
    };
    let mut facts = vec![
        instance("1.2.3.2", "1.2.3.2.0", CT_CLASS, None),
        instance("1.2.3.2", "1.2.3.2.1", CT_CLASS, Some(2)),
        instance("1.2.3.9", "1.2.3.9.1", SR_CLASS, None),
        instance("1.2.3.2", "1.2.3.2.5", CT_CLASS, Some(1)),
    ];
    for f in &mut facts {
        f.study = study_attributes();
        f.series = if f.series_instance_uid == "1.2.3.2" {
            ct.clone()
        } else {
            sr.clone()
        };
    }
    facts
}

pub fn digest_of(facts: &[InstanceFacts]) -> StudyDigest {
    StudyDigest::of(facts, version(), updated()).unwrap()
}

pub fn digest() -> StudyDigest {
    digest_of(&two_series_study())
}

/// 2010-01-08T00:00:00Z: the clock `ap` is anchored to unless a test says otherwise.
pub fn now() -> Timestamp {
    Timestamp::parse_rfc3339("2010-01-08T00:00:00Z").unwrap()
}

pub fn pairs(q: &[(&str, &str)]) -> Vec<(String, String)> {
    q.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

pub fn parse(q: &[(&str, &str)]) -> SearchRequest {
    SearchRequest::parse_at(&pairs(q), Handling::Lenient, &ctx(), now())
        .unwrap_or_else(|e| panic!("{q:?}: {e}"))
}

/// The SOP index of the fixture: the study's instances are in `thing()`, `7.7.7` is in
/// another study, anything else is unknown.
pub fn sop_index(uid: &str) -> Option<ThingId> {
    match uid {
        "1.2.3.2.0" | "1.2.3.2.1" | "1.2.3.2.5" | "1.2.3.9.1" => Some(thing()),
        "7.7.7" => Some(other_thing()),
        _ => None,
    }
}

/// Does the fixture study match the query?
pub fn hits_digest(q: &[(&str, &str)], digest: &StudyDigest) -> bool {
    parse(q).matches(thing(), digest, &mut sop_index)
}

pub fn hits(q: &[(&str, &str)]) -> bool {
    hits_digest(q, &digest())
}
