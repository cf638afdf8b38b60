//! The stable result order: newest studies first, series and instances by number.

use sv_dicomweb::order::{compare_instances, compare_series, compare_studies};

use crate::common::{digest_of, instance, instances};

fn study(uid: &str, date: Option<&str>, time: Option<&str>) -> sv_model::study::StudyDigest {
    let mut f = instance("1.2.3.1", &format!("{uid}.1"), 1);
    f.study_instance_uid = uid.into();
    f.study.study_date = date.map(str::to_owned);
    f.study.study_time = time.map(str::to_owned);
    digest_of(&[f])
}

#[test]
fn studies_newest_first_undated_last_then_by_uid() {
    let mut list = [
        study("1.9", None, None),
        study("1.1", Some("20190101"), None),
        study("1.5", Some("20200101"), Some("0800")),
        study("1.4", Some("20200101"), Some("1700")),
        study("1.3", Some("20200101"), Some("1700")),
        study("1.0", None, None),
    ];
    list.sort_by(compare_studies);
    let uids: Vec<&str> = list.iter().map(|d| d.study_instance_uid.as_str()).collect();
    assert_eq!(uids, ["1.3", "1.4", "1.5", "1.1", "1.0", "1.9"]);
}

#[test]
fn series_and_instances_by_number_then_uid() {
    let mut facts = instances();
    facts[0].instance_number = Some(5);
    facts[2].instance_number = None;
    facts.sort_by(compare_instances);
    let sops: Vec<&str> = facts.iter().map(|f| f.sop_instance_uid.as_str()).collect();
    assert_eq!(sops, ["1.2.3.1.2", "1.2.3.1.1", "1.2.3.2.1"]);

    let mut d = digest_of(&instances());
    d.series[0].attributes.series_number = Some(3);
    d.series.sort_by(compare_series);
    assert_eq!(d.series[0].series_instance_uid, "1.2.3.2");
}
