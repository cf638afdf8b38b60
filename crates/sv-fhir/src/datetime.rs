//! DICOM date and time (DA + TM + Timezone Offset From UTC) as a FHIR `dateTime`, and as the
//! span of time it stands for, which date searches compare.
//!
//! The timezone rule: a time carries the study's Timezone Offset From UTC (0008,0201) when it
//! has a valid one, else `Z`. DICOM local times without an offset are treated as UTC by this
//! server (FHIR needs a zone on every time, and the server knows no better).
//!
//! FHIR needs seconds, so `HH` and `HHMM` are padded with zeros; a fraction keeps the digits
//! the TM gave (at most 6). A date without a valid time is written as a date alone. The span,
//! though, follows the precision the DICOM value really had: `10` is the hour 10:00–11:00,
//! `1004` that minute, `100409.1` that tenth of a second, a date alone the whole day (in the
//! offset's day when there is one).
//!
//! The DA and TM are read by `sv_model`'s readers, which validate them; only the precision
//! and the fraction digits are taken from the text after it has passed.

use sv_model::study::{parse_da, parse_tm};

pub(crate) const MICROS_PER_SECOND: i64 = 1_000_000;
pub(crate) const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

/// A half-open span of time `[start, end)`, in microseconds since the Unix epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: i64,
    pub end: i64,
}

impl Span {
    /// The zero-width instant, widened to the store's resolution of one microsecond.
    pub fn instant(micros: i64) -> Span {
        Span {
            start: micros,
            end: micros.saturating_add(1),
        }
    }
}

/// Microseconds from the Unix epoch to 00:00 UTC of a calendar day, if the day exists.
pub(crate) fn day_start(year: i32, month: u8, day: u8) -> Option<i64> {
    let month = time::Month::try_from(month).ok()?;
    let date = time::Date::from_calendar_date(year, month, day).ok()?;
    const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;
    Some((i64::from(date.to_julian_day()) - UNIX_EPOCH_JULIAN_DAY) * MICROS_PER_DAY)
}

/// A valid Timezone Offset From UTC (`+HHMM`/`-HHMM`, within FHIR's −13:59..+14:00) in
/// minutes east of UTC.
pub(crate) fn parse_offset(tz: &str) -> Option<i32> {
    let tz = tz.trim();
    let (sign, digits) = match tz.as_bytes().first()? {
        b'+' => (1, &tz[1..]),
        b'-' => (-1, &tz[1..]),
        _ => return None,
    };
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i32 = digits[..2].parse().ok()?;
    let minutes: i32 = digits[2..].parse().ok()?;
    let valid = (hours < 14 && minutes < 60) || (hours == 14 && minutes == 0);
    valid.then_some(sign * (hours * 60 + minutes))
}

/// A time of day as the TM gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LocalTime {
    hour: u8,
    minute: u8,
    second: u8,
    /// The fraction's digits, 1 to 6 of them, when the TM had seconds and a fraction.
    fraction: Option<String>,
    /// How long the value lasts, by its precision (an hour for `HH`, …).
    width: i64,
}

/// A DICOM date with its optional time and offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DicomDateTime {
    year: u16,
    month: u8,
    day: u8,
    time: Option<LocalTime>,
    offset_minutes: Option<i32>,
}

impl DicomDateTime {
    /// Reads DA + TM + offset; `None` when the DA is absent or invalid. A TM that does not
    /// read leaves a date alone, and an invalid offset counts as none.
    pub fn read(da: Option<&str>, tm: Option<&str>, tz: Option<&str>) -> Option<DicomDateTime> {
        let date = parse_da(da?)?;
        let time = tm.and_then(read_time);
        Some(DicomDateTime {
            year: date.year(),
            month: date.month(),
            day: date.day(),
            time,
            offset_minutes: tz.and_then(parse_offset),
        })
    }

    /// The FHIR `dateTime`: `2009-01-08`, or `2009-01-08T11:04:09.097+01:00`.
    pub fn to_fhir(&self) -> String {
        let date = format!("{:04}-{:02}-{:02}", self.year, self.month, self.day);
        let Some(t) = &self.time else {
            return date;
        };
        let fraction = t
            .fraction
            .as_ref()
            .map(|f| format!(".{f}"))
            .unwrap_or_default();
        let zone = match self.offset_minutes {
            None => "Z".to_owned(),
            Some(m) => {
                let sign = if m < 0 { '-' } else { '+' };
                format!("{sign}{:02}:{:02}", m.abs() / 60, m.abs() % 60)
            }
        };
        format!(
            "{date}T{:02}:{:02}:{:02}{fraction}{zone}",
            t.hour, t.minute, t.second
        )
    }

    /// The span of time the value stands for, by its precision, in UTC.
    pub fn span(&self) -> Span {
        // The date was validated by parse_da, so the day exists.
        let day = day_start(i32::from(self.year), self.month, self.day).unwrap_or(0);
        let offset = i64::from(self.offset_minutes.unwrap_or(0)) * 60 * MICROS_PER_SECOND;
        let (local_start, width) = match &self.time {
            None => (day, MICROS_PER_DAY),
            Some(t) => {
                let seconds =
                    i64::from(t.hour) * 3600 + i64::from(t.minute) * 60 + i64::from(t.second);
                let fraction = t.fraction.as_deref().map_or(0, fraction_micros);
                (day + seconds * MICROS_PER_SECOND + fraction, t.width)
            }
        };
        let start = local_start - offset;
        Span {
            start,
            end: start + width,
        }
    }
}

/// A TM through `parse_tm`, then its precision and fraction digits from the validated text.
fn read_time(tm: &str) -> Option<LocalTime> {
    let parsed = parse_tm(tm)?;
    let tm = tm.trim();
    let (whole, fraction) = match tm.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (tm, None),
    };
    let digits = whole.bytes().filter(u8::is_ascii_digit).count();
    let fraction = fraction.filter(|f| !f.is_empty()).map(str::to_owned);
    let width = match (digits, &fraction) {
        (2, _) => 3600 * MICROS_PER_SECOND,
        (4, _) => 60 * MICROS_PER_SECOND,
        (_, None) => MICROS_PER_SECOND,
        (_, Some(f)) => 10_i64.pow(6 - f.len() as u32),
    };
    Some(LocalTime {
        hour: parsed.hour(),
        minute: parsed.minute(),
        second: parsed.second().unwrap_or(0),
        fraction,
        width,
    })
}

/// `"5"` → 500000 µs, `"097"` → 97000 µs: up to 6 digits, right-padded.
pub(crate) fn fraction_micros(digits: &str) -> i64 {
    let six: String = digits
        .chars()
        .chain(std::iter::repeat('0'))
        .take(6)
        .collect();
    six.parse().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(da: &str, tm: Option<&str>, tz: Option<&str>) -> DicomDateTime {
        DicomDateTime::read(Some(da), tm, tz).unwrap()
    }

    #[test]
    fn times_without_an_offset_are_utc_and_seconds_are_padded() {
        assert_eq!(dt("20090108", None, None).to_fhir(), "2009-01-08");
        assert_eq!(
            dt("20090108", Some("1104"), None).to_fhir(),
            "2009-01-08T11:04:00Z"
        );
        assert_eq!(
            dt("20090108", Some("11"), None).to_fhir(),
            "2009-01-08T11:00:00Z"
        );
        assert_eq!(
            dt("20090108", Some("110409.097"), Some("-0530")).to_fhir(),
            "2009-01-08T11:04:09.097-05:30"
        );
        assert_eq!(
            dt("20090108", Some("110409.123456"), Some("+1400")).to_fhir(),
            "2009-01-08T11:04:09.123456+14:00"
        );
        // An offset FHIR cannot carry, or junk, counts as none.
        assert_eq!(
            dt("20090108", Some("110409"), Some("+1430")).to_fhir(),
            "2009-01-08T11:04:09Z"
        );
        // A time that does not read leaves the date alone; the offset has nothing to zone.
        assert_eq!(
            dt("20090108", Some("99"), Some("+0100")).to_fhir(),
            "2009-01-08"
        );
        assert!(DicomDateTime::read(Some("2009"), None, None).is_none());
        assert!(DicomDateTime::read(None, Some("1104"), None).is_none());
    }

    #[test]
    fn spans_follow_the_dicom_precision_and_the_offset() {
        let day = day_start(2009, 1, 8).unwrap();
        let hour = 3600 * MICROS_PER_SECOND;
        assert_eq!(
            dt("20090108", None, None).span(),
            Span {
                start: day,
                end: day + MICROS_PER_DAY
            }
        );
        assert_eq!(
            dt("20090108", Some("10"), None).span(),
            Span {
                start: day + 10 * hour,
                end: day + 11 * hour
            }
        );
        let s = dt("20090108", Some("1004"), Some("+0100")).span();
        assert_eq!(s.start, day + 9 * hour + 4 * 60 * MICROS_PER_SECOND);
        assert_eq!(s.end - s.start, 60 * MICROS_PER_SECOND);
        let s = dt("20090108", Some("100409.12"), None).span();
        assert_eq!(s.end - s.start, 10_000);
        assert_eq!(s.start % MICROS_PER_SECOND, 120_000);
        // A date alone in a zone is that zone's day.
        assert_eq!(
            dt("20090108", None, Some("-0200")).span().start,
            day + 2 * hour
        );
    }

    #[test]
    fn day_start_is_days_since_the_epoch() {
        assert_eq!(day_start(1970, 1, 1), Some(0));
        assert_eq!(day_start(1970, 1, 2), Some(MICROS_PER_DAY));
        assert_eq!(day_start(2013, 2, 29), None);
        assert_eq!(day_start(2013, 13, 1), None);
    }
}
