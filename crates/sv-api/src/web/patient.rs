//! The patient's pages: sign-in (record token, or a one-time link mailed to the owner), the
//! study list, study and series pages with the viewer, downloads, upload from the browser,
//! sharing, the list of shares with their logs, revoke, and sign-out.
//!
//! A session is a server-side record behind an `HttpOnly`, `SameSite=Strict` cookie; what it
//! may do is what its principal may (the owner's every permission after a mailed link, a
//! pasted token's grants otherwise). Every POST needs the session's form token.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;
use sv_model::{MailState, Permissions, RecordId, Secret, Share, Timestamp, TokenId, TypeId};
use sv_vault::{
    Batch, BatchItem, IngestOptions, IngestStatus, InstanceBytes, NewShare, PatientSession, Reason,
    StudyListing,
};
use sv_web::shares::{
    MailState as MailShown, ShareCreatedPage, ShareEvent as EventRow, ShareFormPage,
    ShareFormValues, ShareListPage, ShareLogPage, ShareRow, ShareState as StateShown,
};
use sv_web::signin::{CheckMailPage, Notice, SigninLinkPage, SigninPage};
use sv_web::studies::{StudyListItem, StudyListPage, StudyPage};
use sv_web::upload::{UploadPage, UploadResultPage, UploadRow, UploadStatus};
use sv_web::viewer::{SeriesPage, ViewerPage};
use sv_web::{Layout, Section};

use super::cookies::{self, Jar};
use super::limits::{Attempts, limit_attempts};
use super::model::{self, Urls};
use super::{
    Page, St, form_token, form_token_ok, internal, io, pre_session_ok, pre_session_token,
    preview_answer, render, utc_minutes,
};
use crate::AppState;
use crate::studies::previews::{DERIVED_CACHING, INSTANCE_CACHING};
use crate::studies::spool::InstanceSink;
use crate::studies::zip_in;
use axum::middleware::from_fn_with_state;

pub(super) fn routes(state: &AppState, attempts: &Attempts) -> Router<AppState> {
    let limit = usize::try_from(state.config().limits.max_upload_bytes).unwrap_or(usize::MAX);
    let limited = || from_fn_with_state(attempts.clone(), limit_attempts);
    Router::new()
        .route("/", get(home))
        .route("/signin/token", post(signin_token).layer(limited()))
        .route("/signin/mail", post(signin_mail).layer(limited()))
        .route(
            "/signin/link/{code}",
            get(signin_link_page).post(signin_link).layer(limited()),
        )
        .route("/signout", post(signout))
        .route("/studies", get(studies))
        .route("/studies/{study}", get(study))
        .route("/studies/{study}/series/{n}", get(series))
        .route("/studies/{study}/series/{n}/view", get(viewer))
        .route("/studies/{study}/preview", get(study_preview))
        .route("/studies/{study}/series/{n}/preview", get(series_preview))
        .route("/studies/{study}/images/{sop}", get(image))
        .route("/studies/{study}/download.zip", get(download))
        .route("/studies/{study}/share", get(share_form).post(share_create))
        .route(
            "/upload",
            get(upload_page).post(upload).layer(
                tower::ServiceBuilder::new()
                    // A CD over a slow link takes as long as it takes (see `crate::limits`).
                    .layer(axum::middleware::from_fn(crate::limits::untimed_post))
                    .layer(axum::extract::DefaultBodyLimit::disable())
                    .layer(tower_http::limit::RequestBodyLimitLayer::new(limit)),
            ),
        )
        .route("/shares", get(shares))
        .route("/shares/{id}", get(share_log))
        .route("/shares/{id}/revoke", post(revoke))
}

/// A signed-in patient, with the session's form token.
struct Patient {
    session: PatientSession,
    csrf: String,
}

impl Patient {
    fn may(&self, needed: Permissions) -> bool {
        self.session.principal.access(
            self.session.record,
            Some(TypeId::MEDICAL_IMAGE_STUDY),
            needed,
        ) == sv_vault::Access::Granted
    }

    fn require(&self, needed: Permissions) -> Result<(), Page> {
        if self.may(needed) {
            Ok(())
        } else {
            Err(Page::Error(
                StatusCode::FORBIDDEN,
                "The token you signed in with does not allow this.",
            ))
        }
    }

    fn layout(&self, title: impl Into<String>, section: Section) -> Layout {
        Layout::patient(title, self.csrf.clone(), section)
    }

    fn record(&self) -> RecordId {
        self.session.record
    }

    fn check_form(&self, submitted: &str) -> Result<(), Page> {
        // The form token is derived from the session secret, which only the cookie carries.
        if bool::from(subtle::ConstantTimeEq::ct_eq(
            self.csrf.as_bytes(),
            submitted.as_bytes(),
        )) {
            Ok(())
        } else {
            Err(Page::Error(
                StatusCode::FORBIDDEN,
                "This form has expired. Go back, reload the page and try again.",
            ))
        }
    }
}

/// The patient behind the session cookie, or the sign-in page.
async fn patient(state: &AppState, headers: &HeaderMap) -> Result<Patient, Page> {
    let Some(secret) = cookies::read(state, headers, Jar::Patient) else {
        return Err(Page::redirect("/"));
    };
    let owned = secret.clone();
    match io(state, move |v| {
        v.patient_session_blocking(&owned, Timestamp::now())
    })
    .await?
    {
        Some(session) => Ok(Patient {
            session,
            csrf: form_token(&secret),
        }),
        None => Err(Page::redirect("/")),
    }
}

fn done(r: Result<Page, Page>) -> Page {
    r.unwrap_or_else(|p| p)
}

// --- sign-in -----------------------------------------------------------------------------

async fn home(State(state): St, headers: HeaderMap) -> Response {
    if patient(&state, &headers).await.is_ok() {
        return Page::redirect("/studies").into_response();
    }
    signin_page(&state, &headers, None, StatusCode::OK)
}

fn signin_page(
    state: &AppState,
    headers: &HeaderMap,
    notice: Option<Notice>,
    status: StatusCode,
) -> Response {
    let mut out = HeaderMap::new();
    let csrf = pre_session_token(state, headers, &mut out);
    let page = SigninPage {
        layout: Layout::public("Sign in", csrf),
        mail_enabled: state.vault().mail_enabled(),
        notice,
    };
    match render(&page) {
        Page::Html(_, html) => (status, out, Page::Html(status, html)).into_response(),
        other => other.into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct TokenForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
}

fn expired_form() -> Page {
    Page::Error(
        StatusCode::FORBIDDEN,
        "This form has expired. Go back, reload the page and try again.",
    )
}

/// Signs in and sets a fresh session cookie (a new id at every sign-in).
fn signed_in(state: &AppState, session: &Secret) -> Response {
    let mut out = HeaderMap::new();
    cookies::set(state, &mut out, Jar::Patient, session.expose());
    cookies::clear(state, &mut out, Jar::PreSession);
    Page::Redirect("/studies".into(), out).into_response()
}

async fn signin_token(
    State(state): St,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    if !pre_session_ok(&state, &headers, &form.csrf) {
        return expired_form().into_response();
    }
    let token = form.token.trim().to_owned();
    if token.is_empty() || token.len() > 256 {
        let notice = Notice::Error("Paste your record token to sign in.".into());
        return signin_page(&state, &headers, Some(notice), StatusCode::BAD_REQUEST);
    }
    match io(&state, move |v| {
        v.signin_with_token_blocking(&token, Timestamp::now())
    })
    .await
    {
        Ok(Some(session)) => signed_in(&state, &session),
        Ok(None) => {
            let notice = Notice::Error("That token is not valid (or has expired).".into());
            signin_page(&state, &headers, Some(notice), StatusCode::UNAUTHORIZED)
        }
        Err(p) => p.into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct MailForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
}

async fn signin_mail(State(state): St, headers: HeaderMap, Form(form): Form<MailForm>) -> Response {
    if !pre_session_ok(&state, &headers, &form.csrf) {
        return expired_form().into_response();
    }
    let email = form.email.trim().to_owned();
    if email.is_empty() || email.len() > 254 {
        let notice = Notice::Error("Type the e-mail address of your record.".into());
        return signin_page(&state, &headers, Some(notice), StatusCode::BAD_REQUEST);
    }
    let asked = email.clone();
    if let Err(p) = io(&state, move |v| {
        v.request_signin_link_blocking(&asked, Timestamp::now())
    })
    .await
    {
        return p.into_response();
    }
    // The same answer whether or not the address has a record.
    render(&CheckMailPage {
        layout: Layout::public("Check your mail", ""),
        email,
    })
    .into_response()
}

async fn signin_link_page(
    State(state): St,
    Path(_code): Path<String>,
    headers: HeaderMap,
) -> Response {
    // The same page for every code: reading it (as mail scanners do) uses nothing.
    let mut out = HeaderMap::new();
    let csrf = pre_session_token(&state, &headers, &mut out);
    match render(&SigninLinkPage {
        layout: Layout::public("Sign in", csrf),
    }) {
        Page::Html(s, html) => (out, Page::Html(s, html)).into_response(),
        other => other.into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn signin_link(
    State(state): St,
    Path(code): Path<String>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !pre_session_ok(&state, &headers, &form.csrf) {
        return expired_form().into_response();
    }
    if code.len() != 64 || !code.bytes().all(|b| b.is_ascii_hexdigit()) {
        let notice = Notice::Error("This sign-in link is not valid. Ask for a new one.".into());
        return signin_page(&state, &headers, Some(notice), StatusCode::NOT_FOUND);
    }
    match io(&state, move |v| {
        v.signin_with_link_blocking(&code, Timestamp::now())
    })
    .await
    {
        Ok(Some(session)) => signed_in(&state, &session),
        Ok(None) => {
            let notice = Notice::Error(
                "This sign-in link has been used or has expired. Ask for a new one.".into(),
            );
            signin_page(&state, &headers, Some(notice), StatusCode::NOT_FOUND)
        }
        Err(p) => p.into_response(),
    }
}

async fn signout(State(state): St, headers: HeaderMap, Form(form): Form<CsrfForm>) -> Response {
    let Some(secret) = cookies::read(&state, &headers, Jar::Patient) else {
        return Page::redirect("/").into_response();
    };
    if !form_token_ok(&secret, &form.csrf) {
        return expired_form().into_response();
    }
    if let Err(p) = io(&state, move |v| v.end_session_blocking(&secret)).await {
        return p.into_response();
    }
    let mut out = HeaderMap::new();
    cookies::clear(&state, &mut out, Jar::Patient);
    Page::Redirect("/".into(), out).into_response()
}

// --- studies -----------------------------------------------------------------------------

async fn listing_of(state: &AppState, p: &Patient, study: &str) -> Result<StudyListing, Page> {
    p.require(Permissions::READ)?;
    let (record, uid) = (p.record(), study.to_owned());
    io(state, move |v| v.study_listing_blocking(record, &uid))
        .await?
        .ok_or(Page::Error(
            StatusCode::NOT_FOUND,
            "There is no such study.",
        ))
}

async fn studies(State(state): St, headers: HeaderMap) -> Page {
    done(
        async {
            let p = patient(&state, &headers).await?;
            p.require(Permissions::READ)?;
            let record = p.record();
            let mut all = io(&state, move |v| v.study_listings_blocking(record)).await?;
            all.sort_by(|a, b| {
                let date = |l: &StudyListing| {
                    l.instances
                        .first()
                        .and_then(|f| f.study.study_date.clone())
                        .unwrap_or_default()
                };
                date(b).cmp(&date(a)).then(b.updated.cmp(&a.updated))
            });
            let studies = all
                .iter()
                .map(|l| {
                    let urls = Urls::patient(&l.study_instance_uid);
                    StudyListItem {
                        url: urls.study(),
                        preview_url: l.derived.study.is_some().then(|| urls.study_preview()),
                        study: model::summary(l),
                    }
                })
                .collect();
            Ok(render(&StudyListPage {
                layout: p.layout("Your studies", Section::Studies),
                studies,
            }))
        }
        .await,
    )
}

async fn study(State(state): St, Path(uid): Path<String>, headers: HeaderMap) -> Page {
    done(
        async {
            let p = patient(&state, &headers).await?;
            let listing = listing_of(&state, &p, &uid).await?;
            let urls = Urls::patient(&uid);
            let summary = model::summary(&listing);
            Ok(render(&StudyPage {
                layout: p.layout(summary.title(), Section::Studies),
                series: model::series_cards(&listing, &urls),
                study: summary,
                archive_url: format!("{}/download.zip", urls.study()),
                share_url: format!("{}/share", urls.study()),
            }))
        }
        .await,
    )
}

async fn series(
    State(state): St,
    Path((uid, n)): Path<(String, usize)>,
    headers: HeaderMap,
) -> Page {
    done(
        async {
            let p = patient(&state, &headers).await?;
            let listing = listing_of(&state, &p, &uid).await?;
            let series = model::series_view(&listing, n, &Urls::patient(&uid)).ok_or(
                Page::Error(StatusCode::NOT_FOUND, "There is no such series."),
            )?;
            Ok(render(&SeriesPage {
                layout: p.layout(series.title(), Section::Studies),
                series,
            }))
        }
        .await,
    )
}

#[derive(Debug, Deserialize)]
struct ViewerQuery {
    i: Option<u32>,
}

async fn viewer(
    State(state): St,
    Path((uid, n)): Path<(String, usize)>,
    Query(q): Query<ViewerQuery>,
    headers: HeaderMap,
) -> Page {
    done(
        async {
            let p = patient(&state, &headers).await?;
            let listing = listing_of(&state, &p, &uid).await?;
            let viewer =
                model::viewer_view(&listing, n, q.i.unwrap_or(1), true, &Urls::patient(&uid))
                    .ok_or(Page::Error(
                        StatusCode::NOT_FOUND,
                        "There is no such series.",
                    ))?;
            Ok(render(&ViewerPage {
                layout: p.layout(viewer.series.title(), Section::Studies),
                viewer,
            }))
        }
        .await,
    )
}

async fn study_preview(State(state): St, Path(uid): Path<String>, headers: HeaderMap) -> Response {
    let r = async {
        let p = patient(&state, &headers).await?;
        p.require(Permissions::READ)?;
        let derived = state
            .vault()
            .derived_previews(p.record(), &uid)
            .await
            .map_err(|e| internal(&e))?
            .ok_or(Page::Error(
                StatusCode::NOT_FOUND,
                "There is no such study.",
            ))?;
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
    r.await.unwrap_or_else(IntoResponse::into_response)
}

async fn series_preview(
    State(state): St,
    Path((uid, n)): Path<(String, usize)>,
    headers: HeaderMap,
) -> Response {
    let r = async {
        let p = patient(&state, &headers).await?;
        let listing = listing_of(&state, &p, &uid).await?;
        let series = model::series_uid(&listing, n).ok_or(Page::Error(
            StatusCode::NOT_FOUND,
            "There is no such series.",
        ))?;
        let preview = listing.derived.series.get(&series).cloned().flatten();
        let missing = "This series has no preview.";
        preview_answer(&state, preview, &headers, DERIVED_CACHING, missing).await
    };
    r.await.unwrap_or_else(IntoResponse::into_response)
}

async fn image(
    State(state): St,
    Path((uid, sop)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let r = async {
        let p = patient(&state, &headers).await?;
        p.require(Permissions::READ)?;
        // Point reads of the SOP index and the study, like the API's instance preview.
        let preview = state
            .vault()
            .instance_preview(p.record(), &uid, None, &sop)
            .map_err(|e| internal(&e))?
            .ok_or(Page::Error(
                StatusCode::NOT_FOUND,
                "There is no such image.",
            ))?;
        let missing = "This image has no preview.";
        preview_answer(&state, preview, &headers, INSTANCE_CACHING, missing).await
    };
    r.await.unwrap_or_else(IntoResponse::into_response)
}

async fn download(State(state): St, Path(uid): Path<String>, headers: HeaderMap) -> Response {
    let r = async {
        let p = patient(&state, &headers).await?;
        p.require(Permissions::READ)?;
        let record = p.record();
        let u = uid.clone();
        let instances = io(&state, move |v| v.study_instances_blocking(record, &u)).await?;
        if instances.is_empty() {
            return Err(Page::Error(
                StatusCode::NOT_FOUND,
                "There is no such study.",
            ));
        }
        Ok(crate::studies::archive::stream_zip(
            state.vault().clone(),
            instances,
            None,
            &uid,
        ))
    };
    r.await.unwrap_or_else(IntoResponse::into_response)
}

// --- upload ------------------------------------------------------------------------------

async fn upload_page(State(state): St, headers: HeaderMap) -> Page {
    done(
        async {
            let p = patient(&state, &headers).await?;
            p.require(Permissions::CREATE)?;
            let max = state.config().limits.max_upload_bytes;
            Ok(render(&UploadPage {
                layout: p.layout("Upload", Section::Upload),
                limit: Some(format!("{} MB", max / 1_000_000)),
            }))
        }
        .await,
    )
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"))
}

fn row(item: &BatchItem) -> UploadRow {
    match item {
        BatchItem::Instance(r) => UploadRow {
            sop_instance_uid: r.sop_instance_uid.clone(),
            status: match r.status {
                IngestStatus::Stored | IngestStatus::Replaced => UploadStatus::Stored,
                IngestStatus::Duplicate => UploadStatus::Duplicate,
                _ => UploadStatus::Refused,
            },
            reason: r.reason.as_ref().map(|x| x.message.clone()),
        },
        BatchItem::Skipped { source, reason } => UploadRow {
            sop_instance_uid: Some(source.clone()),
            status: UploadStatus::Refused,
            reason: Some(reason.message.clone()),
        },
    }
}

async fn upload(State(state): St, headers: HeaderMap, body: Body) -> Response {
    let r = async {
        let p = patient(&state, &headers).await?;
        p.require(Permissions::CREATE)?;
        let submitted = headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let boundary = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|ct| multer::parse_boundary(ct).ok())
            .ok_or(Page::Error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Send the files from the upload form.",
            ))?;
        let items = ingest_form(&state, &p, boundary, body, submitted).await?;
        let studies: std::collections::BTreeSet<&str> = items
            .iter()
            .filter_map(|i| match i {
                BatchItem::Instance(r) => r.study_instance_uid.as_deref(),
                BatchItem::Skipped { .. } => None,
            })
            .collect();
        let rows: Vec<UploadRow> = items.iter().map(row).collect();
        if wants_json(&headers) {
            let instances: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "sop_instance_uid": r.sop_instance_uid,
                        "status": r.status.as_str(),
                        "reason": r.reason,
                    })
                })
                .collect();
            let body = serde_json::json!({
                "study_count": studies.len(),
                "instances": instances,
            });
            return Ok::<Response, Page>(Json(body).into_response());
        }
        Ok(render(&UploadResultPage {
            layout: p.layout("Upload finished", Section::Upload),
            study_count: u32::try_from(studies.len()).unwrap_or(u32::MAX),
            rows,
        })
        .into_response())
    };
    r.await.unwrap_or_else(IntoResponse::into_response)
}

/// Ingests every file of a `multipart/form-data` upload (`files` fields: DICOM files or zips),
/// after the form token (the `csrf` field first, or the `X-CSRF-Token` header).
async fn ingest_form(
    state: &AppState,
    p: &Patient,
    boundary: String,
    body: Body,
    mut submitted: Option<String>,
) -> Result<Vec<BatchItem>, Page> {
    let max = state.vault().config().limits.max_instance_bytes;
    // A file may be a zip, as big as the upload.
    let max_file = max.max(state.config().limits.max_upload_bytes);
    let mut form = multer::Multipart::new(body.into_data_stream(), boundary);
    let options = IngestOptions {
        token: p.session.principal.token_id(),
        ..IngestOptions::default()
    };
    let mut batch = Batch::new(state.vault(), p.record(), options.clone());
    let mut zips = Vec::new();
    let bad = |_| {
        Page::Error(
            StatusCode::BAD_REQUEST,
            "The upload was cut short or malformed.",
        )
    };
    while let Some(mut field) = form.next_field().await.map_err(bad)? {
        if field.name() == Some("csrf") {
            submitted = Some(field.text().await.map_err(bad)?);
            continue;
        }
        // Nothing is stored before the form token checks out.
        p.check_form(submitted.as_deref().unwrap_or_default())?;
        let name = field.file_name().unwrap_or_default().to_owned();
        // Each file streams into memory up to the spool bound and into a spool file beyond
        // it, as the API's uploads do: a browser upload holds no big file in memory.
        let mut sink = InstanceSink::new(state.vault(), max_file, None);
        let mut head: Vec<u8> = Vec::with_capacity(4);
        while let Some(chunk) = field.chunk().await.map_err(bad)? {
            if head.len() < 4 {
                head.extend(chunk.iter().take(4 - head.len()));
            }
            sink.push(&chunk).await.map_err(|e| super::internal(&e))?;
        }
        let Some(bytes) = sink.finish().await.map_err(|e| super::internal(&e))? else {
            batch.fail(
                name,
                Reason::new("too-large", "the file is larger than the server accepts"),
            );
            continue;
        };
        if name.is_empty() && bytes.is_empty() {
            continue; // an unused file input
        }
        if head.as_slice() == b"PK\x03\x04" {
            zips.push(bytes);
        } else if bytes.len() > max {
            batch.fail(
                name,
                Reason::new("too-large", format!("an instance is at most {max} bytes")),
            );
        } else {
            batch.submit_instance(name, bytes).await;
        }
    }
    p.check_form(submitted.as_deref().unwrap_or_default())?;
    let mut items = batch.finish().await;
    for zip in zips {
        let ingested = match zip {
            InstanceBytes::Memory(bytes) => {
                let body = Body::from((*bytes).as_ref().to_vec());
                zip_in::ingest(state, p.record(), options.clone(), body).await
            }
            InstanceBytes::File(spool) => match spool.try_clone_file() {
                Ok(file) => zip_in::ingest_file(state, p.record(), options.clone(), file).await,
                Err(e) => Err(crate::ApiError::internal(&e)),
            },
        };
        match ingested {
            Ok(more) => items.extend(more),
            Err(e) => items.push(BatchItem::Skipped {
                source: "zip".into(),
                reason: Reason::new("malformed-zip", e.message.clone()),
            }),
        }
    }
    Ok(items)
}

// --- sharing -----------------------------------------------------------------------------

fn max_days(state: &AppState) -> u32 {
    u32::try_from(state.vault().config().sharing.max_expires_in.as_secs() / 86_400)
        .unwrap_or(90)
        .max(1)
}

async fn share_form(State(state): St, Path(uid): Path<String>, headers: HeaderMap) -> Page {
    done(
        async {
            let p = patient(&state, &headers).await?;
            p.require(Permissions::ALL)?;
            let listing = listing_of(&state, &p, &uid).await?;
            let urls = Urls::patient(&uid);
            Ok(render(&ShareFormPage {
                layout: p.layout("Share this study", Section::Shares),
                action: format!("{}/share", urls.study()),
                study: model::summary(&listing),
                study_url: urls.study(),
                max_days: max_days(&state),
                mail_enabled: state.vault().mail_enabled(),
                error: None,
                values: ShareFormValues::default(),
            }))
        }
        .await,
    )
}

#[derive(Debug, Deserialize)]
struct ShareForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    expires_days: u32,
    #[serde(default)]
    passcode: String,
    #[serde(default)]
    note: String,
    allow_download: Option<String>,
    deidentify: Option<String>,
}

fn mail_shown(share: &Share) -> MailShown {
    let to = share.email.clone().unwrap_or_default();
    match &share.mail {
        MailState::NotRequested => MailShown::NotRequested,
        MailState::NotConfigured => MailShown::NotConfigured,
        MailState::Queued { .. } => MailShown::Queued { to },
        MailState::Sent { .. } => MailShown::Sent { to },
        MailState::Failed { .. } | MailState::Cancelled => MailShown::Failed { to },
    }
}

async fn share_create(
    State(state): St,
    Path(uid): Path<String>,
    headers: HeaderMap,
    Form(form): Form<ShareForm>,
) -> Page {
    done(
        async {
            let p = patient(&state, &headers).await?;
            p.check_form(&form.csrf)?;
            p.require(Permissions::ALL)?;
            let listing = listing_of(&state, &p, &uid).await?;
            let urls = Urls::patient(&uid);
            let days = form.expires_days.clamp(1, max_days(&state));
            let new = NewShare {
                study_instance_uid: uid.clone(),
                expires_in: Some(Duration::from_secs(u64::from(days) * 86_400)),
                email: Some(form.email.clone()),
                passcode: (!form.passcode.is_empty()).then(|| Secret::new(form.passcode.clone())),
                note: Some(form.note.clone()),
                allow_download: form.allow_download.is_some(),
                deidentify: form.deidentify.is_some(),
            };
            let record = p.record();
            let created = io(&state, move |v| {
                v.create_share_blocking(record, new, Timestamp::now())
            })
            .await?;
            let created = match created {
                Ok(c) => c,
                Err(refusal) => {
                    return Ok(render(&ShareFormPage {
                        layout: p.layout("Share this study", Section::Shares),
                        action: format!("{}/share", urls.study()),
                        study: model::summary(&listing),
                        study_url: urls.study(),
                        max_days: max_days(&state),
                        mail_enabled: state.vault().mail_enabled(),
                        error: Some(refusal.to_string()),
                        values: ShareFormValues {
                            email: form.email,
                            expires_days: days,
                            note: form.note,
                            allow_download: form.allow_download.is_some(),
                            deidentify: form.deidentify.is_some(),
                        },
                    }));
                }
            };
            Ok(render(&ShareCreatedPage {
                layout: p.layout("Study shared", Section::Shares),
                study_title: model::summary(&listing).title(),
                study_url: urls.study(),
                qr_svg: sv_web::qr_svg(&created.url),
                link: created.url.clone(),
                passcode_set: created.share.passcode.is_some(),
                mail: mail_shown(&created.share),
                expires: utc_minutes(created.share.expires),
            }))
        }
        .await,
    )
}

fn state_shown(share: &Share, now: Timestamp) -> StateShown {
    match share.state(now) {
        sv_model::ShareState::Active => StateShown::Active,
        sv_model::ShareState::Expired => StateShown::Expired,
        sv_model::ShareState::Revoked => StateShown::Revoked,
        sv_model::ShareState::Locked => StateShown::Locked,
    }
}

async fn study_titles(
    state: &AppState,
    record: RecordId,
) -> Result<std::collections::HashMap<String, String>, Page> {
    let listings = io(state, move |v| v.study_listings_blocking(record)).await?;
    Ok(listings
        .iter()
        .map(|l| (l.study_instance_uid.clone(), model::summary(l).title()))
        .collect())
}

async fn shares(State(state): St, headers: HeaderMap) -> Page {
    done(
        async {
            let p = patient(&state, &headers).await?;
            p.require(Permissions::ALL)?;
            let record = p.record();
            let all = io(&state, move |v| v.shares_blocking(record)).await?;
            let titles = study_titles(&state, record).await?;
            let now = Timestamp::now();
            let rows = all
                .iter()
                .map(|s| ShareRow {
                    study_title: titles
                        .get(&s.study_instance_uid)
                        .cloned()
                        .unwrap_or_else(|| "Deleted study".to_owned()),
                    study_url: Urls::patient(&s.study_instance_uid).study(),
                    recipient: s.email.clone(),
                    created: utc_minutes(s.created),
                    expires: utc_minutes(s.expires),
                    state: state_shown(s, now),
                    mail: mail_shown(s),
                    views: u32::try_from(s.views).unwrap_or(u32::MAX),
                    downloads: u32::try_from(s.downloads).unwrap_or(u32::MAX),
                    last_opened: s.last_opened.map(utc_minutes),
                    log_url: format!("/shares/{}", s.id),
                    revoke_url: format!("/shares/{}/revoke", s.id),
                })
                .collect();
            Ok(render(&ShareListPage {
                layout: p.layout("Your shares", Section::Shares),
                shares: rows,
            }))
        }
        .await,
    )
}

fn share_id(id: &str) -> Result<TokenId, Page> {
    id.parse()
        .map_err(|_| Page::Error(StatusCode::NOT_FOUND, "There is no such share."))
}

async fn share_log(State(state): St, Path(id): Path<String>, headers: HeaderMap) -> Page {
    done(
        async {
            let p = patient(&state, &headers).await?;
            p.require(Permissions::ALL)?;
            let id = share_id(&id)?;
            let record = p.record();
            let (share, events) = io(&state, move |v| v.share_log_blocking(record, id))
                .await?
                .ok_or(Page::Error(
                    StatusCode::NOT_FOUND,
                    "There is no such share.",
                ))?;
            let titles = study_titles(&state, record).await?;
            Ok(render(&ShareLogPage {
                layout: p.layout("Share history", Section::Shares),
                study_title: titles
                    .get(&share.study_instance_uid)
                    .cloned()
                    .unwrap_or_else(|| "Deleted study".to_owned()),
                recipient: share.email.clone(),
                created: utc_minutes(share.created),
                expires: utc_minutes(share.expires),
                state: state_shown(&share, Timestamp::now()),
                events: events
                    .iter()
                    .map(|e| EventRow {
                        time: utc_minutes(e.at),
                        what: e.kind.as_str().replace('-', " "),
                        detail: e.detail.clone(),
                        client: e.client.clone(),
                    })
                    .collect(),
            }))
        }
        .await,
    )
}

async fn revoke(
    State(state): St,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Page {
    done(
        async {
            let p = patient(&state, &headers).await?;
            p.check_form(&form.csrf)?;
            p.require(Permissions::ALL)?;
            let id = share_id(&id)?;
            let record = p.record();
            io(&state, move |v| {
                v.revoke_share_blocking(record, id, Timestamp::now())
            })
            .await?
            .ok_or(Page::Error(
                StatusCode::NOT_FOUND,
                "There is no such share.",
            ))?;
            Ok(Page::redirect("/shares"))
        }
        .await,
    )
}
