//! FHIR GraphQL (`$graphql`, fhir-graphql.md): `GET`/`POST …/fhir/$graphql` (the system
//! endpoint: search and read from the root) and `…/fhir/ImagingStudy/{id}/$graphql` (that
//! one study is the root).
//!
//! HTTP is decided here: the FHIR routes' access rule (READ on the medical-image-study type,
//! `FhirReader::check`); `POST` as `application/json` `{query, variables, operationName}`
//! (a JSON array, a batch, is refused) or as raw `application/graphql` text; `GET` with
//! `query`, `operationName` and `variables` (a JSON string); bodies bounded by
//! `max_document_bytes`; answers always `application/json`. A request that is not GraphQL
//! at all (bad JSON, another media type, no query) is a 4xx; a GraphQL request answers 200
//! with `data` and/or `errors`, each error carrying an `OperationOutcome`
//! (`outcome::complete`), as is the spec's shape.
//!
//! The schemas (`async_graphql::dynamic`) are built once, from the element tables of
//! `types` and the root fields of `root`. Limits, all checked before anything runs:
//! depth [`MAX_DEPTH`], recursion [`MAX_RECURSION`], directives per field
//! [`MAX_DIRECTIVES`], and our own `_count`-weighted cost ([`cost::MAX_COST`]); `ImagingStudyList`
//! answers at most `sv_fhir::MAX_COUNT` studies (more is an error, never a truncation).
//!
//! Introspection stays on: the spec says a server SHALL offer it, the schema is the same
//! for everyone (it says nothing about a record), and it is small (a few kB, unlike the
//! full-FHIR schemas that made Medplum turn it off); its queries pass the same limits and
//! read nothing from the vault.
//!
//! Blocking reads: each resolver that needs the store makes its own one `Vault::run_io`
//! call and awaits it, so the executor never blocks and the handlers stay thin (extract,
//! check access, execute, answer). The instance endpoint reads its study first, with the
//! REST read's 404/410, and executes the query with it as the root value.
//!
//! Not offered: mutations, `_filter`, `fhirpath`, `_include`, reverse lookups
//! (`ImagingStudyList(_reference: …)` inside a Patient), and the directives `@flatten`,
//! `@first`, `@singleton`, `@slice` (the dynamic schema has no custom executable directives);
//! asking for any of them is an error, as the spec requires. `@skip` and `@include` work.

mod cost;
mod outcome;
mod root;
mod search;
mod types;

use std::sync::OnceLock;

use async_graphql::dynamic::{DynamicRequestExt, FieldValue, Schema};
use async_graphql::{Request, Variables};
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use sv_fhir::IssueCode;

use super::{FhirFailure, FhirReader};
use crate::representation::declared_length;
use crate::{ApiError, AppState, Caller};

/// Deepest selection nesting.
pub(crate) const MAX_DEPTH: usize = 12;
/// Deepest nesting the parser and executor recurse to.
pub(crate) const MAX_RECURSION: usize = 32;
/// Most directives on one field.
pub(crate) const MAX_DIRECTIVES: usize = 4;

type Pairs = Vec<(String, String)>;

/// The system endpoint's schema: `Query` with the root fields.
fn system_schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| build("Query", Some(root::query())))
}

/// The instance endpoint's schema: the ImagingStudy is the root.
fn instance_schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| build("ImagingStudy", None))
}

fn build(query: &str, root: Option<async_graphql::dynamic::Object>) -> Schema {
    let (objects, union, scalars) = types::fhir_types(root::reference_resource());
    let mut builder = Schema::build(query, None, None);
    if let Some(root) = root {
        builder = builder.register(root);
    }
    for object in objects {
        builder = builder.register(object);
    }
    for scalar in scalars {
        builder = builder.register(scalar);
    }
    builder
        .register(union)
        .limit_depth(MAX_DEPTH)
        .limit_recursive_depth(MAX_RECURSION)
        .limit_directives(MAX_DIRECTIVES)
        .finish()
        // The schema is made of constant tables: a mistake fails every test, not a request.
        .expect("the FHIR GraphQL schema is consistent")
}

/// Runs a GraphQL query against the record's FHIR resources.
#[utoipa::path(get, path = "/v1/records/{rid}/fhir/$graphql", tag = "fhir",
    params(("rid" = String, Path, description = "record id"),
        ("query" = String, Query, description = "the GraphQL query"),
        ("operationName" = Option<String>, Query, description = "the operation to run"),
        ("variables" = Option<String>, Query, description = "the variables, as a JSON object")),
    responses((status = 200, content_type = "application/json", description = "data and/or errors (each with an OperationOutcome)"),
        (status = 400), (status = 401), (status = 403), (status = 404)))]
pub(super) async fn system_get(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    Path(rid): Path<String>,
    query: Result<Query<Pairs>, QueryRejection>,
) -> Response {
    let run = async {
        let reader = FhirReader::check(caller, &rid)?;
        let request = from_get(query)?;
        Ok(execute(&state, reader, None, request).await)
    };
    answer(run.await)
}

/// The same query in a body: `application/json` `{query, variables, operationName}`, or the
/// query itself as `application/graphql`.
#[utoipa::path(post, path = "/v1/records/{rid}/fhir/$graphql", tag = "fhir",
    params(("rid" = String, Path, description = "record id")),
    request_body(content_type = "application/json", description = "{query, variables, operationName}; or application/graphql"),
    responses((status = 200, content_type = "application/json", description = "data and/or errors (each with an OperationOutcome)"),
        (status = 400), (status = 401), (status = 403), (status = 404), (status = 413), (status = 415)))]
pub(super) async fn system_post(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    Path(rid): Path<String>,
    query: Result<Query<Pairs>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let run = async {
        let reader = FhirReader::check(caller, &rid)?;
        let request = from_post(&state, query, &headers, body).await?;
        Ok(execute(&state, reader, None, request).await)
    };
    answer(run.await)
}

/// A GraphQL query on one ImagingStudy, which is the query's root.
#[utoipa::path(get, path = "/v1/records/{rid}/fhir/ImagingStudy/{id}/$graphql", tag = "fhir",
    params(("rid" = String, Path, description = "record id"), ("id" = String, Path, description = "the study thing's id"),
        ("query" = String, Query, description = "the GraphQL query"),
        ("operationName" = Option<String>, Query, description = "the operation to run"),
        ("variables" = Option<String>, Query, description = "the variables, as a JSON object")),
    responses((status = 200, content_type = "application/json", description = "data and/or errors (each with an OperationOutcome)"),
        (status = 400), (status = 401), (status = 403), (status = 404), (status = 410)))]
pub(super) async fn instance_get(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    Path((rid, id)): Path<(String, String)>,
    query: Result<Query<Pairs>, QueryRejection>,
) -> Response {
    let run = async {
        let reader = FhirReader::check(caller, &rid)?;
        let request = from_get(query)?;
        Ok(execute(&state, reader, Some(&id), request).await)
    };
    answer(run.await)
}

/// The instance query in a body, as for the system endpoint.
#[utoipa::path(post, path = "/v1/records/{rid}/fhir/ImagingStudy/{id}/$graphql", tag = "fhir",
    params(("rid" = String, Path, description = "record id"), ("id" = String, Path, description = "the study thing's id")),
    request_body(content_type = "application/json", description = "{query, variables, operationName}; or application/graphql"),
    responses((status = 200, content_type = "application/json", description = "data and/or errors (each with an OperationOutcome)"),
        (status = 400), (status = 401), (status = 403), (status = 404), (status = 410), (status = 413), (status = 415)))]
pub(super) async fn instance_post(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    Path((rid, id)): Path<(String, String)>,
    query: Result<Query<Pairs>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let run = async {
        let reader = FhirReader::check(caller, &rid)?;
        let request = from_post(&state, query, &headers, body).await?;
        Ok(execute(&state, reader, Some(&id), request).await)
    };
    answer(run.await)
}

/// Checks the cost, then runs the request on the system schema, or on the instance schema
/// with study `id` as the root.
async fn execute(
    state: &AppState,
    reader: FhirReader,
    id: Option<&str>,
    mut request: Request,
) -> Result<async_graphql::Response, FhirFailure> {
    // Parsed once: weighed here, then executed. A syntax error is left for the schema to
    // report, the same way as any other.
    let cost = match async_graphql::parser::parse_query(&request.query) {
        Ok(doc) => {
            let cost = cost::cost(&doc, &request.variables);
            request.set_parsed_query(doc);
            cost
        }
        Err(_) => 0,
    };
    if cost > cost::MAX_COST {
        let message = format!(
            "the query costs {cost}, more than {}: ask for fewer matches (_count) or fields",
            cost::MAX_COST
        );
        let error = outcome::error(IssueCode::TooCostly, &message);
        let response = async_graphql::Response::from_errors(vec![
            error.into_server_error(async_graphql::Pos::default()),
        ]);
        return Ok(outcome::complete(response));
    }
    let request = request.data(root::Scope::new(state.clone(), reader.record));
    let response = match id {
        None => system_schema().execute(request).await,
        Some(id) => {
            let study = root::read_study(state, reader.record, id).await?;
            let request = request.root_value(FieldValue::owned_any(study));
            instance_schema().execute(request).await
        }
    };
    Ok(outcome::complete(response))
}

/// The answer: the GraphQL response (200), or a refusal in the same shape with its status.
fn answer(result: Result<Result<async_graphql::Response, FhirFailure>, FhirFailure>) -> Response {
    let (status, body) = match result.and_then(|r| r) {
        Ok(response) => match serde_json::to_value(&response) {
            Ok(body) => (StatusCode::OK, body),
            Err(e) => {
                let failure = FhirFailure::from(ApiError::internal(&e));
                (failure.status, outcome::errors_body(&failure))
            }
        },
        Err(failure) => (failure.status, outcome::errors_body(&failure)),
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    (
        status,
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        bytes,
    )
        .into_response()
}

fn bad_request(message: &str) -> FhirFailure {
    FhirFailure::new(StatusCode::BAD_REQUEST, IssueCode::Invalid, message)
}

/// `query`, `operationName` and `variables` from a query string (each at most once).
fn from_get(query: Result<Query<Pairs>, QueryRejection>) -> Result<Request, FhirFailure> {
    let Query(pairs) = query.map_err(|_| bad_request("the query string is not valid"))?;
    let text =
        single(&pairs, "query")?.ok_or_else(|| bad_request("give the GraphQL query as 'query'"))?;
    request(text.to_owned(), &pairs)
}

fn single<'a>(pairs: &'a Pairs, name: &str) -> Result<Option<&'a str>, FhirFailure> {
    let mut found = pairs
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str());
    let first = found.next();
    if found.next().is_some() {
        return Err(bad_request(&format!("'{name}' is given more than once")));
    }
    Ok(first)
}

/// A request of `query`, with `operationName` and `variables` from `pairs`.
fn request(query: String, pairs: &Pairs) -> Result<Request, FhirFailure> {
    let mut request = Request::new(query);
    if let Some(name) = single(pairs, "operationName")?.filter(|n| !n.is_empty()) {
        request = request.operation_name(name);
    }
    if let Some(text) = single(pairs, "variables")?.filter(|v| !v.is_empty()) {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|_| bad_request("'variables' is not JSON"))?;
        request = request.variables(variables(value)?);
    }
    Ok(request)
}

fn variables(value: serde_json::Value) -> Result<Variables, FhirFailure> {
    match value {
        serde_json::Value::Null => Ok(Variables::default()),
        v @ serde_json::Value::Object(_) => Ok(Variables::from_json(v)),
        _ => Err(bad_request("the variables are not a JSON object")),
    }
}

/// A POST body: JSON `{query, variables, operationName}` or raw `application/graphql`.
async fn from_post(
    state: &AppState,
    query: Result<Query<Pairs>, QueryRejection>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Request, FhirFailure> {
    let media = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if media != "application/json" && media != "application/graphql" {
        return Err(FhirFailure::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            IssueCode::NotSupported,
            "send the query as application/json {query, variables, operationName} or as application/graphql",
        ));
    }
    let bytes = read_body(headers, body, state.config().limits.max_document_bytes).await?;
    if media == "application/graphql" {
        let Query(pairs) = query.map_err(|_| bad_request("the query string is not valid"))?;
        let text =
            String::from_utf8(bytes.to_vec()).map_err(|_| bad_request("the query is not UTF-8"))?;
        return request(text, &pairs);
    }
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|_| bad_request("the body is not JSON"))?;
    let serde_json::Value::Object(mut body) = value else {
        return Err(bad_request(
            "send one request as a JSON object: batches are not supported",
        ));
    };
    let Some(serde_json::Value::String(text)) = body.remove("query") else {
        return Err(bad_request("give the GraphQL query as the string 'query'"));
    };
    let mut request = Request::new(text);
    match body.remove("operationName") {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::String(name)) => request = request.operation_name(name),
        Some(_) => return Err(bad_request("'operationName' is not a string")),
    }
    if let Some(v) = body.remove("variables") {
        request = request.variables(variables(v)?);
    }
    Ok(request)
}

/// At most `limit` bytes of body: 413 beyond.
async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, FhirFailure> {
    let too_large = || {
        FhirFailure::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            IssueCode::TooCostly,
            &format!("the body is over {limit} bytes"),
        )
    };
    if declared_length(headers).is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Err(_) => Err(bad_request("the request body could not be read")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The system schema's SDL against `tests/snapshots/fhir_graphql.sdl`
    /// (`UPDATE_SNAPSHOTS=1` rewrites it).
    #[test]
    fn the_schema_matches_its_snapshot() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/snapshots/fhir_graphql.sdl");
        let sdl = system_schema().sdl();
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &sdl).unwrap();
        }
        let committed = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_SNAPSHOTS=1 writes it)", path.display()));
        assert!(
            committed == sdl,
            "the GraphQL schema changed: review it, then UPDATE_SNAPSHOTS=1 cargo test -p sv-api"
        );
    }

    #[test]
    fn the_instance_schema_has_the_study_as_its_root() {
        let sdl = instance_schema().sdl();
        assert!(sdl.contains("query: ImagingStudy"), "{sdl}");
        assert!(!sdl.contains("ImagingStudyList"));
    }
}
