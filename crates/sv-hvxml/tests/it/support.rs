//! Shared fixtures: studies rich and minimal, the official sample, xmllint and snapshots.

use std::path::Path;

use sv_model::NonBlank;
use sv_model::study::{
    Address, CodableValue, CodedValue, Contact, Email, HvDate, HvDateTime, HvTime,
    MedicalImageStudy, Name, NonEmpty, Organization, Person, Phone, Series, SeriesImage,
};

pub fn nb(text: &str) -> NonBlank {
    NonBlank::new(text).unwrap()
}

pub fn image(name: &str, preview: Option<&str>) -> SeriesImage {
    SeriesImage {
        image_blob_name: nb(name),
        image_preview_blob_name: preview.map(nb),
    }
}

pub fn date_time(y: i64, m: i64, d: i64, time: Option<HvTime>) -> HvDateTime {
    HvDateTime {
        date: HvDate::new(y, m, d).unwrap(),
        time,
        tz: None,
    }
}

/// The smallest valid study: a date and one series of one image.
pub fn minimal_study() -> MedicalImageStudy {
    let series = Series::new(NonEmpty::one(image("1.2.3.4.5.6.1", None)));
    MedicalImageStudy::new(date_time(2009, 1, 8, None), NonEmpty::one(series))
}

fn code(value: &str, family: Option<&str>, vocabulary: &str, version: Option<&str>) -> CodedValue {
    CodedValue {
        value: value.into(),
        family: family.map(Into::into),
        vocabulary: vocabulary.into(),
        version: version.map(Into::into),
    }
}

fn codable(text: &str, codes: Vec<CodedValue>) -> CodableValue {
    CodableValue {
        text: text.into(),
        codes,
    }
}

fn contact(tag: &str) -> Contact {
    Contact {
        addresses: vec![
            Address {
                description: Some(format!("{tag} main entrance")),
                is_primary: Some(true),
                street: vec!["1 Hospital Road".into(), "Building C & D".into()],
                city: "Springfield".into(),
                state: Some("IL".into()),
                postcode: "62701".into(),
                country: "USA".into(),
                county: Some("Sangamon".into()),
            },
            Address {
                street: vec!["PO Box 7".into()],
                city: "Zürich".into(),
                postcode: "8001".into(),
                country: "CH".into(),
                ..Address::default()
            },
        ],
        phones: vec![
            Phone {
                description: Some("desk".into()),
                is_primary: Some(false),
                number: "+1 (217) 555-0100".into(),
            },
            Phone {
                number: "+41 44 555 01 00".into(),
                ..Phone::default()
            },
        ],
        emails: vec![Email {
            description: Some("radiology <front desk>".into()),
            is_primary: Some(true),
            address: format!("{tag}@example.org"),
        }],
    }
}

/// Every optional element filled, several series, key images, codes with all fields, contact
/// details, and text that needs escaping.
pub fn rich_study() -> MedicalImageStudy {
    let ct = Series {
        acquisition_datetime: Some(HvDateTime {
            tz: Some(codable(
                "Central European Time",
                vec![code("CET", Some("wc"), "time-zones", Some("1"))],
            )),
            ..date_time(
                2024,
                2,
                29,
                Some(HvTime::new(23, 59, Some(59), Some(999)).unwrap()),
            )
        }),
        description: Some(nb("CT HEAD/NK 5.0 B30s & <contrast>")),
        images: NonEmpty::from_vec(
            vec![
                image(
                    "1.2.840.113619.2.1.1.1",
                    Some("1.2.840.113619.2.1.1.1.preview.jpg"),
                ),
                image("1.2.840.113619.2.1.1.2", None),
                image(
                    "1.2.840.113619.2.1.1.3",
                    Some("1.2.840.113619.2.1.1.3.preview.png"),
                ),
            ],
            "series",
            "image",
        )
        .unwrap(),
        institution_name: Some(Organization {
            name: "St. Mary's \"General\" Hospital".into(),
            contact: Some(contact("ct")),
            org_type: Some(codable(
                "Hospital",
                vec![code("hosp", None, "organization-types", None)],
            )),
            website: Some("https://example.org/radiology?dept=ct&lang=en".into()),
        }),
        modality: Some(CodableValue::dicom_modality("CT")),
        body_part: Some(codable(
            "HEAD",
            vec![code("T-D1100", Some("SRT"), "body-parts", Some("2"))],
        )),
        preview_blob_name: Some(nb("1.2.840.113619.2.1.1.preview.jpg")),
        series_instance_uid: Some(nb("1.2.840.113619.2.1.1")),
    };
    let mr = Series {
        acquisition_datetime: Some(date_time(
            2024,
            3,
            1,
            Some(HvTime::new(0, 0, None, None).unwrap()),
        )),
        description: Some(nb("  FMRI BRAIN\tBY PHYS/PSYCH  ")),
        institution_name: Some(Organization {
            name: String::new(),
            ..Organization::default()
        }),
        modality: Some(codable("MR", vec![])),
        ..Series::new(NonEmpty::one(image("1.2.840.113619.2.2.1.1", None)))
    };
    let sr = Series::new(NonEmpty::one(image(
        "1.2.840.113619.2.3.1.1",
        Some("sr-preview"),
    )));
    let mut study = MedicalImageStudy::new(
        date_time(
            2024,
            2,
            29,
            Some(HvTime::new(11, 4, Some(9), Some(97)).unwrap()),
        ),
        NonEmpty::from_vec(vec![ct, mr, sr], "study", "series").unwrap(),
    );
    study.when.tz = Some(codable("UTC+01:00", vec![]));
    study.patient_name = Some(nb("Müller^Anna Ö'Brien"));
    study.description = Some(nb("Study of head\nline two\r\nline three ]]> done"));
    study.reason = Some(codable(
        "mass",
        vec![
            code("Value", Some("Family"), "type", Some("version")),
            code("R22.0", Some("icd"), "icd10", None),
        ],
    ));
    study.preview_blob_name = Some(nb("1.2.840.113619.2.preview.jpg"));
    study.key_images = vec![
        image(
            "1.2.840.113619.2.1.1.2",
            Some("1.2.840.113619.2.1.1.2.preview.jpg"),
        ),
        image("1.2.840.113619.2.2.1.1", None),
    ];
    study.study_instance_uid = Some(nb("1.2.840.113619.2"));
    study.referring_physician = Some(Person {
        name: Name {
            full: "Dr. Benjamin C. Pierce Jr.".into(),
            title: Some(codable(
                "Dr.",
                vec![code("Dr", Some("wc"), "name-prefixes", Some("1"))],
            )),
            first: Some("Benjamin".into()),
            middle: Some("C.".into()),
            last: Some("Pierce".into()),
            suffix: Some(codable(
                "Jr.",
                vec![code("Jr", Some("wc"), "name-suffixes", Some("1"))],
            )),
        },
        organization: Some("Springfield Imaging".into()),
        professional_training: Some("Radiology".into()),
        id: Some("NPI 1234567890".into()),
        contact: Some(contact("pierce")),
        person_type: Some(codable(
            "Provider",
            vec![code("2", Some("wc"), "person-types", Some("1"))],
        )),
    });
    study.accession_number = Some(nb("ACC-2024-0001"));
    study
}

pub use sv_testkit::schema::{wrap_for_schema, xmllint_study};

/// HealthVault's official v2 sample (fixtures/healthvault).
pub fn sample_xml() -> String {
    sv_testkit::schema::sample_study_xml()
}

/// Compares `actual` with `tests/snapshots/<name>`; `UPDATE_SNAPSHOTS=1` rewrites the file.
pub fn assert_snapshot(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    let actual = format!("{actual}\n");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "no snapshot {}: run with UPDATE_SNAPSHOTS=1 and review the new file",
            path.display()
        )
    });
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .map_or_else(|| "the end".to_owned(), |n| format!("line {}", n + 1));
        panic!(
            "snapshot {} differs at {line}; if the change is intended, rerun with \
             UPDATE_SNAPSHOTS=1 and review the diff\n--- actual ---\n{actual}",
            path.display()
        );
    }
}
