//! The matching rules: universal, wildcards and their case rules, UID lists, date and time
//! ranges at several precisions, Modalities in Study, fuzzy person names, scope, repeated
//! keys, and which criteria apply at which level.

use sv_dicomweb::{Level, QidoQuery};

use crate::common::{digest, digest_of, instance, instances, matches, parse, query, scope};

fn study_matches(list: &[(&str, &str)]) -> bool {
    matches(&query(Level::Study, list))
}

#[test]
fn universal_values_match_even_a_missing_attribute() {
    let mut facts = instances();
    for f in &mut facts {
        f.study.description = None;
    }
    let bare = digest_of(&facts);
    for value in ["", "*", "  "] {
        let q = query(Level::Study, &[("StudyDescription", value)]);
        assert!(q.matches_study(&bare), "{value:?}");
    }
    let q = query(Level::Study, &[("StudyDescription", "CT*")]);
    assert!(
        !q.matches_study(&bare),
        "a missing value never matches a real criterion"
    );
    assert!(q.matches_study(&digest()));
}

#[test]
fn wildcards_are_case_sensitive_except_for_person_names() {
    assert!(study_matches(&[("StudyDescription", "CT*")]));
    assert!(study_matches(&[("StudyDescription", "C? H*d")]));
    assert!(!study_matches(&[("StudyDescription", "ct*")]));
    assert!(!study_matches(&[("StudyDescription", "CT?")]));
    assert!(study_matches(&[("AccessionNumber", "ACC-?")]));
    assert!(study_matches(&[("PatientName", "DOE*")]));
    assert!(study_matches(&[("PatientName", "*^jo?n")]));
    assert!(!study_matches(&[("PatientName", "*^jo?")]));
    // Exact text is case-sensitive too, person names are not.
    assert!(!study_matches(&[("PatientID", "pid-7")]));
    assert!(study_matches(&[("PatientName", "DOE^JOHN")]));
}

#[test]
fn person_names_match_any_group_and_ignore_empty_trailing_components() {
    let mut facts = instances();
    for f in &mut facts {
        f.study.patient_name = Some("Yamada^Tarou^^^=山田^太郎=やまだ^たろう".into());
    }
    let d = digest_of(&facts);
    for value in [
        "Yamada^Tarou",
        "山田^太郎",
        "山田*",
        "yamada^tarou=山田^太郎=やまだ^たろう",
    ] {
        assert!(
            query(Level::Study, &[("PatientName", value)]).matches_study(&d),
            "{value}"
        );
    }
    assert!(!query(Level::Study, &[("PatientName", "Yamada")]).matches_study(&d));
}

#[test]
fn fuzzy_matching_is_a_case_insensitive_prefix_of_components() {
    let fuzzy = |value: &str| study_matches(&[("PatientName", value), ("fuzzymatching", "true")]);
    assert!(
        !study_matches(&[("PatientName", "jo")]),
        "not without fuzzymatching"
    );
    assert!(!study_matches(&[
        ("PatientName", "jo"),
        ("fuzzymatching", "false")
    ]));
    assert!(fuzzy("jo"), "a prefix of the given name");
    assert!(fuzzy("DO"), "a prefix of the family name");
    assert!(fuzzy("do^jo"), "prefixes in place");
    assert!(fuzzy("^joh"));
    assert!(!fuzzy("jo^do"), "components keep their places");
    assert!(!fuzzy("x"));
    // Other PN keys are fuzzy too; other VRs are not.
    assert!(study_matches(&[
        ("ReferringPhysicianName", "an"),
        ("fuzzymatching", "true")
    ]));
    assert!(!study_matches(&[
        ("StudyDescription", "CT"),
        ("fuzzymatching", "true")
    ]));
}

#[test]
fn uid_lists_match_any_of_their_uids() {
    for value in ["1.2.9,1.2.3", "1.2.9\\1.2.3", " 1.2.3 ", "1.2.3,1.2.3"] {
        assert!(study_matches(&[("StudyInstanceUID", value)]), "{value}");
    }
    assert!(!study_matches(&[("StudyInstanceUID", "1.2.9,1.2.8")]));
    assert!(
        !study_matches(&[("StudyInstanceUID", "1.2.3.1")]),
        "no prefix matching"
    );
    for bad in ["1.2.x", "1.2.3,", ",1.2.3", "1.2.*", &"1".repeat(65)] {
        let err = parse(Level::Study, &[("StudyInstanceUID", bad)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "'StudyInstanceUID': not a UID or list of UIDs",
            "{bad}"
        );
    }
    let many = vec!["1.2"; sv_dicomweb::MAX_UIDS + 1].join(",");
    assert!(parse(Level::Study, &[("StudyInstanceUID", &many)]).is_err());
}

#[test]
fn date_ranges_are_inclusive_and_open_ended() {
    for value in [
        "20200315",
        "20200301-20200331",
        "20200315-20200315",
        "20200315-",
        "-20200315",
        "19000101-",
    ] {
        assert!(study_matches(&[("StudyDate", value)]), "{value}");
    }
    for value in ["20200316-", "-20200314", "20200401-20200501", "20200314"] {
        assert!(!study_matches(&[("StudyDate", value)]), "{value}");
    }
    for bad in [
        "2020-03-15",
        "202003",
        "20200230",
        "20200331-20200301",
        "-",
        "today",
    ] {
        let err = parse(Level::Study, &[("StudyDate", bad)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "'StudyDate': not a date or date range",
            "{bad}"
        );
    }
}

#[test]
fn stored_dates_and_times_are_read_leniently() {
    let mut facts = instances();
    for f in &mut facts {
        f.study.study_date = Some("2020.03.15".into());
        f.study.study_time = Some("10:15:30".into());
    }
    let d = digest_of(&facts);
    assert!(query(Level::Study, &[("StudyDate", "20200315")]).matches_study(&d));
    assert!(query(Level::Study, &[("StudyTime", "101530")]).matches_study(&d));
    for f in &mut facts {
        f.study.study_date = Some("unknown".into());
    }
    let d = digest_of(&facts);
    assert!(!query(Level::Study, &[("StudyDate", "19000101-")]).matches_study(&d));
}

#[test]
fn times_match_by_the_precision_of_the_query() {
    // Stored: 10:15:30.25
    for value in [
        "10",
        "1015",
        "101530",
        "101530.25",
        "101530.2",
        "1000-1015",
        "-10",
        "1015-",
        "0900-1100",
        "101530.2-101530.3",
    ] {
        assert!(study_matches(&[("StudyTime", value)]), "{value}");
    }
    for value in [
        "09",
        "1016",
        "101531",
        "101530.26",
        "1016-",
        "-1014",
        "0900-0959",
    ] {
        assert!(!study_matches(&[("StudyTime", value)]), "{value}");
    }
    for bad in ["24", "1", "10:15", "1015-1000", "10a"] {
        let err = parse(Level::Study, &[("StudyTime", bad)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "'StudyTime': not a time or time range",
            "{bad}"
        );
    }
}

#[test]
fn modalities_in_study_match_any_series_modality() {
    for value in ["CT", "SR", "MR\\SR", "C?", "S*"] {
        assert!(study_matches(&[("ModalitiesInStudy", value)]), "{value}");
    }
    for value in ["MR", "MR\\PT", "ct"] {
        assert!(!study_matches(&[("ModalitiesInStudy", value)]), "{value}");
    }
    // At /series, the study's modalities decide for each of its series.
    let d = digest();
    let q = query(Level::Series, &[("ModalitiesInStudy", "SR")]);
    assert!(
        q.matches_series(&d, &d.series[0]),
        "the CT series of a study with an SR"
    );
}

#[test]
fn numbers_compare_as_numbers() {
    assert!(matches(&query(Level::Series, &[("SeriesNumber", "01")])));
    assert!(matches(&query(Level::Instance, &[("Rows", "+512")])));
    let err = parse(Level::Series, &[("SeriesNumber", "one")]).unwrap_err();
    assert_eq!(err.to_string(), "'SeriesNumber': not an integer");
}

#[test]
fn repeated_keys_must_all_match() {
    assert!(study_matches(&[
        ("StudyDate", "20200101-"),
        ("StudyDate", "-20201231")
    ]));
    assert!(!study_matches(&[
        ("StudyDate", "20200101-"),
        ("StudyDate", "-20191231")
    ]));
}

#[test]
fn the_path_scope_narrows_results() {
    let d = digest();
    let other = digest_of(&[{
        let mut f = instance("1.2.3.1", "9.9", 1);
        f.study_instance_uid = "1.2.4".into();
        f
    }]);
    let q = QidoQuery::parse(Level::Series, &scope(Some("1.2.3"), None), &[]).unwrap();
    assert!(q.matches_series(&d, &d.series[0]));
    assert!(!q.matches_series(&other, &other.series[0]));
    assert!(!q.matches_study(&other));

    let q = QidoQuery::parse(Level::Instance, &scope(Some("1.2.3"), Some("1.2.3.2")), &[]).unwrap();
    let facts = instances();
    assert!(!q.matches_instance(&d, &facts[0]), "another series");
    assert!(q.matches_instance(&d, &facts[2]));

    // A study UID cannot scope a study search: it is ignored.
    let q = QidoQuery::parse(Level::Study, &scope(Some("1.2.4"), None), &[]).unwrap();
    assert!(q.matches_study(&d));
}

#[test]
fn each_check_applies_the_criteria_of_its_level_and_above() {
    let q = query(
        Level::Instance,
        &[("SOPInstanceUID", "1.2.3.2.1"), ("Modality", "SR")],
    );
    assert!(q.needs_instances());
    let d = digest();
    assert!(
        q.matches_study(&d),
        "study pre-filter ignores series and instance keys"
    );
    assert!(
        !q.matches_series(&d, &d.series[0]),
        "the CT series fails Modality=SR"
    );
    assert!(q.matches_series(&d, &d.series[1]));
    let facts = instances();
    assert!(!q.matches_instance(&d, &facts[0]));
    assert!(q.matches_instance(&d, &facts[2]));

    assert!(
        !query(
            Level::Instance,
            &[("Modality", "CT"), ("PatientID", "PID-7")]
        )
        .needs_instances()
    );
    assert!(
        !query(Level::Instance, &[("SOPClassUID", "*")]).needs_instances(),
        "universal"
    );
    assert!(query(Level::Instance, &[("InstanceNumber", "1")]).needs_instances());
}
