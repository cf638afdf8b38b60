//! Conditional and partial reads: `If-None-Match`, `If-Range` and single byte `Range`s.

use axum::http::HeaderMap;
use axum::http::header::IF_RANGE;
use sv_model::NamedBlob;

/// True when `If-None-Match` names this blob's tag (weak comparison) or is `*`.
pub(super) fn none_match(headers: &HeaderMap, blob: &NamedBlob) -> bool {
    crate::representation::none_match(headers, &blob.blob_id.to_string())
}

/// `If-Range` absent, or naming this blob (strong comparison): the `Range` applies.
pub(super) fn if_range_holds(headers: &HeaderMap, blob: &NamedBlob) -> bool {
    match headers.get(IF_RANGE).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(tag) => tag.trim() == format!("\"{}\"", blob.blob_id),
    }
}

/// What a `Range` header asks of a blob of `len` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum RangeAsk {
    /// No usable range (absent, another unit, malformed, or several ranges): all of it.
    Whole,
    Part(std::ops::Range<u64>),
    Unsatisfiable,
}

/// RFC 9110 §14.1.2 byte ranges, one at a time: `a-b` (b clamped to the end), `a-`, `-n`.
pub(super) fn parse_range(header: &str, len: u64) -> RangeAsk {
    let header = header.trim();
    let Some(spec) = header
        .get(..6)
        .filter(|unit| unit.eq_ignore_ascii_case("bytes="))
        .map(|_| &header[6..])
    else {
        return RangeAsk::Whole;
    };
    let mut specs = spec.split(',').map(str::trim).filter(|s| !s.is_empty());
    let (Some(one), None) = (specs.next(), specs.next()) else {
        return RangeAsk::Whole;
    };
    let Some((first, last)) = one.split_once('-') else {
        return RangeAsk::Whole;
    };
    let number = |s: &str| {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    if first.trim().is_empty() {
        return match number(last) {
            Some(0) => RangeAsk::Unsatisfiable,
            Some(_) if len == 0 => RangeAsk::Unsatisfiable,
            Some(n) => RangeAsk::Part(len.saturating_sub(n)..len),
            None => RangeAsk::Whole,
        };
    }
    let Some(first) = number(first) else {
        return RangeAsk::Whole;
    };
    let last = if last.trim().is_empty() {
        u64::MAX
    } else {
        match number(last) {
            Some(l) if l >= first => l,
            _ => return RangeAsk::Whole,
        }
    };
    if first >= len {
        return RangeAsk::Unsatisfiable;
    }
    RangeAsk::Part(first..last.min(len - 1) + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_ranges_follow_rfc_9110() {
        let part = RangeAsk::Part;
        for (header, len, expected) in [
            ("bytes=0-9", 100, part(0..10)),
            ("bytes=90-", 100, part(90..100)),
            ("bytes=90-1000", 100, part(90..100)),
            ("bytes=-10", 100, part(90..100)),
            ("bytes=-1000", 100, part(0..100)),
            (" Bytes = 5-5", 100, RangeAsk::Whole),
            ("bytes= 5-5 ", 100, part(5..6)),
            ("bytes=100-", 100, RangeAsk::Unsatisfiable),
            ("bytes=-0", 100, RangeAsk::Unsatisfiable),
            ("bytes=-5", 0, RangeAsk::Unsatisfiable),
            ("bytes=0-", 0, RangeAsk::Unsatisfiable),
            ("bytes=5-4", 100, RangeAsk::Whole),
            ("bytes=+5-9", 100, RangeAsk::Whole),
            ("bytes=0-1,3-4", 100, RangeAsk::Whole),
            ("bytes=", 100, RangeAsk::Whole),
            ("items=0-1", 100, RangeAsk::Whole),
            ("bytes=99999999999999999999-", 100, RangeAsk::Whole),
        ] {
            assert_eq!(parse_range(header, len), expected, "{header:?} of {len}");
        }
    }
}
