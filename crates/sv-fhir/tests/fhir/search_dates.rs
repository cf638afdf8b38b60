//! Date prefixes at several precisions, against the fixture's `started`
//! (2009-01-08T11:04:09.097+01:00, i.e. [10:04:09.097, 10:04:09.098) UTC) and against a
//! date-only study (the whole of 2009-01-08 UTC).

use sv_fhir::{Handling, SearchRequest};
use sv_model::Timestamp;
use sv_model::study::StudyDigest;

use crate::common::*;

fn started(value: &str) -> bool {
    hits(&[("started", value)])
}

fn date_only() -> StudyDigest {
    let mut facts = two_series_study();
    for f in &mut facts {
        f.study.study_time = None;
        f.study.timezone_offset = None;
    }
    digest_of(&facts)
}

fn started_date_only(value: &str) -> bool {
    hits_digest(&[("started", value)], &date_only())
}

#[test]
fn eq_needs_the_searched_span_to_contain_the_study() {
    for value in [
        "2009",
        "2009-01",
        "2009-01-08",
        "eq2009-01-08",
        "2009-01-08T10:04Z",
        "2009-01-08T11:04+01:00",
        "2009-01-08T05:04-05:00",
        "2009-01-08T10:04:09Z",
        "2009-01-08T10:04:09.09Z",
        "2009-01-08T10:04:09.097Z",
        "2008,2009",
    ] {
        assert!(started(value), "{value}");
    }
    for value in [
        "2008",
        "2009-02",
        "2009-01-07",
        // Without a zone the value is UTC, and the study was at 10:04 UTC.
        "2009-01-08T11:04",
        "2009-01-08T10:04:10Z",
        "2009-01-08T10:04:09.1Z",
    ] {
        assert!(!started(value), "{value}");
    }
    // A day is not contained in a minute.
    assert!(started_date_only("2009-01-08"));
    assert!(!started_date_only("2009-01-08T10:00Z"));
}

#[test]
fn ne_is_the_opposite_of_eq() {
    assert!(started("ne2009-01-09"));
    assert!(!started("ne2009"));
    assert!(started_date_only("ne2009-01-08T10:00Z"));
}

#[test]
fn gt_lt_ge_le_compare_the_spans() {
    assert!(started("gt2009-01-07"));
    assert!(started("gt2009-01-08T10:03Z"));
    assert!(!started("gt2009-01-08"));
    assert!(!started("gt2009-01-08T10:04Z"));
    assert!(started("lt2009-01-09"));
    assert!(!started("lt2009-01-08"));
    assert!(!started("lt2009"));
    assert!(started("ge2009-01-08") && started("le2009-01-08"));
    assert!(started("ge2008") && !started("ge2010"));
    assert!(started("le2009-12") && !started("le2008-12-31"));
    // A whole day reaches past either side of a minute inside it.
    assert!(started_date_only("gt2009-01-08T10:00Z"));
    assert!(started_date_only("lt2009-01-08T10:00Z"));
    assert!(!started_date_only("gt2009-01-08"));
}

#[test]
fn sa_and_eb_need_no_overlap() {
    assert!(started("sa2009-01-07"));
    assert!(!started("sa2009-01-08"));
    assert!(started("eb2009-01-09"));
    assert!(!started("eb2009-01-08"));
    assert!(!started_date_only("sa2009-01-08T10:00Z"));
    assert!(started_date_only("sa2008"));
}

#[test]
fn ap_widens_by_a_tenth_of_the_distance_to_now_and_at_least_a_day() {
    // now() is 2010-01-08: about a year away, so about 36 days either side.
    assert!(started("ap2009-02-10"));
    assert!(!started("ap2009-03-01"));
    assert!(started("ap2008-12-05"));
    // Close to now, the margin is one day.
    let near = Timestamp::parse_rfc3339("2009-01-10T00:00:00Z").unwrap();
    let ap = |value: &str| {
        SearchRequest::parse_at(
            &pairs(&[("started", value)]),
            Handling::Lenient,
            &ctx(),
            near,
        )
        .unwrap()
        .matches(thing(), &digest(), &mut sop_index)
    };
    assert!(ap("ap2009-01-09"));
    assert!(ap("ap2009-01-07"));
    assert!(!ap("ap2009-01-10"));
    assert!(!ap("ap2009-01-06"));
}

#[test]
fn repeated_dates_are_and_and_lists_are_or() {
    assert!(hits(&[
        ("started", "ge2009-01-01"),
        ("started", "lt2009-02-01")
    ]));
    assert!(!hits(&[
        ("started", "ge2009-01-09"),
        ("started", "le2009-12-31")
    ]));
    assert!(started("2001,2009-01-08"));
    assert!(!started("2001,2009-01-09"));
}

#[test]
fn an_unencoded_plus_in_the_zone_reads_as_plus() {
    // `?started=2009-01-08T11:04+01:00` unencoded decodes to a space.
    assert!(started("2009-01-08T11:04 01:00"));
}

#[test]
fn a_local_offset_moves_the_date_only_day() {
    let mut facts = two_series_study();
    for f in &mut facts {
        f.study.study_time = None;
        f.study.timezone_offset = Some("+0900".into());
    }
    let d = digest_of(&facts);
    // 2009-01-08 in +09:00 is 2009-01-07T15:00Z .. 2009-01-08T15:00Z.
    assert!(hits_digest(&[("started", "lt2009-01-08")], &d));
    assert!(!hits_digest(&[("started", "2009-01-08")], &d));
    assert!(hits_digest(&[("started", "sa2009-01-07T14:59Z")], &d));
    assert!(!hits_digest(&[("started", "sa2009-01-07T15:00Z")], &d));
    assert!(hits_digest(&[("started", "eb2009-01-08T15:00Z")], &d));
    assert!(!hits_digest(&[("started", "eb2009-01-08T14:59Z")], &d));
}
