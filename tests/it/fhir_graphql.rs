//! FHIR GraphQL against the real binary, over real HTTP: the literal `$` of `$graphql` in
//! the path, JSON and `application/graphql` bodies, and answers equal to the REST search's
//! over every fixture study (real DICOM, not synthetic).

use serde_json::{Value, json};

use crate::server::{Reply, Server};

/// A server with one record holding every fixture study: (server, record, owner token).
fn loaded() -> (Server, String, String) {
    let server = Server::start();
    let (rid, token) = server.create_record("GraphQL Person");
    server.upload_every_fixture(&rid, &token);
    (server, rid, token)
}

fn graphql(server: &Server, rid: &str, token: &str, query: &str) -> Value {
    let body = json!({ "query": query }).to_string();
    let path = format!("/v1/records/{rid}/fhir/$graphql");
    let reply = server.post(&path, Some(token), "application/json", body.as_bytes());
    data(&reply)
}

fn data(reply: &Reply) -> Value {
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let body = reply.json();
    assert!(body.get("errors").is_none(), "{body}");
    body["data"].clone()
}

fn rest_ids(server: &Server, rid: &str, token: &str, query: &str) -> Vec<String> {
    let reply = server.get(
        &format!("/v1/records/{rid}/fhir/ImagingStudy?{query}"),
        Some(token),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    let bundle = reply.json();
    bundle["entry"]
        .as_array()
        .map(|e| {
            e.iter()
                .map(|e| e["resource"]["id"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn graphql_over_http_answers_what_the_rest_search_answers() {
    let (server, rid, token) = loaded();
    let all = rest_ids(&server, &rid, &token, "_count=200");
    assert!(all.len() >= 10, "the fixtures make many studies");

    let list = graphql(
        &server,
        &rid,
        &token,
        "{ ImagingStudyList { id identifier(system: \"urn:dicom:uid\") { value } series { modality { code } } } }",
    );
    let studies = list["ImagingStudyList"].as_array().unwrap().clone();
    assert_eq!(ids(&list["ImagingStudyList"]), all);

    // Every study found again by its Study UID, and every modality as REST finds it.
    let mut modalities: Vec<String> = Vec::new();
    for study in &studies {
        let uid = study["identifier"][0]["value"].as_str().unwrap();
        let query = format!("{{ ImagingStudyList(identifier: \"urn:dicom:uid|{uid}\") {{ id }} }}");
        let found = graphql(&server, &rid, &token, &query);
        assert_eq!(
            ids(&found["ImagingStudyList"]),
            vec![study["id"].as_str().unwrap()]
        );
        for series in study["series"].as_array().unwrap() {
            let code = series["modality"]["code"].as_str().unwrap().to_owned();
            if !modalities.contains(&code) {
                modalities.push(code);
            }
        }
    }
    for code in &modalities {
        let query = format!("{{ ImagingStudyList(modality: \"{code}\") {{ id }} }}");
        let found = graphql(&server, &rid, &token, &query);
        let rest = rest_ids(
            &server,
            &rid,
            &token,
            &format!("modality={code}&_count=200"),
        );
        assert_eq!(ids(&found["ImagingStudyList"]), rest, "{code}");
    }

    // The instance endpoint and application/graphql, over the wire.
    let path = format!("/v1/records/{rid}/fhir/ImagingStudy/{}/$graphql", all[0]);
    let reply = server.post(
        &path,
        Some(&token),
        "application/graphql",
        b"{ id subject { resource { ... on Patient { id } } } }",
    );
    assert_eq!(
        data(&reply),
        json!({"id": all[0], "subject": {"resource": {"id": rid}}})
    );
    // Without a token: 401, in the GraphQL error shape.
    let reply = server.post(&path, None, "application/graphql", b"{ id }");
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.json()["errors"][0]["extensions"]["resource"]["resourceType"],
        "OperationOutcome"
    );
}
