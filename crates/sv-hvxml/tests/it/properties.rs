//! Property tests: any study the model can hold, with awkward text, round trips exactly and
//! validates against the official schema.

use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;
use sv_hvxml::{read_medical_image_study, write_medical_image_study};
use sv_model::NonBlank;
use sv_model::study::{
    CodableValue, CodedValue, HvDate, HvDateTime, HvTime, MedicalImageStudy, Name, NonEmpty,
    Person, Series, SeriesImage,
};

use crate::support::xmllint_study;

/// Text with markup characters, line ends, tabs, non-ASCII and surrounding spaces.
const TEXT: &str = "[ a-zA-Z0-9&<>\"'\\]\\r\\n\\t.^=éü中😀-]{0,16}";

fn text() -> impl Strategy<Value = String> {
    proptest::string::string_regex(TEXT).unwrap()
}

fn non_blank() -> impl Strategy<Value = NonBlank> {
    text().prop_filter_map("blank", |t| NonBlank::new(t).ok())
}

fn codable() -> impl Strategy<Value = CodableValue> {
    let code = (text(), of(text()), text(), of(text())).prop_map(
        |(value, family, vocabulary, version)| CodedValue {
            value,
            family,
            vocabulary,
            version,
        },
    );
    (text(), vec(code, 0..3)).prop_map(|(text, codes)| CodableValue { text, codes })
}

fn date_time() -> impl Strategy<Value = HvDateTime> {
    let time = (0i64..24, 0i64..60, of((0i64..60, of(0i64..1000))))
        .prop_map(|(h, m, s)| HvTime::new(h, m, s.map(|s| s.0), s.and_then(|s| s.1)).unwrap());
    (
        1000i64..=9999,
        1i64..=12,
        1i64..=28,
        of(time),
        of(codable()),
    )
        .prop_map(|(y, m, d, time, tz)| HvDateTime {
            date: HvDate::new(y, m, d).unwrap(),
            time,
            tz,
        })
}

fn image() -> impl Strategy<Value = SeriesImage> {
    (non_blank(), of(non_blank())).prop_map(|(image_blob_name, image_preview_blob_name)| {
        SeriesImage {
            image_blob_name,
            image_preview_blob_name,
        }
    })
}

fn series() -> impl Strategy<Value = Series> {
    (
        of(date_time()),
        of(non_blank()),
        vec(image(), 1..4),
        of(codable()),
        of(non_blank()),
    )
        .prop_map(
            |(acquisition_datetime, description, images, modality, series_instance_uid)| Series {
                acquisition_datetime,
                description,
                modality,
                series_instance_uid,
                ..Series::new(NonEmpty::from_vec(images, "series", "image").unwrap())
            },
        )
}

fn person() -> impl Strategy<Value = Person> {
    (text(), of(codable()), of(text()), of(text()), of(text())).prop_map(
        |(full, title, first, last, id)| Person {
            name: Name {
                full,
                title,
                first,
                last,
                ..Name::default()
            },
            id,
            ..Person::default()
        },
    )
}

fn study() -> impl Strategy<Value = MedicalImageStudy> {
    (
        date_time(),
        of(non_blank()),
        vec(series(), 1..3),
        of(codable()),
        vec(image(), 0..3),
        of(person()),
        of(non_blank()),
    )
        .prop_map(
            |(when, patient_name, series, reason, key_images, physician, accession)| {
                MedicalImageStudy {
                    patient_name,
                    reason,
                    key_images,
                    referring_physician: physician,
                    accession_number: accession,
                    ..MedicalImageStudy::new(
                        when,
                        NonEmpty::from_vec(series, "study", "series").unwrap(),
                    )
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_study_round_trips_and_validates(study in study()) {
        let xml = write_medical_image_study(&study);
        prop_assert_eq!(&read_medical_image_study(&xml).unwrap(), &study);
        if let Err(complaint) = xmllint_study(&xml) {
            return Err(TestCaseError::fail(format!("{complaint}\n{xml}")));
        }
    }
}
