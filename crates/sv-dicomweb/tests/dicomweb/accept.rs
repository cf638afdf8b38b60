//! `Accept` negotiation tables, with the exact strings dicomweb-client sends (standards.md §2).

use sv_dicomweb::{accepts_dicom_json, accepts_stored_instance};

use crate::common::{EXPLICIT_LE, JPEG2000};

/// dicomweb-client `retrieve_instance` (default media types).
const DWC_INSTANCE: &str = "multipart/related; type=\"application/dicom\"; transfer-syntax=*";
/// dicomweb-client `retrieve_series` / `retrieve_study` (no transfer-syntax).
const DWC_SERIES: &str = "multipart/related; type=\"application/dicom\"";
/// dicomweb-client `retrieve_instance(media_types=(('application/dicom', EXPLICIT_LE),))`.
const DWC_EXPLICIT: &str =
    "multipart/related; type=\"application/dicom\"; transfer-syntax=1.2.840.10008.1.2.1";
/// dicomweb-client QIDO and metadata calls.
const DWC_JSON: &str = "application/dicom+json, application/json";

#[test]
fn stored_instances_go_out_as_stored_when_the_client_allows_it() {
    let ok: &[(Option<&str>, &str)] = &[
        (None, JPEG2000),
        (Some(""), JPEG2000),
        (Some("*/*"), JPEG2000),
        (Some(DWC_INSTANCE), JPEG2000),
        // The decision: no transfer-syntax parameter sends the stored syntax (see `accept`).
        (Some(DWC_SERIES), JPEG2000),
        (Some(DWC_SERIES), EXPLICIT_LE),
        (Some(DWC_EXPLICIT), EXPLICIT_LE),
        (Some("multipart/related"), JPEG2000),
        (Some("multipart/*"), JPEG2000),
        (Some("multipart/related; type=\"*/*\""), JPEG2000),
        (
            Some(
                "multipart/related; type=application/dicom; transfer-syntax=1.2.840.10008.1.2.4.90",
            ),
            JPEG2000,
        ),
        (
            Some("Multipart/Related; Type=\"Application/DICOM\"; Transfer-Syntax=\"*\""),
            JPEG2000,
        ),
        (
            Some("image/jpeg, multipart/related; type=\"application/dicom\""),
            JPEG2000,
        ),
        (
            Some(&format!("{DWC_EXPLICIT}, {DWC_INSTANCE};q=0.5")),
            JPEG2000,
        ),
    ];
    for (accept, stored) in ok {
        assert_eq!(
            accepts_stored_instance(*accept, stored),
            Ok(()),
            "{accept:?} for {stored}"
        );
    }
}

#[test]
fn other_representations_are_406() {
    let refused: &[(&str, &str)] = &[
        // We do not transcode to the Explicit VR Little Endian asked for.
        (DWC_EXPLICIT, JPEG2000),
        (DWC_EXPLICIT, "1.2.840.10008.1.2"),
        (
            "multipart/related; type=\"application/dicom\"; transfer-syntax=1.2.840.10008.1.2.4.50",
            JPEG2000,
        ),
        ("application/dicom", JPEG2000),
        ("image/jpeg", JPEG2000),
        ("application/dicom+json", JPEG2000),
        (
            "multipart/related; type=\"application/octet-stream\"",
            JPEG2000,
        ),
        ("multipart/related; type=\"image/jpeg\"", JPEG2000),
        (
            "multipart/related; type=\"application/dicom\"; q=0",
            JPEG2000,
        ),
        ("*/*;q=0", JPEG2000),
    ];
    for (accept, stored) in refused {
        assert!(
            accepts_stored_instance(Some(accept), stored).is_err(),
            "{accept} for {stored}"
        );
    }
    let err = accepts_stored_instance(Some(DWC_EXPLICIT), JPEG2000).unwrap_err();
    assert_eq!(
        err.to_string(),
        "not acceptable: the instance is stored in another transfer syntax and is not transcoded"
    );
}

#[test]
fn dicom_json_negotiation() {
    for accept in [
        None,
        Some(DWC_JSON),
        Some("*/*"),
        Some("application/dicom+json"),
        Some("application/json; charset=utf-8"),
        Some("application/*"),
        Some("text/html, */*;q=0.1"),
    ] {
        assert_eq!(accepts_dicom_json(accept), Ok(()), "{accept:?}");
    }
    for accept in [
        "multipart/related; type=\"application/dicom+xml\"",
        "application/dicom+xml",
        "application/xml",
        "text/html",
        "application/dicom+json;q=0",
    ] {
        assert!(accepts_dicom_json(Some(accept)).is_err(), "{accept}");
    }
}
