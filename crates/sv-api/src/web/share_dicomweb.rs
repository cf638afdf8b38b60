//! `/s/{link}/dicomweb`: a read-only DICOMweb service of one shared study, for the recipient's
//! own viewer (OHIF, Weasis), like KHEOPS's capability links.
//!
//! Who gets in: on a share without a passcode, the link alone; on one with a passcode, the
//! recipient's share session (a browser on our origin), or a viewer key, minted on the
//! recipient's page once the passcode was given, at `/s/{link}/viewer/{key}/dicomweb` (a
//! viewer on another origin carries no cookie). Every request judges the share again, so a
//! revocation holds on the next request.
//!
//! What is served: QIDO of the shared study and nothing else of the record; WADO (files,
//! metadata, frames, bulk data, thumbnails and renderings) of its instances only. A
//! de-identifying share answers in the UIDs it shows (remapped) with everything de-identified
//! as its downloads are: requests name the shown UIDs, and the vault finds the stored
//! instances behind them. Answers allow any origin (the capability is in the URL, never in a
//! cookie a foreign page could borrow: no credentials are allowed) and are never cached.

use std::time::Duration;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header::{ACCEPT, CACHE_CONTROL, REFERRER_POLICY, WARNING};
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use sv_dicomweb::{Level, Scope};
use sv_model::{Share, Timestamp};
use sv_vault::{AsShared, ShownInstance};
use tower_http::cors::{AllowOrigin, CorsLayer};

use super::cookies::{self, Jar};
use crate::dicomweb::frames::{bulk_of, frames_of, parse_frame_list};
use crate::dicomweb::qido::{Pairs, search_shared};
use crate::dicomweb::wado::{Target, instance_url, metadata_of, preview, stream_parts};
use crate::{ApiError, AppState};

pub(super) fn routes() -> Router<AppState> {
    let instance = "/studies/{study}/series/{series}/instances/{sop}";
    let service = Router::new()
        .route("/studies", get(qido_studies))
        .route("/studies/{study}/series", get(qido_series))
        .route("/studies/{study}/instances", get(qido_instances))
        .route(
            "/studies/{study}/series/{series}/instances",
            get(qido_instances),
        )
        .route("/studies/{study}", get(retrieve))
        .route("/studies/{study}/metadata", get(metadata))
        .route("/studies/{study}/series/{series}", get(retrieve))
        .route("/studies/{study}/series/{series}/metadata", get(metadata))
        .route(instance, get(retrieve))
        .route(&format!("{instance}/metadata"), get(metadata))
        .route(&format!("{instance}/frames/{{frames}}"), get(frames))
        .route(&format!("{instance}/bulkdata/{{tag}}"), get(bulkdata))
        .route("/studies/{study}/thumbnail", get(thumbnail))
        .route("/studies/{study}/rendered", get(thumbnail))
        .route("/studies/{study}/series/{series}/thumbnail", get(thumbnail))
        .route("/studies/{study}/series/{series}/rendered", get(thumbnail))
        .route(&format!("{instance}/thumbnail"), get(thumbnail))
        .route(&format!("{instance}/rendered"), get(thumbnail));
    Router::new()
        .nest("/s/{link}/dicomweb", service.clone())
        .nest("/s/{link}/viewer/{key}/dicomweb", service)
        .layer(axum::middleware::from_fn(headers_behind_a_link))
        .layer(any_origin())
}

/// CORS for a viewer served from another origin: any origin may read, none with credentials.
fn any_origin() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::any())
        .allow_methods([Method::GET, Method::OPTIONS])
        .allow_headers([ACCEPT])
        .expose_headers([WARNING])
        .max_age(Duration::from_secs(600))
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

/// The path of a request: the link, the viewer key when the path has one, and what it names
/// (in the UIDs the share shows).
#[derive(Debug, Deserialize)]
struct At {
    link: String,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    study: Option<String>,
    #[serde(default)]
    series: Option<String>,
    #[serde(default)]
    sop: Option<String>,
    #[serde(default)]
    frames: Option<String>,
    #[serde(default)]
    tag: Option<String>,
}

impl At {
    fn scope(&self) -> Scope {
        Scope {
            study: self.study.clone(),
            series: self.series.clone(),
        }
    }

    fn level(&self) -> &'static str {
        match (&self.series, &self.sop) {
            (_, Some(_)) => "instance",
            (Some(_), None) => "series",
            _ => "study",
        }
    }
}

/// The share a request reaches and the service base its answers name.
struct Reached {
    share: Share,
    base: String,
}

/// The share a request reaches, or 404 (the same for every kind of bad link or key).
async fn reach(state: &AppState, at: &At, headers: &HeaderMap) -> Result<Reached, ApiError> {
    let gone = || ApiError::not_found("share");
    let link = at.link.as_str();
    if link.len() != 64 || !link.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(gone());
    }
    let vault = state.vault();
    let now = Timestamp::now();
    let public = &state.config().public_url;
    let (share, base) = match &at.key {
        Some(key) => (
            vault.viewer_share_blocking(link, key, now)?,
            format!("{public}/s/{link}/viewer/{key}/dicomweb"),
        ),
        None => {
            let session = cookies::read(state, headers, Jar::Share);
            (
                vault.image_share_blocking(session.as_deref(), link, now)?,
                format!("{public}/s/{link}/dicomweb"),
            )
        }
    };
    let share = share.ok_or_else(gone)?;
    Ok(Reached { share, base })
}

/// 404 unless the path names no study or the shared one (as the share shows its UID).
fn names_the_study(reached: &Reached, at: &At) -> Result<(), ApiError> {
    let Some(study) = &at.study else {
        return Ok(());
    };
    if *study == AsShared::of(&reached.share).show(&reached.share.study_instance_uid) {
        Ok(())
    } else {
        Err(ApiError::not_found("study"))
    }
}

/// The stored instances behind what the request names; 404 when it names none (another
/// study, or UIDs the share does not show).
async fn named(
    state: &AppState,
    reached: &Reached,
    at: &At,
) -> Result<Vec<ShownInstance>, ApiError> {
    if at.study.is_none() {
        return Err(ApiError::not_found("study"));
    }
    names_the_study(reached, at)?;
    let share = reached.share.clone();
    let (series, sop) = (at.series.clone(), at.sop.clone());
    let found = state
        .vault()
        .run_io(move |v| v.shown_instances_blocking(&share, series.as_deref(), sop.as_deref()))
        .await?;
    if found.is_empty() {
        return Err(ApiError::not_found(at.level()));
    }
    Ok(found)
}

async fn qido_studies(
    state: State<AppState>,
    at: Path<At>,
    query: Result<Query<Pairs>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    qido(state, at, Level::Study, query, headers).await
}

async fn qido_series(
    state: State<AppState>,
    at: Path<At>,
    query: Result<Query<Pairs>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    qido(state, at, Level::Series, query, headers).await
}

async fn qido_instances(
    state: State<AppState>,
    at: Path<At>,
    query: Result<Query<Pairs>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    qido(state, at, Level::Instance, query, headers).await
}

async fn qido(
    State(state): State<AppState>,
    Path(at): Path<At>,
    level: Level,
    query: Result<Query<Pairs>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let reached = reach(&state, &at, &headers).await?;
    names_the_study(&reached, &at)?;
    let (share, base) = (reached.share, reached.base);
    search_shared(&state, share, base, level, at.scope(), query, headers).await
}

async fn retrieve(
    State(state): State<AppState>,
    Path(at): Path<At>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let reached = reach(&state, &at, &headers).await?;
    let found = named(&state, &reached, &at).await?;
    let share = reached.share;
    let logged = share.clone();
    let what = format!("dicomweb {}", at.level());
    state
        .vault()
        .run_io(move |v| v.share_downloaded_blocking(&logged, &what, None, Timestamp::now()))
        .await?;
    let stored = found.into_iter().map(|i| i.stored).collect();
    stream_parts(&state, stored, Some(share), &headers)
}

async fn metadata(
    State(state): State<AppState>,
    Path(at): Path<At>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    sv_dicomweb::accepts_dicom_json(crate::dicomweb::accept(&headers).as_deref())
        .map_err(crate::dicomweb::not_acceptable)?;
    let reached = reach(&state, &at, &headers).await?;
    let found = named(&state, &reached, &at).await?;
    let found = found
        .into_iter()
        .map(|i| {
            let url = instance_url(&reached.base, &i.shown);
            (i.stored, url)
        })
        .collect();
    metadata_of(&state, found, Some(reached.share)).await
}

async fn frames(
    State(state): State<AppState>,
    Path(at): Path<At>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let numbers = parse_frame_list(at.frames.as_deref().unwrap_or_default())?;
    let reached = reach(&state, &at, &headers).await?;
    let stored = named(&state, &reached, &at).await?.remove(0).stored;
    frames_of(&state, stored, numbers, &headers).await
}

async fn bulkdata(
    State(state): State<AppState>,
    Path(at): Path<At>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let reached = reach(&state, &at, &headers).await?;
    let stored = named(&state, &reached, &at).await?.remove(0).stored;
    let tag = at.tag.clone().unwrap_or_default();
    bulk_of(&state, stored, Some(reached.share), tag, &headers).await
}

/// Thumbnails and renderings: made of pixels alone, the same for every share of a study.
async fn thumbnail(
    State(state): State<AppState>,
    Path(at): Path<At>,
    Query(params): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let reached = reach(&state, &at, &headers).await?;
    let stored = named(&state, &reached, &at).await?.remove(0).stored;
    let target = Target {
        study: stored.study_instance_uid,
        series: at.series.as_ref().map(|_| stored.series_instance_uid),
        sop: at.sop.as_ref().map(|_| stored.sop_instance_uid),
    };
    preview(&state, reached.share.record_id, target, &params, &headers)
        .await
        .map(IntoResponse::into_response)
}
