//! One matching criterion: a query value read for its attribute's VR, and the test of a
//! row's values against it (the rules are listed in the `qido` module notes).

use crate::attributes::{Attribute, Row, Vr};
use crate::error::QidoError;
use crate::qido::time_range::{
    DateRange, TimeRange, date_range, stored_date, stored_time, time_range,
};
use crate::qido::wildcard::{has_wildcard, wildcard_match};

/// At most this many UIDs in one UID-list value.
pub const MAX_UIDS: usize = 1000;

/// A key and the value it must match.
#[derive(Debug, Clone)]
pub(crate) struct Criterion {
    pub attribute: &'static Attribute,
    matcher: Matcher,
}

#[derive(Debug, Clone)]
enum Matcher {
    /// Case-sensitive text, exact or with wildcards.
    Text(String),
    /// Any of several CS values (a backslash list).
    AnyText(Vec<String>),
    /// A person name (case-insensitive; fuzzy when asked).
    Name(String),
    Uids(Vec<String>),
    Date(DateRange),
    Time(TimeRange),
    Number(i64),
}

impl Criterion {
    /// The criterion for `value` on `attribute`, or `None` for universal matching (empty or
    /// `*`). `key` is the key as written, for errors.
    pub fn parse(
        attribute: &'static Attribute,
        key: &str,
        value: &str,
    ) -> Result<Option<Criterion>, QidoError> {
        let value = value.trim();
        if value.is_empty() || value == "*" {
            return Ok(None);
        }
        let matcher = match attribute.vr {
            Vr::CS if value.contains('\\') => Matcher::AnyText(
                value
                    .split('\\')
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ),
            Vr::CS | Vr::LO | Vr::SH | Vr::UR => Matcher::Text(value.to_owned()),
            Vr::PN => Matcher::Name(value.to_owned()),
            Vr::UI => Matcher::Uids(uid_list(key, value)?),
            Vr::DA => Matcher::Date(
                date_range(value)
                    .ok_or_else(|| QidoError::invalid(key, "not a date or date range"))?,
            ),
            Vr::TM => Matcher::Time(
                time_range(value)
                    .ok_or_else(|| QidoError::invalid(key, "not a time or time range"))?,
            ),
            Vr::IS | Vr::US => Matcher::Number(
                value
                    .parse()
                    .map_err(|_| QidoError::invalid(key, "not an integer"))?,
            ),
        };
        Ok(Some(Criterion { attribute, matcher }))
    }

    /// Whether any of the row's values for the attribute matches.
    pub fn matches(&self, row: &Row<'_>, fuzzy: bool) -> bool {
        self.attribute
            .values(row)
            .iter()
            .any(|v| self.matcher.matches(v, fuzzy))
    }
}

impl Matcher {
    fn matches(&self, stored: &str, fuzzy: bool) -> bool {
        match self {
            Matcher::Text(q) => text_matches(q, stored),
            Matcher::AnyText(qs) => qs.iter().any(|q| text_matches(q, stored)),
            Matcher::Name(q) => name_matches(q, stored, fuzzy),
            Matcher::Uids(uids) => uids.iter().any(|u| u == stored),
            Matcher::Date(r) => stored_date(stored).is_some_and(|d| r.from <= d && d <= r.to),
            Matcher::Time(r) => stored_time(stored).is_some_and(|t| r.from <= t && t <= r.to),
            Matcher::Number(n) => stored.parse::<i64>().is_ok_and(|s| s == *n),
        }
    }
}

fn text_matches(query: &str, stored: &str) -> bool {
    if has_wildcard(query) {
        wildcard_match(query, stored)
    } else {
        query == stored
    }
}

/// A PN without its empty trailing components and groups (`Doe^John^^^` is `Doe^John`).
fn normalise_name(pn: &str) -> String {
    let groups: Vec<&str> = pn
        .split('=')
        .map(|g| g.trim().trim_end_matches(['^', ' ']))
        .collect();
    let keep = groups
        .iter()
        .rposition(|g| !g.is_empty())
        .map_or(0, |i| i + 1);
    groups[..keep].join("=").to_lowercase()
}

fn name_matches(query: &str, stored: &str, fuzzy: bool) -> bool {
    let query = normalise_name(query);
    let stored = normalise_name(stored);
    let candidates = std::iter::once(stored.as_str()).chain(stored.split('='));
    if has_wildcard(&query) {
        return candidates.clone().any(|c| wildcard_match(&query, c));
    }
    if candidates.clone().any(|c| c == query) {
        return true;
    }
    fuzzy
        && stored
            .split('=')
            .any(|group| fuzzy_component_match(&query, group))
}

/// Fuzzy PN matching: one query component is a prefix of any component of the group;
/// several are each a prefix of the component at the same place (empty ones match anything).
fn fuzzy_component_match(query: &str, group: &str) -> bool {
    let name: Vec<&str> = group.split('^').map(str::trim).collect();
    let parts: Vec<&str> = query.split('^').map(str::trim).collect();
    if let [one] = parts.as_slice() {
        return !one.is_empty()
            && name
                .iter()
                .flat_map(|c| c.split(' '))
                .any(|c| c.starts_with(one));
    }
    parts
        .iter()
        .enumerate()
        .all(|(i, p)| p.is_empty() || name.get(i).is_some_and(|c| c.starts_with(p)))
}

/// A UID list: `,` or `\` separated, each UID 1–64 characters of digits and dots.
fn uid_list(key: &str, value: &str) -> Result<Vec<String>, QidoError> {
    let uids: Vec<String> = value
        .split([',', '\\'])
        .map(|u| u.trim().to_owned())
        .collect();
    if uids.len() > MAX_UIDS {
        return Err(QidoError::invalid(key, "too many UIDs in the list"));
    }
    let valid = |u: &String| {
        !u.is_empty() && u.len() <= 64 && u.bytes().all(|b| b.is_ascii_digit() || b == b'.')
    };
    if !uids.iter().all(valid) {
        return Err(QidoError::invalid(key, "not a UID or list of UIDs"));
    }
    Ok(uids)
}
