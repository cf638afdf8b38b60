//! Model -> XML -> model is the identity; the official sample reads, and survives a round trip.

use sv_hvxml::{read_medical_image_study, write_medical_image_study};
use sv_model::study::{CodableValue, HvTime, MedicalImageStudy, NonEmpty, Series};

use crate::support::{date_time, image, minimal_study, nb, rich_study, sample_xml};

fn round_trip(study: &MedicalImageStudy) {
    let xml = write_medical_image_study(study);
    let back = read_medical_image_study(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    assert_eq!(&back, study, "round trip changed the study:\n{xml}");
    assert_eq!(write_medical_image_study(&back), xml);
}

#[test]
fn rich_study_round_trips() {
    round_trip(&rich_study());
}

#[test]
fn minimal_studies_round_trip() {
    round_trip(&minimal_study());
    // A time with hour and minute only, a bare codable value, an optional element or two.
    let mut study = minimal_study();
    study.when.time = Some(HvTime::new(7, 5, None, None).unwrap());
    study.key_images.push(image("k", None));
    let mut series = Series::new(NonEmpty::one(image("a", Some("a.preview.jpg"))));
    series.modality = Some(CodableValue::text("OT"));
    study.series.push(series);
    round_trip(&study);
}

#[test]
fn official_sample_reads_with_its_odd_whitespace_and_leading_zeros() {
    let study = read_medical_image_study(&sample_xml()).unwrap();
    let time = study.when.time.unwrap();
    assert_eq!(
        (
            study.when.date.year(),
            study.when.date.month(),
            study.when.date.day()
        ),
        (2009, 1, 8)
    );
    assert_eq!(
        (time.hour(), time.minute(), time.second(), time.millis()),
        (11, 4, Some(9), Some(97))
    );
    assert_eq!(study.patient_name, Some(nb("MUNDAY LETICIA")));
    assert_eq!(study.series.len(), 3);
    let first = study.series.first();
    assert_eq!(first.images.first().image_blob_name, nb("image blob name"));
    let second = &study.series.as_slice()[1];
    assert!(second.acquisition_datetime.is_none());
    assert_eq!(second.images.len(), 2);
    assert_eq!(
        second.institution_name.as_ref().unwrap().name,
        "SampleHospital"
    );
    assert_eq!(second.modality, Some(CodableValue::text("MR")));
    let reason = study.reason.as_ref().unwrap();
    assert_eq!(reason.codes[0].vocabulary, "type");
    assert_eq!(reason.codes[0].family.as_deref(), Some("Family"));
    assert_eq!(
        study.referring_physician.as_ref().unwrap().name.full,
        "Benjamin Pierce"
    );
    assert_eq!(study.accession_number, Some(nb("some value")));
    assert!(study.preview_blob_name.is_none() && study.key_images.is_empty());
    round_trip(&study);
}

#[test]
fn namespaced_root_reads_too() {
    let xml = crate::support::wrap_for_schema(&write_medical_image_study(&rich_study()));
    assert_eq!(read_medical_image_study(&xml).unwrap(), rich_study());
}

#[test]
fn missing_when_or_series_is_a_clear_error() {
    let no_when = "<medical-image-study><series><images><image-blob-name>x</image-blob-name>\
                   </images></series></medical-image-study>";
    let err = read_medical_image_study(no_when).unwrap_err();
    assert_eq!(err.code(), "missing-element");
    assert_eq!(
        err.to_string(),
        "missing element 'when' in 'medical-image-study'"
    );

    let no_series = "<medical-image-study><when><date><y>2009</y><m>1</m><d>8</d></date></when>\
                     <description>d</description></medical-image-study>";
    let err = read_medical_image_study(no_series).unwrap_err();
    assert_eq!(err.code(), "missing-element");
    assert_eq!(
        err.to_string(),
        "missing element 'series' in 'medical-image-study'"
    );

    let no_images = "<medical-image-study><when><date><y>2009</y><m>1</m><d>8</d></date></when>\
                     <series><description>d</description></series></medical-image-study>";
    let err = read_medical_image_study(no_images).unwrap_err();
    assert_eq!(err.to_string(), "missing element 'images' in 'series'");
}

#[test]
fn model_invariants_are_enforced() {
    let cases = [
        // impossible date
        (
            "<when><date><y>2009</y><m>2</m><d>30</d></date></when>",
            "invalid-study",
        ),
        // year out of range
        (
            "<when><date><y>999</y><m>1</m><d>1</d></date></when>",
            "invalid-study",
        ),
        // milliseconds out of range
        (
            "<when><date><y>2009</y><m>1</m><d>1</d></date><time><h>1</h><m>2</m><s>3</s><f>1000</f></time></when>",
            "invalid-study",
        ),
        // not a number
        (
            "<when><date><y>two</y><m>1</m><d>1</d></date></when>",
            "invalid-value",
        ),
    ];
    let series = "<series><images><image-blob-name>x</image-blob-name></images></series>";
    for (when, code) in cases {
        let xml = format!("<medical-image-study>{when}{series}</medical-image-study>");
        let err = read_medical_image_study(&xml).unwrap_err();
        assert_eq!(err.code(), code, "{xml}: {err}");
    }
    // The schema allows milliseconds without seconds, so such a document reads.
    let odd = format!(
        "<medical-image-study><when><date><y>2009</y><m>1</m><d>1</d></date>\
         <time><h>1</h><m>2</m><f>3</f></time></when>{series}</medical-image-study>"
    );
    let when_time = read_medical_image_study(&odd).unwrap().when.time.unwrap();
    assert_eq!((when_time.second(), when_time.millis()), (None, Some(3)));
    let when = "<when><date><y>2009</y><m>1</m><d>8</d></date></when>";
    let blank = format!(
        "<medical-image-study>{when}<patient-name> \n </patient-name>{series}</medical-image-study>"
    );
    assert_eq!(
        read_medical_image_study(&blank).unwrap_err().code(),
        "invalid-study"
    );
}

#[test]
fn schema_order_and_unknown_elements_are_enforced() {
    let when = "<when><date><y>2009</y><m>1</m><d>8</d></date></when>";
    let series = "<series><images><image-blob-name>x</image-blob-name></images></series>";
    let cases = [
        format!("<medical-image-study>{series}{when}</medical-image-study>"),
        format!(
            "<medical-image-study>{when}{series}<patient-name>p</patient-name></medical-image-study>"
        ),
        format!("<medical-image-study>{when}{series}<xds-i/></medical-image-study>"),
        format!("<medical-image-study>{when}{series}{when}</medical-image-study>"),
    ];
    for xml in &cases {
        let err = read_medical_image_study(xml).unwrap_err();
        assert!(
            matches!(err.code(), "unexpected-element" | "missing-element"),
            "{xml}: {err}"
        );
    }
    let text_in_complex = format!("<medical-image-study>{when}stray{series}</medical-image-study>");
    assert_eq!(
        read_medical_image_study(&text_in_complex)
            .unwrap_err()
            .code(),
        "invalid-value"
    );
    let wrong_root = "<study/>";
    assert_eq!(
        read_medical_image_study(wrong_root).unwrap_err().code(),
        "unexpected-element"
    );
}

#[test]
fn text_is_kept_exactly_and_references_resolve() {
    let xml = "<medical-image-study><when><date><y> 2009 </y><m>+01</m><d>08</d></date></when>\
               <patient-name> A &amp; B &#x41;&#66; <![CDATA[<c>]]> </patient-name>\
               <series><images><image-blob-name>x</image-blob-name></images></series>\
               </medical-image-study>";
    let study = read_medical_image_study(xml).unwrap();
    assert_eq!(study.patient_name, Some(nb(" A & B AB <c> ")));
    assert_eq!(study.when, date_time(2009, 1, 8, None));
}

/// Characters XML 1.0 cannot carry (here BEL and U+FFFF) are written as U+FFFD, so the
/// document stays well-formed and valid; that one character does not round trip.
#[test]
fn characters_xml_cannot_carry_become_replacement_characters() {
    let mut study = minimal_study();
    study.description = Some(nb("ring\u{7}bell\u{FFFF}"));
    let xml = write_medical_image_study(&study);
    let back = read_medical_image_study(&xml).unwrap();
    assert_eq!(back.description, Some(nb("ring\u{FFFD}bell\u{FFFD}")));
    crate::support::xmllint_study(&xml).unwrap();
}

/// The model allows an address without street lines, the schema needs one: it is written as
/// one empty `<street/>` line (valid) and reads back as that line.
#[test]
fn an_address_without_street_lines_stays_valid() {
    use sv_model::study::{Address, Contact, Organization};
    let mut study = minimal_study();
    let mut series = study.series.first().clone();
    series.institution_name = Some(Organization {
        name: "Clinic".into(),
        contact: Some(Contact {
            addresses: vec![Address {
                city: "Bern".into(),
                postcode: "3000".into(),
                country: "CH".into(),
                ..Address::default()
            }],
            ..Contact::default()
        }),
        ..Organization::default()
    });
    study.series = NonEmpty::one(series);
    let xml = write_medical_image_study(&study);
    crate::support::xmllint_study(&xml).unwrap();
    let back = read_medical_image_study(&xml).unwrap();
    let org = back.series.first().institution_name.clone().unwrap();
    assert_eq!(
        org.contact.unwrap().addresses[0].street,
        vec![String::new()]
    );
}
