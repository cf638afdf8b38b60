//! Every study this crate writes validates against `medical-image-study.2.xsd` (xmllint).

use sv_hvxml::{read_medical_image_study, write_medical_image_study};

use crate::support::{minimal_study, rich_study, sample_xml, xmllint_study};

#[test]
fn written_studies_validate_against_the_official_schema() {
    for (name, study) in [("rich", rich_study()), ("minimal", minimal_study())] {
        let xml = write_medical_image_study(&study);
        if let Err(complaint) = xmllint_study(&xml) {
            panic!("{name} study does not validate:\n{complaint}\n{xml}");
        }
    }
}

#[test]
fn the_official_sample_validates_before_and_after_a_round_trip() {
    let sample = sample_xml();
    xmllint_study(&sample).expect("the official sample validates as it is");
    let written = write_medical_image_study(&read_medical_image_study(&sample).unwrap());
    if let Err(complaint) = xmllint_study(&written) {
        panic!("rewritten sample does not validate:\n{complaint}\n{written}");
    }
}

/// The validation can fail: a series without images, out-of-order elements and blank text are
/// rejected by xmllint, so the positive tests above mean something.
#[test]
fn the_schema_check_rejects_invalid_studies() {
    let written = write_medical_image_study(&minimal_study());
    let no_images = written.replace(
        "<images>\n      <image-blob-name>1.2.3.4.5.6.1</image-blob-name>\n    </images>",
        "<description>no images</description>",
    );
    assert_ne!(no_images, written, "the test edit must apply");
    let complaint = xmllint_study(&no_images).expect_err("a series without images is invalid");
    assert!(complaint.contains("fails to validate"), "{complaint}");

    let blank = written.replace("1.2.3.4.5.6.1", "   ");
    assert!(
        xmllint_study(&blank).is_err(),
        "blank stringnznw is invalid"
    );

    let bad_month = written.replace("<m>1</m>", "<m>13</m>");
    assert!(xmllint_study(&bad_month).is_err(), "month 13 is invalid");
}
