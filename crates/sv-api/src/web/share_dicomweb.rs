//! `/s/{link}/dicomweb`: a read-only DICOMweb service of one shared study, for the recipient's
//! own viewer (OHIF, Weasis), like KHEOPS's capability links.
//!
//! Only a share without a passcode and without de-identification is reachable by its link
//! alone; a share with a passcode needs the recipient's share session (a browser viewer on our
//! origin), and a de-identifying share offers no DICOMweb (its files are only downloaded,
//! de-identified, as a zip). QIDO answers the shared study and nothing else of the record;
//! WADO refuses any other study with 404. Every request re-reads the share.

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::http::HeaderValue;
use axum::http::header::{CACHE_CONTROL, REFERRER_POLICY};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sv_dicomweb::{Level, Scope};
use sv_model::Timestamp;
use sv_vault::ShareAccess;

use super::cookies::{self, Jar};
use crate::dicomweb::frames::frames_in;
use crate::dicomweb::qido::{Pairs, search_in};
use crate::dicomweb::wado::{Target, metadata, preview, retrieve};
use crate::{ApiError, AppState};

pub(super) fn routes() -> Router<AppState> {
    let r = "/s/{link}/dicomweb";
    Router::new()
        .route(&format!("{r}/studies"), get(qido_studies))
        .route(&format!("{r}/studies/{{study}}/series"), get(qido_series))
        .route(
            &format!("{r}/studies/{{study}}/instances"),
            get(qido_study_instances),
        )
        .route(
            &format!("{r}/studies/{{study}}/series/{{series}}/instances"),
            get(qido_series_instances),
        )
        .route(&format!("{r}/studies/{{study}}"), get(wado_study))
        .route(&format!("{r}/studies/{{study}}/metadata"), get(meta_study))
        .route(
            &format!("{r}/studies/{{study}}/series/{{series}}"),
            get(wado_series),
        )
        .route(
            &format!("{r}/studies/{{study}}/series/{{series}}/metadata"),
            get(meta_series),
        )
        .route(
            &format!("{r}/studies/{{study}}/series/{{series}}/instances/{{sop}}"),
            get(wado_instance),
        )
        .route(
            &format!("{r}/studies/{{study}}/series/{{series}}/instances/{{sop}}/metadata"),
            get(meta_instance),
        )
        .route(
            &format!("{r}/studies/{{study}}/series/{{series}}/instances/{{sop}}/frames/{{frames}}"),
            get(frames),
        )
        .route(
            &format!("{r}/studies/{{study}}/series/{{series}}/instances/{{sop}}/thumbnail"),
            get(thumbnail),
        )
        .route(
            &format!("{r}/studies/{{study}}/series/{{series}}/instances/{{sop}}/rendered"),
            get(thumbnail),
        )
        .layer(axum::middleware::from_fn(headers_behind_a_link))
}

/// Nothing reached through a link is stored by a cache or leaks the link as a referrer.
async fn headers_behind_a_link(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// The share a request reaches, or 404 (the same for every kind of bad link).
async fn reach(
    state: &AppState,
    link: &str,
    headers: &HeaderMap,
) -> Result<(ShareAccess, String), ApiError> {
    let gone = || ApiError::not_found("share");
    if link.len() != 64 || !link.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(gone());
    }
    let now = Timestamp::now();
    let vault = state.vault();
    let access = match vault.share_by_link_blocking(link, now)? {
        Some(a) => Some(a),
        None => match cookies::read(state, headers, Jar::Share) {
            Some(session) => vault.share_session_blocking(&session, link, now)?,
            None => None,
        },
    };
    let access = access.ok_or_else(gone)?;
    if access.share.deidentify {
        return Err(gone());
    }
    let base = format!("{}/s/{link}/dicomweb", state.config().public_url);
    Ok((access, base))
}

/// Refuses a study other than the shared one.
fn same_study(access: &ShareAccess, study: &str) -> Result<(), ApiError> {
    if access.share.study_instance_uid == study {
        Ok(())
    } else {
        Err(ApiError::not_found("study"))
    }
}

async fn qido_studies(
    State(state): State<AppState>,
    Path(link): Path<String>,
    query: Result<Query<Pairs>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (access, base) = reach(&state, &link, &headers).await?;
    let only = Some(access.share.study_instance_uid.clone());
    let record = access.share.record_id;
    search_in(
        &state,
        record,
        base,
        only,
        Level::Study,
        Scope::default(),
        query,
        headers,
    )
    .await
}

async fn qido_scoped(
    state: AppState,
    link: String,
    level: Level,
    scope: Scope,
    query: Result<Query<Pairs>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (access, base) = reach(&state, &link, &headers).await?;
    if let Some(study) = &scope.study {
        same_study(&access, study)?;
    }
    let only = Some(access.share.study_instance_uid.clone());
    let record = access.share.record_id;
    search_in(&state, record, base, only, level, scope, query, headers).await
}

async fn qido_series(
    State(state): State<AppState>,
    Path((link, study)): Path<(String, String)>,
    query: Result<Query<Pairs>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let scope = Scope {
        study: Some(study),
        ..Scope::default()
    };
    qido_scoped(state, link, Level::Series, scope, query, headers).await
}

async fn qido_study_instances(
    State(state): State<AppState>,
    Path((link, study)): Path<(String, String)>,
    query: Result<Query<Pairs>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let scope = Scope {
        study: Some(study),
        ..Scope::default()
    };
    qido_scoped(state, link, Level::Instance, scope, query, headers).await
}

async fn qido_series_instances(
    State(state): State<AppState>,
    Path((link, study, series)): Path<(String, String, String)>,
    query: Result<Query<Pairs>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let scope = Scope {
        study: Some(study),
        series: Some(series),
    };
    qido_scoped(state, link, Level::Instance, scope, query, headers).await
}

fn target(study: String, series: Option<String>, sop: Option<String>) -> Target {
    Target { study, series, sop }
}

async fn wado(
    state: &AppState,
    link: &str,
    t: Target,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let (access, _) = reach(state, link, headers).await?;
    same_study(&access, &t.study)?;
    let share = access.share.clone();
    let what = if t.sop.is_some() {
        "dicomweb instance"
    } else if t.series.is_some() {
        "dicomweb series"
    } else {
        "dicomweb study"
    };
    state
        .vault()
        .run_io(move |v| v.share_downloaded_blocking(&share, what, None, Timestamp::now()))
        .await?;
    retrieve(state, access.share.record_id, t, headers).await
}

async fn wado_study(
    State(state): State<AppState>,
    Path((link, study)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    wado(&state, &link, target(study, None, None), &headers).await
}

async fn wado_series(
    State(state): State<AppState>,
    Path((link, study, series)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    wado(&state, &link, target(study, Some(series), None), &headers).await
}

async fn wado_instance(
    State(state): State<AppState>,
    Path((link, study, series, sop)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    wado(
        &state,
        &link,
        target(study, Some(series), Some(sop)),
        &headers,
    )
    .await
}

async fn meta(
    state: &AppState,
    link: &str,
    t: Target,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let (access, base) = reach(state, link, headers).await?;
    same_study(&access, &t.study)?;
    metadata(state, access.share.record_id, &base, t, headers).await
}

async fn meta_study(
    State(state): State<AppState>,
    Path((link, study)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    meta(&state, &link, target(study, None, None), &headers).await
}

async fn meta_series(
    State(state): State<AppState>,
    Path((link, study, series)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    meta(&state, &link, target(study, Some(series), None), &headers).await
}

async fn meta_instance(
    State(state): State<AppState>,
    Path((link, study, series, sop)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    meta(
        &state,
        &link,
        target(study, Some(series), Some(sop)),
        &headers,
    )
    .await
}

async fn frames(
    State(state): State<AppState>,
    Path((link, study, series, sop, list)): Path<(String, String, String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (access, _) = reach(&state, &link, &headers).await?;
    same_study(&access, &study)?;
    let t = target(study, Some(series), Some(sop));
    frames_in(&state, access.share.record_id, t, &list, &headers).await
}

async fn thumbnail(
    State(state): State<AppState>,
    Path((link, study, series, sop)): Path<(String, String, String, String)>,
    Query(params): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (access, _) = reach(&state, &link, &headers).await?;
    same_study(&access, &study)?;
    let t = target(study, Some(series), Some(sop));
    preview(&state, access.share.record_id, t, &params, &headers)
        .await
        .map(IntoResponse::into_response)
}
