//! Series-level attributes (PS18 Table 10.6.3-4, plus the optional series keys we hold).
//!
//! Performed Procedure Step Start Date/Time and the Request Attributes Sequence are not held,
//! so they are not returned. Study Instance UID is returned with every series (a client
//! needs it to build URLs); it matches at study level.

use std::borrow::Cow;

use super::{Attribute, Returned, Row, SeriesAttributes, Values, Vr, number, one, retrieve_url};
use crate::qido::Level;

fn attrs<'a>(r: &Row<'a>) -> Option<&'a SeriesAttributes> {
    r.series.map(|s| s.attributes)
}

/// Every series attribute we hold, ascending by tag.
pub static SERIES_ATTRIBUTES: &[Attribute] = &[
    Attribute {
        tag: 0x0008_0021,
        keyword: "SeriesDate",
        vr: Vr::DA,
        level: Level::Series,
        returned: Returned::OnRequest,
        matching: true,
        get: |r| one(attrs(r).and_then(|a| a.series_date.as_deref())),
    },
    Attribute {
        tag: 0x0008_0031,
        keyword: "SeriesTime",
        vr: Vr::TM,
        level: Level::Series,
        returned: Returned::OnRequest,
        matching: true,
        get: |r| one(attrs(r).and_then(|a| a.series_time.as_deref())),
    },
    Attribute {
        tag: 0x0008_0056,
        keyword: "InstanceAvailability",
        vr: Vr::CS,
        level: Level::Series,
        returned: Returned::IfPresent,
        matching: true,
        get: |_| one(Some("ONLINE")),
    },
    Attribute {
        tag: 0x0008_0060,
        keyword: "Modality",
        vr: Vr::CS,
        level: Level::Series,
        returned: Returned::Always,
        matching: true,
        get: |r| one(attrs(r).and_then(|a| a.modality.as_deref())),
    },
    Attribute {
        tag: 0x0008_0080,
        keyword: "InstitutionName",
        vr: Vr::LO,
        level: Level::Series,
        returned: Returned::OnRequest,
        matching: true,
        get: |r| one(attrs(r).and_then(|a| a.institution_name.as_deref())),
    },
    Attribute {
        tag: 0x0008_0201,
        keyword: "TimezoneOffsetFromUTC",
        vr: Vr::SH,
        level: Level::Series,
        returned: Returned::IfPresent,
        matching: false,
        get: |r| one(r.digest.study.timezone_offset.as_deref()),
    },
    Attribute {
        tag: 0x0008_103E,
        keyword: "SeriesDescription",
        vr: Vr::LO,
        level: Level::Series,
        returned: Returned::Always,
        matching: true,
        get: |r| one(attrs(r).and_then(|a| a.description.as_deref())),
    },
    Attribute {
        tag: 0x0008_1190,
        keyword: "RetrieveURL",
        vr: Vr::UR,
        level: Level::Series,
        returned: Returned::Always,
        matching: false,
        get: |r| series_url(r),
    },
    Attribute {
        tag: 0x0018_0015,
        keyword: "BodyPartExamined",
        vr: Vr::CS,
        level: Level::Series,
        returned: Returned::OnRequest,
        matching: true,
        get: |r| one(attrs(r).and_then(|a| a.body_part.as_deref())),
    },
    Attribute {
        tag: 0x0020_000D,
        keyword: "StudyInstanceUID",
        vr: Vr::UI,
        level: Level::Study,
        returned: Returned::Always,
        matching: true,
        get: |r| one(Some(r.digest.study_instance_uid.as_str())),
    },
    Attribute {
        tag: 0x0020_000E,
        keyword: "SeriesInstanceUID",
        vr: Vr::UI,
        level: Level::Series,
        returned: Returned::Always,
        matching: true,
        get: |r| one(r.series.map(|s| s.uid)),
    },
    Attribute {
        tag: 0x0020_0011,
        keyword: "SeriesNumber",
        vr: Vr::IS,
        level: Level::Series,
        returned: Returned::Always,
        matching: true,
        get: |r| {
            attrs(r)
                .and_then(|a| a.series_number)
                .map(|n| Cow::Owned(n.to_string()))
                .into_iter()
                .collect()
        },
    },
    Attribute {
        tag: 0x0020_0060,
        keyword: "Laterality",
        vr: Vr::CS,
        level: Level::Series,
        returned: Returned::OnRequest,
        matching: true,
        get: |r| one(attrs(r).and_then(|a| a.laterality.as_deref())),
    },
    Attribute {
        tag: 0x0020_1209,
        keyword: "NumberOfSeriesRelatedInstances",
        vr: Vr::IS,
        level: Level::Series,
        returned: Returned::Always,
        matching: false,
        get: |r| number(r.series.and_then(|s| s.instance_count)),
    },
];

fn series_url<'a>(r: &Row<'a>) -> Values<'a> {
    r.series
        .map(|s| {
            Cow::Owned(retrieve_url(
                r.base,
                &r.digest.study_instance_uid,
                Some(s.uid),
                None,
            ))
        })
        .into_iter()
        .collect()
}
