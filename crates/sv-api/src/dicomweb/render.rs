//! `rendered` and `thumbnail` with parameters (`window`, `viewport`, `quality`, a PNG
//! `accept`): rendered on request from the stored file, on a worker slot, instead of the
//! preview made at ingest. The instance that stands for a series is its middle image (by
//! InstanceNumber), for a study its first series' middle image, as for the stored previews.

use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use sv_dicomweb::{Rendering, WindowShape};
use sv_model::RecordId;
use sv_model::study::InstanceFacts;
use sv_vault::{PreviewFormat, RenderRequest, VoiWindow, WindowFunction};

use crate::{ApiError, AppState};

/// JPEG quality when the request names none (the stored previews' default).
const DEFAULT_QUALITY: u8 = 90;

/// Renders the instance that stands for `study` / `series` / `sop` as `rendering` asks.
pub(super) async fn rendered(
    state: &AppState,
    record: RecordId,
    (study, series, sop): (String, Option<String>, Option<String>),
    rendering: Rendering,
) -> Result<Response, ApiError> {
    let found = state
        .vault()
        .run_io(move |v| {
            v.retrieval_instances_blocking(record, &study, series.as_deref(), sop.as_deref())
        })
        .await?;
    let facts = standing_for(found).ok_or_else(|| ApiError::not_found("image"))?;
    let request = RenderRequest {
        frame: None,
        window: rendering.window.map(|(center, width, shape)| VoiWindow {
            center,
            width,
            function: match shape {
                WindowShape::Linear => WindowFunction::Linear,
                WindowShape::LinearExact => WindowFunction::LinearExact,
                WindowShape::Sigmoid => WindowFunction::Sigmoid,
            },
        }),
        viewport: rendering.viewport,
        format: if rendering.media_type == "image/png" {
            PreviewFormat::Png
        } else {
            PreviewFormat::Jpeg
        },
        quality: rendering.quality.unwrap_or(DEFAULT_QUALITY),
    };
    let image = state
        .vault()
        .run_blocking(move |v| v.render_instance_blocking(&facts, &request))
        .await?
        .map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                e.code(),
                format!("this instance cannot be rendered: {e}"),
            )
        })?;
    Ok((
        StatusCode::OK,
        [
            (CONTENT_TYPE, image.format.media_type()),
            (CACHE_CONTROL, "private, max-age=86400"),
        ],
        image.bytes,
    )
        .into_response())
}

/// The image that stands for a set of instances in display order: the middle one of the
/// first series that has images (instances are ordered by series, then InstanceNumber).
fn standing_for(found: Vec<InstanceFacts>) -> Option<InstanceFacts> {
    let first_series = found
        .iter()
        .find(|f| f.rows.is_some())?
        .series_instance_uid
        .clone();
    let mut images: Vec<InstanceFacts> = found
        .into_iter()
        .filter(|f| f.rows.is_some() && f.series_instance_uid == first_series)
        .collect();
    let middle = images.len() / 2;
    Some(images.swap_remove(middle))
}
