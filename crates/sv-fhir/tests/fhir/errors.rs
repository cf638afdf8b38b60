//! Requests the parser refuses (a 400 with an OperationOutcome), and what lenient and strict
//! handling do with unknown parameters.

use serde_json::json;
use sv_fhir::{FhirError, Handling, IssueCode, MAX_VALUES, SearchRequest};

use crate::common::*;

fn parse_with(q: &[(&str, &str)], handling: Handling) -> Result<SearchRequest, FhirError> {
    SearchRequest::parse_at(&pairs(q), handling, &ctx(), now())
}

#[track_caller]
fn refused(q: &[(&str, &str)], code: IssueCode) -> FhirError {
    for handling in [Handling::Lenient, Handling::Strict] {
        match parse_with(q, handling) {
            Err(e) => assert_eq!(e.issue_code(), code, "{q:?}: {e}"),
            Ok(_) => panic!("{q:?} should be refused"),
        }
    }
    parse_with(q, Handling::Lenient).unwrap_err()
}

#[test]
fn bad_dates_and_prefixes() {
    for value in [
        "2013-13-01",
        "23 May 2009",
        "2013-01-01T10",
        "xx2013",
        "2013-01-01T10:00:00+25:00",
        "ge",
    ] {
        let e = refused(&[("started", value)], IssueCode::Invalid);
        assert!(e.to_string().contains("started"), "{e}");
    }
    refused(&[("_lastUpdated", "yesterday")], IssueCode::Invalid);
    refused(&[("started", "2013|2014")], IssueCode::Invalid);
}

#[test]
fn messages_name_the_parameter_but_not_the_value() {
    let e = refused(&[("started", "23 May 2009")], IssueCode::Invalid);
    assert_eq!(e.to_string(), "parameter 'started': bad date");
    let e = refused(&[("identifier", r"Pierce\Benjamin")], IssueCode::Invalid);
    assert!(!e.to_string().contains("Pierce"), "{e}");
    let long = "x".repeat(10_000);
    let e = parse_with(&[(&long, "1")], Handling::Strict).unwrap_err();
    assert!(e.to_string().len() < 200, "{e}");
}

#[test]
fn bad_tokens() {
    refused(&[("identifier", "a|b|c")], IssueCode::Invalid);
    refused(&[("identifier", "|")], IssueCode::Invalid);
    refused(&[("modality", "CT,,MR")], IssueCode::Invalid);
    refused(&[("modality", r"CT\")], IssueCode::Invalid);
    refused(&[("identifier:of-type", "ACSN|ACC-42")], IssueCode::Invalid);
    refused(&[("patient", "Patient/")], IssueCode::Invalid);
    refused(&[("modality:missing", "maybe")], IssueCode::Invalid);
}

#[test]
fn unknown_includes_are_refused() {
    for value in [
        "ImagingStudy:foo",
        "*",
        "Patient:link",
        "ImagingStudy:subject,ImagingStudy:endpoint",
    ] {
        refused(&[("_include", value)], IssueCode::NotSupported);
    }
    refused(
        &[("_include:iterate", "ImagingStudy:subject")],
        IssueCode::Invalid,
    );
}

#[test]
fn bad_result_parameters() {
    for value in ["abc", "-1", "+5", "1.5", "99999999999999999999999"] {
        refused(&[("_count", value)], IssueCode::Invalid);
        refused(&[("_offset", value)], IssueCode::Invalid);
    }
    for value in ["status", "started,", "+started", "-"] {
        refused(&[("_sort", value)], IssueCode::NotSupported);
    }
    refused(&[("_summary", "true")], IssueCode::NotSupported);
    refused(&[("_summary", "text")], IssueCode::NotSupported);
    refused(&[("_summary", "sometimes")], IssueCode::Invalid);
    refused(&[("_total", "lots")], IssueCode::Invalid);
    refused(
        &[("_elements", "identifier,patientName")],
        IssueCode::Invalid,
    );
    refused(&[("_count", "5"), ("_count", "6")], IssueCode::Invalid);
}

#[test]
fn unknown_and_unsupported_modifiers_are_refused_under_either_handling() {
    refused(&[("modality:exact", "CT")], IssueCode::NotSupported);
    refused(&[("modality:text", "CT")], IssueCode::NotSupported);
    refused(&[("started:not", "2013")], IssueCode::NotSupported);
    refused(&[("subject:identifier", "x|y")], IssueCode::NotSupported);
    refused(&[("modality:sideways", "CT")], IssueCode::Invalid);
    refused(&[("subject:Practitioner", "x")], IssueCode::Invalid);
    refused(&[("patient:Group", "x")], IssueCode::Invalid);
}

#[test]
fn too_many_values_are_too_costly() {
    let many = vec!["CT"; MAX_VALUES + 1].join(",");
    refused(&[("modality", &many)], IssueCode::TooCostly);
    assert!(
        parse_with(
            &[("modality", &vec!["CT"; MAX_VALUES].join(","))],
            Handling::Strict
        )
        .is_ok()
    );
}

#[test]
fn unknown_parameters_are_ignored_when_lenient_and_refused_when_strict() {
    let q = [
        ("foo", "bar"),
        ("subject.name", "x"),
        ("foo", "baz"),
        ("modality", "CT"),
    ];
    let lenient = parse_with(&q, Handling::Lenient).unwrap();
    assert_eq!(lenient.ignored(), ["foo", "subject.name"]);
    assert!(lenient.matches(thing(), &digest(), &mut sop_index));
    let e = parse_with(&q, Handling::Strict).unwrap_err();
    assert_eq!(e.issue_code(), IssueCode::NotSupported);
    assert!(e.to_string().contains("foo"));
    // HTTP's own parameters are known, never reported.
    let q = [
        ("_format", "json"),
        ("_pretty", "true"),
        ("_total", "accurate"),
    ];
    assert!(
        parse_with(&q, Handling::Strict)
            .unwrap()
            .ignored()
            .is_empty()
    );
}

#[test]
fn an_error_is_an_operation_outcome() {
    let e = refused(&[("_count", "-1")], IssueCode::Invalid);
    assert_eq!(
        serde_json::to_value(e.outcome()).unwrap(),
        json!({
            "resourceType": "OperationOutcome",
            "issue": [{
                "severity": "error",
                "code": "invalid",
                "diagnostics": "parameter '_count': not a non-negative integer"
            }]
        })
    );
}
