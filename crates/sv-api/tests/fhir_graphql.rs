//! FHIR GraphQL (`$graphql`), in process (no socket), over a temporary vault of synthetic
//! studies: both entry points and both methods, the health-app query, references, paging by
//! cursor, list-field arguments, the limits and the errors' OperationOutcomes, the request
//! shapes refused, access, and answers equal to the REST search's.

#[path = "common/harness.rs"]
mod harness;

use axum::body::Body;
use axum::http::StatusCode;
use serde_json::{Value, json};
use sv_api::ApiLimits;
use sv_dicom::synthetic::{Spec, ct_value, instance};
use sv_fhir::encode_component;
use sv_vault::{IngestOptions, IngestStatus, VaultConfig};

use harness::{Api, OTHER_TYPE, Reply, STUDY_TYPE, api_with_config, get, send};

const MODALITIES: [&str; 5] = ["CT", "MR", "CT", "US", "MR"];
const DATES: [&str; 5] = ["20190115", "20190215", "20190315", "20200415", "20210515"];

/// A record of `n` studies: study `i` has UID `2.25.777.<i+1>`, accession `ACC<i>`, the
/// modality and date above (cycling), and `series` series of two instances.
struct Loaded {
    api: Api,
    rid: String,
    token: String,
}

fn loaded_with(n: usize, series: u32) -> Loaded {
    let mut config = VaultConfig::default();
    config.preview.min_short_side = 16;
    config.preview.max_short_side = 16;
    let api = api_with_config(ApiLimits::default(), config);
    let (record, owner) = api.vault.create_record_blocking("GraphQL Person").unwrap();
    for i in 0..n {
        let uid = format!("2.25.777.{}", i + 1);
        for s in 0..series {
            for k in 0..2u32 {
                let mut spec = Spec::new(16, 16, ct_value);
                spec.study_uid = uid.clone();
                spec.series_uid = format!("{uid}.{}", s + 1);
                spec.sop_uid = format!("{uid}.{}.{}", s + 1, k + 1);
                spec.instance_number = Some(k as i32 + 1);
                spec.slice = k;
                spec.modality = MODALITIES[i % MODALITIES.len()];
                spec.study_date = Some(DATES[i % DATES.len()].to_owned());
                spec.accession_number = Some(format!("ACC{i}"));
                let report = api
                    .vault
                    .ingest_blocking(record.id, &instance(&spec), &IngestOptions::default())
                    .unwrap();
                assert_eq!(report.status, IngestStatus::Stored, "{:?}", report.reason);
            }
        }
    }
    Loaded {
        api,
        rid: record.id.to_string(),
        token: owner.secret.expose().to_owned(),
    }
}

fn loaded() -> Loaded {
    loaded_with(5, 2)
}

impl Loaded {
    fn base(&self) -> String {
        format!("/v1/records/{}/fhir", self.rid)
    }

    /// POSTs `body` as JSON to the system endpoint.
    async fn post(&self, body: Value) -> Reply {
        self.post_to(&format!("{}/$graphql", self.base()), body)
            .await
    }

    async fn post_to(&self, uri: &str, body: Value) -> Reply {
        let ct = [("content-type", "application/json")];
        let body = Body::from(body.to_string());
        send(&self.api, "POST", uri, Some(&self.token), &ct, body).await
    }

    /// A query that must succeed: its `data`.
    async fn data(&self, query: &str) -> Value {
        ok_data(&self.post(json!({ "query": query })).await)
    }

    /// A query that must fail: its errors.
    async fn errors(&self, query: &str) -> Vec<Value> {
        gql_errors(&self.post(json!({ "query": query })).await)
    }

    /// The REST search's matching resources.
    async fn rest(&self, query: &str) -> (u64, Vec<Value>) {
        let reply = get(
            &self.api,
            &format!("{}/ImagingStudy?{query}", self.base()),
            &self.token,
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{query}: {}", reply.text());
        let bundle = reply.json();
        let entries = bundle["entry"].as_array().cloned().unwrap_or_default();
        let resources = entries.iter().map(|e| e["resource"].clone()).collect();
        (bundle["total"].as_u64().unwrap(), resources)
    }
}

/// A successful GraphQL answer's `data` (200, `application/json`, no errors).
fn ok_data(reply: &Reply) -> Value {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.header("content-type"), "application/json");
    let body = reply.json();
    assert!(body.get("errors").is_none(), "{body}");
    body["data"].clone()
}

/// A GraphQL answer's errors (200), each with one OperationOutcome whose issue says what
/// the message says.
fn gql_errors(reply: &Reply) -> Vec<Value> {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.header("content-type"), "application/json");
    let body = reply.json();
    let errors = body["errors"].as_array().cloned().unwrap_or_default();
    assert!(!errors.is_empty(), "no errors: {body}");
    for e in &errors {
        assert_outcome(e);
    }
    errors
}

fn assert_outcome(error: &Value) {
    let outcome = &error["extensions"]["resource"];
    assert_eq!(outcome["resourceType"], "OperationOutcome", "{error}");
    let issues = outcome["issue"].as_array().unwrap();
    assert_eq!(issues.len(), 1, "{error}");
    assert_eq!(issues[0]["severity"], "error");
    assert_eq!(issues[0]["diagnostics"], error["message"], "{error}");
}

fn code(error: &Value) -> &str {
    error["extensions"]["resource"]["issue"][0]["code"]
        .as_str()
        .unwrap()
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

const HEALTH_APP: &str = r#"
query PatientImaging($p: String!) {
  studies: ImagingStudyList(patient: $p, _sort: "-started", _count: 50) {
    id started numberOfSeries description
    modality { system code }
    identifier(system: "urn:dicom:uid") { value }
    series { modality { code } }
  }
}
query Other { Endpoint(id: "dicomweb") { id } }
"#;

#[tokio::test]
async fn the_health_app_query_runs_with_variables_and_operation_name() {
    let t = loaded();
    let body = json!({
        "query": HEALTH_APP,
        "variables": { "p": format!("Patient/{}", t.rid) },
        "operationName": "PatientImaging",
    });
    let data = ok_data(&t.post(body).await);
    let studies = data["studies"].as_array().unwrap();
    assert_eq!(studies.len(), 5);
    // newest first, as `_sort: "-started"` asks
    let started: Vec<&str> = studies
        .iter()
        .map(|s| s["started"].as_str().unwrap())
        .collect();
    assert!(started.starts_with(&["2021-05-15"]), "{started:?}");
    assert!(started.windows(2).all(|w| w[0] >= w[1]), "{started:?}");
    let first = &studies[0];
    assert_eq!(first["numberOfSeries"], json!(2), "a JSON number");
    assert_eq!(first["description"], Value::Null);
    assert_eq!(
        first["modality"],
        json!([{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "MR"}])
    );
    // only the Study UID identifier, not the accession number
    assert_eq!(
        first["identifier"],
        json!([{"value": "urn:oid:2.25.777.5"}])
    );
    assert_eq!(
        first["series"],
        json!([{"modality": {"code": "MR"}}, {"modality": {"code": "MR"}}])
    );

    // The other operation by name; without a name, two operations are an error.
    let body = json!({ "query": HEALTH_APP, "operationName": "Other" });
    assert_eq!(
        ok_data(&t.post(body).await),
        json!({"Endpoint": {"id": "dicomweb"}})
    );
    let errors = gql_errors(&t.post(json!({ "query": HEALTH_APP })).await);
    assert_eq!(code(&errors[0]), "invalid");
}

#[tokio::test]
async fn get_takes_query_operation_name_and_variables() {
    let t = loaded();
    let variables = json!({ "p": format!("Patient/{}", t.rid) }).to_string();
    let uri = format!(
        "{}/$graphql?query={}&operationName=PatientImaging&variables={}",
        t.base(),
        encode_component(HEALTH_APP),
        encode_component(&variables)
    );
    let data = ok_data(&get(&t.api, &uri, &t.token).await);
    assert_eq!(data["studies"].as_array().unwrap().len(), 5);

    let uri = format!(
        "{}/$graphql?query={}&operationName=Other",
        t.base(),
        encode_component(HEALTH_APP)
    );
    let reply = get(&t.api, &uri, &t.token).await;
    assert_eq!(ok_data(&reply), json!({"Endpoint": {"id": "dicomweb"}}));
}

#[tokio::test]
async fn application_graphql_bodies_are_the_query_itself() {
    let t = loaded();
    let uri = format!("{}/$graphql?operationName=Other", t.base());
    let ct = [("content-type", "application/graphql; charset=utf-8")];
    let reply = send(
        &t.api,
        "POST",
        &uri,
        Some(&t.token),
        &ct,
        Body::from(HEALTH_APP),
    )
    .await;
    assert_eq!(ok_data(&reply), json!({"Endpoint": {"id": "dicomweb"}}));
}

#[tokio::test]
async fn the_instance_endpoint_has_the_study_as_root() {
    let t = loaded();
    let (_, all) = t.rest("identifier=ACC2").await;
    let id = all[0]["id"].as_str().unwrap().to_owned();
    let uri = format!("{}/ImagingStudy/{id}/$graphql", t.base());
    let query =
        "{ id resourceType started series(uid: \"2.25.777.3.2\") { uid instance { uid number } } }";
    let expected = json!({
        "id": id, "resourceType": "ImagingStudy", "started": "2019-03-15",
        "series": [{"uid": "2.25.777.3.2", "instance": [
            {"uid": "2.25.777.3.2.1", "number": 1}, {"uid": "2.25.777.3.2.2", "number": 2}]}],
    });
    assert_eq!(
        ok_data(&t.post_to(&uri, json!({ "query": query })).await),
        expected
    );
    let get_uri = format!("{uri}?query={}", encode_component(query));
    assert_eq!(ok_data(&get(&t.api, &get_uri, &t.token).await), expected);

    // Root fields of the system endpoint are not fields of a study.
    let errors = gql_errors(
        &t.post_to(&uri, json!({"query": "{ ImagingStudyList { id } }"}))
            .await,
    );
    assert_eq!(code(&errors[0]), "invalid");
    // An unknown study is a 404, as the REST read answers.
    let uri = format!("{}/ImagingStudy/{}/$graphql", t.base(), uuid_like());
    let reply = t.post_to(&uri, json!({ "query": "{ id }" })).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_outcome(&reply.json()["errors"][0]);
    assert_eq!(code(&reply.json()["errors"][0]), "not-found");
}

fn uuid_like() -> &'static str {
    "00000000-0000-4000-8000-000000000000"
}

#[tokio::test]
async fn root_reads_and_references_resolve_to_the_patient_and_the_endpoint() {
    let t = loaded();
    let (_, all) = t.rest("identifier=ACC0").await;
    let id = all[0]["id"].as_str().unwrap();
    let query = format!(
        r#"{{ ImagingStudy(id: "{id}") {{
            subject {{ reference resource {{ ... on Patient {{ resourceType id name {{ text }} }} }} }}
            notPatient: subject {{ resource(type: "Endpoint") {{ ... on Endpoint {{ id }} }} }}
            endpoint {{ resource(optional: true) {{ ... on Endpoint {{ id address connectionType {{ code }} }} }} }}
          }}
          Patient(id: "{rid}") {{ id }}
          Endpoint(id: "dicomweb") {{ status payloadMimeType }} }}"#,
        rid = t.rid
    );
    let data = t.data(&query).await;
    let study = &data["ImagingStudy"];
    assert_eq!(study["subject"]["reference"], format!("Patient/{}", t.rid));
    assert_eq!(
        study["subject"]["resource"],
        json!({"resourceType": "Patient", "id": t.rid, "name": [{"text": "GraphQL Person"}]})
    );
    assert_eq!(study["notPatient"]["resource"], Value::Null);
    assert_eq!(
        study["endpoint"][0]["resource"],
        json!({"id": "dicomweb", "address": format!("{}/v1/records/{}/dicomweb", harness::PUBLIC_URL, t.rid),
               "connectionType": {"code": "dicom-wado-rs"}})
    );
    assert_eq!(data["Patient"], json!({"id": t.rid}));
    assert_eq!(
        data["Endpoint"],
        json!({"status": "active", "payloadMimeType": ["application/dicom"]})
    );

    // Unknown ids are not-found errors, beside the data that resolved.
    let body = t.post(json!({"query": "{ Patient(id: \"someone-else\") { id } Endpoint(id: \"x\") { id } ImagingStudy(id: \"nope\") { id } }"})).await;
    let errors = gql_errors(&body);
    assert_eq!(errors.len(), 3);
    assert!(errors.iter().all(|e| code(e) == "not-found"), "{errors:?}");
}

#[tokio::test]
async fn a_connection_walks_every_match_once_by_cursor() {
    let t = loaded();
    let (_, all) = t.rest("_count=200").await;
    let mut expected: Vec<String> = all
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    let page = |args: String| {
        format!(
            "{{ c: ImagingStudyConnection({args}) {{ count offset pagesize pageSize first previous next last edges {{ mode score resource {{ id }} }} }} }}"
        )
    };
    let mut seen = Vec::new();
    let mut args = "_count: 2".to_owned();
    let mut pages = 0;
    loop {
        let data = t.data(&page(args.clone())).await;
        let c = &data["c"];
        assert_eq!(c["count"], json!(5));
        assert_eq!(c["pagesize"], json!(2));
        assert_eq!(c["pageSize"], json!(2));
        assert_eq!(c["offset"], json!(pages * 2));
        assert!(c["first"].is_string() && c["last"].is_string());
        assert_eq!(c["previous"].is_null(), pages == 0);
        for edge in c["edges"].as_array().unwrap() {
            assert_eq!(edge["mode"], "match");
            assert_eq!(edge["score"], Value::Null);
            seen.push(edge["resource"]["id"].as_str().unwrap().to_owned());
        }
        pages += 1;
        let Some(next) = c["next"].as_str() else {
            break;
        };
        // both spellings of the cursor argument
        let name = if pages % 2 == 1 { "_cursor" } else { "cursor" };
        args = format!("{name}: \"{next}\"");
        assert!(pages < 10, "the cursors do not end");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, expected, "every match once, in the REST order");
    expected.sort();
    seen.sort();
    seen.dedup();
    assert_eq!(seen, expected);

    // A cursor carries its search: criteria beside it, or a made-up cursor, are errors.
    let errors = t
        .errors(
            "{ ImagingStudyConnection(_cursor: \"5f636f756e743d32\", modality: \"CT\") { count } }",
        )
        .await;
    assert_eq!(code(&errors[0]), "invalid");
    let errors = t
        .errors("{ ImagingStudyConnection(cursor: \"not hex\") { count } }")
        .await;
    assert_eq!(code(&errors[0]), "invalid");
}

#[tokio::test]
async fn list_fields_take_count_offset_and_equality_filters() {
    let t = loaded();
    let query = r#"{ ImagingStudyList(identifier: "ACC1") {
        uid: identifier(system: "urn:dicom:uid") { value }
        acc: identifier(_offset: 1, _count: 1) { value type { coding { code } } }
        one: series(uid: "2.25.777.2.2") { uid }
        second: series(_offset: 1) { uid }
        firsts: series { instance(number: 1) { uid } }
        none: series(uid: "nope") { uid }
        modality(code: "MR") { code }
    } }"#;
    let data = t.data(query).await;
    let s = &data["ImagingStudyList"][0];
    assert_eq!(s["uid"], json!([{"value": "urn:oid:2.25.777.2"}]));
    assert_eq!(
        s["acc"],
        json!([{"value": "ACC1", "type": {"coding": [{"code": "ACSN"}]}}])
    );
    assert_eq!(s["one"], json!([{"uid": "2.25.777.2.2"}]));
    assert_eq!(s["second"], json!([{"uid": "2.25.777.2.2"}]));
    assert_eq!(
        s["firsts"],
        json!([{"instance": [{"uid": "2.25.777.2.1.1"}]}, {"instance": [{"uid": "2.25.777.2.2.1"}]}])
    );
    assert_eq!(s["none"], json!([]));
    assert_eq!(s["modality"], json!([{"code": "MR"}]));
    // Primitive fields take no arguments, and sub-fields that are not primitives are no filter.
    let errors = t
        .errors("{ ImagingStudyList { started(_count: 1) } }")
        .await;
    assert_eq!(code(&errors[0]), "invalid");
    let errors = t
        .errors("{ ImagingStudyList { series(modality: \"CT\") { uid } } }")
        .await;
    assert_eq!(code(&errors[0]), "invalid");
}

#[tokio::test]
async fn answers_equal_the_rest_search_for_the_same_criteria() {
    let t = loaded();
    let (_, all) = t.rest("_count=200").await;
    let (a, b) = (
        all[0]["id"].as_str().unwrap(),
        all[3]["id"].as_str().unwrap(),
    );
    let sop_class = all[0]["series"][0]["instance"][0]["sopClass"]["code"]
        .as_str()
        .unwrap();
    let cases: Vec<(String, String)> = vec![
        ("modality: \"MR\"".into(), "modality=MR".into()),
        ("modality: [\"CT\", \"US\"]".into(), "modality=CT,US".into()),
        ("modality: \"CT,US\"".into(), "modality=CT,US".into()),
        ("started: \"2019\"".into(), "started=2019".into()),
        (
            "started: \"ge2019-02-01\", _sort: \"started\"".into(),
            "started=ge2019-02-01&_sort=started".into(),
        ),
        (
            "identifier: \"urn:dicom:uid|urn:oid:2.25.777.3\"".into(),
            "identifier=urn:dicom:uid%7Curn:oid:2.25.777.3".into(),
        ),
        ("identifier: \"ACC4\"".into(), "identifier=ACC4".into()),
        (
            "series: \"2.25.777.2.1\"".into(),
            "series=2.25.777.2.1".into(),
        ),
        (
            "instance: \"2.25.777.4.2.2\"".into(),
            "instance=2.25.777.4.2.2".into(),
        ),
        (
            format!("dicom_class: \"{sop_class}\""),
            format!("dicom-class={sop_class}"),
        ),
        (format!("_id: [\"{a}\", \"{b}\"]"), format!("_id={a},{b}")),
        (
            format!("patient: \"Patient/{}\"", t.rid),
            format!("patient=Patient/{}", t.rid),
        ),
        ("_count: 2, _offset: 1".into(), "_count=2&_offset=1".into()),
        (
            "_sort: \"_lastUpdated\", _count: 3".into(),
            "_sort=_lastUpdated&_count=3".into(),
        ),
        ("modality: \"XA\"".into(), "modality=XA".into()),
    ];
    for (args, query) in cases {
        let (total, rest) = t.rest(&query).await;
        let gql = format!(
            "{{ l: ImagingStudyList({args}) {{ id started numberOfInstances identifier {{ system value }} modality {{ code }} }}
                c: ImagingStudyConnection({args}) {{ count edges {{ resource {{ id }} }} }} }}"
        );
        let data = t.data(&gql).await;
        let project = |s: &Value| {
            json!({
                "id": s["id"], "started": s["started"], "numberOfInstances": s["numberOfInstances"],
                "identifier": s["identifier"].as_array().unwrap().iter()
                    .map(|i| json!({"system": i.get("system").cloned().unwrap_or(Value::Null), "value": i["value"]}))
                    .collect::<Vec<_>>(),
                "modality": s["modality"].as_array().map(|m| m.iter().map(|c| json!({"code": c["code"]})).collect::<Vec<_>>()).unwrap_or_default(),
            })
        };
        let rest_view: Vec<Value> = rest.iter().map(project).collect();
        let gql_view: Vec<Value> = data["l"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let mut s = s.clone();
                if s["modality"].is_null() {
                    s["modality"] = json!([]);
                }
                project(&s)
            })
            .collect();
        assert_eq!(gql_view, rest_view, "{args} vs {query}");
        assert_eq!(data["c"]["count"], json!(total), "{args}");
        let edges: Vec<Value> = data["c"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["resource"].clone())
            .collect();
        assert_eq!(
            ids(&Value::from(edges)),
            ids(&Value::from(rest.clone())),
            "{args}"
        );
    }
    // A bad value is the REST search's error, as an OperationOutcome.
    let errors = t
        .errors("{ ImagingStudyList(started: \"junk\") { id } }")
        .await;
    assert_eq!(code(&errors[0]), "invalid");
    assert!(
        errors[0]["message"].as_str().unwrap().contains("started"),
        "{errors:?}"
    );
}

#[tokio::test]
async fn a_list_over_the_clamp_is_an_error_not_a_truncation() {
    let t = loaded_with(sv_fhir::MAX_COUNT + 1, 1);
    let errors = t.errors("{ ImagingStudyList { id } }").await;
    assert_eq!(code(&errors[0]), "too-costly");
    let errors = t
        .errors(&format!(
            "{{ ImagingStudyList(_count: {}) {{ id }} }}",
            sv_fhir::MAX_COUNT + 1
        ))
        .await;
    assert_eq!(code(&errors[0]), "too-costly");
    // From an offset on, the rest fits; and a page of MAX_COUNT is served.
    let data = t
        .data("{ a: ImagingStudyList(_offset: 1) { id } b: ImagingStudyList(_count: 200) { id } }")
        .await;
    assert_eq!(data["a"].as_array().unwrap().len(), sv_fhir::MAX_COUNT);
    assert_eq!(data["b"].as_array().unwrap().len(), sv_fhir::MAX_COUNT);
}

#[tokio::test]
async fn limits_and_unknown_names_are_errors_with_outcomes() {
    let t = loaded();
    // depth: 13 levels of fields is over 12; 12 is not
    let deep = "{ ImagingStudyList(_count: 1) { series { performer { actor { identifier { assigner { identifier { assigner { identifier { assigner { identifier { assigner { display } } } } } } } } } } } } }";
    let errors = t.errors(deep).await;
    assert_eq!(code(&errors[0]), "too-costly", "{errors:?}");
    let fits = "{ ImagingStudyList(_count: 1) { series { performer { actor { identifier { assigner { identifier { assigner { identifier { assigner { display } } } } } } } } } } }";
    t.data(fits).await;
    // recursion: nesting past 32 is refused before validation even looks at it
    let nested = format!(
        "{{ ImagingStudyList(_count: 1) {{ subject {{ {} display {} }} }} }}",
        "identifier { assigner { ".repeat(17),
        "} } ".repeat(17)
    );
    let errors = t.errors(&nested).await;
    assert_eq!(code(&errors[0]), "too-costly", "{errors:?}");
    assert!(
        errors[0]["message"].as_str().unwrap().contains("recursion"),
        "{errors:?}"
    );
    // directives: five on a field are refused before validation; the two there are, served
    let directives = |n: usize| {
        format!(
            "{{ ImagingStudyList(identifier: \"ACC0\") {{ id {} }} }}",
            "@include(if: true) ".repeat(n)
        )
    };
    let errors = t.errors(&directives(5)).await;
    assert_eq!(code(&errors[0]), "too-costly", "{errors:?}");
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("directives"),
        "{errors:?}"
    );
    t.data("{ ImagingStudyList(identifier: \"ACC0\") { id @include(if: true) @skip(if: false) } }")
        .await;

    // cost: six full lists of ten fields each are over the budget; four are not
    let fields = "id status started description numberOfSeries numberOfInstances modality { code } subject { reference }";
    let lists = |n: usize| {
        let body: Vec<String> = (0..n)
            .map(|i| format!("l{i}: ImagingStudyList(_count: 200) {{ {fields} }}"))
            .collect();
        format!("{{ {} }}", body.join(" "))
    };
    let errors = t.errors(&lists(6)).await;
    assert_eq!(code(&errors[0]), "too-costly");
    assert!(
        errors[0]["message"].as_str().unwrap().contains("costs"),
        "{errors:?}"
    );
    t.data(&lists(4)).await;
    // the page size may come from a variable, and is weighed from it
    let query = format!(
        "query Q($n: Int) {{ {} }}",
        (0..6)
            .map(|i| format!("l{i}: ImagingStudyList(_count: $n) {{ {fields} }}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let reply = t
        .post(json!({"query": query, "variables": {"n": 200}}))
        .await;
    assert_eq!(code(&gql_errors(&reply)[0]), "too-costly");
    let reply = t.post(json!({"query": query, "variables": {"n": 5}})).await;
    ok_data(&reply);

    // unknown field, argument, directive, type condition; syntax
    for query in [
        "{ ImagingStudyList { id foo } }",
        "{ ImagingStudyList(_filter: \"modality eq CT\") { id } }",
        "{ ImagingStudyList(fhirpath: \"x\") { id } }",
        "{ ImagingStudyList { id @flatten } }",
        "{ Observation(id: \"x\") { id } }",
        "{ ImagingStudyList { id ",
    ] {
        let errors = t.errors(query).await;
        assert_eq!(code(&errors[0]), "invalid", "{query}: {errors:?}");
    }
    // @skip and @include are served
    let data = t.data("{ ImagingStudyList(identifier: \"ACC0\") { id @skip(if: true) status @include(if: true) } }").await;
    assert_eq!(data, json!({"ImagingStudyList": [{"status": "available"}]}));
}

#[tokio::test]
async fn introspection_describes_the_schema() {
    let t = loaded();
    let data = t
        .data("{ __type(name: \"ImagingStudySeries\") { fields { name } } }")
        .await;
    let names: Vec<&str> = data["__type"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"uid") && names.contains(&"instance"),
        "{names:?}"
    );
}

#[tokio::test]
async fn requests_that_are_not_graphql_are_refused_with_4xx() {
    let t = loaded();
    let uri = format!("{}/$graphql", t.base());
    let post = |ct: &'static str, body: String| post_raw(&t, &uri, ct, body);
    let refused = |reply: &Reply, status: StatusCode| {
        assert_eq!(reply.status, status, "{}", reply.text());
        assert_eq!(reply.header("content-type"), "application/json");
        assert_outcome(&reply.json()["errors"][0]);
    };
    let batch = json!([{"query": "{ Endpoint(id: \"dicomweb\") { id } }"}]).to_string();
    refused(
        &post("application/json", batch).await,
        StatusCode::BAD_REQUEST,
    );
    refused(
        &post("application/json", "{not json".into()).await,
        StatusCode::BAD_REQUEST,
    );
    refused(
        &post("application/json", json!({"variables": {}}).to_string()).await,
        StatusCode::BAD_REQUEST,
    );
    refused(
        &post(
            "application/json",
            json!({"query": "{ id }", "variables": [1]}).to_string(),
        )
        .await,
        StatusCode::BAD_REQUEST,
    );
    refused(
        &post("text/plain", "{ id }".into()).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
    );
    let huge = json!({"query": format!("{{ Endpoint(id: \"dicomweb\") {{ id }} }} #{}", "x".repeat(1 << 20))}).to_string();
    refused(
        &post("application/json", huge).await,
        StatusCode::PAYLOAD_TOO_LARGE,
    );
    refused(&get(&t.api, &uri, &t.token).await, StatusCode::BAD_REQUEST);
    refused(
        &get(
            &t.api,
            &format!("{uri}?query=%7Bid%7D&variables=nope"),
            &t.token,
        )
        .await,
        StatusCode::BAD_REQUEST,
    );
}

async fn post_raw(t: &Loaded, uri: &str, ct: &str, body: String) -> Reply {
    let headers = [("content-type", ct)];
    send(
        &t.api,
        "POST",
        uri,
        Some(&t.token),
        &headers,
        Body::from(body),
    )
    .await
}

#[tokio::test]
async fn access_is_the_rest_routes_access() {
    let t = loaded();
    let other = harness::token(&t.api, &t.rid, &t.token, Some(OTHER_TYPE), &["read"]).await;
    let studies = harness::token(&t.api, &t.rid, &t.token, Some(STUDY_TYPE), &["read"]).await;
    let (other_rid, other_owner) = harness::record(&t.api, "Someone Else").await;
    let body = json!({"query": "{ Endpoint(id: \"dicomweb\") { id } }"}).to_string();
    let ct = [("content-type", "application/json")];
    for (token, rid, status) in [
        (None, t.rid.as_str(), StatusCode::UNAUTHORIZED),
        (Some(other.as_str()), t.rid.as_str(), StatusCode::FORBIDDEN),
        (
            Some(other_owner.as_str()),
            t.rid.as_str(),
            StatusCode::NOT_FOUND,
        ),
        (Some(studies.as_str()), t.rid.as_str(), StatusCode::OK),
        (
            Some(t.token.as_str()),
            other_rid.as_str(),
            StatusCode::NOT_FOUND,
        ),
    ] {
        let rest = send(
            &t.api,
            "GET",
            &format!("/v1/records/{rid}/fhir/ImagingStudy"),
            token,
            &[],
            Body::empty(),
        )
        .await;
        assert_eq!(rest.status, status, "REST");
        for uri in [
            format!("/v1/records/{rid}/fhir/$graphql"),
            format!(
                "/v1/records/{rid}/fhir/ImagingStudy/{}/$graphql",
                uuid_like()
            ),
        ] {
            let reply = send(&t.api, "POST", &uri, token, &ct, Body::from(body.clone())).await;
            if status == StatusCode::OK {
                // the instance endpoint's study does not exist: past access, a 404
                assert!(
                    reply.status == StatusCode::OK || uri.contains("ImagingStudy/"),
                    "{uri}"
                );
                continue;
            }
            assert_eq!(reply.status, status, "{uri}");
            assert_eq!(reply.header("content-type"), "application/json");
            assert_outcome(&reply.json()["errors"][0]);
            let get_uri = format!("{uri}?query={}", encode_component("{ id }"));
            let reply = send(&t.api, "GET", &get_uri, token, &[], Body::empty()).await;
            assert_eq!(reply.status, status, "GET {uri}");
        }
    }
}

#[tokio::test]
async fn the_openapi_document_describes_the_graphql_routes() {
    let t = loaded_with(0, 0);
    let reply = send(&t.api, "GET", "/v1/openapi.json", None, &[], Body::empty()).await;
    let doc = reply.json();
    for path in [
        "/v1/records/{rid}/fhir/$graphql",
        "/v1/records/{rid}/fhir/ImagingStudy/{id}/$graphql",
    ] {
        let item = &doc["paths"][path];
        assert!(
            item["get"].is_object() && item["post"].is_object(),
            "{path}: {item}"
        );
        assert!(item["get"]["responses"]["200"]["content"]["application/json"].is_object());
    }
}
