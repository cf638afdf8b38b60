//! The ImagingStudy mapping (standards.md §3.1).

use serde_json::json;
use sv_fhir::{ImagingStudy, imaging_study};
use sv_model::study::{InstanceFacts, SeriesAttributes};

use crate::common::*;

fn study_of(facts: &[InstanceFacts]) -> ImagingStudy {
    imaging_study(thing(), version(), updated(), facts, record(), &links())
}

#[test]
fn a_two_series_study_as_json() {
    let study = study_of(&two_series_study());
    let dcm = "http://dicom.nema.org/resources/ontology/DCM";
    let sct = "http://snomed.info/sct";
    let expected = json!({
        "resourceType": "ImagingStudy",
        "id": "abababab-abab-abab-abab-abababababab",
        "meta": {
            "versionId": "44444444-4444-4444-4444-444444444444",
            "lastUpdated": "2025-11-22T04:42:19.123456Z"
        },
        "identifier": [
            {"system": "urn:dicom:uid", "value": "urn:oid:1.2.840.113619.2.55.3"},
            {
                "type": {"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                    "code": "ACSN"
                }]},
                "value": "ACC-42"
            },
            {"use": "secondary", "type": {"text": "Study ID"}, "value": "S1"}
        ],
        "status": "available",
        "modality": [{"system": dcm, "code": "CT"}, {"system": dcm, "code": "SR"}],
        "subject": {"reference": "Patient/11111111-1111-1111-1111-111111111111"},
        "started": "2009-01-08T11:04:09.097+01:00",
        "referrer": {"display": "Dr Jane Q Doe MD"},
        "endpoint": [{"reference": "Endpoint/dicomweb"}],
        "numberOfSeries": 2,
        "numberOfInstances": 4,
        "reasonCode": [{"text": "Chest pain, acute"}],
        "description": "CT CHEST W/O",
        "series": [
            {
                "uid": "1.2.3.9",
                "number": 1,
                "modality": {"system": dcm, "code": "SR"},
                "numberOfInstances": 1,
                "instance": [{
                    "uid": "1.2.3.9.1",
                    "sopClass": {"system": "urn:ietf:rfc:3986", "code": format!("urn:oid:{SR_CLASS}")}
                }]
            },
            {
                "uid": "1.2.3.2",
                "number": 2,
                "modality": {"system": dcm, "code": "CT"},
                "description": "Chest 5mm",
                "numberOfInstances": 3,
                "bodySite": {"system": sct, "code": "51185008", "display": "Thoracic structure"},
                "laterality": {"system": sct, "code": "7771000", "display": "Left"},
                "started": "2009-01-08T11:04:00+01:00",
                "instance": [
                    {
                        "uid": "1.2.3.2.5",
                        "sopClass": {"system": "urn:ietf:rfc:3986", "code": format!("urn:oid:{CT_CLASS}")},
                        "number": 1
                    },
                    {
                        "uid": "1.2.3.2.1",
                        "sopClass": {"system": "urn:ietf:rfc:3986", "code": format!("urn:oid:{CT_CLASS}")},
                        "number": 2
                    },
                    {
                        "uid": "1.2.3.2.0",
                        "sopClass": {"system": "urn:ietf:rfc:3986", "code": format!("urn:oid:{CT_CLASS}")}
                    }
                ]
            }
        ]
    });
    assert_eq!(serde_json::to_value(&study).unwrap(), expected);
}

#[test]
fn without_an_offset_times_are_utc_and_partial_times_are_padded() {
    let mut facts = two_series_study();
    for f in &mut facts {
        f.study.timezone_offset = None;
        f.study.study_time = Some("11".into());
        f.series.series_time = Some("110409.123456".into());
    }
    let study = study_of(&facts);
    assert_eq!(study.started.as_deref(), Some("2009-01-08T11:00:00Z"));
    let ct = study.series.iter().find(|s| s.uid == "1.2.3.2").unwrap();
    assert_eq!(ct.started.as_deref(), Some("2009-01-08T11:04:09.123456Z"));
    // The SR series has no SeriesDate: no started, however much time it states.
    assert_eq!(study.series[0].started, None);

    for f in &mut facts {
        f.study.study_time = None;
        f.study.timezone_offset = Some("-0500".into());
    }
    assert_eq!(study_of(&facts).started.as_deref(), Some("2009-01-08"));
}

#[test]
fn a_series_without_modality_is_ot_and_unknown_terms_keep_their_words() {
    let mut f = instance("1.2.3.4", "1.2.3.4.1", CT_CLASS, Some(-3));
    f.series = SeriesAttributes {
        series_number: Some(-1),
        body_part: Some("HAND".into()),
        laterality: Some("X".into()),
        ..SeriesAttributes::default()
    };
    let study = study_of(&[f]);
    let json = serde_json::to_value(&study).unwrap();
    assert_eq!(
        json["series"][0]["modality"],
        json!({"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "OT"})
    );
    assert_eq!(json["series"][0]["bodySite"], json!({"display": "HAND"}));
    assert!(json["series"][0].get("laterality").is_none());
    // Negative numbers are not unsignedInt: left out.
    assert!(json["series"][0].get("number").is_none());
    assert!(json["series"][0]["instance"][0].get("number").is_none());
    // Only stated modalities reach the study level, and absent values leave no nulls.
    assert!(json.get("modality").is_none());
    assert!(json.get("started").is_none() && json.get("referrer").is_none());
    assert_eq!(json["identifier"].as_array().unwrap().len(), 1);
}

#[test]
fn a_study_without_instances_still_serializes_validly() {
    let json = serde_json::to_value(study_of(&[])).unwrap();
    assert_eq!(json["status"], "available");
    assert_eq!(
        json["subject"]["reference"],
        format!("Patient/{}", record())
    );
    assert!(json.get("series").is_none() && json.get("identifier").is_none());
}

#[test]
fn procedure_codes_and_document_titles_are_mapped() {
    use sv_model::study::Code;
    let mut ct = instance("1.2.3.1", "1.2.3.1.1", "1.2.840.10008.5.1.4.1.1.2", Some(1));
    ct.procedure_codes = vec![
        Code {
            value: "RPID16".into(),
            scheme: "RADLEX".into(),
            meaning: Some("CT Chest wo".into()),
        },
        Code {
            value: "XYZ".into(),
            scheme: "99LOCAL".into(),
            meaning: None,
        },
    ];
    // The same code stated again by another instance appears once.
    let mut again = instance("1.2.3.1", "1.2.3.1.2", "1.2.840.10008.5.1.4.1.1.2", Some(2));
    again.procedure_codes = vec![ct.procedure_codes[0].clone()];
    let mut sr = instance(
        "1.2.3.9",
        "1.2.3.9.1",
        "1.2.840.10008.5.1.4.1.1.88.22",
        Some(1),
    );
    sr.title = Some("Radiology Report".into());
    let study = sv_fhir::imaging_study(
        thing(),
        version(),
        updated(),
        &[ct, again, sr],
        record(),
        &links(),
    );
    let json = serde_json::to_value(&study).unwrap();
    assert_eq!(
        json["procedureCode"],
        serde_json::json!([
            {"coding": [{"system": "http://www.radlex.org", "code": "RPID16", "display": "CT Chest wo"}],
             "text": "CT Chest wo"},
            {"coding": [{"code": "XYZ"}]}
        ])
    );
    let titles: Vec<&serde_json::Value> = json["series"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["instance"].as_array().unwrap())
        .filter_map(|i| i.get("title"))
        .collect();
    assert_eq!(titles, [&serde_json::json!("Radiology Report")]);
}
