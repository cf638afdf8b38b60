//! Query parsing: the query dicomweb-client sends, includefield forms, paging parameters,
//! warnings for keys we ignore, and 400s that name keys, never values.

use sv_dicomweb::{
    Level, MAX_LIMIT, QidoError, QidoQuery, remaining_results_message, warning_header,
};

use crate::common::{BASE, digest, pairs, parse, query, scope};

fn keys_of(q: &QidoQuery) -> Vec<String> {
    let d = digest();
    let json = match q.level() {
        Level::Study => q.study_json(&d, BASE),
        Level::Series => q.series_json(&d, &d.series[0], BASE),
        Level::Instance => q.instance_json(&d, &crate::common::instances()[0], BASE),
    };
    json.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn the_dicomweb_client_search_parses_cleanly() {
    // search_for_studies(search_filters={'PatientName':'Doe*','StudyDate':'20200101-20201231',
    // '00080061':'CT'}, fields=['StudyDescription','00081030'], limit=10, offset=5,
    // fuzzymatching=True), as decoded from the wire (standards.md §2).
    let q = query(
        Level::Study,
        &[
            ("00080061", "CT"),
            ("PatientName", "Doe*"),
            ("StudyDate", "20200101-20201231"),
            ("fuzzymatching", "true"),
            ("includefield", "00081030"),
            ("includefield", "StudyDescription"),
            ("limit", "10"),
            ("offset", "5"),
        ],
    );
    assert!(q.warnings().is_empty(), "{:?}", q.warnings());
    assert_eq!((q.limit(), q.offset(), q.fuzzy()), (Some(10), 5, true));
    assert!(crate::common::matches(&q));
    assert!(keys_of(&q).contains(&"00081030".to_owned()));
}

#[test]
fn includefield_repeated_comma_separated_or_all() {
    let description = "00081030".to_owned();
    let reason = "00321030".to_owned();
    for list in [
        vec![
            ("includefield", "00081030"),
            ("includefield", "ReasonForStudy"),
        ],
        vec![("includefield", "StudyDescription,00321030")],
        vec![("includefield", " 00081030 , ,ReasonForStudy")],
        vec![("INCLUDEFIELD", "00081030,ReasonForStudy")],
    ] {
        let keys = keys_of(&query(Level::Study, &list));
        assert!(
            keys.contains(&description) && keys.contains(&reason),
            "{list:?}"
        );
        assert!(
            !keys.contains(&"00080062".to_owned()),
            "{list:?}: not asked for"
        );
    }
    let plain = keys_of(&query(Level::Study, &[]));
    assert!(!plain.contains(&description) && !plain.contains(&reason));

    let all = keys_of(&query(Level::Study, &[("includefield", "all")]));
    for tag in ["00080062", "00081030", "00321030"] {
        assert!(all.contains(&tag.to_owned()), "all includes {tag}");
    }
    let series_all = keys_of(&query(Level::Series, &[("includefield", "ALL")]));
    for tag in [
        "00080021", "00080031", "00080080", "00180015", "00200060", "00081030",
    ] {
        assert!(
            series_all.contains(&tag.to_owned()),
            "all at /series includes {tag}"
        );
    }
    // A matching key is returned like an includefield.
    assert!(
        keys_of(&query(Level::Series, &[("BodyPartExamined", "HEAD")]))
            .contains(&"00180015".to_owned())
    );
}

#[test]
fn limit_and_offset() {
    let q = query(Level::Study, &[]);
    assert_eq!((q.limit(), q.offset(), q.page_size()), (None, 0, MAX_LIMIT));
    let q = query(Level::Study, &[("limit", "0"), ("offset", "0")]);
    assert_eq!((q.limit(), q.page_size()), (Some(0), 0));
    let q = query(Level::Study, &[("limit", "5000")]);
    assert_eq!(q.limit(), Some(MAX_LIMIT));
    assert_eq!(q.warnings(), [format!("limit capped at {MAX_LIMIT}")]);
    let q = query(Level::Study, &[("offset", "99999999999999999999999999")]);
    assert_eq!(q.offset(), usize::MAX, "too big pages past the end");
    for (key, value) in [
        ("limit", "ten"),
        ("limit", "-1"),
        ("limit", ""),
        ("offset", "1.5"),
        ("offset", "x"),
    ] {
        assert_eq!(
            parse(Level::Study, &[(key, value)]).unwrap_err(),
            QidoError::InvalidValue {
                key: key.into(),
                reason: "not an unsigned integer"
            },
            "{key}={value}"
        );
    }
    for key in ["limit", "offset", "fuzzymatching"] {
        let value = if key == "fuzzymatching" { "true" } else { "1" };
        let err = parse(Level::Study, &[(key, value), (key, value)]).unwrap_err();
        assert_eq!(err.to_string(), format!("'{key}': given more than once"));
    }
    let err = parse(Level::Study, &[("fuzzymatching", "yes")]).unwrap_err();
    assert_eq!(err.to_string(), "'fuzzymatching': must be true or false");
}

#[test]
fn real_attributes_we_do_not_hold_here_are_ignored_with_a_warning() {
    // Study Description is a study attribute: /studies/{s}/series does not know it.
    let q = QidoQuery::parse(
        Level::Series,
        &scope(Some("1.2.3"), None),
        &pairs(&[
            ("00081030", "nothing like it"),
            ("PatientAge", "040Y"),
            ("includefield", "BitsAllocated"),
        ]),
    )
    .unwrap();
    assert_eq!(
        q.warnings(),
        [
            "'00081030' is not held at this level: ignored",
            "'PatientAge' is not held at this level: ignored",
            "'BitsAllocated' is not held at this level: ignored",
        ]
    );
    let d = digest();
    assert!(q.matches_series(&d, &d.series[0]), "ignored for matching");
    assert!(
        !q.series_json(&d, &d.series[0], "")
            .as_object()
            .unwrap()
            .contains_key("00081030")
    );

    // At /series it is a study key and filters.
    let q = query(Level::Series, &[("00081030", "nothing like it")]);
    assert!(q.warnings().is_empty());
    assert!(!q.matches_series(&d, &d.series[0]));

    // Instance keys at study level, unknown tags, sequences, newer parameters: warnings.
    let q = query(
        Level::Study,
        &[
            ("SOPInstanceUID", "1.2"),
            ("7FE00010", ""),
            ("RequestAttributesSequence.RequestedProcedureID", "X"),
            ("00400275.00401001", "X"),
            ("emptyvaluematching", "true"),
            ("", "skipped"),
        ],
    );
    assert_eq!(
        q.warnings(),
        [
            "'SOPInstanceUID' is not held at this level: ignored",
            "'7FE00010' is not held at this level: ignored",
            "'RequestAttributesSequence.RequestedProcedureID': sequence matching is not supported: ignored",
            "'00400275.00401001': sequence matching is not supported: ignored",
            "'emptyvaluematching' is not supported: ignored",
        ]
    );
    assert!(crate::common::matches(&q));
}

#[test]
fn a_key_that_is_no_keyword_is_a_400() {
    for key in [
        "PatientNmae",
        "patientname",
        "foo",
        "0008103",
        "Study Date",
        "Foo.PatientName",
    ] {
        for list in [vec![(key, "x")], vec![("includefield", key)]] {
            assert_eq!(
                parse(Level::Study, &list).unwrap_err(),
                QidoError::UnknownKey {
                    key: key.replace(' ', "?")
                },
                "{list:?}"
            );
        }
    }
    let err = parse(Level::Study, &[("PatientNmae", "x")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "'PatientNmae' is not a DICOM keyword, tag or QIDO-RS parameter"
    );
}

#[test]
fn messages_name_keys_never_values() {
    let secret = "Secret^Patient";
    let err = parse(Level::Study, &[("StudyDate", secret)]).unwrap_err();
    assert!(!err.to_string().contains("Secret"), "{err}");
    let q = query(
        Level::Study,
        &[
            ("PatientAge", secret),
            ("NumberOfStudyRelatedSeries", secret),
        ],
    );
    assert!(
        q.warnings().iter().all(|w| !w.contains("Secret")),
        "{:?}",
        q.warnings()
    );
    let long = format!("{}\r\n", "A".repeat(80));
    let err = parse(Level::Study, &[(long.as_str(), "x")]).unwrap_err();
    assert_eq!(
        err,
        QidoError::UnknownKey {
            key: format!("{}...", "A".repeat(64))
        }
    );
}

#[test]
fn warning_headers() {
    assert_eq!(
        warning_header(&remaining_results_message(7)),
        "299 studyvault: There are 7 additional results that can be requested"
    );
    assert_eq!(warning_header("a\r\nb"), "299 studyvault: ab");
}

#[test]
fn many_ignored_keys_make_a_bounded_warning_list() {
    let keys: Vec<String> = (0..40).map(|i| format!("7FE0{i:04X}")).collect();
    let list: Vec<(&str, &str)> = keys.iter().map(|k| (k.as_str(), "x")).collect();
    let q = query(Level::Study, &list);
    assert_eq!(q.warnings().len(), sv_dicomweb::MAX_WARNINGS + 1);
    assert_eq!(q.warnings().last().unwrap(), "more keys were ignored");
    assert_eq!(
        q.warnings()[0],
        "'7FE00000' is not held at this level: ignored"
    );
}
