//! `ImagingStudy` search: `GET …/fhir/ImagingStudy?…` and `POST …/fhir/ImagingStudy/_search`
//! (form-encoded; parameters may also stand in its URL). One blocking hop runs the search
//! (`Vault::search_studies_blocking` with `sv_fhir`'s filter and order) and, when `_include`
//! asks for the Patient, reads the record for it; the page is then written as a Bundle.

use std::sync::Arc;

use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use sv_fhir::{Include, IssueCode, Resource, SearchContext, SearchRequest};

use super::{FhirFailure, FhirReader, fhir_response, handling, links, negotiate};
use crate::{ApiError, AppState, Caller};

type Pairs = Vec<(String, String)>;

/// Searches the record's studies (R4 ImagingStudy search parameters; see `metadata`).
#[utoipa::path(get, path = "/v1/records/{rid}/fhir/ImagingStudy", tag = "fhir",
    params(("rid" = String, Path, description = "record id")),
    responses((status = 200, content_type = "application/fhir+json", description = "searchset Bundle"),
        (status = 400, description = "OperationOutcome"), (status = 401), (status = 403), (status = 404), (status = 406)))]
pub(super) async fn search_get(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    Path(rid): Path<String>,
    query: Result<Query<Pairs>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, FhirFailure> {
    let reader = FhirReader::check(caller, &rid)?;
    let Query(pairs) = query.map_err(|_| malformed("the query string"))?;
    search(state, reader, pairs, headers).await
}

/// The same search with its parameters in a form body (`application/x-www-form-urlencoded`).
#[utoipa::path(post, path = "/v1/records/{rid}/fhir/ImagingStudy/_search", tag = "fhir",
    params(("rid" = String, Path, description = "record id")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "search parameters"),
    responses((status = 200, content_type = "application/fhir+json", description = "searchset Bundle"),
        (status = 400, description = "OperationOutcome"), (status = 401), (status = 403), (status = 404), (status = 406)))]
pub(super) async fn search_post(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    Path(rid): Path<String>,
    query: Result<Query<Pairs>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Form<Pairs>, FormRejection>,
) -> Result<Response, FhirFailure> {
    let reader = FhirReader::check(caller, &rid)?;
    let Query(mut pairs) = query.map_err(|_| malformed("the query string"))?;
    let Form(form) = body.map_err(|e| match e {
        FormRejection::InvalidFormContentType(_) => FhirFailure::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            IssueCode::NotSupported,
            "send the search parameters as application/x-www-form-urlencoded",
        ),
        _ => malformed("the form body"),
    })?;
    pairs.extend(form);
    search(state, reader, pairs, headers).await
}

fn malformed(what: &str) -> FhirFailure {
    FhirFailure::new(
        StatusCode::BAD_REQUEST,
        IssueCode::Invalid,
        &format!("{what} is not valid form encoding"),
    )
}

async fn search(
    state: AppState,
    reader: FhirReader,
    pairs: Pairs,
    headers: HeaderMap,
) -> Result<Response, FhirFailure> {
    let record = reader.record;
    let format = pairs
        .iter()
        .rev()
        .find(|(k, _)| k == "_format")
        .map(|(_, v)| v.as_str());
    negotiate(&headers, format)?;
    let links = links(&state, record);
    let context = SearchContext {
        record,
        links: links.clone(),
    };
    let request = Arc::new(SearchRequest::parse(&pairs, handling(&headers), &context)?);

    let asked = request.clone();
    let (page, patient) = state
        .vault()
        .run_io(move |vault| {
            let page = super::studies::search_blocking(vault, record, &asked)?;
            let patient = if asked.includes().contains(&Include::Patient) && !page.hits.is_empty() {
                Some(vault.record_digests_blocking(record)?)
            } else {
                None
            };
            Ok((page, patient))
        })
        .await?;

    let studies = page
        .hits
        .iter()
        .map(|hit| super::studies::resource(hit, record, &links))
        .collect();
    let mut included = Vec::new();
    if let Some((found, digests)) = patient {
        included.push(Resource::Patient(sv_fhir::patient(
            &found, &digests, &links,
        )));
    }
    if request.includes().contains(&Include::Endpoint) && !page.hits.is_empty() {
        included.push(Resource::Endpoint(sv_fhir::endpoint(&links)));
    }
    let bundle = sv_fhir::search_bundle(&request, page.total, studies, included, &links.fhir_base);
    Ok(fhir_response(StatusCode::OK, &bundle))
}
