//! A stable order for QIDO-RS results, so paging with `offset` is repeatable (PS18 8.3.4.4.1
//! asks that the same query over the same data give the same ordered list).
//!
//! Studies: newest Study Date and Time first (studies without a date last), then by Study
//! Instance UID. Series: by Series Number (none last), then UID. Instances: by Instance Number
//! (none last), then SOP Instance UID.

use std::cmp::Ordering;

use sv_model::study::{InstanceFacts, SeriesDigest, StudyDigest};

use crate::qido::time_range::{stored_date, stored_time};

/// Newest first, then by Study Instance UID.
pub fn compare_studies(a: &StudyDigest, b: &StudyDigest) -> Ordering {
    let when = |d: &StudyDigest| {
        let date = d.study.study_date.as_deref().and_then(stored_date);
        let time = d.study.study_time.as_deref().and_then(stored_time);
        date.map(|date| (date, time.unwrap_or(0)))
    };
    match (when(a), when(b)) {
        (Some(x), Some(y)) => y.cmp(&x),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
    .then_with(|| a.study_instance_uid.cmp(&b.study_instance_uid))
}

/// By Series Number (none last), then Series Instance UID.
pub fn compare_series(a: &SeriesDigest, b: &SeriesDigest) -> Ordering {
    numbers_first(a.attributes.series_number, b.attributes.series_number)
        .then_with(|| a.series_instance_uid.cmp(&b.series_instance_uid))
}

/// By Instance Number (none last), then SOP Instance UID.
pub fn compare_instances(a: &InstanceFacts, b: &InstanceFacts) -> Ordering {
    numbers_first(a.instance_number, b.instance_number)
        .then_with(|| a.sop_instance_uid.cmp(&b.sop_instance_uid))
}

fn numbers_first(a: Option<i32>, b: Option<i32>) -> Ordering {
    match (a, b) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}
