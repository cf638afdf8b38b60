//! QIDO-RS at the six search resources. One vault call per search: study-level searches read
//! the study digests only, series-level ones too, instance-level ones the instances of the
//! studies kept. An empty page is 204; ignored keys and results beyond the page are `Warning`s.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use sv_dicomweb::{Level, QidoQuery, Scope};
use sv_model::study::StudyDigest;
use sv_model::{Permissions, Share, ThingId};
use sv_vault::{SopResolver, StudySearch, Window, newest_first, series_order};

use super::{accept, allowed, base, dicom_json, not_acceptable};
use crate::{ApiError, AppState, Caller};

pub(crate) type Pairs = Vec<(String, String)>;

macro_rules! qido_route {
    ($name:ident, $path:literal, $level:expr, ($($seg:ident),*), $params:ty, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(get, path = $path, tag = "dicomweb",
            responses((status = 200, content_type = "application/dicom+json", description = "matches"),
                (status = 204, description = "no match"), (status = 400, body = crate::ErrorBody),
                (status = 401), (status = 403), (status = 404), (status = 406)))]
        pub(super) async fn $name(
            State(state): State<AppState>,
            caller: Caller,
            Path((rid, $($seg),*)): Path<$params>,
            query: Result<Query<Pairs>, QueryRejection>,
            headers: HeaderMap,
        ) -> Result<Response, ApiError> {
            #[allow(unused_mut)]
            let mut scope = Scope::default();
            $(qido_route!(@scope scope, $seg);)*
            search(state, caller, rid, $level, scope, query, headers).await
        }
    };
    (@scope $scope:ident, $seg:ident) => { $scope.$seg = Some($seg) };
}

qido_route!(
    studies,
    "/v1/records/{rid}/dicomweb/studies",
    Level::Study,
    (),
    (String,),
    "QIDO-RS: the record's studies."
);
qido_route!(
    series,
    "/v1/records/{rid}/dicomweb/series",
    Level::Series,
    (),
    (String,),
    "QIDO-RS: every series of the record (study attributes match and are returned too)."
);
qido_route!(
    instances,
    "/v1/records/{rid}/dicomweb/instances",
    Level::Instance,
    (),
    (String,),
    "QIDO-RS: every instance of the record."
);
qido_route!(
    study_series,
    "/v1/records/{rid}/dicomweb/studies/{study}/series",
    Level::Series,
    (study),
    (String, String),
    "QIDO-RS: a study's series."
);
qido_route!(
    study_instances,
    "/v1/records/{rid}/dicomweb/studies/{study}/instances",
    Level::Instance,
    (study),
    (String, String),
    "QIDO-RS: a study's instances."
);
qido_route!(
    series_instances,
    "/v1/records/{rid}/dicomweb/studies/{study}/series/{series}/instances",
    Level::Instance,
    (study, series),
    (String, String, String),
    "QIDO-RS: a series' instances."
);

async fn search(
    state: AppState,
    caller: Caller,
    rid: String,
    level: Level,
    scope: Scope,
    query: Result<Query<Pairs>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let record = allowed(&caller, &rid, Permissions::READ)?;
    let base = base(&state, record);
    let query = parse(level, scope, query, &headers)?;
    let window = window(&query);
    let q = query.clone();
    let (objects, total): (Vec<Value>, Option<usize>) = state
        .vault()
        .run_io(move |vault| match level {
            Level::Study => {
                let filter =
                    |_: ThingId, d: &StudyDigest, _: &mut SopResolver<'_>| q.matches_study(d);
                let order = |a: (ThingId, &StudyDigest), b: (ThingId, &StudyDigest)| {
                    newest_first(a.1, b.1).then(a.0.cmp(&b.0))
                };
                let search = StudySearch {
                    filter: &filter,
                    order: &order,
                    offset: window.offset,
                    count: window.limit,
                    with_instances: false,
                };
                let page = vault.search_studies_blocking(record, &search)?;
                let objects = page
                    .hits
                    .iter()
                    .map(|h| q.study_json(&h.digest, &base))
                    .collect();
                Ok((objects, Some(page.total)))
            }
            Level::Series => {
                let rows = vault.search_series_blocking(
                    record,
                    &|d| q.matches_study(d),
                    &|d, s| q.matches_series(d, s),
                    window,
                )?;
                let objects = rows
                    .iter()
                    .map(|(d, s)| q.series_json(d, s, &base))
                    .collect();
                Ok((objects, None))
            }
            Level::Instance => {
                let rows = vault.search_instances_blocking(
                    record,
                    &|d| q.matches_study(d),
                    &|d, f| q.matches_instance(d, f),
                    window,
                )?;
                let objects = rows
                    .iter()
                    .map(|(d, f)| q.instance_json(d, f, &base))
                    .collect();
                Ok((objects, None))
            }
        })
        .await?;
    Ok(answer(&query, objects, total))
}

/// A search within one shared study, as its share shows it (de-identified when it says so),
/// with result URLs under `base`.
pub(crate) async fn search_shared(
    state: &AppState,
    share: Share,
    base: String,
    level: Level,
    scope: Scope,
    query: Result<Query<Pairs>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let query = parse(level, scope, query, &headers)?;
    let window = window(&query);
    let q = query.clone();
    let (objects, total): (Vec<Value>, Option<usize>) = state
        .vault()
        .run_io(move |vault| {
            let none = (Vec::new(), (level == Level::Study).then_some(0));
            let Some(d) = vault.shown_digest_blocking(&share)? else {
                return Ok(none);
            };
            if !q.matches_study(&d) {
                return Ok(none);
            }
            Ok(match level {
                Level::Study => (
                    window
                        .apply(std::iter::once(&d))
                        .into_iter()
                        .map(|d| q.study_json(d, &base))
                        .collect(),
                    Some(1),
                ),
                Level::Series => {
                    let mut series: Vec<_> = d
                        .series
                        .iter()
                        .filter(|s| q.matches_series(&d, s))
                        .collect();
                    series.sort_by(|a, b| series_order(a, b));
                    let objects = window
                        .apply(series.into_iter())
                        .into_iter()
                        .map(|s| q.series_json(&d, s, &base))
                        .collect();
                    (objects, None)
                }
                Level::Instance => {
                    let shown = vault.shown_instances_blocking(&share, None, None)?;
                    let objects = window
                        .apply(shown.iter().filter(|i| q.matches_instance(&d, &i.shown)))
                        .into_iter()
                        .map(|i| q.instance_json(&d, &i.shown, &base))
                        .collect();
                    (objects, None)
                }
            })
        })
        .await?;
    Ok(answer(&query, objects, total))
}

fn parse(
    level: Level,
    scope: Scope,
    query: Result<Query<Pairs>, QueryRejection>,
    headers: &HeaderMap,
) -> Result<Arc<QidoQuery>, ApiError> {
    let Query(pairs) = query
        .map_err(|_| ApiError::bad_request("invalid-query", "the query string is malformed"))?;
    let query = QidoQuery::parse(level, &scope, &pairs)
        .map_err(|e| ApiError::bad_request("invalid-query", e.to_string()))?;
    sv_dicomweb::accepts_dicom_json(accept(headers).as_deref()).map_err(not_acceptable)?;
    Ok(Arc::new(query))
}

/// The page asked for, and one result more, to know whether results remain.
fn window(query: &QidoQuery) -> Window {
    Window {
        offset: query.offset(),
        limit: query.page_size().saturating_add(1),
    }
}

/// Matches (up to one more than the page) as a DICOM JSON answer: 204 when there are none,
/// a `Warning` for each ignored key and when results remain.
fn answer(query: &QidoQuery, mut objects: Vec<Value>, total: Option<usize>) -> Response {
    let mut warnings = query.warnings().to_vec();
    let page = query.page_size();
    if objects.len() > page {
        objects.truncate(page);
        let remaining = total.map_or(1, |t| t.saturating_sub(query.offset() + page));
        warnings.push(match total {
            Some(_) => sv_dicomweb::remaining_results_message(remaining),
            None => "There are additional results that can be requested".to_owned(),
        });
    }
    if objects.is_empty() {
        return StatusCode::NO_CONTENT.into_response();
    }
    dicom_json(StatusCode::OK, &Value::Array(objects), &warnings)
}
