//! Instance-level attributes (PS18 Table 10.6.3-5, plus Available Transfer Syntax UID).
//!
//! Bits Allocated is not held, so it is not returned. Study and Series Instance UIDs are
//! returned with every instance (a client needs them to build URLs).

use std::borrow::Cow;

use super::{Attribute, Returned, Row, Values, Vr, one, retrieve_url};
use crate::qido::Level;

fn count<'a>(n: Option<u32>) -> Values<'a> {
    n.map(|n| Cow::Owned(n.to_string())).into_iter().collect()
}

/// Every instance attribute we hold, ascending by tag.
pub static INSTANCE_ATTRIBUTES: &[Attribute] = &[
    Attribute {
        tag: 0x0008_0016,
        keyword: "SOPClassUID",
        vr: Vr::UI,
        level: Level::Instance,
        returned: Returned::Always,
        matching: true,
        get: |r| one(r.instance.map(|f| f.sop_class_uid.as_str())),
    },
    Attribute {
        tag: 0x0008_0018,
        keyword: "SOPInstanceUID",
        vr: Vr::UI,
        level: Level::Instance,
        returned: Returned::Always,
        matching: true,
        get: |r| one(r.instance.map(|f| f.sop_instance_uid.as_str())),
    },
    Attribute {
        tag: 0x0008_0056,
        keyword: "InstanceAvailability",
        vr: Vr::CS,
        level: Level::Instance,
        returned: Returned::IfPresent,
        matching: true,
        get: |_| one(Some("ONLINE")),
    },
    Attribute {
        tag: 0x0008_0201,
        keyword: "TimezoneOffsetFromUTC",
        vr: Vr::SH,
        level: Level::Instance,
        returned: Returned::IfPresent,
        matching: false,
        get: |r| one(r.digest.study.timezone_offset.as_deref()),
    },
    Attribute {
        tag: 0x0008_1190,
        keyword: "RetrieveURL",
        vr: Vr::UR,
        level: Level::Instance,
        returned: Returned::Always,
        matching: false,
        get: |r| instance_url(r),
    },
    Attribute {
        tag: 0x0008_3002,
        keyword: "AvailableTransferSyntaxUID",
        vr: Vr::UI,
        level: Level::Instance,
        returned: Returned::OnRequest,
        matching: true,
        get: |r| one(r.instance.map(|f| f.transfer_syntax_uid.as_str())),
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
        tag: 0x0020_0013,
        keyword: "InstanceNumber",
        vr: Vr::IS,
        level: Level::Instance,
        returned: Returned::Always,
        matching: true,
        get: |r| {
            r.instance
                .and_then(|f| f.instance_number)
                .map(|n| Cow::Owned(n.to_string()))
                .into_iter()
                .collect()
        },
    },
    Attribute {
        tag: 0x0028_0008,
        keyword: "NumberOfFrames",
        vr: Vr::IS,
        level: Level::Instance,
        returned: Returned::IfPresent,
        matching: true,
        get: |r| count(r.instance.and_then(|f| f.number_of_frames)),
    },
    Attribute {
        tag: 0x0028_0010,
        keyword: "Rows",
        vr: Vr::US,
        level: Level::Instance,
        returned: Returned::IfPresent,
        matching: true,
        get: |r| count(r.instance.and_then(|f| f.rows)),
    },
    Attribute {
        tag: 0x0028_0011,
        keyword: "Columns",
        vr: Vr::US,
        level: Level::Instance,
        returned: Returned::IfPresent,
        matching: true,
        get: |r| count(r.instance.and_then(|f| f.columns)),
    },
];

fn instance_url<'a>(r: &Row<'a>) -> Values<'a> {
    match (r.series, r.instance) {
        (Some(s), Some(f)) => vec![Cow::Owned(retrieve_url(
            r.base,
            &r.digest.study_instance_uid,
            Some(s.uid),
            Some(&f.sop_instance_uid),
        ))],
        _ => Vec::new(),
    }
}
