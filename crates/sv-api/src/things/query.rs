//! The parameters of a things query: filters, page size, the paging token and sections.

use serde::Deserialize;
use sv_hvxml::Sections;
use sv_model::{Timestamp, TypeId};
use sv_vault::{StateFilter, ThingCursor, ThingQuery};
use utoipa::IntoParams;

use crate::ApiError;
use crate::representation::encode_segment;

/// Most things one query page may hold.
const MAX_PAGE: usize = 1000;

/// Query parameters of `GET …/things`. Dates are RFC 3339, bounds inclusive.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "kebab-case")]
#[into_params(parameter_in = Query)]
pub struct ThingsQuery {
    /// Only things of this type (a GUID). Without it the token needs read on every type.
    pub type_id: Option<String>,
    /// `active` (default), `deleted` or `all`.
    pub state: Option<String>,
    pub updated_min: Option<String>,
    pub updated_max: Option<String>,
    pub eff_date_min: Option<String>,
    pub eff_date_max: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    pub max: Option<String>,
    /// The `next` token of the previous page (also accepted as `continuation`).
    pub after: Option<String>,
    pub continuation: Option<String>,
    /// Comma-separated: `core`, `audits`, `xml`, `blobpayload` (default: all).
    pub sections: Option<String>,
}

pub(super) fn sections(list: Option<&str>) -> Result<Sections, ApiError> {
    match list {
        None => Ok(Sections::ALL),
        Some(l) => Sections::parse(l).map_err(|e| ApiError::bad_request(e.code(), e.to_string())),
    }
}

pub(super) fn thing_query(q: &ThingsQuery) -> Result<ThingQuery, ApiError> {
    let type_id = match q.type_id.as_deref() {
        Some(t) => Some(
            t.parse::<TypeId>()
                .map_err(|_| ApiError::bad_request("invalid-type-id", "type-id is not a GUID"))?,
        ),
        None => None,
    };
    let states = match q.state.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("active") => StateFilter::Active,
        Some("deleted") => StateFilter::Deleted,
        Some("all") => StateFilter::Any,
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid-state",
                "state is active, deleted or all",
            ));
        }
    };
    let limit = match q.max.as_deref() {
        None => 100,
        Some(m) => m
            .parse::<usize>()
            .ok()
            .filter(|m| (1..=MAX_PAGE).contains(m))
            .ok_or_else(|| ApiError::bad_request("invalid-max", "max is 1 to 1000"))?,
    };
    let after = match q.after.as_deref().or(q.continuation.as_deref()) {
        None => None,
        Some(c) => Some(parse_cursor(c).ok_or_else(|| {
            ApiError::bad_request(
                "invalid-cursor",
                "after is not a token from a previous page",
            )
        })?),
    };
    Ok(ThingQuery {
        type_id,
        states,
        eff_date_min: date(q.eff_date_min.as_deref(), "eff-date-min")?,
        eff_date_max: date(q.eff_date_max.as_deref(), "eff-date-max")?,
        updated_min: date(q.updated_min.as_deref(), "updated-min")?,
        updated_max: date(q.updated_max.as_deref(), "updated-max")?,
        after,
        limit,
        with_blobs: false,
    })
}

pub(super) fn parse_cursor(c: &str) -> Option<ThingCursor> {
    let (ty, thing) = c.split_once('.')?;
    Some(ThingCursor {
        type_id: ty.parse().ok()?,
        thing_id: thing.parse().ok()?,
    })
}

fn date(value: Option<&str>, name: &str) -> Result<Option<Timestamp>, ApiError> {
    value
        .map(|v| {
            Timestamp::parse_rfc3339(v).map_err(|_| {
                ApiError::bad_request(
                    "invalid-date",
                    format!("{name} is not an RFC 3339 date-time"),
                )
            })
        })
        .transpose()
}

/// The query string of the next page: the same filters, `after` moved on.
pub(super) fn next_query(q: &ThingsQuery, next: &str) -> String {
    let pairs = [
        ("type-id", &q.type_id),
        ("state", &q.state),
        ("updated-min", &q.updated_min),
        ("updated-max", &q.updated_max),
        ("eff-date-min", &q.eff_date_min),
        ("eff-date-max", &q.eff_date_max),
        ("max", &q.max),
        ("sections", &q.sections),
    ];
    let mut out: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| format!("{k}={}", encode_segment(v))))
        .collect();
    out.push(format!("after={}", encode_segment(next)));
    out.join("&")
}
