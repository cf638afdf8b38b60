//! `_sort`: the order of a search's results.
//!
//! Keys are `started` and `_lastUpdated`, `-` for descending, as a comma list. Without
//! `_sort` the order is newest first: `-started,-_lastUpdated`. A study without a `started`
//! comes after those with one, in either direction. Ties end on the thing id, ascending, so
//! paging is deterministic.

use std::cmp::Ordering;

use sv_model::ThingId;
use sv_model::study::StudyDigest;

use crate::error::FhirError;
use crate::imaging_study::study_started;
use crate::search::params::{SORT_KEYS, SortField};

/// One `_sort` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SortKey {
    pub field: SortField,
    pub descending: bool,
}

/// The order without `_sort`: newest first.
pub(crate) const DEFAULT_SORT: [SortKey; 2] = [
    SortKey {
        field: SortField::Started,
        descending: true,
    },
    SortKey {
        field: SortField::LastUpdated,
        descending: true,
    },
];

pub(crate) fn parse_sort(raw: &str) -> Result<Vec<SortKey>, FhirError> {
    raw.split(',')
        .map(|key| {
            let (name, descending) = match key.strip_prefix('-') {
                Some(name) => (name, true),
                None => (key, false),
            };
            SORT_KEYS
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, field)| SortKey {
                    field: *field,
                    descending,
                })
                .ok_or_else(|| FhirError::not_supported("_sort", "unknown sort key"))
        })
        .collect()
}

pub(crate) fn write_sort(keys: &[SortKey]) -> String {
    keys.iter()
        .map(|k| {
            let name = SORT_KEYS
                .iter()
                .find(|(_, f)| *f == k.field)
                .map_or("", |(n, _)| *n);
            format!("{}{name}", if k.descending { "-" } else { "" })
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Compares two studies by `keys`, then by thing id.
pub(crate) fn compare(
    keys: &[SortKey],
    a: (ThingId, &StudyDigest),
    b: (ThingId, &StudyDigest),
) -> Ordering {
    for key in keys {
        let (x, y) = (value(key.field, a.1), value(key.field, b.1));
        let order = match (x, y) {
            (Some(x), Some(y)) if key.descending => y.cmp(&x),
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    a.0.cmp(&b.0)
}

/// The key's value: the start of the study's `started` span, or its last update.
fn value(field: SortField, d: &StudyDigest) -> Option<i64> {
    match field {
        SortField::Started => study_started(&d.study).map(|s| s.span().start),
        SortField::LastUpdated => Some(d.updated.unix_micros()),
    }
}
