//! Medical image studies: upload (one file, a multipart batch, a zipped CD), the study list and
//! details, previews at study, series and instance level, and the study as a streamed zip.

pub(crate) mod archive;
mod list;
pub(crate) mod multipart;
pub(crate) mod previews;
mod report;
pub(crate) mod spool;
pub(crate) mod upload;
pub(crate) mod zip_in;

use std::convert::Infallible;

use axum::extract::DefaultBodyLimit;
use sv_model::RecordId;
use tower_http::limit::RequestBodyLimitLayer;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use utoipa_axum::routes;

use crate::representation::encode_segment;
use crate::{ApiError, AppState};

pub(crate) fn routes(state: &AppState) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(streamed_upload(routes!(upload::upload_study), state))
        .routes(routes!(list::list_studies))
        .routes(routes!(list::study_details))
        .routes(routes!(previews::study_preview))
        .routes(routes!(previews::series_preview))
        .routes(routes!(previews::instance_preview))
        .routes(routes!(archive::study_archive))
}

/// A route that streams an upload body: bounded by `max_upload_bytes` (declared lengths
/// refused up front, streamed bytes counted), and exempt from the request timeout (a CD upload
/// over a slow link may take long; the body idle timeout still ends a stalled one). The raw
/// body is not bounded by DefaultBodyLimit, so that is off.
pub(crate) fn streamed_upload(
    (schemas, paths, route): UtoipaMethodRouter<AppState>,
    state: &AppState,
) -> UtoipaMethodRouter<AppState> {
    let limit = usize::try_from(state.config().limits.max_upload_bytes).unwrap_or(usize::MAX);
    let route = route
        .layer::<_, Infallible>(RequestBodyLimitLayer::new(limit))
        .layer::<_, Infallible>(DefaultBodyLimit::disable())
        .layer::<_, Infallible>(axum::middleware::from_fn_with_state(
            state.clone(),
            upload::refuse_declared_oversize,
        ))
        .layer::<_, Infallible>(axum::middleware::from_fn(crate::limits::untimed));
    (schemas, paths, route)
}

/// Absolute links to a record's study resources (`ApiConfig::public_url` based).
#[derive(Debug, Clone)]
pub(crate) struct Links {
    base: String,
}

impl Links {
    pub(crate) fn new(state: &AppState, record: RecordId) -> Links {
        Links {
            base: format!("{}/v1/records/{record}/studies", state.config().public_url),
        }
    }

    pub(crate) fn study(&self, study: &str) -> String {
        format!("{}/{}", self.base, encode_segment(study))
    }

    pub(crate) fn study_preview(&self, study: &str) -> String {
        format!("{}/preview", self.study(study))
    }

    pub(crate) fn archive(&self, study: &str) -> String {
        format!("{}/archive", self.study(study))
    }

    pub(crate) fn series_preview(&self, study: &str, series: &str) -> String {
        format!(
            "{}/series/{}/preview",
            self.study(study),
            encode_segment(series)
        )
    }

    pub(crate) fn instance_preview(&self, study: &str, series: &str, sop: &str) -> String {
        format!(
            "{}/series/{}/instances/{}/preview",
            self.study(study),
            encode_segment(series),
            encode_segment(sop)
        )
    }
}

/// A body read failed: over the upload limit (413), or cut short (400).
pub(crate) fn body_error(e: &(dyn std::error::Error + 'static)) -> ApiError {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if c.is::<http_body_util::LengthLimitError>() {
            return ApiError::payload_too_large("the upload is larger than the server accepts");
        }
        cause = c.source();
    }
    ApiError::bad_request(
        "incomplete-body",
        "the request body could not be read to its end",
    )
}
