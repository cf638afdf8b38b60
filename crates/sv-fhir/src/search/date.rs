//! Date search values: a prefix and a FHIR date, dateTime or instant, each the span of time
//! its precision covers (year, month, day, minute, second, fraction), compared with the
//! span of the stored value as FHIR search defines (`standards.md` §3.3).
//!
//! Decisions: a value with a time but no zone is UTC (as are stored DICOM times without an
//! offset); a space where the zone's `+` should be is read as `+` (an unencoded `+` in a
//! query string decodes to a space); the hour needs its minutes; a zone needs a time.
//! `ap` (approximately) widens the searched span on both sides by 10% of the distance
//! between now and the span, and by at least one day, then matches any overlap.

use crate::datetime::{MICROS_PER_DAY, MICROS_PER_SECOND, Span, day_start, fraction_micros};

/// A date comparison prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prefix {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    Sa,
    Eb,
    Ap,
}

const PREFIXES: [(&str, Prefix); 9] = [
    ("eq", Prefix::Eq),
    ("ne", Prefix::Ne),
    ("gt", Prefix::Gt),
    ("lt", Prefix::Lt),
    ("ge", Prefix::Ge),
    ("le", Prefix::Le),
    ("sa", Prefix::Sa),
    ("eb", Prefix::Eb),
    ("ap", Prefix::Ap),
];

/// One date search value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DateValue {
    pub prefix: Prefix,
    /// The date as written (zone `+` restored), for writing it back.
    pub text: String,
    pub span: Span,
}

impl DateValue {
    pub fn parse(raw: &str) -> Result<DateValue, &'static str> {
        let (prefix, date) = match raw.as_bytes() {
            [a, b, ..] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
                let prefix = PREFIXES
                    .iter()
                    .find(|(p, _)| *p == &raw[..2])
                    .map(|(_, p)| *p)
                    .ok_or("unknown prefix")?;
                (prefix, &raw[2..])
            }
            _ => (Prefix::Eq, raw),
        };
        let text = restore_plus(date);
        let span = parse_date(&text).ok_or("bad date")?;
        Ok(DateValue { prefix, text, span })
    }

    /// The value as the canonical query writes it (`eq` left implicit).
    pub fn canonical(&self) -> String {
        let prefix = PREFIXES
            .iter()
            .find(|(_, p)| *p == self.prefix && *p != Prefix::Eq)
            .map_or("", |(s, _)| *s);
        format!("{prefix}{}", self.text)
    }

    /// Does the stored span `target` satisfy this value? `now` (µs) anchors `ap`.
    pub fn matches(&self, target: Span, now: i64) -> bool {
        let s = self.span;
        let eq = s.start <= target.start && target.end <= s.end;
        let gt = target.end > s.end;
        let lt = target.start < s.start;
        match self.prefix {
            Prefix::Eq => eq,
            Prefix::Ne => !eq,
            Prefix::Gt => gt,
            Prefix::Lt => lt,
            Prefix::Ge => gt || eq,
            Prefix::Le => lt || eq,
            Prefix::Sa => target.start >= s.end,
            Prefix::Eb => target.end <= s.start,
            Prefix::Ap => {
                let gap = if now < s.start {
                    s.start - now
                } else {
                    now.saturating_sub(s.end).max(0)
                };
                let margin = (gap / 10).max(MICROS_PER_DAY);
                target.start < s.end.saturating_add(margin)
                    && target.end > s.start.saturating_sub(margin)
            }
        }
    }
}

/// `2013-01-01T10:00:00 01:00` → `…+01:00`.
fn restore_plus(date: &str) -> String {
    match date.find('T') {
        Some(t) if date[t..].contains(' ') => {
            format!("{}{}", &date[..t], date[t..].replacen(' ', "+", 1))
        }
        _ => date.to_owned(),
    }
}

/// `YYYY[-MM[-DD[Thh:mm[:ss[.f]][Z|±hh:mm]]]]` to its span.
fn parse_date(text: &str) -> Option<Span> {
    let (date, time) = match text.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (text, None),
    };
    let fields: Vec<&str> = date.split('-').collect();
    let number = |s: &str, len: usize| -> Option<u32> {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let year = number(fields.first()?, 4).filter(|y| *y >= 1)? as i32;
    let month = optional(fields.get(1), &number)?;
    let day = optional(fields.get(2), &number)?;
    if fields.len() > 3 {
        return None;
    }
    let month8 = u8::try_from(month.unwrap_or(1)).ok()?;
    let day8 = u8::try_from(day.unwrap_or(1)).ok()?;
    let start = day_start(year, month8, day8)?;
    let Some(time) = time else {
        let end = match (month, day) {
            (_, Some(_)) => start + MICROS_PER_DAY,
            (Some(_), None) if month8 == 12 => next_year(year)?,
            (Some(_), None) => day_start(year, month8 + 1, 1)?,
            (None, _) => next_year(year)?,
        };
        return Some(Span { start, end });
    };
    day?;
    let (clock, offset) = split_zone(time)?;
    let (hm, frac) = match clock.split_once('.') {
        Some((hm, f)) => (hm, Some(f)),
        None => (clock, None),
    };
    let parts: Vec<&str> = hm.split(':').collect();
    let hour = number(parts.first()?, 2).filter(|h| *h < 24)?;
    let minute = number(parts.get(1)?, 2).filter(|m| *m < 60)?;
    let second = optional(parts.get(2), &number)?;
    if parts.len() > 3 || second.is_some_and(|s| s > 59) {
        return None;
    }
    let mut width = if second.is_some() {
        MICROS_PER_SECOND
    } else {
        60 * MICROS_PER_SECOND
    };
    let mut fraction = 0;
    if let Some(f) = frac {
        if second.is_none() || f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        fraction = fraction_micros(f);
        width = 10_i64.pow(6 - f.len().min(6) as u32);
    }
    let seconds = i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second.unwrap_or(0));
    let start = start + seconds * MICROS_PER_SECOND + fraction - offset;
    Some(Span {
        start,
        end: start + width,
    })
}

/// Splits a time from its zone: the offset in µs east of UTC (`Z` and no zone are 0).
fn split_zone(time: &str) -> Option<(&str, i64)> {
    if let Some(clock) = time.strip_suffix('Z') {
        return Some((clock, 0));
    }
    let Some(i) = time.find(['+', '-']) else {
        return Some((time, 0));
    };
    let (clock, zone) = time.split_at(i);
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let (h, m) = zone[1..].split_once(':')?;
    let valid = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !valid(h) || !valid(m) {
        return None;
    }
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    if h > 14 || m > 59 || (h == 14 && m > 0) {
        return None;
    }
    Some((clock, sign * (h * 3600 + m * 60) * MICROS_PER_SECOND))
}

/// An optional two-digit field: absent is `Some(None)`, present but bad is `None`.
fn optional(
    field: Option<&&str>,
    number: &dyn Fn(&str, usize) -> Option<u32>,
) -> Option<Option<u32>> {
    match field {
        None => Some(None),
        Some(s) => number(s, 2).map(Some),
    }
}

fn next_year(year: i32) -> Option<i64> {
    day_start(year + 1, 1, 1).or_else(|| Some(day_start(year, 12, 31)? + MICROS_PER_DAY))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(raw: &str) -> Span {
        DateValue::parse(raw).unwrap().span
    }

    #[test]
    fn every_precision_is_a_span() {
        let jan1 = day_start(2013, 1, 1).unwrap();
        assert_eq!(span("2013").start, jan1);
        assert_eq!(span("2013").end, day_start(2014, 1, 1).unwrap());
        assert_eq!(span("2013-02").end, day_start(2013, 3, 1).unwrap());
        assert_eq!(span("2013-12").end, day_start(2014, 1, 1).unwrap());
        assert_eq!(span("2013-01-01").end, jan1 + MICROS_PER_DAY);
        let minute = span("2013-01-01T10:04Z");
        assert_eq!(minute.end - minute.start, 60 * MICROS_PER_SECOND);
        let second = span("2013-01-01T10:04:09");
        assert_eq!(second.end - second.start, MICROS_PER_SECOND);
        let tenth = span("2013-01-01T10:04:09.1Z");
        assert_eq!(tenth.end - tenth.start, 100_000);
        assert_eq!(tenth.start % MICROS_PER_SECOND, 100_000);
        assert_eq!(
            span("9999").end,
            day_start(9999, 12, 31).unwrap() + MICROS_PER_DAY
        );
    }

    #[test]
    fn zones_shift_to_utc_and_a_space_is_a_plus() {
        let utc = span("2013-01-01T10:00:00Z");
        assert_eq!(span("2013-01-01T10:00:00"), utc);
        let plus = span("2013-01-01T11:00:00+01:00");
        assert_eq!(plus, utc);
        assert_eq!(span("2013-01-01T11:00:00 01:00"), utc);
        assert_eq!(span("2013-01-01T09:30:00-00:30"), utc);
        assert_eq!(
            DateValue::parse("ge2013-01-01T11:00:00 01:00")
                .unwrap()
                .canonical(),
            "ge2013-01-01T11:00:00+01:00"
        );
    }

    #[test]
    fn malformed_dates_and_prefixes_are_refused() {
        for bad in [
            "2013-13-01",
            "2013-02-30",
            "23 May 2009",
            "2013-01-01T10",
            "2013-01-01T25:00",
            "2013-01-01T10:00:61",
            "2013-01-01T10:00+15:00",
            "2013-01-01Z",
            "2013-01T10:00",
            "13-01-01",
            "2013-1-1",
            "0000",
            "2013-01-01T10:00.5",
            "",
        ] {
            assert_eq!(DateValue::parse(bad).err(), Some("bad date"), "{bad}");
        }
        assert_eq!(DateValue::parse("xx2013").err(), Some("unknown prefix"));
        assert_eq!(DateValue::parse("EQ2013").err(), Some("unknown prefix"));
    }
}
