//! Property tests of the model's parsers and invariants.

use proptest::prelude::*;
use sv_model::study::{parse_da, parse_da_tm, parse_tm, person_name_display};
use sv_model::{BlobName, Timestamp};

proptest! {
    /// Any instant between years 1000 and 9999 survives RFC 3339 text, to the microsecond.
    #[test]
    fn timestamps_round_trip_through_rfc3339(micros in -30_610_224_000_000_000i64..253_402_300_799_000_000i64) {
        let t = Timestamp::from_unix_micros(micros);
        prop_assert_eq!(Timestamp::parse_rfc3339(&t.to_rfc3339()).unwrap(), t);
    }

    /// DICOM text from untrusted files never panics the lenient readers, and whatever they
    /// accept is a valid HealthVault value.
    #[test]
    fn dicom_text_readers_take_any_input(s in ".{0,40}") {
        if let Some(d) = parse_da(&s) {
            prop_assert!((1000..=9999).contains(&d.year()) && (1..=12).contains(&d.month()));
        }
        if let Some(t) = parse_tm(&s) {
            prop_assert!(t.hour() < 24 && t.minute() < 60);
        }
        let _ = parse_da_tm(Some(&s), Some(&s));
        if let Some(name) = person_name_display(&s) {
            prop_assert!(!name.trim().is_empty());
        }
    }

    /// Every well-formed DA/TM pair reads back to the numbers it was written from.
    #[test]
    fn well_formed_da_and_tm_read_exactly(y in 1000u16..=9999, m in 1u8..=12, d in 1u8..=28, h in 0u8..24, mi in 0u8..60, s in 0u8..60, ms in 0u16..1000) {
        let dt = parse_da_tm(Some(&format!("{y:04}{m:02}{d:02}")), Some(&format!("{h:02}{mi:02}{s:02}.{ms:03}"))).unwrap();
        prop_assert_eq!((dt.date.year(), dt.date.month(), dt.date.day()), (y, m, d));
        let t = dt.time.unwrap();
        prop_assert_eq!((t.hour(), t.minute(), t.second(), t.millis()), (h, mi, Some(s), Some(ms)));
    }

    /// A blob name is refused exactly when it is too long or holds a forbidden character.
    #[test]
    fn blob_names_are_refused_exactly_when_unsafe(s in "\\PC{0,80}|[a-z./\\\\]{0,12}") {
        let unsafe_name = s.len() > BlobName::MAX_LEN
            || s.contains('/') || s.contains('\\') || s.contains("..")
            || s.chars().any(char::is_control);
        prop_assert_eq!(BlobName::new(s.as_str()).is_err(), unsafe_name, "{:?}", s);
    }
}
