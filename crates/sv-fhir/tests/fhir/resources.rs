//! Patient, Endpoint, CapabilityStatement and OperationOutcome as JSON.

use serde_json::json;
use sv_fhir::{
    Handling, IssueCode, SearchRequest, Severity, capability_statement, endpoint,
    operation_outcome, patient,
};
use sv_model::study::StudyDigest;
use sv_model::{Record, Timestamp};

use crate::common::*;

fn digest_with(edit: impl Fn(&mut sv_model::study::StudyAttributes)) -> StudyDigest {
    let mut d = digest();
    edit(&mut d.study);
    d
}

#[test]
fn the_patient_gathers_distinct_names_and_ids_and_keeps_agreed_facts() {
    let rec = Record {
        id: record(),
        name: "Ben Pierce".into(),
        created: Timestamp::UNIX_EPOCH,
        owner_email: None,
    };
    let digests = [
        digest(),
        digest_with(|s| s.patient_id = Some("PID-8".into())),
        digest_with(|s| {
            s.patient_name = Some("Pierce^Benjamin^Q^Mr^Jr".into());
            s.patient_sex = Some("m".into());
        }),
        digest_with(|s| {
            s.patient_name = Some("^^^^".into());
            s.patient_birth_date = Some("junk".into());
            s.patient_sex = None;
        }),
    ];
    let json = serde_json::to_value(patient(&rec, &digests, &links())).unwrap();
    assert_eq!(
        json,
        json!({
            "resourceType": "Patient",
            "id": "11111111-1111-1111-1111-111111111111",
            "identifier": [{"value": "PID-7"}, {"value": "PID-8"}],
            "name": [
                {"use": "usual", "text": "Ben Pierce"},
                {"text": "Benjamin Pierce", "family": "Pierce", "given": ["Benjamin"]},
                {
                    "text": "Mr Benjamin Q Pierce Jr",
                    "family": "Pierce",
                    "given": ["Benjamin", "Q"],
                    "prefix": ["Mr"],
                    "suffix": ["Jr"]
                }
            ],
            "gender": "male",
            "birthDate": "1970-02-03"
        })
    );
}

#[test]
fn disagreeing_studies_leave_gender_and_birth_date_out() {
    let rec = Record {
        id: record(),
        name: "Ben".into(),
        created: Timestamp::UNIX_EPOCH,
        owner_email: None,
    };
    let digests = [
        digest(),
        digest_with(|s| {
            s.patient_sex = Some("F".into());
            s.patient_birth_date = Some("19700204".into());
        }),
    ];
    let json = serde_json::to_value(patient(&rec, &digests, &links())).unwrap();
    assert!(
        json.get("gender").is_none() && json.get("birthDate").is_none(),
        "{json}"
    );
    let other = digest_with(|s| s.patient_sex = Some("O".into()));
    let json = serde_json::to_value(patient(&rec, &[other], &links())).unwrap();
    assert_eq!(json["gender"], "other");
    // No studies: the record's name alone.
    let json = serde_json::to_value(patient(&rec, &[], &links())).unwrap();
    assert_eq!(
        json,
        json!({"resourceType": "Patient", "id": record().to_string(),
               "name": [{"use": "usual", "text": "Ben"}]})
    );
}

#[test]
fn the_endpoint_is_the_records_dicomweb_base() {
    assert_eq!(
        serde_json::to_value(endpoint(&links())).unwrap(),
        json!({
            "resourceType": "Endpoint",
            "id": "dicomweb",
            "status": "active",
            "connectionType": {
                "system": "http://terminology.hl7.org/CodeSystem/endpoint-connection-type",
                "code": "dicom-wado-rs"
            },
            "name": "DICOMweb",
            "payloadType": [{"text": "DICOM WADO-RS"}],
            "payloadMimeType": ["application/dicom"],
            "address": "http://127.0.0.1:8080/v1/records/11111111-1111-1111-1111-111111111111/dicomweb"
        })
    );
}

#[test]
fn the_capability_statement_lists_what_the_parser_accepts() {
    let cs = serde_json::to_value(capability_statement(&fhir_base(), "1.2.3", updated())).unwrap();
    assert_eq!(cs["resourceType"], "CapabilityStatement");
    assert_eq!(cs["status"], "active");
    assert_eq!(cs["kind"], "instance");
    assert_eq!(cs["fhirVersion"], "4.0.1");
    assert_eq!(cs["date"], "2025-11-22T04:42:19.123456Z");
    assert_eq!(cs["format"], json!(["json", "application/fhir+json"]));
    assert_eq!(
        cs["software"],
        json!({"name": "studyvault", "version": "1.2.3"})
    );
    assert_eq!(cs["implementation"]["url"], fhir_base());
    let rest = &cs["rest"][0];
    assert_eq!(rest["mode"], "server");
    assert_eq!(
        rest["operation"],
        json!([{"name": "graphql",
                "definition": "http://hl7.org/fhir/OperationDefinition/Resource-graphql"}])
    );
    let types: Vec<&str> = rest["resource"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["ImagingStudy", "Patient", "Endpoint"]);
    let study = &rest["resource"][0];
    assert_eq!(
        study["interaction"],
        json!([{"code": "read"}, {"code": "search-type"}])
    );
    assert_eq!(
        rest["resource"][1]["interaction"],
        json!([{"code": "read"}])
    );
    assert_eq!(
        study["searchInclude"],
        json!([
            "ImagingStudy:subject",
            "ImagingStudy:endpoint",
            "ImagingStudy:patient"
        ])
    );
    let params = study["searchParam"].as_array().unwrap();
    let names: Vec<&str> = params.iter().map(|p| p["name"].as_str().unwrap()).collect();
    for expected in [
        "_id",
        "_lastUpdated",
        "identifier",
        "status",
        "started",
        "modality",
        "bodysite",
        "dicom-class",
        "instance",
        "series",
        "reason",
        "patient",
        "subject",
        "endpoint",
        "referrer",
        "interpreter",
        "performer",
        "basedon",
        "encounter",
    ] {
        assert!(names.contains(&expected), "{expected}");
    }
    assert_eq!(names.len(), 19);
    // Every advertised parameter is one the strict parser knows, with its advertised type.
    for p in params {
        let name = p["name"].as_str().unwrap();
        let value = match p["type"].as_str().unwrap() {
            "token" => "x",
            "date" => "2013",
            "reference" => "Patient/x",
            other => panic!("unexpected type {other}"),
        };
        let q = pairs(&[(name, value)]);
        assert!(
            SearchRequest::parse_at(&q, Handling::Strict, &ctx(), now()).is_ok(),
            "{name}"
        );
        assert!(!p["documentation"].as_str().unwrap().is_empty());
    }
    // Every advertised include is accepted.
    for include in study["searchInclude"].as_array().unwrap() {
        let q = pairs(&[("_include", include.as_str().unwrap())]);
        assert!(SearchRequest::parse_at(&q, Handling::Strict, &ctx(), now()).is_ok());
    }
}

#[test]
fn operation_outcomes_carry_severity_code_and_diagnostics() {
    let cases = [
        (Severity::Fatal, IssueCode::Exception, "fatal", "exception"),
        (Severity::Error, IssueCode::NotFound, "error", "not-found"),
        (
            Severity::Warning,
            IssueCode::TooCostly,
            "warning",
            "too-costly",
        ),
        (
            Severity::Information,
            IssueCode::NotSupported,
            "information",
            "not-supported",
        ),
        (Severity::Error, IssueCode::Forbidden, "error", "forbidden"),
        (Severity::Error, IssueCode::Deleted, "error", "deleted"),
        (Severity::Error, IssueCode::Security, "error", "security"),
        (Severity::Error, IssueCode::Login, "error", "login"),
        (
            Severity::Error,
            IssueCode::Processing,
            "error",
            "processing",
        ),
        (Severity::Error, IssueCode::Invalid, "error", "invalid"),
    ];
    for (severity, code, s, c) in cases {
        assert_eq!(
            serde_json::to_value(operation_outcome(severity, code, "why")).unwrap(),
            json!({"resourceType": "OperationOutcome",
                   "issue": [{"severity": s, "code": c, "diagnostics": "why"}]})
        );
    }
    let bare =
        serde_json::to_value(operation_outcome(Severity::Error, IssueCode::NotFound, "")).unwrap();
    assert_eq!(
        bare["issue"][0],
        json!({"severity": "error", "code": "not-found"})
    );
}
