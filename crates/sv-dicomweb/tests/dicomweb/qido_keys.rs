//! Every matching key of every level: one value that matches the sample study and one that
//! does not, by keyword and by tag. A table row with `matching: true` and no case here fails
//! `every_matching_key_has_a_case`.

use sv_dicomweb::{Attribute, INSTANCE_ATTRIBUTES, Level, SERIES_ATTRIBUTES, STUDY_ATTRIBUTES};

use crate::common::{CT_IMAGE, JPEG2000, matches, query};

/// (keyword, matching value, non-matching value)
type Case = (&'static str, &'static str, &'static str);

const STUDY_CASES: &[Case] = &[
    ("StudyDate", "20200315", "20200316"),
    ("StudyTime", "1015", "1016"),
    ("AccessionNumber", "ACC-1", "ACC-2"),
    ("InstanceAvailability", "ONLINE", "OFFLINE"),
    ("ModalitiesInStudy", "SR", "MR"),
    ("SOPClassesInStudy", CT_IMAGE, "1.2.840.10008.5.1.4.1.1.4"),
    ("ReferringPhysicianName", "Smith^Anna", "Smith^Bob"),
    ("StudyDescription", "CT Head", "CT head"),
    ("PatientName", "doe^john", "Doe^Jane"),
    ("PatientID", "PID-7", "PID-8"),
    ("PatientBirthDate", "19700102", "19700103"),
    ("PatientSex", "M", "F"),
    ("StudyInstanceUID", "1.2.3", "1.2.4"),
    ("StudyID", "S1", "S2"),
    ("ReasonForStudy", "Headache", "headache"),
];

const SERIES_CASES: &[Case] = &[
    ("SeriesDate", "20200315", "20200314"),
    ("SeriesTime", "1020", "1021"),
    ("InstanceAvailability", "ONLINE", "NEARLINE"),
    ("Modality", "CT", "SR"),
    ("InstitutionName", "General Hospital", "General hospital"),
    ("SeriesDescription", "Axial", "Report"),
    ("BodyPartExamined", "HEAD", "CHEST"),
    ("StudyInstanceUID", "1.2.3", "1.2.4"),
    ("SeriesInstanceUID", "1.2.3.1", "1.2.3.2"),
    ("SeriesNumber", "1", "2"),
    ("Laterality", "R", "L"),
];

const INSTANCE_CASES: &[Case] = &[
    ("SOPClassUID", CT_IMAGE, "1.2.840.10008.5.1.4.1.1.88.11"),
    ("SOPInstanceUID", "1.2.3.1.1", "1.2.3.1.2"),
    ("InstanceAvailability", "ONLINE", "OFFLINE"),
    (
        "AvailableTransferSyntaxUID",
        JPEG2000,
        "1.2.840.10008.1.2.1",
    ),
    ("StudyInstanceUID", "1.2.3", "1.2.4"),
    ("SeriesInstanceUID", "1.2.3.1", "1.2.3.2"),
    ("InstanceNumber", "1", "2"),
    ("NumberOfFrames", "3", "1"),
    ("Rows", "512", "256"),
    ("Columns", "512", "511"),
];

fn tag_of(table: &[Attribute], keyword: &str) -> String {
    table
        .iter()
        .find(|a| a.keyword == keyword)
        .unwrap_or_else(|| panic!("{keyword} not in the table"))
        .tag_hex()
}

fn check(level: Level, table: &[Attribute], cases: &[Case]) {
    for (keyword, yes, no) in cases {
        // Keyword, upper-case tag and lower-case tag all name the key.
        let tag = tag_of(table, keyword);
        for key in [keyword.to_string(), tag.clone(), tag.to_ascii_lowercase()] {
            let q = query(level, &[(&key, yes)]);
            assert!(
                q.warnings().is_empty(),
                "{level:?} {key}: {:?}",
                q.warnings()
            );
            assert!(matches(&q), "{level:?} {key}={yes} should match");
            let q = query(level, &[(&key, no)]);
            assert!(!matches(&q), "{level:?} {key}={no} should not match");
        }
    }
}

#[test]
fn study_keys_match_and_refuse() {
    check(Level::Study, STUDY_ATTRIBUTES, STUDY_CASES);
}

#[test]
fn series_keys_match_and_refuse() {
    check(Level::Series, SERIES_ATTRIBUTES, SERIES_CASES);
}

#[test]
fn instance_keys_match_and_refuse() {
    check(Level::Instance, INSTANCE_ATTRIBUTES, INSTANCE_CASES);
}

#[test]
fn study_keys_filter_all_series_and_all_instances() {
    // `/series` and `/instances` know the study attributes (no study UID in the path).
    check(Level::Series, STUDY_ATTRIBUTES, STUDY_CASES);
    check(Level::Instance, STUDY_ATTRIBUTES, STUDY_CASES);
    check(Level::Instance, SERIES_ATTRIBUTES, SERIES_CASES);
}

#[test]
fn every_matching_key_has_a_case() {
    for (table, cases) in [
        (STUDY_ATTRIBUTES, STUDY_CASES),
        (SERIES_ATTRIBUTES, SERIES_CASES),
        (INSTANCE_ATTRIBUTES, INSTANCE_CASES),
    ] {
        for a in table.iter().filter(|a| a.matching) {
            assert!(
                cases.iter().any(|(k, _, _)| *k == a.keyword),
                "no case for {}",
                a.keyword
            );
        }
    }
}

#[test]
fn return_only_keys_do_not_filter_and_warn() {
    for (level, key) in [
        (Level::Study, "NumberOfStudyRelatedSeries"),
        (Level::Study, "NumberOfStudyRelatedInstances"),
        (Level::Study, "TimezoneOffsetFromUTC"),
        (Level::Series, "NumberOfSeriesRelatedInstances"),
        (Level::Instance, "RetrieveURL"),
    ] {
        let q = query(level, &[(key, "999")]);
        assert!(matches(&q), "{key} must not filter");
        assert_eq!(
            q.warnings(),
            [format!("'{key}' is not supported for matching: ignored")]
        );
    }
}
