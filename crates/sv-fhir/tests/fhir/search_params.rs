//! Every search parameter: a query that matches the fixture study and one that does not.

use sv_fhir::SearchRequest;
use sv_model::study::StudyAttributes;

use crate::common::*;

#[track_caller]
fn yes(q: &[(&str, &str)]) {
    assert!(hits(q), "should match: {q:?}");
}

#[track_caller]
fn no(q: &[(&str, &str)]) {
    assert!(!hits(q), "should not match: {q:?}");
}

#[test]
fn identifier_matches_the_study_uid_in_every_accepted_form() {
    yes(&[("identifier", "urn:dicom:uid|urn:oid:1.2.840.113619.2.55.3")]);
    yes(&[("identifier", "urn:dicom:uid|1.2.840.113619.2.55.3")]);
    yes(&[("identifier", "1.2.840.113619.2.55.3")]);
    yes(&[("identifier", "urn:oid:1.2.840.113619.2.55.3")]);
    yes(&[("identifier", "urn:dicom:uid|")]);
    no(&[("identifier", "|1.2.840.113619.2.55.3")]);
    no(&[("identifier", "http://other|urn:oid:1.2.840.113619.2.55.3")]);
    no(&[("identifier", "1.2.840.113619.2.55")]);
    no(&[("identifier", "http://other|")]);
}

#[test]
fn identifier_matches_the_accession_and_study_id() {
    yes(&[("identifier", "ACC-42")]);
    yes(&[("identifier", "acc-42")]);
    yes(&[("identifier", "|ACC-42")]);
    yes(&[("identifier", "S1")]);
    yes(&[(
        "identifier:of-type",
        "http://terminology.hl7.org/CodeSystem/v2-0203|ACSN|ACC-42",
    )]);
    no(&[(
        "identifier:of-type",
        "http://terminology.hl7.org/CodeSystem/v2-0203|ACSN|S1",
    )]);
    no(&[("identifier", "ACC-43")]);
    no(&[("identifier", "urn:dicom:uid|ACC-42")]);
    yes(&[("identifier:not", "ACC-43")]);
    no(&[("identifier:not", "ACC-43,ACC-42")]);
}

#[test]
fn status_is_available() {
    yes(&[("status", "available")]);
    yes(&[(
        "status",
        "http://hl7.org/fhir/imagingstudy-status|available",
    )]);
    no(&[("status", "cancelled")]);
    no(&[("status:not", "available")]);
}

#[test]
fn modality_matches_series_modalities_with_or_and_and() {
    let dcm = "http://dicom.nema.org/resources/ontology/DCM";
    yes(&[("modality", "CT")]);
    yes(&[("modality", &format!("{dcm}|sr"))]);
    yes(&[("modality", "MR,CT")]);
    yes(&[("modality", "CT"), ("modality", "SR")]);
    no(&[("modality", "MR")]);
    no(&[("modality", "http://other|CT")]);
    no(&[("modality", "CT"), ("modality", "MR")]);
    yes(&[("modality:not", "MR")]);
    no(&[("modality:not", "CT")]);
    yes(&[("modality:missing", "false")]);
    no(&[("modality:missing", "true")]);
}

#[test]
fn bodysite_matches_snomed_codes_and_display_text() {
    yes(&[("bodysite", "http://snomed.info/sct|51185008")]);
    yes(&[("bodysite", "51185008")]);
    yes(&[("bodysite:text", "thoracic")]);
    no(&[("bodysite", "72696002")]);
    no(&[("bodysite:text", "knee")]);
    no(&[("bodysite:missing", "true")]);
}

#[test]
fn dicom_class_matches_sop_classes_with_or_without_urn_oid() {
    yes(&[(
        "dicom-class",
        &format!("urn:ietf:rfc:3986|urn:oid:{CT_CLASS}"),
    )]);
    yes(&[("dicom-class", CT_CLASS)]);
    yes(&[("dicom-class", SR_CLASS)]);
    no(&[("dicom-class", "1.2.840.10008.5.1.4.1.1.4")]);
    no(&[("dicom-class", &format!("urn:dicom:uid|{CT_CLASS}"))]);
}

#[test]
fn instance_asks_the_index_which_study_holds_the_sop_instance() {
    yes(&[("instance", "1.2.3.2.5")]);
    yes(&[("instance", "urn:oid:1.2.3.9.1")]);
    yes(&[("instance", "|1.2.3.2.0")]);
    no(&[("instance", "7.7.7")]);
    no(&[("instance", "9.9.9")]);
    no(&[("instance", "http://other|1.2.3.2.5")]);
    yes(&[("instance:not", "7.7.7")]);
}

#[test]
fn series_matches_series_uids() {
    yes(&[("series", "1.2.3.9")]);
    yes(&[("series", "1.2.3.8,1.2.3.2")]);
    no(&[("series", "1.2.3.8")]);
}

#[test]
fn reason_is_text_only() {
    yes(&[("reason:text", "chest")]);
    yes(&[("reason:text", "ACUTE")]);
    no(&[("reason:text", "knee")]);
    // No coding: a plain token never matches, escaped comma or not.
    no(&[("reason", r"Chest pain\, acute")]);
    yes(&[("reason:missing", "false")]);
}

#[test]
fn started_matches_the_study_date() {
    yes(&[("started", "2009-01-08")]);
    no(&[("started", "2009-01-09")]);
    yes(&[("started:missing", "false")]);
}

#[test]
fn patient_and_subject_name_the_record() {
    let rid = record().to_string();
    let absolute = format!("{}/Patient/{rid}", fhir_base());
    for param in ["patient", "subject"] {
        yes(&[(param, &rid)]);
        yes(&[(param, &format!("Patient/{rid}"))]);
        yes(&[(param, &absolute)]);
        yes(&[(&format!("{param}:Patient"), &rid)]);
        no(&[(param, &other_thing().to_string())]);
        no(&[(param, &format!("http://elsewhere/fhir/Patient/{rid}"))]);
    }
    no(&[("subject", &format!("Group/{rid}"))]);
    no(&[("subject:Device", &rid)]);
}

#[test]
fn endpoint_names_the_dicomweb_endpoint() {
    yes(&[("endpoint", "dicomweb")]);
    yes(&[("endpoint", "Endpoint/dicomweb")]);
    yes(&[("endpoint", &format!("{}/Endpoint/dicomweb", fhir_base()))]);
    no(&[("endpoint", "Endpoint/other")]);
}

#[test]
fn id_is_exact() {
    yes(&[("_id", &thing().to_string())]);
    no(&[("_id", &thing().to_string().to_uppercase())]);
    no(&[("_id", &other_thing().to_string())]);
    yes(&[("_id:not", &other_thing().to_string())]);
}

#[test]
fn last_updated_is_the_instant_of_the_last_change() {
    // 2025-11-22T04:42:19.123456Z
    yes(&[("_lastUpdated", "ge2025-11-22")]);
    yes(&[("_lastUpdated", "2025-11-22T04:42:19Z")]);
    no(&[("_lastUpdated", "2025-11-22T04:42:20Z")]);
    no(&[("_lastUpdated", "lt2025-11-22")]);
}

#[test]
fn referrer_is_display_only() {
    no(&[("referrer", "Practitioner/x")]);
    yes(&[("referrer:missing", "false")]);
    no(&[("referrer:missing", "true")]);
    let mut d = digest();
    d.study.referring_physician = None;
    assert!(hits_digest(&[("referrer:missing", "true")], &d));
}

#[test]
fn unstored_references_match_no_value() {
    for param in ["basedon", "encounter", "interpreter", "performer"] {
        no(&[(param, "x")]);
        yes(&[(&format!("{param}:missing"), "true")]);
        no(&[(&format!("{param}:missing"), "false")]);
    }
}

#[test]
fn missing_reads_the_digest() {
    let mut d = digest();
    d.study = StudyAttributes::default();
    assert!(hits_digest(&[("reason:missing", "true")], &d));
    assert!(hits_digest(&[("started:missing", "true")], &d));
    assert!(
        !hits_digest(&[("started", "ne2009")], &d),
        "no value, no match"
    );
}

#[test]
fn no_criteria_match_everything_and_empty_values_are_ignored() {
    yes(&[]);
    yes(&[("modality", ""), ("started", "")]);
    assert_eq!(parse(&[("modality", "")]), parse(&[]));
    let r: SearchRequest = parse(&[("modality", "")]);
    assert!(r.ignored().is_empty());
}
