//! The exact XML written for a few studies (and, in envelope tests, a whole thing).

use sv_hvxml::{read_medical_image_study, write_medical_image_study};

use crate::support::{assert_snapshot, minimal_study, rich_study, sample_xml};

#[test]
fn minimal_study_snapshot() {
    assert_snapshot(
        "study-minimal.xml",
        &write_medical_image_study(&minimal_study()),
    );
}

#[test]
fn rich_study_snapshot() {
    assert_snapshot("study-rich.xml", &write_medical_image_study(&rich_study()));
}

#[test]
fn official_sample_rewritten_snapshot() {
    let study = read_medical_image_study(&sample_xml()).unwrap();
    assert_snapshot("study-sample.xml", &write_medical_image_study(&study));
}
