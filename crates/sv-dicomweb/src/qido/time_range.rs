//! DA and TM values and ranges (PS3.4 C.2.2.2.5): `a-b`, `a-`, `-b`, inclusive.
//!
//! Query values are read strictly (`YYYYMMDD`; `HH[MM[SS[.F{1,6}]]]`) and a partial time
//! stands for its whole precision. Stored values are read leniently with sv-model's readers.

use sv_model::study::{parse_da, parse_tm};

/// An inclusive range of dates as `YYYYMMDD` numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DateRange {
    pub from: u32,
    pub to: u32,
}

/// An inclusive range of times of day, in microseconds since midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeRange {
    pub from: u64,
    pub to: u64,
}

const DAY_MICROS: u64 = 86_400_000_000;

/// A DA query value or range; `None` when it is not one.
pub(crate) fn date_range(value: &str) -> Option<DateRange> {
    let (from, to) = bounds(value)?;
    let from = match from {
        Some(d) => query_date(d)?,
        None => 0,
    };
    let to = match to {
        Some(d) => query_date(d)?,
        None => u32::MAX,
    };
    (from <= to).then_some(DateRange { from, to })
}

/// A TM query value or range; `None` when it is not one.
pub(crate) fn time_range(value: &str) -> Option<TimeRange> {
    let (from, to) = bounds(value)?;
    let from = match from {
        Some(t) => query_time(t)?.0,
        None => 0,
    };
    let to = match to {
        Some(t) => query_time(t)?.1,
        None => DAY_MICROS - 1,
    };
    (from <= to).then_some(TimeRange { from, to })
}

/// A value split into its range bounds: `a` is `(a, a)`, `a-b`, `a-` and `-b` as written.
/// `-` alone and more than one `-` are not ranges.
fn bounds(value: &str) -> Option<(Option<&str>, Option<&str>)> {
    match value.split_once('-') {
        None => Some((Some(value), Some(value))),
        Some((a, b)) if b.contains('-') || (a.is_empty() && b.is_empty()) => None,
        Some((a, b)) => Some(((!a.is_empty()).then_some(a), (!b.is_empty()).then_some(b))),
    }
}

fn query_date(value: &str) -> Option<u32> {
    if value.len() != 8 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    stored_date(value)
}

/// The first and last microsecond a query time stands for.
fn query_time(value: &str) -> Option<(u64, u64)> {
    let (whole, frac) = match value.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (value, None),
    };
    if whole.is_empty()
        || whole.len() > 6
        || !whole.len().is_multiple_of(2)
        || !whole.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let field = |i: usize| {
        whole
            .get(i..i + 2)
            .map(|s| s.parse::<u64>().expect("digits"))
    };
    let (hour, minute, second) = (field(0)?, field(2), field(4));
    if hour > 23 || minute.is_some_and(|m| m > 59) || second.is_some_and(|s| s > 60) {
        return None;
    }
    let start_of = |h: u64, m: u64, s: u64| ((h * 60 + m) * 60 + s) * 1_000_000;
    let start = start_of(hour, minute.unwrap_or(0), second.unwrap_or(0));
    match frac {
        Some(f) => {
            if second.is_none()
                || f.is_empty()
                || f.len() > 6
                || !f.bytes().all(|b| b.is_ascii_digit())
            {
                return None;
            }
            let unit = 10u64.pow(6 - f.len() as u32);
            let micros = f.parse::<u64>().ok()? * unit;
            Some((start + micros, start + micros + unit - 1))
        }
        None => {
            let span = match (minute, second) {
                (None, _) => 3_600_000_000,
                (Some(_), None) => 60_000_000,
                (Some(_), Some(_)) => 1_000_000,
            };
            Some((start, start + span - 1))
        }
    }
}

/// A stored DA as a `YYYYMMDD` number.
pub(crate) fn stored_date(value: &str) -> Option<u32> {
    let d = parse_da(value)?;
    Some(u32::from(d.year()) * 10_000 + u32::from(d.month()) * 100 + u32::from(d.day()))
}

/// A stored TM as microseconds since midnight (millisecond precision, as sv-model reads it).
pub(crate) fn stored_time(value: &str) -> Option<u64> {
    let t = parse_tm(value)?;
    let seconds = (u64::from(t.hour()) * 60 + u64::from(t.minute())) * 60
        + u64::from(t.second().unwrap_or(0));
    Some(seconds * 1_000_000 + u64::from(t.millis().unwrap_or(0)) * 1_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_ranges() {
        assert_eq!(
            date_range("20200101-20201231"),
            Some(DateRange {
                from: 20200101,
                to: 20201231
            })
        );
        assert_eq!(date_range("20200101-").unwrap().to, u32::MAX);
        assert_eq!(date_range("-20200101").unwrap().from, 0);
        assert_eq!(date_range("20200101").unwrap().to, 20200101);
        for bad in [
            "-",
            "2020",
            "20201301",
            "2020-01-01",
            "20201231-20200101",
            "x",
        ] {
            assert_eq!(date_range(bad), None, "{bad}");
        }
    }

    #[test]
    fn partial_times_cover_their_precision() {
        let hour = time_range("10").unwrap();
        assert_eq!((hour.from, hour.to), (36_000_000_000, 39_599_999_999));
        let minute = time_range("1030").unwrap();
        assert_eq!(minute.to - minute.from, 59_999_999);
        let frac = time_range("103000.5").unwrap();
        assert_eq!(frac.to - frac.from, 99_999);
        let open = time_range("1000-").unwrap();
        assert_eq!(open.to, DAY_MICROS - 1);
        for bad in ["24", "1", "10:30", "1060", "10.5", "1130-1000", "10-11-12"] {
            assert_eq!(time_range(bad), None, "{bad}");
        }
    }
}
