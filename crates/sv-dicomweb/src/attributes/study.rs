//! Study-level attributes (PS18 Table 10.6.3-3, plus the optional study keys we hold).

use std::borrow::Cow;

use super::{Attribute, Returned, Vr, number, one, retrieve_url};
use crate::qido::Level;

/// Every study attribute we hold, ascending by tag.
pub static STUDY_ATTRIBUTES: &[Attribute] = &[
    Attribute {
        tag: 0x0008_0020,
        keyword: "StudyDate",
        vr: Vr::DA,
        level: Level::Study,
        returned: Returned::Always,
        matching: true,
        get: |r| one(r.digest.study.study_date.as_deref()),
    },
    Attribute {
        tag: 0x0008_0030,
        keyword: "StudyTime",
        vr: Vr::TM,
        level: Level::Study,
        returned: Returned::Always,
        matching: true,
        get: |r| one(r.digest.study.study_time.as_deref()),
    },
    Attribute {
        tag: 0x0008_0050,
        keyword: "AccessionNumber",
        vr: Vr::SH,
        level: Level::Study,
        returned: Returned::Always,
        matching: true,
        get: |r| one(r.digest.study.accession_number.as_deref()),
    },
    Attribute {
        tag: 0x0008_0056,
        keyword: "InstanceAvailability",
        vr: Vr::CS,
        level: Level::Study,
        returned: Returned::IfPresent,
        matching: true,
        // Everything we hold is on line.
        get: |_| one(Some("ONLINE")),
    },
    Attribute {
        tag: 0x0008_0061,
        keyword: "ModalitiesInStudy",
        vr: Vr::CS,
        level: Level::Study,
        returned: Returned::Always,
        matching: true,
        get: |r| r.digest.modalities().map(Cow::Borrowed).collect(),
    },
    Attribute {
        tag: 0x0008_0062,
        keyword: "SOPClassesInStudy",
        vr: Vr::UI,
        level: Level::Study,
        returned: Returned::OnRequest,
        matching: true,
        get: |r| {
            r.digest
                .sop_classes
                .iter()
                .map(|(uid, _)| Cow::Borrowed(uid.as_str()))
                .collect()
        },
    },
    Attribute {
        tag: 0x0008_0090,
        keyword: "ReferringPhysicianName",
        vr: Vr::PN,
        level: Level::Study,
        returned: Returned::Always,
        matching: true,
        get: |r| one(r.digest.study.referring_physician.as_deref()),
    },
    Attribute {
        tag: 0x0008_0201,
        keyword: "TimezoneOffsetFromUTC",
        vr: Vr::SH,
        level: Level::Study,
        returned: Returned::IfPresent,
        // It qualifies the times rather than naming studies; matching on it is not offered.
        matching: false,
        get: |r| one(r.digest.study.timezone_offset.as_deref()),
    },
    Attribute {
        tag: 0x0008_1030,
        keyword: "StudyDescription",
        vr: Vr::LO,
        level: Level::Study,
        returned: Returned::OnRequest,
        matching: true,
        get: |r| one(r.digest.study.description.as_deref()),
    },
    Attribute {
        tag: 0x0008_1190,
        keyword: "RetrieveURL",
        vr: Vr::UR,
        level: Level::Study,
        returned: Returned::Always,
        matching: false,
        get: |r| {
            vec![Cow::Owned(retrieve_url(
                r.base,
                &r.digest.study_instance_uid,
                None,
                None,
            ))]
        },
    },
    Attribute {
        tag: 0x0010_0010,
        keyword: "PatientName",
        vr: Vr::PN,
        level: Level::Study,
        returned: Returned::Always,
        matching: true,
        get: |r| one(r.digest.study.patient_name.as_deref()),
    },
    Attribute {
        tag: 0x0010_0020,
        keyword: "PatientID",
        vr: Vr::LO,
        level: Level::Study,
        returned: Returned::Always,
        matching: true,
        get: |r| one(r.digest.study.patient_id.as_deref()),
    },
    Attribute {
        tag: 0x0010_0030,
        keyword: "PatientBirthDate",
        vr: Vr::DA,
        level: Level::Study,
        returned: Returned::Always,
        matching: true,
        get: |r| one(r.digest.study.patient_birth_date.as_deref()),
    },
    Attribute {
        tag: 0x0010_0040,
        keyword: "PatientSex",
        vr: Vr::CS,
        level: Level::Study,
        returned: Returned::Always,
        matching: true,
        get: |r| one(r.digest.study.patient_sex.as_deref()),
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
        tag: 0x0020_0010,
        keyword: "StudyID",
        vr: Vr::SH,
        level: Level::Study,
        returned: Returned::Always,
        matching: true,
        get: |r| one(r.digest.study.study_id.as_deref()),
    },
    Attribute {
        tag: 0x0020_1206,
        keyword: "NumberOfStudyRelatedSeries",
        vr: Vr::IS,
        level: Level::Study,
        returned: Returned::Always,
        matching: false,
        get: |r| number(u32::try_from(r.digest.series.len()).ok()),
    },
    Attribute {
        tag: 0x0020_1208,
        keyword: "NumberOfStudyRelatedInstances",
        vr: Vr::IS,
        level: Level::Study,
        returned: Returned::Always,
        matching: false,
        get: |r| number(Some(r.digest.instance_count)),
    },
    Attribute {
        tag: 0x0032_1030,
        keyword: "ReasonForStudy",
        vr: Vr::LO,
        level: Level::Study,
        returned: Returned::OnRequest,
        matching: true,
        get: |r| one(r.digest.study.reason.as_deref()),
    },
];
