//! Hand-built instance facts and study digests: one study `1.2.3` (Doe^John, 2020-03-15
//! 10:15:30.25) with a CT series `1.2.3.1` (two instances) and an SR series `1.2.3.2` (one).

use sv_dicomweb::{Level, QidoError, QidoQuery, Scope};
use sv_model::study::{InstanceFacts, SeriesAttributes, StudyAttributes, StudyDigest};
use sv_model::{BlobId, Timestamp, VersionStamp};

pub const BASE: &str = "http://127.0.0.1:8080/v1/records/r1/dicomweb";
pub const CT_IMAGE: &str = "1.2.840.10008.5.1.4.1.1.2";
pub const BASIC_SR: &str = "1.2.840.10008.5.1.4.1.1.88.11";
pub const JPEG2000: &str = "1.2.840.10008.1.2.4.90";
pub const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";

pub fn study_attributes() -> StudyAttributes {
    StudyAttributes {
        study_date: Some("20200315".into()),
        study_time: Some("101530.25".into()),
        description: Some("CT Head".into()),
        accession_number: Some("ACC-1".into()),
        referring_physician: Some("Smith^Anna".into()),
        reason: Some("Headache".into()),
        patient_name: Some("Doe^John".into()),
        patient_id: Some("PID-7".into()),
        patient_birth_date: Some("19700102".into()),
        patient_sex: Some("M".into()),
        study_id: Some("S1".into()),
        timezone_offset: Some("+0100".into()),
    }
}

pub fn ct_series() -> SeriesAttributes {
    SeriesAttributes {
        series_number: Some(1),
        modality: Some("CT".into()),
        description: Some("Axial".into()),
        body_part: Some("HEAD".into()),
        laterality: Some("R".into()),
        institution_name: Some("General Hospital".into()),
        series_date: Some("20200315".into()),
        series_time: Some("1020".into()),
        acquisition_date: None,
        acquisition_time: None,
    }
}

pub fn sr_series() -> SeriesAttributes {
    SeriesAttributes {
        series_number: Some(2),
        modality: Some("SR".into()),
        description: Some("Report".into()),
        ..SeriesAttributes::default()
    }
}

pub fn instance(series: &str, sop: &str, number: i32) -> InstanceFacts {
    let ct = series == "1.2.3.1";
    InstanceFacts {
        study_instance_uid: "1.2.3".into(),
        series_instance_uid: series.into(),
        sop_instance_uid: sop.into(),
        sop_class_uid: if ct { CT_IMAGE } else { BASIC_SR }.into(),
        instance_number: Some(number),
        transfer_syntax_uid: if ct { JPEG2000 } else { EXPLICIT_LE }.into(),
        rows: ct.then_some(512),
        columns: ct.then_some(512),
        number_of_frames: ct.then_some(3),
        study: study_attributes(),
        series: if ct { ct_series() } else { sr_series() },
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

/// The three instances of study `1.2.3`.
pub fn instances() -> Vec<InstanceFacts> {
    vec![
        instance("1.2.3.1", "1.2.3.1.1", 1),
        instance("1.2.3.1", "1.2.3.1.2", 2),
        instance("1.2.3.2", "1.2.3.2.1", 1),
    ]
}

pub fn digest_of(facts: &[InstanceFacts]) -> StudyDigest {
    StudyDigest::of(
        facts,
        VersionStamp::new_random(),
        Timestamp::from_unix_micros(1),
    )
    .unwrap()
}

pub fn digest() -> StudyDigest {
    digest_of(&instances())
}

pub fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub fn parse(level: Level, list: &[(&str, &str)]) -> Result<QidoQuery, QidoError> {
    QidoQuery::parse(level, &Scope::default(), &pairs(list))
}

pub fn query(level: Level, list: &[(&str, &str)]) -> QidoQuery {
    parse(level, list).unwrap_or_else(|e| panic!("{list:?}: {e}"))
}

pub fn scope(study: Option<&str>, series: Option<&str>) -> Scope {
    Scope {
        study: study.map(str::to_owned),
        series: series.map(str::to_owned),
    }
}

/// Whether the query matches at its level: the study, the CT series, the first CT instance.
pub fn matches(q: &QidoQuery) -> bool {
    let d = digest();
    match q.level() {
        Level::Study => q.matches_study(&d),
        Level::Series => q.matches_series(&d, &d.series[0]),
        Level::Instance => q.matches_instance(&d, &instances()[0]),
    }
}
