//! The share recipient's pages under `/s/{link}`.
//!
//! `GET /s/{link}` is the landing page and changes nothing; its button POSTs to the same URL,
//! which checks the passcode, logs the opening and starts a share session (a cookie bound to
//! that share), then redirects to the study page. Every page and image after that needs the
//! session *and* judges the share again, so a revoked or expired share stops at the next request.
//! Whatever is wrong with a link, the answer is the same 404 page.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use serde::Deserialize;
use sv_model::{Share, Timestamp};
use sv_vault::{AsShared, OpenOutcome, ShareAccess, StudyListing};
use sv_web::Layout;
use sv_web::recipient::{
    RecipientLandingPage, RecipientSeriesPage, RecipientShare, RecipientStudyPage,
    RecipientViewerPage,
};

use super::cookies::{self, Jar};
use super::limits::{Attempts, limit_attempts};
use super::model::{self, Urls};
use super::{
    Page, St, client_network, io, pre_session_ok, pre_session_token, preview_answer, render,
    utc_minutes,
};
use crate::AppState;
use crate::studies::previews::DERIVED_CACHING;
use axum::middleware::from_fn_with_state;

pub(super) fn routes(attempts: &Attempts) -> Router<AppState> {
    let limited = from_fn_with_state(attempts.clone(), limit_attempts);
    Router::new()
        .route("/s/{link}", get(landing).post(open).layer(limited))
        .route("/s/{link}/study", get(study))
        .route("/s/{link}/series/{n}", get(series))
        .route("/s/{link}/series/{n}/view", get(viewer))
        .route("/s/{link}/preview", get(study_preview))
        .route("/s/{link}/series/{n}/preview", get(series_preview))
        .route("/s/{link}/images/{key}", get(image))
        .route("/s/{link}/download.zip", get(download))
}

/// A link is 64 lowercase hex characters; anything else is not one of ours.
fn plausible(link: &str) -> bool {
    link.len() == 64 && link.bytes().all(|b| b.is_ascii_hexdigit())
}

fn banner(state: &AppState, link: &str, access: &ShareAccess) -> RecipientShare {
    let base = format!("{}/s/{link}", state.config().public_url);
    // The link alone opens the DICOMweb of a share without a passcode; behind a passcode, a
    // viewer on another origin needs a viewer key (this page is shown only to a recipient
    // who gave the passcode).
    let dicomweb = match access.share.passcode {
        None => format!("{base}/dicomweb"),
        Some(_) => {
            let key = sv_vault::Vault::viewer_key(&access.share, Timestamp::now());
            format!("{base}/viewer/{key}/dicomweb")
        }
    };
    let study = AsShared::of(&access.share).show(&access.share.study_instance_uid);
    let weasis = format!("$dicom:rs --url \"{dicomweb}\" -r \"studyUID={study}\"");
    RecipientShare {
        shared_by: access.shared_by.clone(),
        expires: utc_minutes(access.share.expires),
        download_url: access
            .share
            .allow_download
            .then(|| format!("/s/{link}/download.zip")),
        weasis_url: Some(format!(
            "weasis://?{}",
            crate::representation::encode_segment(&weasis)
        )),
        dicomweb_url: Some(dicomweb),
        viewer_key_hours: access
            .share
            .passcode
            .is_some()
            .then_some(sv_vault::VIEWER_KEY_HOURS),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct OpenForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    passcode: String,
}

async fn landing(State(state): St, Path(link): Path<String>, headers: HeaderMap) -> Response {
    landing_page(&state, &link, &headers, None).await
}

async fn landing_page(
    state: &AppState,
    link: &str,
    headers: &HeaderMap,
    attempts_left: Option<u32>,
) -> Response {
    if !plausible(link) {
        return Page::LinkNotValid.into_response();
    }
    let owned = link.to_owned();
    let found = match io(state, move |v| {
        let now = Timestamp::now();
        let Some(landing) = v.share_landing_blocking(&owned, now)? else {
            return Ok(None);
        };
        let listing = v.shared_study_blocking(&landing.share)?;
        Ok(listing.map(|l| (landing, l)))
    })
    .await
    {
        Ok(Some(found)) => found,
        Ok(None) => return Page::LinkNotValid.into_response(),
        Err(page) => return page.into_response(),
    };
    let (landing, listing) = found;
    let mut out = HeaderMap::new();
    let csrf = pre_session_token(state, headers, &mut out);
    let page = RecipientLandingPage {
        layout: Layout::public("Shared study", csrf),
        shared_by: landing.shared_by,
        note: landing.share.note.clone(),
        study: model::summary(&listing),
        expires: utc_minutes(landing.share.expires),
        passcode_required: landing.share.passcode.is_some(),
        wrong_passcode_attempts_left: attempts_left,
    };
    let status = if attempts_left.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    match render(&page) {
        Page::Html(_, html) => (status, out, Page::Html(status, html)).into_response(),
        other => other.into_response(),
    }
}

async fn open(
    State(state): St,
    Path(link): Path<String>,
    Extension(ext): Extension<RequestExtensions>,
    headers: HeaderMap,
    Form(form): Form<OpenForm>,
) -> Response {
    if !plausible(&link) {
        return Page::LinkNotValid.into_response();
    }
    if !pre_session_ok(&state, &headers, &form.csrf) {
        return Page::Error(
            StatusCode::FORBIDDEN,
            "This form has expired. Go back, reload the page and try again.",
        )
        .into_response();
    }
    let client = ext.client.clone();
    let owned = link.clone();
    let passcode = (!form.passcode.is_empty()).then_some(form.passcode);
    let outcome = io(&state, move |v| {
        v.open_share_blocking(
            &owned,
            passcode.as_deref(),
            client.as_deref(),
            Timestamp::now(),
        )
    })
    .await;
    match outcome {
        Ok(OpenOutcome::Opened { session, .. }) => {
            let mut out = HeaderMap::new();
            cookies::set(&state, &mut out, Jar::Share, session.expose());
            Page::Redirect(format!("/s/{link}/study"), out).into_response()
        }
        Ok(OpenOutcome::WrongPasscode { attempts_left }) => {
            landing_page(&state, &link, &headers, Some(attempts_left)).await
        }
        Ok(OpenOutcome::NotFound) => Page::LinkNotValid.into_response(),
        Err(page) => page.into_response(),
    }
}

/// What the router's outer layer records about the request (the client's network).
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestExtensions {
    pub(crate) client: Option<String>,
}

/// Records the client's network for the handlers that log accesses.
pub(crate) async fn record_client(
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let client = client_network(request.extensions());
    request
        .extensions_mut()
        .insert(RequestExtensions { client });
    next.run(request).await
}

/// The share behind the request's session cookie, if both still hold; else the answer to give.
async fn access(state: &AppState, link: &str, headers: &HeaderMap) -> Result<ShareAccess, Page> {
    if !plausible(link) {
        return Err(Page::LinkNotValid);
    }
    let Some(session) = cookies::read(state, headers, Jar::Share) else {
        return Err(Page::redirect(format!("/s/{link}")));
    };
    // A few point reads of hot keys: answered inline, like the owner's preview route.
    match state
        .vault()
        .share_session_blocking(&session, link, Timestamp::now())
    {
        Ok(Some(a)) => Ok(a),
        Ok(None) => Err(Page::redirect(format!("/s/{link}"))),
        Err(e) => Err(super::internal(&e)),
    }
}

/// The share an image request reaches (the link alone on a share without passcode, else the
/// session too): without the reads a page needs.
fn share_only(state: &AppState, link: &str, headers: &HeaderMap) -> Result<Share, Page> {
    if !plausible(link) {
        return Err(Page::LinkNotValid);
    }
    let session = cookies::read(state, headers, Jar::Share);
    // Point reads of hot keys, inline like the owner's preview route.
    match state
        .vault()
        .image_share_blocking(session.as_deref(), link, Timestamp::now())
    {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(Page::redirect(format!("/s/{link}"))),
        Err(e) => Err(super::internal(&e)),
    }
}

async fn listing(state: &AppState, access: &ShareAccess) -> Result<StudyListing, Page> {
    let share = access.share.clone();
    match io(state, move |v| v.shared_study_blocking(&share)).await? {
        Some(l) => Ok(l),
        None => Err(Page::LinkNotValid),
    }
}

async fn study(State(state): St, Path(link): Path<String>, headers: HeaderMap) -> Page {
    let page = async {
        let access = access(&state, &link, &headers).await?;
        let listing = listing(&state, &access).await?;
        let urls = Urls::share(&link, &access.share);
        let summary = model::summary(&listing);
        Ok::<_, Page>(render(&RecipientStudyPage {
            layout: Layout::public(summary.title(), ""),
            series: model::series_cards(&listing, &urls),
            study: summary,
            share: banner(&state, &link, &access),
        }))
    };
    page.await.unwrap_or_else(|p| p)
}

async fn series(
    State(state): St,
    Path((link, n)): Path<(String, usize)>,
    headers: HeaderMap,
) -> Page {
    let page = async {
        let access = access(&state, &link, &headers).await?;
        let listing = listing(&state, &access).await?;
        let urls = Urls::share(&link, &access.share);
        let Some(series) = model::series_view(&listing, n, &urls) else {
            return Err(Page::Error(
                StatusCode::NOT_FOUND,
                "There is no such series.",
            ));
        };
        Ok(render(&RecipientSeriesPage {
            layout: Layout::public(series.title(), ""),
            series,
            share: banner(&state, &link, &access),
        }))
    };
    page.await.unwrap_or_else(|p| p)
}

#[derive(Debug, Deserialize)]
pub(super) struct ViewerQuery {
    i: Option<u32>,
}

async fn viewer(
    State(state): St,
    Path((link, n)): Path<(String, usize)>,
    Query(q): Query<ViewerQuery>,
    headers: HeaderMap,
) -> Page {
    let page = async {
        let access = access(&state, &link, &headers).await?;
        let listing = listing(&state, &access).await?;
        let urls = Urls::share(&link, &access.share);
        let Some(viewer) = model::viewer_view(
            &listing,
            n,
            q.i.unwrap_or(1),
            access.share.allow_download,
            &urls,
        ) else {
            return Err(Page::Error(
                StatusCode::NOT_FOUND,
                "There is no such series.",
            ));
        };
        Ok(render(&RecipientViewerPage {
            layout: Layout::public(viewer.series.title(), ""),
            viewer,
            share: banner(&state, &link, &access),
        }))
    };
    page.await.unwrap_or_else(|p| p)
}

/// Preview answers under a share are never stored by the browser or a proxy.
fn no_store(mut r: Response) -> Response {
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

async fn study_preview(State(state): St, Path(link): Path<String>, headers: HeaderMap) -> Response {
    let result = async {
        let share = &share_only(&state, &link, &headers)?;
        let derived = state
            .vault()
            .derived_previews(share.record_id, &share.study_instance_uid)
            .await
            .map_err(|e| super::internal(&e))?
            .ok_or(Page::LinkNotValid)?;
        let missing = "This study has no preview.";
        preview_answer(
            &state,
            derived.study.clone(),
            &headers,
            DERIVED_CACHING,
            missing,
        )
        .await
    };
    match result.await {
        Ok(r) => no_store(r),
        Err(p) => p.into_response(),
    }
}

async fn series_preview(
    State(state): St,
    Path((link, n)): Path<(String, usize)>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let access = access(&state, &link, &headers).await?;
        let listing = listing(&state, &access).await?;
        let series = model::series_uid(&listing, n).ok_or(Page::Error(
            StatusCode::NOT_FOUND,
            "There is no such series.",
        ))?;
        let preview = listing.derived.series.get(&series).cloned().flatten();
        let missing = "This series has no preview.";
        preview_answer(&state, preview, &headers, DERIVED_CACHING, missing).await
    };
    match result.await {
        Ok(r) => no_store(r),
        Err(p) => p.into_response(),
    }
}

/// One image's preview. On a plain share the key is the SOP Instance UID and the lookup is
/// the owner route's fast path; on a de-identifying one it is the remapped UID, found by
/// remapping the study's own.
async fn image(
    State(state): St,
    Path((link, key)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let share = &share_only(&state, &link, &headers)?;
        let uids = AsShared::of(share);
        let preview = if uids.deidentifies() {
            let share = share.clone();
            let listing = io(&state, move |v| v.shared_study_blocking(&share))
                .await?
                .ok_or(Page::LinkNotValid)?;
            model::instance_by_key(&listing, &key, &|u| uids.show(u))
                .and_then(|f| f.preview.clone())
        } else {
            state
                .vault()
                .shared_instance_preview(share, &key)
                .map_err(|e| super::internal(&e))?
        };
        preview_answer(
            &state,
            preview,
            &headers,
            DERIVED_CACHING,
            "There is no such image.",
        )
        .await
    };
    match result.await {
        Ok(r) => no_store(r),
        Err(p) => p.into_response(),
    }
}

async fn download(
    State(state): St,
    Path(link): Path<String>,
    Extension(ext): Extension<RequestExtensions>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let access = access(&state, &link, &headers).await?;
        if !access.share.allow_download {
            return Err(Page::Error(
                StatusCode::FORBIDDEN,
                "The person who shared this study did not allow downloads.",
            ));
        }
        let share = access.share.clone();
        let client = ext.client.clone();
        let instances = io(&state, move |v| {
            v.share_downloaded_blocking(&share, "zip", client.as_deref(), Timestamp::now())?;
            v.study_instances_blocking(share.record_id, &share.study_instance_uid)
        })
        .await?;
        let name = AsShared::of(&access.share).show(&access.share.study_instance_uid);
        Ok(crate::studies::archive::stream_zip(
            state.vault().clone(),
            instances,
            Some(access.share),
            &name,
        ))
    };
    match result.await {
        Ok(r) => no_store(r),
        Err(p) => p.into_response(),
    }
}
