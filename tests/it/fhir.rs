//! FHIR R4 over HTTP against the real binary: every fixture study as an ImagingStudy, search
//! Bundles, the CapabilityStatement, Patient, Endpoint and OperationOutcomes, all validated by
//! the Python `fhir.resources` package (R4B models), plus what it does not check: identifier
//! systems, codings, timezones, paging links that walk every match once, the access rules.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::server::{Reply, Server, python, python_script};

const FHIR_JSON: &str = "application/fhir+json";

/// A server with one record holding every fixture study.
struct Loaded {
    server: Server,
    rid: String,
    token: String,
    /// `(thing id, StudyInstanceUID)` of every study.
    studies: Vec<(String, String)>,
}

fn loaded() -> Loaded {
    let server = Server::start();
    let (rid, token) = server.create_record("FHIR Person");
    server.upload_every_fixture(&rid, &token);
    let list = server.get(&format!("/v1/records/{rid}/studies"), Some(&token));
    assert_eq!(list.status, 200);
    let studies: Vec<(String, String)> = list
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["thing_id"].as_str().unwrap().to_owned(),
                s["study_instance_uid"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(studies.len() >= 10, "the fixtures make many studies");
    Loaded {
        server,
        rid,
        token,
        studies,
    }
}

impl Loaded {
    fn fhir(&self, path: &str) -> Reply {
        self.server.get(
            &format!("/v1/records/{}/fhir/{path}", self.rid),
            Some(&self.token),
        )
    }

    /// A search that must succeed: its Bundle.
    fn search(&self, query: &str) -> Value {
        let reply = self.fhir(&format!("ImagingStudy?{query}"));
        assert_eq!(reply.status, 200, "{query}: {}", reply.text());
        assert!(reply.header("content-type").unwrap().starts_with(FHIR_JSON));
        let bundle = reply.json();
        assert_eq!(bundle["resourceType"], "Bundle");
        assert_eq!(bundle["type"], "searchset");
        bundle
    }

    /// The ids of a Bundle's matches.
    fn ids(bundle: &Value) -> Vec<String> {
        bundle["entry"]
            .as_array()
            .map(|entries| {
                entries
                    .iter()
                    .filter(|e| e["search"]["mode"] == "match")
                    .map(|e| e["resource"]["id"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A link of a Bundle, as a path on this server.
    fn link(&self, bundle: &Value, relation: &str) -> Option<String> {
        bundle["link"]
            .as_array()?
            .iter()
            .find(|l| l["relation"] == relation)
            .map(|l| {
                let url = l["url"].as_str().unwrap();
                url.strip_prefix(&self.server.base)
                    .unwrap_or_else(|| panic!("{url} is not on this server"))
                    .to_owned()
            })
    }
}

/// Runs `fhir_validate.py` over the files; panics with its report if any is invalid.
fn validate_with_fhir_resources(files: &[PathBuf]) {
    let out = Command::new(python())
        .arg(python_script("fhir_validate.py"))
        .args(files)
        .output()
        .expect("run the validator");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "fhir.resources refused some output:\n{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        report.contains(&format!("{} valid, 0 invalid", files.len())),
        "{report}"
    );
}

/// `YYYY-MM-DD`, or a time with seconds and a zone (FHIR dateTime with a time needs one).
fn assert_fhir_datetime(value: &str) {
    let b = value.as_bytes();
    let date_only = value.len() == 10 && b[4] == b'-' && b[7] == b'-';
    let zoned = value.len() >= 20
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && (value.ends_with('Z') || matches!(b[value.len() - 6], b'+' | b'-'));
    assert!(
        date_only || zoned,
        "not a FHIR date or zoned dateTime: {value}"
    );
}

#[test]
fn every_fixture_study_and_answer_validates_with_fhir_resources() {
    let t = loaded();
    let out = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    let mut titles = Vec::new();
    let mut save = |name: &str, value: &Value| {
        let path = out.path().join(format!("{name}.json"));
        std::fs::write(&path, serde_json::to_vec(value).unwrap()).unwrap();
        files.push(path);
    };

    for (n, (tid, uid)) in t.studies.iter().enumerate() {
        let reply = t.fhir(&format!("ImagingStudy/{tid}"));
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert!(reply.header("content-type").unwrap().starts_with(FHIR_JSON));
        let study = reply.json();
        assert_eq!(study["resourceType"], "ImagingStudy");
        assert_eq!(study["id"], tid.as_str());
        assert_eq!(study["status"], "available");
        assert_eq!(
            study["subject"]["reference"],
            format!("Patient/{}", t.rid).as_str()
        );
        assert_eq!(study["endpoint"][0]["reference"], "Endpoint/dicomweb");
        let uid_identifier = study["identifier"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["system"] == "urn:dicom:uid")
            .expect("the study UID identifier");
        assert_eq!(uid_identifier["value"], format!("urn:oid:{uid}").as_str());
        if let Some(started) = study["started"].as_str() {
            assert_fhir_datetime(started);
        }
        let series = study["series"].as_array().unwrap();
        assert_eq!(study["numberOfSeries"], series.len());
        let mut instances = 0;
        for s in series {
            assert_eq!(
                s["modality"]["system"],
                "http://dicom.nema.org/resources/ontology/DCM"
            );
            assert!(!s["uid"].as_str().unwrap().starts_with("urn:"), "bare UIDs");
            if let Some(started) = s["started"].as_str() {
                assert_fhir_datetime(started);
            }
            for i in s["instance"].as_array().unwrap() {
                if let Some(title) = i["title"].as_str() {
                    titles.push(title.to_owned());
                }
                assert_eq!(i["sopClass"]["system"], "urn:ietf:rfc:3986");
                assert!(
                    i["sopClass"]["code"]
                        .as_str()
                        .unwrap()
                        .starts_with("urn:oid:")
                );
                instances += 1;
            }
        }
        assert_eq!(study["numberOfInstances"], instances);
        for m in study["modality"].as_array().into_iter().flatten() {
            assert_eq!(m["system"], "http://dicom.nema.org/resources/ontology/DCM");
        }
        assert!(study["meta"]["versionId"].is_string());
        save(&format!("study-{n}"), &study);
    }

    assert!(
        titles.iter().any(|t| t == "Document Title"),
        "an SR's title reaches instance.title: {titles:?}"
    );

    let searches = [
        ("all", "_count=200"),
        ("page", "_count=5&_offset=5"),
        (
            "includes",
            "_include=ImagingStudy:subject&_include=ImagingStudy:endpoint",
        ),
        ("modality", "modality=MR"),
        ("count-only", "_summary=count"),
        ("elements", "_elements=started,modality"),
        ("lenient-unknown", "not-a-parameter=1"),
        (
            "no-match",
            "identifier=urn:dicom:uid|urn:oid:1.2.3.4.5.6.7.8.9",
        ),
    ];
    for (name, query) in searches {
        let bundle = t.search(query);
        save(&format!("bundle-{name}"), &bundle);
    }
    let all = t.search("_count=200");
    assert_eq!(all["total"], t.studies.len());
    let included = t.search("_include=ImagingStudy:subject&_include=ImagingStudy:endpoint");
    let modes: Vec<&str> = included["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["search"]["mode"] == "include")
        .map(|e| e["resource"]["resourceType"].as_str().unwrap())
        .collect();
    assert_eq!(modes, ["Patient", "Endpoint"]);
    let lenient = t.search("not-a-parameter=1");
    let outcome = lenient["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["search"]["mode"] == "outcome")
        .expect("the ignored parameter is reported");
    assert_eq!(outcome["resource"]["issue"][0]["severity"], "warning");

    for (name, path) in [
        ("metadata", "metadata".to_owned()),
        ("patient", format!("Patient/{}", t.rid)),
        ("endpoint", "Endpoint/dicomweb".to_owned()),
    ] {
        let reply = t.fhir(&path);
        assert_eq!(reply.status, 200, "{path}: {}", reply.text());
        save(name, &reply.json());
    }
    let capabilities = t.fhir("metadata").json();
    assert_eq!(capabilities["fhirVersion"], "4.0.1");
    let endpoint = t.fhir("Endpoint/dicomweb").json();
    assert_eq!(
        endpoint["address"],
        format!("{}/v1/records/{}/dicomweb", t.server.base, t.rid).as_str()
    );

    for (name, query) in [
        ("bad-date", "started=2013-13-01"),
        ("bad-prefix", "started=xx2013"),
        ("bad-include", "_include=ImagingStudy:basedon"),
        ("bad-count", "_count=many"),
    ] {
        let reply = t.fhir(&format!("ImagingStudy?{query}"));
        assert_eq!(reply.status, 400, "{query}: {}", reply.text());
        let outcome = reply.json();
        assert_eq!(outcome["resourceType"], "OperationOutcome", "{query}");
        save(&format!("outcome-{name}"), &outcome);
    }
    validate_with_fhir_resources(&files);
}

#[test]
fn paging_links_walk_every_match_exactly_once() {
    let t = loaded();
    let all: BTreeSet<String> = Loaded::ids(&t.search("_count=200")).into_iter().collect();
    assert_eq!(all.len(), t.studies.len());

    let mut seen = Vec::new();
    let mut page = t.search("_count=3&_sort=-started");
    let total = page["total"].as_u64().unwrap() as usize;
    assert_eq!(total, all.len());
    let mut pages = 1;
    loop {
        let ids = Loaded::ids(&page);
        assert!(ids.len() <= 3, "never more than _count");
        seen.extend(ids);
        let Some(next) = t.link(&page, "next") else {
            break;
        };
        assert!(next.contains("_sort=-started"), "the sort is kept: {next}");
        let reply = t.server.get(&next, Some(&t.token));
        assert_eq!(reply.status, 200, "{next}");
        page = reply.json();
        pages += 1;
        assert!(pages <= total, "the links must end");
    }
    assert_eq!(seen.len(), total, "each match once");
    assert_eq!(seen.iter().cloned().collect::<BTreeSet<_>>(), all);

    // The last page's `previous` and the `first` link lead back.
    let previous = t.link(&page, "previous").expect("a previous page");
    let back = t.server.get(&previous, Some(&t.token)).json();
    let at = seen.len() - Loaded::ids(&page).len() - Loaded::ids(&back).len();
    assert_eq!(Loaded::ids(&back), seen[at..at + Loaded::ids(&back).len()]);
    let first = t.link(&page, "first").unwrap();
    let first = t.server.get(&first, Some(&t.token)).json();
    assert_eq!(Loaded::ids(&first), seen[..3]);
}

#[test]
fn search_parameters_match_and_miss_over_http() {
    let t = loaded();
    // A study with a date, read as FHIR: the values to search for come from the resource.
    let (tid, uid, study) = t
        .studies
        .iter()
        .find_map(|(tid, uid)| {
            let study = t.fhir(&format!("ImagingStudy/{tid}")).json();
            study["started"]
                .is_string()
                .then(|| (tid.clone(), uid.clone(), study))
        })
        .expect("a fixture study with a date");
    let series = &study["series"][0];
    let series_uid = series["uid"].as_str().unwrap();
    let sop = series["instance"][0]["uid"].as_str().unwrap();
    let class = series["instance"][0]["sopClass"]["code"]
        .as_str()
        .unwrap()
        .strip_prefix("urn:oid:")
        .unwrap();
    let modality = series["modality"]["code"].as_str().unwrap();
    let date = study["started"].as_str().unwrap()[..10].to_owned();
    let rid = t.rid.clone();

    let finds = |query: &str| -> bool {
        Loaded::ids(&t.search(&format!("{query}&_count=200"))).contains(&tid)
    };
    let matching = [
        format!("identifier=urn:dicom:uid|urn:oid:{uid}"),
        format!("_id={tid}"),
        format!("series={series_uid}"),
        format!("instance=urn:oid:{sop}"),
        format!("dicom-class=urn:oid:{class}"),
        format!("modality=http://dicom.nema.org/resources/ontology/DCM|{modality}"),
        format!("started={date}"),
        format!("started=ge{date}&started=le{date}"),
        format!("patient=Patient/{rid}"),
        format!(
            "subject={}/v1/records/{rid}/fhir/Patient/{rid}",
            t.server.base
        ),
        "endpoint=Endpoint/dicomweb".to_owned(),
        "status=available".to_owned(),
        "_lastUpdated=gt2000-01-01".to_owned(),
    ];
    for query in &matching {
        assert!(finds(query), "{query} should find the study");
    }
    let missing = [
        "identifier=urn:dicom:uid|urn:oid:1.2.3.999".to_owned(),
        format!("_id={}", uuid_like()),
        "series=1.2.3.999".to_owned(),
        "instance=1.2.3.999".to_owned(),
        "dicom-class=urn:oid:1.2.3.999".to_owned(),
        "modality=XX".to_owned(),
        format!("started=lt{date}"),
        format!("started=gt{date}"),
        "patient=Patient/someone-else".to_owned(),
        "endpoint=Endpoint/other".to_owned(),
        "status=cancelled".to_owned(),
        "basedon=ServiceRequest/1".to_owned(),
        "performer=Practitioner/1".to_owned(),
        "_lastUpdated=lt2000-01-01".to_owned(),
    ];
    for query in &missing {
        assert!(!finds(query), "{query} should not find the study");
    }

    // The order follows _sort.
    let started = |b: &Value| -> Vec<String> {
        b["entry"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["resource"]["started"].as_str().map(str::to_owned))
            .collect()
    };
    let descending = started(&t.search("_sort=-started&_count=200"));
    let mut sorted = descending.clone();
    sorted.sort_by(|a, b| b[..10].cmp(&a[..10]));
    assert_eq!(
        descending.iter().map(|s| &s[..10]).collect::<Vec<_>>(),
        sorted.iter().map(|s| &s[..10]).collect::<Vec<_>>()
    );

    // Malformed parameters are 400 OperationOutcomes; an unknown one only under strict.
    for query in [
        "started=23%20May%202009",
        "started=2013-01-01T10",
        "_sort=description",
        "_offset=-1",
        "identifier:above=x",
    ] {
        let reply = t.fhir(&format!("ImagingStudy?{query}"));
        assert_eq!(reply.status, 400, "{query}");
        assert_eq!(reply.json()["resourceType"], "OperationOutcome");
    }
    let strict = t.server.get_with(
        &format!("/v1/records/{rid}/fhir/ImagingStudy?not-a-parameter=1"),
        Some(&t.token),
        &[("Prefer", "handling=strict")],
    );
    assert_eq!(strict.status, 400, "{}", strict.text());

    // POST _search answers as GET does.
    let form = t.server.send(
        "POST",
        &format!("/v1/records/{rid}/fhir/ImagingStudy/_search"),
        Some(&t.token),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        format!("identifier=urn%3Adicom%3Auid%7Curn%3Aoid%3A{uid}").as_bytes(),
    );
    assert_eq!(form.status, 200, "{}", form.text());
    assert_eq!(Loaded::ids(&form.json()), [tid]);
}

fn uuid_like() -> &'static str {
    "00000000-0000-4000-8000-000000000000"
}

#[test]
fn fhir_keeps_the_access_rules_and_http_semantics() {
    let t = loaded();
    let (tid, _) = t.studies[0].clone();
    let rid = &t.rid;
    let study = format!("/v1/records/{rid}/fhir/ImagingStudy/{tid}");

    let anonymous = t.server.get(&study, None);
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.json()["resourceType"], "OperationOutcome");
    assert!(
        anonymous
            .header("content-type")
            .unwrap()
            .starts_with(FHIR_JSON)
    );
    let notes_only = t.server.issue_token(
        rid,
        &t.token,
        serde_json::json!([{"type_id": "a5294488-a6d6-4b8b-8d19-1d0c9c6b1e2a", "permissions": ["read"]}]),
        None,
    );
    assert_eq!(t.server.get(&study, Some(&notes_only)).status, 403);
    let (other, other_token) = t.server.create_record("Someone Else");
    assert_ne!(&other, rid);
    let foreign = t.server.get(&study, Some(&other_token));
    assert_eq!(foreign.status, 404, "another record's token sees nothing");
    assert_eq!(
        t.server
            .get(
                &format!("/v1/records/{rid}/fhir/ImagingStudy"),
                Some(&other_token)
            )
            .status,
        404
    );

    let xml = t
        .server
        .get(&format!("{study}?_format=xml"), Some(&t.token));
    assert_eq!(xml.status, 406);
    let accept_xml = t.server.get_with(
        &study,
        Some(&t.token),
        &[("Accept", "application/fhir+xml")],
    );
    assert_eq!(accept_xml.status, 406);
    assert_eq!(
        t.server
            .get(&format!("{study}?_format=json"), Some(&t.token))
            .status,
        200
    );
    assert_eq!(t.fhir(&format!("ImagingStudy/{}", uuid_like())).status, 404);
    assert_eq!(t.fhir("ImagingStudy/not-an-id").status, 404);
    assert_eq!(t.fhir("Patient/someone-else").status, 404);
    assert_eq!(t.fhir("Endpoint/other").status, 404);

    let first = t.server.get(&study, Some(&t.token));
    let etag = first.header("etag").unwrap().to_owned();
    assert!(etag.starts_with("W/\""), "{etag}");
    assert!(first.header("last-modified").is_some());
    let again = t
        .server
        .get_with(&study, Some(&t.token), &[("If-None-Match", &etag)]);
    assert_eq!(again.status, 304);

    let deleted = t.server.send(
        "DELETE",
        &format!("/v1/records/{rid}/things/{tid}"),
        Some(&t.token),
        &[],
        b"",
    );
    assert!(deleted.status < 300, "{}", deleted.text());
    let gone = t.server.get(&study, Some(&t.token));
    assert_eq!(gone.status, 410, "{}", gone.text());
    assert_eq!(gone.json()["issue"][0]["code"], "deleted");
    let all = t.search("_count=200");
    assert!(
        !Loaded::ids(&all).contains(&tid),
        "a deleted study is not found"
    );
    assert_eq!(all["total"], t.studies.len() - 1);
}
