//! DICOM value text (DA, TM, PN) turned into HealthVault values.
//!
//! Lenient on read, as old files demand: DA also as `YYYY.MM.DD`, TM also as `HH:MM:SS`,
//! space padding ignored. Anything that does not make a valid date yields `None`.

use crate::study::{HvDate, HvDateTime, HvTime, Name};

/// DA (`YYYYMMDD`, or legacy `YYYY.MM.DD`) to a date.
pub fn parse_da(da: &str) -> Option<HvDate> {
    let digits: String = da.trim().chars().filter(|c| *c != '.').collect();
    if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| digits[r].parse::<i64>().ok();
    HvDate::new(num(0..4)?, num(4..6)?, num(6..8)?).ok()
}

/// TM (`HH[MM[SS[.F{1,6}]]]`, or legacy `HH:MM:SS.frac`) to a time. HealthVault needs the
/// minute, so a bare hour means minute 0.
pub fn parse_tm(tm: &str) -> Option<HvTime> {
    let tm = tm.trim();
    let (whole, frac) = match tm.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (tm, None),
    };
    let whole: String = whole.chars().filter(|c| *c != ':').collect();
    if whole.is_empty()
        || !whole.len().is_multiple_of(2)
        || whole.len() > 6
        || !whole.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let part = |i: usize| whole.get(i..i + 2).and_then(|s| s.parse::<i64>().ok());
    let hour = part(0)?;
    let minute = part(2).unwrap_or(0);
    let second = part(4);
    let millis = match (second, frac) {
        (Some(_), Some(f))
            if !f.is_empty() && f.len() <= 6 && f.bytes().all(|b| b.is_ascii_digit()) =>
        {
            let padded = format!("{f:0<3}");
            padded[..3].parse::<i64>().ok()
        }
        (_, Some(f)) if !f.is_empty() => return None,
        _ => None,
    };
    HvTime::new(hour, minute, second, millis).ok()
}

/// DA + TM to a HealthVault date-time; the time is dropped if it does not parse.
pub fn parse_da_tm(da: Option<&str>, tm: Option<&str>) -> Option<HvDateTime> {
    let date = parse_da(da?)?;
    Some(HvDateTime {
        date,
        time: tm.and_then(parse_tm),
        tz: None,
    })
}

/// The parts of a PN's alphabetic group: family, given, middle, prefix, suffix.
pub fn person_name_parts(pn: &str) -> [Option<&str>; 5] {
    let alphabetic = pn.split('=').next().unwrap_or("");
    let mut parts = alphabetic
        .split('^')
        .map(|p| Some(p.trim()).filter(|p| !p.is_empty()));
    std::array::from_fn(|_| parts.next().flatten())
}

/// A PN as people write it: `Doe^Jane^Q^Dr^MD` becomes `Dr Jane Q Doe MD`.
///
/// Falls back to the ideographic or phonetic group when the alphabetic one is empty.
pub fn person_name_display(pn: &str) -> Option<String> {
    let display_of = |group: &str| {
        let mut parts = group.split('^').map(str::trim);
        let family = parts.next().unwrap_or("");
        let given = parts.next().unwrap_or("");
        let middle = parts.next().unwrap_or("");
        let prefix = parts.next().unwrap_or("");
        let suffix = parts.next().unwrap_or("");
        let words: Vec<&str> = [prefix, given, middle, family, suffix]
            .into_iter()
            .filter(|w| !w.is_empty())
            .collect();
        (!words.is_empty()).then(|| words.join(" "))
    };
    pn.split('=').find_map(display_of)
}

/// A PN as a HealthVault `t:name`.
pub(crate) fn person_name(pn: &str) -> Option<Name> {
    let full = person_name_display(pn)?;
    let [family, given, middle, _, _] = person_name_parts(pn);
    Some(Name {
        full,
        first: given.map(str::to_owned),
        middle: middle.map(str::to_owned),
        last: family.map(str::to_owned),
        ..Name::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn da_accepts_modern_and_legacy_forms() {
        let d = parse_da("20090108").unwrap();
        assert_eq!((d.year(), d.month(), d.day()), (2009, 1, 8));
        assert_eq!(parse_da("2009.01.08 "), Some(d));
        assert_eq!(parse_da("20090230"), None);
        assert_eq!(parse_da(""), None);
        assert_eq!(parse_da("0000000"), None);
    }

    #[test]
    fn tm_accepts_partial_fractional_and_legacy_forms() {
        let t = parse_tm("110409.097").unwrap();
        assert_eq!(
            (t.hour(), t.minute(), t.second(), t.millis()),
            (11, 4, Some(9), Some(97))
        );
        let t = parse_tm("11:04:09.5").unwrap();
        assert_eq!(t.millis(), Some(500));
        let t = parse_tm("1104").unwrap();
        assert_eq!((t.hour(), t.minute(), t.second()), (11, 4, None));
        assert_eq!(parse_tm("11").unwrap().minute(), 0);
        assert_eq!(parse_tm("250000"), None);
        assert_eq!(parse_tm("1104.5"), None);
        assert_eq!(parse_tm("abc"), None);
    }

    #[test]
    fn person_names_read_as_people_write_them() {
        assert_eq!(
            person_name_display("Doe^Jane^Q^Dr^MD").as_deref(),
            Some("Dr Jane Q Doe MD")
        );
        assert_eq!(
            person_name_display("MUNDAY^LETICIA").as_deref(),
            Some("LETICIA MUNDAY")
        );
        assert_eq!(
            person_name_display("=山田^太郎").as_deref(),
            Some("太郎 山田")
        );
        assert_eq!(person_name_display("^^^^"), None);
        let name = person_name("Pierce^Benjamin").unwrap();
        assert_eq!(name.full, "Benjamin Pierce");
        assert_eq!(name.last.as_deref(), Some("Pierce"));
    }
}
