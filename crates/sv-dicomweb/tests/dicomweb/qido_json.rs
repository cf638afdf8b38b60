//! Snapshots of the response objects of each level: keys ascending, `vr` always, PN objects,
//! IS/US numbers, Retrieve URLs from the base, computed counts and modalities, empty values
//! without `Value`.

use serde_json::{Value, json};
use sv_dicomweb::{Level, QidoQuery};

use crate::common::{BASE, BASIC_SR, CT_IMAGE, digest, digest_of, instances, query, scope};

fn assert_shape(v: &Value) {
    let obj = v.as_object().expect("an object");
    let keys: Vec<&String> = obj.keys().collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "keys ascending");
    for (k, e) in obj {
        assert!(
            k.len() == 8
                && k.bytes()
                    .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)),
            "{k}"
        );
        assert!(e["vr"].is_string(), "{k} has a vr");
        if let Some(values) = e.get("Value") {
            assert!(
                !values.as_array().unwrap().is_empty(),
                "{k}: no empty Value arrays"
            );
        }
    }
}

fn study_expected() -> Value {
    json!({
        "00080005": {"vr": "CS", "Value": ["ISO_IR 192"]},
        "00080020": {"vr": "DA", "Value": ["20200315"]},
        "00080030": {"vr": "TM", "Value": ["101530.25"]},
        "00080050": {"vr": "SH", "Value": ["ACC-1"]},
        "00080056": {"vr": "CS", "Value": ["ONLINE"]},
        "00080061": {"vr": "CS", "Value": ["CT", "SR"]},
        "00080090": {"vr": "PN", "Value": [{"Alphabetic": "Smith^Anna"}]},
        "00080201": {"vr": "SH", "Value": ["+0100"]},
        "00081190": {"vr": "UR", "Value": [format!("{BASE}/studies/1.2.3")]},
        "00100010": {"vr": "PN", "Value": [{"Alphabetic": "Doe^John"}]},
        "00100020": {"vr": "LO", "Value": ["PID-7"]},
        "00100030": {"vr": "DA", "Value": ["19700102"]},
        "00100040": {"vr": "CS", "Value": ["M"]},
        "0020000D": {"vr": "UI", "Value": ["1.2.3"]},
        "00200010": {"vr": "SH", "Value": ["S1"]},
        "00201206": {"vr": "IS", "Value": [2]},
        "00201208": {"vr": "IS", "Value": [3]}
    })
}

fn ct_series_expected() -> Value {
    json!({
        "00080005": {"vr": "CS", "Value": ["ISO_IR 192"]},
        "00080056": {"vr": "CS", "Value": ["ONLINE"]},
        "00080060": {"vr": "CS", "Value": ["CT"]},
        "00080201": {"vr": "SH", "Value": ["+0100"]},
        "0008103E": {"vr": "LO", "Value": ["Axial"]},
        "00081190": {"vr": "UR", "Value": [format!("{BASE}/studies/1.2.3/series/1.2.3.1")]},
        "0020000D": {"vr": "UI", "Value": ["1.2.3"]},
        "0020000E": {"vr": "UI", "Value": ["1.2.3.1"]},
        "00200011": {"vr": "IS", "Value": [1]},
        "00201209": {"vr": "IS", "Value": [2]}
    })
}

#[test]
fn study_object() {
    let v = query(Level::Study, &[]).study_json(&digest(), BASE);
    assert_shape(&v);
    assert_eq!(v, study_expected());
}

#[test]
fn series_object_of_a_study_and_of_all_series() {
    let d = digest();
    let q = QidoQuery::parse(Level::Series, &scope(Some("1.2.3"), None), &[]).unwrap();
    let v = q.series_json(&d, &d.series[0], BASE);
    assert_shape(&v);
    assert_eq!(v, ct_series_expected());

    // `/series` adds the study attributes; the series Retrieve URL wins.
    let v = query(Level::Series, &[]).series_json(&d, &d.series[0], BASE);
    assert_shape(&v);
    let mut expected = study_expected();
    for (k, e) in ct_series_expected().as_object().unwrap() {
        expected[k] = e.clone();
    }
    assert_eq!(v, expected);
}

#[test]
fn instance_objects() {
    let d = digest();
    let facts = instances();
    let q = QidoQuery::parse(Level::Instance, &scope(Some("1.2.3"), Some("1.2.3.1")), &[]).unwrap();
    let v = q.instance_json(&d, &facts[0], BASE);
    assert_shape(&v);
    assert_eq!(
        v,
        json!({
            "00080005": {"vr": "CS", "Value": ["ISO_IR 192"]},
            "00080016": {"vr": "UI", "Value": [CT_IMAGE]},
            "00080018": {"vr": "UI", "Value": ["1.2.3.1.1"]},
            "00080056": {"vr": "CS", "Value": ["ONLINE"]},
            "00080201": {"vr": "SH", "Value": ["+0100"]},
            "00081190": {"vr": "UR", "Value": [format!("{BASE}/studies/1.2.3/series/1.2.3.1/instances/1.2.3.1.1")]},
            "0020000D": {"vr": "UI", "Value": ["1.2.3"]},
            "0020000E": {"vr": "UI", "Value": ["1.2.3.1"]},
            "00200013": {"vr": "IS", "Value": [1]},
            "00280008": {"vr": "IS", "Value": [3]},
            "00280010": {"vr": "US", "Value": [512]},
            "00280011": {"vr": "US", "Value": [512]}
        })
    );

    // The SR has no pixels: Rows, Columns and Number of Frames are left out, unless asked
    // for, when they come back empty.
    let q = QidoQuery::parse(Level::Instance, &scope(Some("1.2.3"), None), &[]).unwrap();
    let v = q.instance_json(&d, &facts[2], BASE);
    let obj = v.as_object().unwrap();
    for tag in ["00280008", "00280010", "00280011"] {
        assert!(!obj.contains_key(tag), "{tag}");
    }
    assert_eq!(obj["00080016"], json!({"vr": "UI", "Value": [BASIC_SR]}));
    assert_eq!(
        obj["00080060"],
        json!({"vr": "CS", "Value": ["SR"]}),
        "series attributes at /studies/{{s}}/instances"
    );
    assert_eq!(obj["00201209"], json!({"vr": "IS", "Value": [1]}));
    assert!(
        !obj.contains_key("00100010"),
        "no study attributes when the path fixes the study"
    );
    let q = QidoQuery::parse(
        Level::Instance,
        &scope(Some("1.2.3"), None),
        &crate::common::pairs(&[("includefield", "Rows,AvailableTransferSyntaxUID")]),
    )
    .unwrap();
    let v = q.instance_json(&d, &facts[2], BASE);
    assert_eq!(v["00280010"], json!({"vr": "US"}));
    assert_eq!(
        v["00083002"],
        json!({"vr": "UI", "Value": ["1.2.840.10008.1.2.1"]})
    );
}

#[test]
fn missing_values_are_empty_elements_and_optional_keys_come_when_asked() {
    let mut facts = instances();
    for f in &mut facts {
        f.study.patient_name = None;
        f.study.timezone_offset = None;
        f.study.description = Some("Tête".into());
        f.study.patient_id = Some("A\\B".into());
    }
    let d = digest_of(&facts);
    let v = query(
        Level::Study,
        &[("includefield", "StudyDescription,SOPClassesInStudy")],
    )
    .study_json(&d, BASE);
    assert_shape(&v);
    assert_eq!(v["00100010"], json!({"vr": "PN"}));
    assert!(
        v.get("00080201").is_none(),
        "a conditional attribute without a value is left out"
    );
    assert_eq!(v["00081030"], json!({"vr": "LO", "Value": ["Tête"]}));
    assert_eq!(
        v["00080062"],
        json!({"vr": "UI", "Value": [CT_IMAGE, BASIC_SR]})
    );
    assert_eq!(
        v["00100020"],
        json!({"vr": "LO", "Value": ["A", "B"]}),
        "backslash splits values"
    );
}
