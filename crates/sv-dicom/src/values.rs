//! Typed readings of DICOM value strings: DA, TM (incl. legacy forms), UTC offsets, PN display.

/// A calendar date from a DA value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DicomDate {
    /// Four-digit year.
    pub year: u16,
    /// 1–12.
    pub month: u8,
    /// 1–31 (checked against the month, leap years included).
    pub day: u8,
}

/// A time of day from a TM value; components absent on the right are `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DicomTime {
    /// 0–23.
    pub hour: u8,
    /// 0–59.
    pub minute: Option<u8>,
    /// 0–60 (a leap second is allowed).
    pub second: Option<u8>,
    /// Fraction of a second in microseconds, when given.
    pub micros: Option<u32>,
}

fn digits(s: &str) -> Option<u32> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())?
}

/// Reads a DA value: `YYYYMMDD`, or the legacy ACR-NEMA `YYYY.MM.DD`.
pub fn parse_da(value: &str) -> Option<DicomDate> {
    let v = value.trim();
    let compact: String;
    let v = if v.len() == 10 && v.as_bytes()[4] == b'.' && v.as_bytes()[7] == b'.' {
        compact = v.replace('.', "");
        compact.as_str()
    } else {
        v
    };
    if v.len() != 8 {
        return None;
    }
    let year = digits(&v[0..4])? as u16;
    let month = digits(&v[4..6])? as u8;
    let day = digits(&v[6..8])? as u8;
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let max_day = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (1..=max_day)
        .contains(&day)
        .then_some(DicomDate { year, month, day })
}

/// Reads a TM value: `HH[MM[SS[.F{1,6}]]]`, or the legacy `HH:MM[:SS[.F]]`.
pub fn parse_tm(value: &str) -> Option<DicomTime> {
    let v = value.trim();
    let (main, frac) = match v.split_once('.') {
        Some((m, f)) => (m, Some(f)),
        None => (v, None),
    };
    let main: String = if main.contains(':') {
        let parts: Vec<&str> = main.split(':').collect();
        if parts.iter().any(|p| p.len() != 2) || parts.len() > 3 {
            return None;
        }
        parts.concat()
    } else {
        main.to_string()
    };
    if main.is_empty() || !main.len().is_multiple_of(2) || main.len() > 6 {
        return None;
    }
    let hour = digits(&main[0..2])? as u8;
    let minute = if main.len() >= 4 {
        Some(digits(&main[2..4])? as u8)
    } else {
        None
    };
    let second = if main.len() == 6 {
        Some(digits(&main[4..6])? as u8)
    } else {
        None
    };
    if hour > 23 || minute.is_some_and(|m| m > 59) || second.is_some_and(|s| s > 60) {
        return None;
    }
    let micros = match frac {
        None => None,
        Some(f) if second.is_some() && (1..=6).contains(&f.len()) => {
            let n = digits(f)?;
            Some(n * 10u32.pow(6 - f.len() as u32))
        }
        Some(_) => return None,
    };
    Some(DicomTime {
        hour,
        minute,
        second,
        micros,
    })
}

/// Reads a Timezone Offset From UTC (`+hhmm` / `-hhmm`) as minutes east of UTC.
pub fn parse_utc_offset(value: &str) -> Option<i32> {
    let v = value.trim();
    if v.len() != 5 {
        return None;
    }
    let sign = match &v[..1] {
        "+" => 1,
        "-" => -1,
        _ => return None,
    };
    let h = digits(&v[1..3])? as i32;
    let m = digits(&v[3..5])? as i32;
    (h <= 14 && m < 60).then_some(sign * (h * 60 + m))
}

/// A PN value for display: `Doe^Jane^^Dr^PhD` becomes `Dr Jane Doe, PhD`.
///
/// Uses the first value and its alphabetic group (the ideographic one when that is empty).
pub fn pn_display(value: &str) -> String {
    let first = value.split('\\').next().unwrap_or("");
    let mut groups = first.split('=');
    let alpha = groups.next().unwrap_or("");
    let group = if alpha.trim().is_empty() {
        groups.next().unwrap_or("")
    } else {
        alpha
    };
    let c: Vec<&str> = group.split('^').map(str::trim).collect();
    let get = |i: usize| c.get(i).copied().unwrap_or("");
    let (family, given, middle, prefix, suffix) = (get(0), get(1), get(2), get(3), get(4));
    let mut out = [prefix, given, middle, family]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    if !suffix.is_empty() {
        if !out.is_empty() {
            out.push_str(", ");
        }
        out.push_str(suffix);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn da_forms() {
        let d = |y, m, d| {
            Some(DicomDate {
                year: y,
                month: m,
                day: d,
            })
        };
        assert_eq!(parse_da("20090108"), d(2009, 1, 8));
        assert_eq!(parse_da("2009.01.08 "), d(2009, 1, 8));
        assert_eq!(parse_da("20000229"), d(2000, 2, 29));
        assert_eq!(parse_da("19000229"), None);
        assert_eq!(parse_da("2009010"), None);
        assert_eq!(parse_da("20091301"), None);
    }

    #[test]
    fn tm_forms() {
        let t = parse_tm("101112.123").unwrap();
        assert_eq!(
            (t.hour, t.minute, t.second, t.micros),
            (10, Some(11), Some(12), Some(123_000))
        );
        let t = parse_tm("07").unwrap();
        assert_eq!((t.hour, t.minute, t.second), (7, None, None));
        let t = parse_tm("10:11:12.5").unwrap();
        assert_eq!((t.second, t.micros), (Some(12), Some(500_000)));
        assert_eq!(parse_tm("1011").unwrap().minute, Some(11));
        assert!(parse_tm("2511").is_none());
        assert!(parse_tm("101").is_none());
        assert!(parse_tm("1011.5").is_none());
        assert!(parse_tm("101112.1234567").is_none());
    }

    #[test]
    fn offsets() {
        assert_eq!(parse_utc_offset("+0100"), Some(60));
        assert_eq!(parse_utc_offset("-0530"), Some(-330));
        assert_eq!(parse_utc_offset("0100"), None);
    }

    #[test]
    fn person_names() {
        assert_eq!(pn_display("Doe^Jane"), "Jane Doe");
        assert_eq!(
            pn_display("Adams^John Robert Quincy^^Rev.^B.A. M.Div."),
            "Rev. John Robert Quincy Adams, B.A. M.Div."
        );
        assert_eq!(
            pn_display("Yamada^Tarou=山田^太郎=やまだ^たろう"),
            "Tarou Yamada"
        );
        assert_eq!(pn_display("=山田^太郎"), "太郎 山田");
        assert_eq!(pn_display("CompressedSamples^CT1"), "CT1 CompressedSamples");
        assert_eq!(pn_display(""), "");
    }
}
