//! Order, paging links (which parse back to the same request), `_elements`, `_summary` and
//! `_total`, and the searchset Bundle as JSON.

use std::cmp::Ordering;

use serde_json::json;
use sv_fhir::{
    Bundle, Handling, Include, MAX_COUNT, Resource, SearchRequest, endpoint, imaging_study,
    patient, search_bundle,
};
use sv_model::study::StudyDigest;
use sv_model::{Record, ThingId, Timestamp};

use crate::common::*;

fn decode_query(query: &str) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let mut bytes = Vec::new();
        let mut it = s.bytes();
        while let Some(b) = it.next() {
            match b {
                b'+' => bytes.push(b' '),
                b'%' => {
                    let hex: Vec<u8> = it.by_ref().take(2).collect();
                    bytes.push(u8::from_str_radix(std::str::from_utf8(&hex).unwrap(), 16).unwrap());
                }
                b => bytes.push(b),
            }
        }
        String::from_utf8(bytes).unwrap()
    }
    query
        .split('&')
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap();
            (decode(k), decode(v))
        })
        .collect()
}

fn links_of(bundle: &Bundle) -> Vec<(&str, &str)> {
    bundle
        .link
        .iter()
        .map(|l| (l.relation.as_str(), l.url.as_str()))
        .collect()
}

fn reparse(url: &str) -> SearchRequest {
    let prefix = format!("{}/ImagingStudy?", fhir_base());
    let query = url
        .strip_prefix(&prefix)
        .expect("a GET URL on the FHIR base");
    SearchRequest::parse_at(&decode_query(query), Handling::Strict, &ctx(), now()).unwrap()
}

#[test]
fn paging_links_parse_back_to_the_same_request() {
    let q = [
        ("modality", "CT,MR"),
        ("identifier", r"urn:dicom:uid|urn:oid:1.2\,3"),
        ("started", "ge2009-01-08T11:04:00+01:00"),
        ("started", "lt2010"),
        ("reason:text", "chest pain & more"),
        ("patient:Patient", &record().to_string()),
        ("_include", "ImagingStudy:patient"),
        ("_include", "ImagingStudy:endpoint"),
        ("_elements", "identifier,series"),
        ("_sort", "-started,_lastUpdated"),
        ("_total", "accurate"),
        ("_format", "application/fhir+json"),
        ("_count", "10"),
        ("_offset", "20"),
    ];
    let request = parse(&q);
    let bundle = search_bundle(&request, 45, Vec::new(), Vec::new(), &fhir_base());
    let links = links_of(&bundle);
    let relations: Vec<&str> = links.iter().map(|(r, _)| *r).collect();
    assert_eq!(relations, ["self", "first", "previous", "next", "last"]);
    for (relation, url) in &links {
        let again = reparse(url);
        let offset = match *relation {
            "self" => 20,
            "first" => 0,
            "previous" => 10,
            "next" => 30,
            _ => 40,
        };
        assert_eq!(again.offset(), offset, "{relation}");
        let mut expected: Vec<(&str, &str)> = q.to_vec();
        let offset_text = offset.to_string();
        expected.retain(|(k, _)| *k != "_offset");
        expected.push(("_offset", &offset_text));
        assert_eq!(again, parse(&expected), "{relation}: {url}");
        // And the canonical query is stable.
        assert!(url.ends_with(&again.canonical_query()), "{url}");
    }
    let self_url = links[0].1;
    assert!(
        self_url.contains("identifier=urn:dicom:uid%7Curn:oid:1.2%5C,3"),
        "{self_url}"
    );
    assert!(
        self_url.contains("started=ge2009-01-08T11:04:00%2B01:00"),
        "{self_url}"
    );
    assert!(self_url.contains("_include=ImagingStudy:subject&_include=ImagingStudy:endpoint"));
    assert_eq!(request.includes(), [Include::Patient, Include::Endpoint]);
}

#[test]
fn first_and_last_pages_have_no_previous_or_next() {
    let first = search_bundle(
        &parse(&[("_count", "10")]),
        25,
        Vec::new(),
        Vec::new(),
        &fhir_base(),
    );
    let relations: Vec<&str> = first.link.iter().map(|l| l.relation.as_str()).collect();
    assert_eq!(relations, ["self", "first", "next", "last"]);
    assert!(first.link[3].url.ends_with("_count=10&_offset=20"));
    let last = search_bundle(
        &parse(&[("_count", "10"), ("_offset", "20")]),
        25,
        Vec::new(),
        Vec::new(),
        &fhir_base(),
    );
    let relations: Vec<&str> = last.link.iter().map(|l| l.relation.as_str()).collect();
    assert_eq!(relations, ["self", "first", "previous", "last"]);
    let empty = search_bundle(&parse(&[]), 0, Vec::new(), Vec::new(), &fhir_base());
    assert_eq!(empty.total, Some(0));
    assert!(empty.link.iter().all(|l| l.relation != "next"));
}

#[test]
fn an_offset_past_the_end_pages_back_to_the_last_page() {
    let max = usize::MAX.to_string();
    let request = parse(&[("_count", "10"), ("_offset", &max)]);
    let bundle = search_bundle(&request, 25, Vec::new(), Vec::new(), &fhir_base());
    let relations: Vec<&str> = bundle.link.iter().map(|l| l.relation.as_str()).collect();
    assert_eq!(relations, ["self", "first", "previous", "last"]);
    assert!(bundle.link[2].url.ends_with("_count=10&_offset=20"));
}

#[test]
fn count_defaults_clamps_and_zero_counts_only() {
    assert_eq!(parse(&[]).count(), 20);
    assert_eq!(parse(&[("_count", "5000")]).count(), MAX_COUNT);
    let zero = parse(&[("_count", "0")]);
    assert!(zero.summary_count());
    assert_eq!(zero.count(), 0);
    let summary = parse(&[("_summary", "count"), ("_count", "7")]);
    assert!(summary.summary_count());
    assert_eq!(summary.count(), 0);
    assert!(!parse(&[("_summary", "false")]).summary_count());
    assert_eq!(parse(&[("_summary", "data")]), parse(&[]));

    let study = imaging_study(
        thing(),
        version(),
        updated(),
        &two_series_study(),
        record(),
        &links(),
    );
    let bundle = search_bundle(&summary, 3, vec![study], Vec::new(), &fhir_base());
    assert_eq!(bundle.total, Some(3));
    assert!(bundle.entry.is_empty(), "count only: no entries");
    assert_eq!(bundle.link.len(), 1, "count only: self link only");
    assert!(bundle.link[0].url.ends_with("_summary=count&_count=7"));
}

#[test]
fn total_none_leaves_the_total_out() {
    let bundle = search_bundle(
        &parse(&[("_total", "none")]),
        3,
        Vec::new(),
        Vec::new(),
        "b",
    );
    assert_eq!(bundle.total, None);
    let bundle = search_bundle(
        &parse(&[("_total", "estimate")]),
        3,
        Vec::new(),
        Vec::new(),
        "b",
    );
    assert_eq!(bundle.total, Some(3));
}

#[test]
fn elements_keep_the_asked_and_mandatory_elements_and_tag_subsetted() {
    let request = parse(&[("_elements", "identifier,started")]);
    assert_eq!(request.elements().unwrap(), ["identifier", "started"]);
    let study = imaging_study(
        thing(),
        version(),
        updated(),
        &two_series_study(),
        record(),
        &links(),
    );
    let bundle = search_bundle(&request, 1, vec![study], Vec::new(), &fhir_base());
    let json = serde_json::to_value(&bundle.entry[0].resource).unwrap();
    let mut keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "id",
            "identifier",
            "meta",
            "resourceType",
            "started",
            "status",
            "subject"
        ]
    );
    assert_eq!(
        json["meta"]["tag"],
        json!([{
            "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
            "code": "SUBSETTED"
        }])
    );
    assert_eq!(json["meta"]["versionId"], version().to_string());
}

fn digest_at(date: Option<&str>, updated_micros: i64) -> StudyDigest {
    let mut facts = two_series_study();
    for f in &mut facts {
        f.study.study_date = date.map(str::to_owned);
        f.study.study_time = None;
    }
    StudyDigest::of(
        &facts,
        version(),
        Timestamp::from_unix_micros(updated_micros),
    )
    .unwrap()
}

#[test]
fn default_order_is_newest_first_with_undated_last_and_ties_by_thing_id() {
    let (a, b, c, d) = (
        ThingId::from_bytes([1; 16]),
        ThingId::from_bytes([2; 16]),
        ThingId::from_bytes([3; 16]),
        ThingId::from_bytes([4; 16]),
    );
    let old = digest_at(Some("20090108"), 50);
    let new = digest_at(Some("20120101"), 10);
    let undated = digest_at(None, 99);
    let twin = digest_at(Some("20090108"), 50);
    let order = |request: &SearchRequest| {
        let mut studies = [(c, &undated), (d, &twin), (a, &old), (b, &new)];
        studies.sort_by(|x, y| request.compare(*x, *y));
        studies.iter().map(|(t, _)| *t).collect::<Vec<_>>()
    };
    assert_eq!(order(&parse(&[])), [b, a, d, c]);
    assert_eq!(order(&parse(&[("_sort", "started")])), [a, d, b, c]);
    assert_eq!(order(&parse(&[("_sort", "-_lastUpdated")])), [c, a, d, b]);
    assert_eq!(
        order(&parse(&[("_sort", "_lastUpdated,-started")])),
        [b, a, d, c]
    );
    assert_eq!(parse(&[]).compare((a, &old), (a, &old)), Ordering::Equal);
}

#[test]
fn a_small_bundle_as_json() {
    let request = parse(&[
        ("_id", &thing().to_string()),
        ("_include", "ImagingStudy:subject"),
        ("foo", "1"),
    ]);
    let study = imaging_study(
        thing(),
        version(),
        updated(),
        &two_series_study(),
        record(),
        &links(),
    );
    let rec = Record {
        id: record(),
        name: "Ben".into(),
        created: Timestamp::UNIX_EPOCH,
        owner_email: None,
    };
    let included = vec![
        Resource::Patient(patient(&rec, &[digest()], &links())),
        Resource::Endpoint(endpoint(&links())),
    ];
    let bundle = search_bundle(&request, 1, vec![study.clone()], included, &fhir_base());
    let base = fhir_base();
    let rid = record().to_string();
    let tid = thing().to_string();
    let self_url = format!("{base}/ImagingStudy?_id={tid}&_include=ImagingStudy:subject&_count=20");
    let expected = json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "total": 1,
        "link": [
            {"relation": "self", "url": self_url},
            {"relation": "first", "url": self_url},
            {"relation": "last", "url": self_url}
        ],
        "entry": [
            {
                "fullUrl": format!("{base}/ImagingStudy/{tid}"),
                "resource": serde_json::to_value(&study).unwrap(),
                "search": {"mode": "match"}
            },
            {
                "fullUrl": format!("{base}/Patient/{rid}"),
                "resource": {
                    "resourceType": "Patient",
                    "id": rid,
                    "identifier": [{"value": "PID-7"}],
                    "name": [
                        {"use": "usual", "text": "Ben"},
                        {"text": "Benjamin Pierce", "family": "Pierce", "given": ["Benjamin"]}
                    ],
                    "gender": "male",
                    "birthDate": "1970-02-03"
                },
                "search": {"mode": "include"}
            },
            {
                "fullUrl": format!("{base}/Endpoint/dicomweb"),
                "resource": serde_json::to_value(endpoint(&links())).unwrap(),
                "search": {"mode": "include"}
            },
            {
                "resource": {
                    "resourceType": "OperationOutcome",
                    "issue": [{
                        "severity": "warning",
                        "code": "not-supported",
                        "diagnostics": "unknown search parameters ignored: foo"
                    }]
                },
                "search": {"mode": "outcome"}
            }
        ]
    });
    assert_eq!(serde_json::to_value(&bundle).unwrap(), expected);
}
