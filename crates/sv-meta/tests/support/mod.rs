//! Shared by the size test and the benches: realistic instance facts and a scratch directory.

#![allow(dead_code)] // each user takes what it needs

use sv_model::study::{InstanceFacts, PreviewRef, SeriesAttributes, StudyAttributes};
use sv_model::{BlobId, Timestamp};

/// Facts shaped like a real CT instance: 50-60 character UIDs, the usual study and series
/// attributes, a JPEG preview. Instance `i` of study `study` (10 series per study).
pub fn realistic_facts(study: u64, i: u64) -> InstanceFacts {
    let root = "1.2.826.0.1.3680043.8.498.1234567890123456";
    let series = i % 10;
    InstanceFacts {
        study_instance_uid: format!("{root}.{study}"),
        series_instance_uid: format!("{root}.{study}.{series}"),
        sop_instance_uid: format!("{root}.{study}.{series}.{i}"),
        sop_class_uid: "1.2.840.10008.5.1.4.1.1.2".into(),
        instance_number: Some(i as i32),
        transfer_syntax_uid: "1.2.840.10008.1.2.4.90".into(),
        rows: Some(512),
        columns: Some(512),
        number_of_frames: None,
        study: StudyAttributes {
            study_date: Some("20240517".into()),
            study_time: Some("101502.123".into()),
            description: Some("CT CHEST WITH CONTRAST".into()),
            accession_number: Some("ACC20240517001".into()),
            referring_physician: Some("Smith^John^^Dr".into()),
            reason: None,
            patient_name: Some("Doe^Jane".into()),
            patient_id: Some("PID1234567".into()),
            patient_birth_date: Some("19700101".into()),
            patient_sex: Some("F".into()),
            study_id: Some("1".into()),
            timezone_offset: None,
        },
        series: SeriesAttributes {
            series_number: Some(series as i32 + 1),
            modality: Some("CT".into()),
            description: Some("AXIAL 1.25MM".into()),
            body_part: Some("CHEST".into()),
            laterality: None,
            institution_name: Some("General Hospital".into()),
            series_date: Some("20240517".into()),
            series_time: Some("101733".into()),
            acquisition_date: None,
            acquisition_time: None,
        },
        blob_id: BlobId::of(format!("dicom {study} {i}").as_bytes()),
        length: 526_000,
        preview: Some(PreviewRef {
            blob_id: BlobId::of(format!("preview {study} {i}").as_bytes()),
            length: 41_000,
            media_type: "image/jpeg".into(),
            width: 512,
            height: 512,
        }),
        preview_error: None,
        key_image_refs: Vec::new(),
        procedure_codes: Vec::new(),
        title: None,
        received: Timestamp::now(),
    }
}

/// Bytes under `dir`, recursively (what the database occupies on disk).
pub fn dir_bytes(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => total += dir_bytes(&e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}
