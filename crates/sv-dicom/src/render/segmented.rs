//! Segmented palette colour lookup tables (PS3.3 C.7.9.2): discrete, linear and indirect
//! segments expanded into a plain table.
//!
//! The work is bounded whatever the data says: the table stops at the number of entries its
//! descriptor declares (at most 65,536), an indirect segment may only copy discrete and linear
//! segments (C.7.9.2.3, so no recursion and no loop), and the segments visited are counted
//! against the data's length plus the entries, so zero-length segments cannot spin either.

use thiserror::Error;

/// Why segmented table data cannot be expanded.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub(crate) enum SegmentError {
    #[error("a linear segment has no previous entry to start from")]
    LinearFirst,
    #[error("an indirect segment copies another indirect segment")]
    NestedIndirect,
    #[error("reserved segment opcode {0}")]
    Reserved(u16),
    #[error("a segment runs past the end of the data")]
    Truncated,
    #[error("an indirect segment's byte offset {0} is not a segment in the data")]
    BadOffset(u32),
    #[error("more segments than the data and the table can hold")]
    TooManySegments,
    #[error("the segments expand to no entries")]
    Empty,
}

/// Expands `words` (16-bit entries; for 8-bit tables each byte widened to a word) into at most
/// `entries` entries. `entry_bytes` (1 or 2) turns an indirect segment's byte offset into a
/// position in `words`. A table shorter than declared is returned as is: lookups clamp at its
/// last entry.
pub(crate) fn expand(
    words: &[u16],
    entry_bytes: u32,
    entries: usize,
) -> Result<Vec<u16>, SegmentError> {
    let mut out = Vec::with_capacity(entries.min(65536));
    let mut budget = words.len() + entries + 1;
    let mut spend = || {
        budget = budget.checked_sub(1).ok_or(SegmentError::TooManySegments)?;
        Ok::<(), SegmentError>(())
    };
    let mut at = 0;
    // `at + 1`: a trailing pad word or byte cannot start a segment
    while at + 1 < words.len() && out.len() < entries {
        spend()?;
        if words[at] != 2 {
            at = direct(words, at, &mut out, entries)?;
            continue;
        }
        let (count, offset, next) = indirect(words, at, entry_bytes)?;
        let mut from = offset;
        for _ in 0..count {
            if out.len() >= entries {
                break;
            }
            spend()?;
            from = direct(words, from, &mut out, entries)?;
        }
        at = next;
    }
    if out.is_empty() {
        return Err(SegmentError::Empty);
    }
    Ok(out)
}

/// The indirect segment at `at`: (segments to copy, their position, the next segment's).
fn indirect(
    words: &[u16],
    at: usize,
    entry_bytes: u32,
) -> Result<(u16, usize, usize), SegmentError> {
    let field = |i: usize| words.get(at + i).copied().ok_or(SegmentError::Truncated);
    let count = field(1)?;
    // Four bytes of offset, least significant 16 bits first: two words, or four byte entries.
    let (offset, next) = if entry_bytes == 2 {
        (u32::from(field(2)?) | u32::from(field(3)?) << 16, at + 4)
    } else {
        let b = [field(2)?, field(3)?, field(4)?, field(5)?].map(|w| w as u8);
        (u32::from_le_bytes(b), at + 6)
    };
    let start = (offset % entry_bytes == 0)
        .then(|| (offset / entry_bytes) as usize)
        .filter(|&s| s + 1 < words.len())
        .ok_or(SegmentError::BadOffset(offset))?;
    Ok((count, start, next))
}

/// Expands the discrete or linear segment at `at` into `out` (up to `entries` in all) and
/// returns where the next segment starts.
fn direct(
    words: &[u16],
    at: usize,
    out: &mut Vec<u16>,
    entries: usize,
) -> Result<usize, SegmentError> {
    let room = entries - out.len();
    let (op, len) = match words.get(at..at + 2) {
        Some(&[op, len]) => (op, usize::from(len)),
        _ => return Err(SegmentError::Truncated),
    };
    match op {
        0 => {
            let values = words
                .get(at + 2..at + 2 + len)
                .ok_or(SegmentError::Truncated)?;
            out.extend_from_slice(&values[..len.min(room)]);
            Ok(at + 2 + len)
        }
        1 => {
            let y1 = f64::from(*words.get(at + 2).ok_or(SegmentError::Truncated)?);
            let y0 = f64::from(*out.last().ok_or(SegmentError::LinearFirst)?);
            // from the previous segment's end (excluded) to y1 (included), rounded half up
            let step = (y1 - y0) / len as f64;
            out.extend((1..=len.min(room)).map(|k| (y0 + step * k as f64 + 0.5).floor() as u16));
            Ok(at + 3)
        }
        2 => Err(SegmentError::NestedIndirect),
        other => Err(SegmentError::Reserved(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discrete_then_linear_ramps_from_the_previous_end() {
        let t = expand(&[0, 2, 10, 20, 1, 4, 60], 2, 100).unwrap();
        assert_eq!(t, [10, 20, 30, 40, 50, 60]);
        // descending, rounded half up: 20 + (11 - 20) * k / 2
        let t = expand(&[0, 1, 20, 1, 2, 11], 2, 100).unwrap();
        assert_eq!(t, [20, 16, 11]);
    }

    #[test]
    fn indirect_offsets_are_bytes_and_copy_segments_in_order() {
        let words = [
            0, 2, 1, 2, // byte 0: discrete [1, 2]
            1, 2, 8, // byte 8: linear to 8 -> [5, 8]
            2, 1, 8, 0, // copy the segment at byte 8 (word 4): linear from 8 to 8 -> [8, 8]
            2, 2, 0, 0, // copy two segments from byte 0: [1, 2], then linear from 2 -> [5, 8]
        ];
        let t = expand(&words, 2, 100).unwrap();
        assert_eq!(t, [1, 2, 5, 8, 8, 8, 1, 2, 5, 8]);
    }

    #[test]
    fn eight_bit_tables_use_byte_segments_and_four_byte_offsets() {
        // the SPRING palette's red table: discrete [255], linear 255 entries to 255
        let t = expand(&[0, 1, 255, 1, 255, 255], 1, 256).unwrap();
        assert_eq!(t, vec![255; 256]);
        let t = expand(&[0, 2, 7, 9, 2, 1, 0, 0, 0, 0], 1, 256).unwrap();
        assert_eq!(t, [7, 9, 7, 9]);
    }

    #[test]
    fn the_declared_length_bounds_the_table() {
        // a 1001-entry start copied 1000 times would be a million entries
        let mut words = vec![0, 1, 0, 1, 1000, 65535];
        for _ in 0..1000 {
            words.extend([2, 1, 6, 0]);
        }
        let t = expand(&words, 2, 65536).unwrap();
        assert_eq!(t.len(), 65536);
        assert_eq!(expand(&words, 2, 3).unwrap(), [0, 66, 131]);
    }

    #[test]
    fn hostile_segments_are_refused_not_followed() {
        use SegmentError::*;
        assert_eq!(expand(&[1, 4, 100], 2, 10), Err(LinearFirst));
        assert_eq!(expand(&[0, 5, 1, 2], 2, 10), Err(Truncated));
        assert_eq!(expand(&[0, 1, 3, 2, 1, 0], 2, 10), Err(Truncated));
        assert_eq!(expand(&[7, 1, 1], 2, 10), Err(Reserved(7)));
        // pointing at itself
        assert_eq!(expand(&[0, 1, 3, 2, 1, 6, 0], 2, 10), Err(NestedIndirect));
        assert_eq!(
            expand(&[0, 1, 3, 2, 1, 0xFFFE, 0], 2, 10),
            Err(BadOffset(0xFFFE))
        );
        assert_eq!(expand(&[0, 1, 3, 2, 1, 1, 0], 2, 10), Err(BadOffset(1)));
        assert_eq!(expand(&[0, 0, 0, 0], 2, 10), Err(Empty));
        // 65535 empty segments, copied whole by each of 100 indirect segments: the budget of
        // segment visits (data length + entries) ends it instead of 6.5 million visits
        let mut words = vec![0, 1, 9];
        words.extend(std::iter::repeat_n([0, 0], 65535).flatten());
        for _ in 0..100 {
            words.extend([2, 65535, 6, 0]);
        }
        assert_eq!(expand(&words, 2, 10), Err(TooManySegments));
    }
}
