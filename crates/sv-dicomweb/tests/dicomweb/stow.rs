//! The Store Instances Response and its status for all stored, mixed, all failed, conflicts,
//! study mismatch and duplicates.

use serde_json::{Value, json};
use sv_dicomweb::{StoreOutcome, StoredPart, failure, store_response, warning};

use crate::common::{BASE, CT_IMAGE};

fn part(sop: &str, study: &str, outcome: StoreOutcome) -> StoredPart {
    StoredPart {
        sop_class_uid: Some(CT_IMAGE.into()),
        sop_instance_uid: Some(sop.into()),
        study_instance_uid: Some(study.into()),
        series_instance_uid: Some(format!("{study}.1")),
        outcome,
    }
}

fn unreadable() -> StoredPart {
    StoredPart {
        sop_class_uid: None,
        sop_instance_uid: None,
        study_instance_uid: None,
        series_instance_uid: None,
        outcome: StoreOutcome::Failed {
            reason: failure::CANNOT_UNDERSTAND,
        },
    }
}

fn status(parts: &[StoredPart]) -> u16 {
    store_response(parts, BASE, None).0
}

#[test]
fn all_stored_is_200_with_retrieve_urls() {
    let (code, body) = store_response(
        &[part("1.2.3.1.1", "1.2.3", StoreOutcome::Stored)],
        BASE,
        None,
    );
    assert_eq!(code, 200);
    assert_eq!(
        body,
        json!({
            "00081190": {"vr": "UR", "Value": [format!("{BASE}/studies/1.2.3")]},
            "00081199": {"vr": "SQ", "Value": [{
                "00081150": {"vr": "UI", "Value": [CT_IMAGE]},
                "00081155": {"vr": "UI", "Value": ["1.2.3.1.1"]},
                "00081190": {"vr": "UR", "Value": [format!("{BASE}/studies/1.2.3/series/1.2.3.1/instances/1.2.3.1.1")]}
            }]}
        })
    );
}

#[test]
fn mixed_is_202_with_both_sequences() {
    let parts = [
        part("1.2.3.1.1", "1.2.3", StoreOutcome::Stored),
        unreadable(),
    ];
    let (code, body) = store_response(&parts, BASE, Some("1.2.3"));
    assert_eq!(code, 202);
    assert_eq!(
        body["00081198"],
        json!({"vr": "SQ", "Value": [{
            "00081150": {"vr": "UI"},
            "00081155": {"vr": "UI"},
            "00081197": {"vr": "US", "Value": [49152]}
        }]})
    );
    assert_eq!(body["00081199"]["Value"].as_array().unwrap().len(), 1);
    assert_eq!(
        body["00081190"]["Value"][0],
        format!("{BASE}/studies/1.2.3")
    );
}

#[test]
fn nothing_stored_is_400_for_bad_syntax_and_409_for_conflicts() {
    assert_eq!(status(&[unreadable(), unreadable()]), 400);
    assert_eq!(status(&[]), 400, "no part at all");
    let transfer_syntax = StoreOutcome::Failed {
        reason: failure::TRANSFER_SYNTAX_NOT_SUPPORTED,
    };
    assert_eq!(
        status(&[part("1", "1.2", transfer_syntax)]),
        400,
        "C122 is a Cxxx"
    );

    let (code, body) = store_response(
        &[part("1.2.3.1.1", "1.2.3", StoreOutcome::Conflict)],
        BASE,
        None,
    );
    assert_eq!(code, 409);
    assert_eq!(
        body["00081198"]["Value"][0]["00081197"],
        json!({"vr": "US", "Value": [273]})
    );
    assert_eq!(
        body["00081198"]["Value"][0]["00081155"]["Value"][0],
        "1.2.3.1.1"
    );
    assert!(
        body.get("00081199").is_none(),
        "no Referenced SOP Sequence when none stored"
    );
    assert_eq!(
        body["00081190"],
        json!({"vr": "UR"}),
        "type 2: empty when no study was stored"
    );

    let mismatch = StoreOutcome::Failed {
        reason: failure::STUDY_MISMATCH,
    };
    let (code, body) = store_response(&[part("9.1", "9", mismatch)], BASE, Some("1.2.3"));
    assert_eq!(code, 409);
    assert_eq!(body["00081198"]["Value"][0]["00081197"]["Value"][0], 43265);
    assert_eq!(
        body["00081190"]["Value"][0],
        format!("{BASE}/studies/1.2.3"),
        "the path's study"
    );

    assert_eq!(
        status(&[unreadable(), part("9.1", "9", mismatch)]),
        409,
        "a mixture of reasons"
    );
    let full = StoreOutcome::Failed {
        reason: failure::OUT_OF_RESOURCES,
    };
    assert_eq!(status(&[part("1", "1.2", full)]), 409);
}

#[test]
fn duplicates_are_stored_with_a_warning() {
    let (code, body) = store_response(
        &[part("1.2.3.1.1", "1.2.3", StoreOutcome::Duplicate)],
        BASE,
        None,
    );
    assert_eq!(code, 202, "a warning makes it 202");
    let item = &body["00081199"]["Value"][0];
    assert_eq!(
        item["00081196"],
        json!({"vr": "US", "Value": [warning::ALREADY_STORED]})
    );
    assert_eq!(warning::ALREADY_STORED, 45070);
    assert!(
        item["00081190"]["Value"][0]
            .as_str()
            .unwrap()
            .ends_with("/instances/1.2.3.1.1")
    );
    assert!(body.get("00081198").is_none());
}

#[test]
fn the_study_retrieve_url_is_empty_for_several_studies() {
    let parts = [
        part("1.2.3.1.1", "1.2.3", StoreOutcome::Stored),
        part("1.2.4.1.1", "1.2.4", StoreOutcome::Stored),
    ];
    let (code, body) = store_response(&parts, BASE, None);
    assert_eq!(code, 200);
    assert_eq!(body["00081190"], json!({"vr": "UR"}));
    let given = format!("{BASE}/studies/1.2.3");
    let (_, body) = store_response(&parts[..1], BASE, Some(&given));
    assert_eq!(
        body["00081190"]["Value"][0],
        Value::from(given),
        "a URL is used as given"
    );
}

#[test]
fn failure_codes_are_the_documented_ones() {
    assert_eq!(
        [
            failure::PROCESSING,
            failure::DUPLICATE_SOP_INSTANCE,
            failure::OUT_OF_RESOURCES,
            failure::STUDY_MISMATCH,
            failure::CANNOT_UNDERSTAND
        ],
        [272, 273, 42752, 43265, 49152]
    );
}
