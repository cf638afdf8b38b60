//! Tests for study assembly: ordering, previews, key images, fallbacks.

use super::*;
use crate::study::{SeriesAttributes, StudyAttributes};
use sv_blob::BlobId;

fn preview(seed: &str) -> PreviewRef {
    PreviewRef {
        blob_id: BlobId::of(seed.as_bytes()),
        length: 10,
        media_type: "image/jpeg".into(),
        width: 500,
        height: 500,
    }
}

fn instance(
    series: &str,
    series_number: Option<i32>,
    sop: &str,
    number: Option<i32>,
) -> InstanceFacts {
    InstanceFacts {
        study_instance_uid: "1.2.3".into(),
        series_instance_uid: series.into(),
        sop_instance_uid: sop.into(),
        sop_class_uid: "1.2.840.10008.5.1.4.1.1.2".into(),
        instance_number: number,
        transfer_syntax_uid: "1.2.840.10008.1.2.1".into(),
        rows: Some(512),
        columns: Some(512),
        number_of_frames: None,
        study: StudyAttributes {
            study_date: Some("20090108".into()),
            study_time: Some("110409.097".into()),
            description: Some("Study of head".into()),
            patient_name: Some("MUNDAY^LETICIA".into()),
            referring_physician: Some("Pierce^Benjamin".into()),
            accession_number: Some("A123".into()),
            ..StudyAttributes::default()
        },
        series: SeriesAttributes {
            series_number,
            modality: Some("CT".into()),
            description: Some(format!("series {series}")),
            ..SeriesAttributes::default()
        },
        blob_id: BlobId::of(sop.as_bytes()),
        length: 100,
        preview: Some(preview(sop)),
        preview_error: None,
        key_image_refs: Vec::new(),
        procedure_codes: Vec::new(),
        title: None,
        received: Timestamp::from_unix_micros(1_700_000_000_000_000),
    }
}

fn names(series: &Series) -> Vec<&str> {
    series
        .images
        .iter()
        .map(|i| i.image_blob_name.as_str())
        .collect()
}

#[test]
fn series_and_images_are_ordered_by_number_then_uid() {
    let facts = vec![
        instance("1.9", Some(2), "1.9.3", Some(3)),
        instance("1.8", Some(1), "1.8.2", Some(2)),
        instance("1.9", Some(2), "1.9.1", Some(1)),
        instance("1.8", Some(1), "1.8.1", Some(1)),
        instance("1.7", None, "1.7.1", None),
    ];
    let study = assemble_study(&facts).unwrap().study;
    let series: Vec<_> = study.series.iter().collect();
    assert_eq!(series.len(), 3);
    assert_eq!(names(series[0]), ["1.8.1", "1.8.2"]);
    assert_eq!(names(series[1]), ["1.9.1", "1.9.3"]);
    assert_eq!(names(series[2]), ["1.7.1"], "unnumbered series go last");
    assert_eq!(series[0].modality.as_ref().unwrap().text, "CT");
    assert_eq!(
        series[0]
            .images
            .first()
            .image_preview_blob_name
            .as_ref()
            .unwrap()
            .as_str(),
        "1.8.1.preview.jpg"
    );
}

#[test]
fn series_preview_is_the_middle_image_and_study_preview_the_first_series() {
    let facts: Vec<_> = (1..=10)
        .map(|n| instance("1.8", Some(1), &format!("1.8.{n}"), Some(n)))
        .collect();
    let assembly = assemble_study(&facts).unwrap();
    // Ten images, 0-based index 5: the sixth, InstanceNumber 6.
    let (name, p) = &assembly.derived_previews[0];
    assert_eq!(name, "1.8.preview.jpg");
    assert_eq!(p.blob_id, BlobId::of(b"1.8.6"));
    assert_eq!(
        assembly
            .study
            .series
            .first()
            .preview_blob_name
            .as_ref()
            .unwrap()
            .as_str(),
        "1.8.preview.jpg"
    );
    assert_eq!(
        assembly.study.preview_blob_name.as_ref().unwrap().as_str(),
        "1.2.3.preview.jpg"
    );
    assert_eq!(assembly.derived_previews[1].1.blob_id, BlobId::of(b"1.8.6"));
}

#[test]
fn middle_image_without_preview_falls_back_to_its_neighbour() {
    let mut facts: Vec<_> = (1..=3)
        .map(|n| instance("1.8", Some(1), &format!("1.8.{n}"), Some(n)))
        .collect();
    facts[1].preview = None;
    let assembly = assemble_study(&facts).unwrap();
    assert_eq!(assembly.derived_previews[0].1.blob_id, BlobId::of(b"1.8.3"));
}

#[test]
fn key_object_selection_picks_the_study_preview() {
    let mut facts = vec![
        instance("1.8", Some(1), "1.8.1", Some(1)),
        instance("1.8", Some(1), "1.8.2", Some(2)),
        instance("1.9", Some(2), "1.9.1", Some(1)),
    ];
    let mut kos = instance("1.99", Some(99), "1.99.1", Some(1));
    kos.preview = None;
    kos.key_image_refs = vec!["1.9.1".into(), "not.in.study".into(), "1.9.1".into()];
    facts.push(kos);
    let assembly = assemble_study(&facts).unwrap();
    let study = &assembly.study;
    assert_eq!(study.key_images.len(), 1);
    assert_eq!(study.key_images[0].image_blob_name.as_str(), "1.9.1");
    let (name, p) = assembly.derived_previews.last().unwrap();
    assert_eq!(name, "1.2.3.preview.jpg");
    assert_eq!(p.blob_id, BlobId::of(b"1.9.1"));
}

#[test]
fn study_attributes_map_to_healthvault() {
    let study = assemble_study(&[instance("1.8", Some(1), "1.8.1", Some(1))])
        .unwrap()
        .study;
    assert_eq!(study.when.date, HvDate::new(2009, 1, 8).unwrap());
    assert_eq!(study.when.time.unwrap().millis(), Some(97));
    assert_eq!(study.patient_name.unwrap().as_str(), "LETICIA MUNDAY");
    assert_eq!(
        study.referring_physician.unwrap().name.full,
        "Benjamin Pierce"
    );
    assert_eq!(study.accession_number.unwrap().as_str(), "A123");
    assert_eq!(study.study_instance_uid.unwrap().as_str(), "1.2.3");
}

#[test]
fn missing_study_date_falls_back_to_the_day_of_arrival() {
    let mut f = instance("1.8", Some(1), "1.8.1", Some(1));
    f.study.study_date = None;
    let study = assemble_study(&[f]).unwrap().study;
    // 1_700_000_000 s after the epoch is 2023-11-14 (UTC).
    assert_eq!(study.when.date, HvDate::new(2023, 11, 14).unwrap());
    assert!(study.when.time.is_none());
}

#[test]
fn no_instances_is_an_error() {
    assert!(assemble_study(&[]).is_err());
}
