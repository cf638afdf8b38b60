//! Byte-level structure scan of a data set before dicom-rs sees it.
//!
//! dicom-rs allocates (and zeroes) an element's declared length before reading it, so a 1 KiB file
//! declaring 4 GiB, or data read with the wrong transfer syntax, costs gigabytes and seconds. This
//! scan checks, without allocating, that every declared length fits in the bytes present, and
//! counts sequence nesting against the limit. It is iterative: no recursion on hostile input.

use std::ops::Range;

use dicom_core::Tag;
use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_dictionary_std::StandardDataDictionary;

use crate::error::DicomError;
use crate::framing::looks_like_vr;

const UNDEFINED: u32 = 0xFFFF_FFFF;

/// How the data set is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Encoding {
    pub explicit_vr: bool,
    pub big_endian: bool,
}

#[derive(Debug)]
enum Open {
    /// A sequence or item ending at a known offset.
    Until(usize),
    /// An undefined-length sequence (ends with a sequence delimiter).
    Sequence,
    /// An undefined-length item (ends with an item delimiter).
    Item,
    /// Encapsulated Pixel Data: its items are opaque fragments, skipped whole.
    Fragments,
}

/// Scans the data set (up to the top-level Pixel Data when `header_only`); `Err` says why
/// dicom-rs should not be given these bytes. Pixel Data is checked too on a full scan: a
/// corrupted length there would otherwise be allocated before the read fails.
///
/// `Ok` lists elements dicom-rs cannot read but which can be dropped: undefined-length VR UN
/// elements (private sequences whose content is implicit VR, PS3.5 6.2.2) outside any
/// defined-length container. pydicom reads them; dicom-rs fails on the whole file otherwise.
pub(crate) fn scan(
    data: &[u8],
    enc: Encoding,
    max_depth: u32,
    header_only: bool,
) -> Result<Vec<Range<usize>>, DicomError> {
    let mut dropped = Vec::new();
    let u16_at = |p: usize| {
        let b = [data[p], data[p + 1]];
        if enc.big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    };
    let u32_at = |p: usize| {
        let b = [data[p], data[p + 1], data[p + 2], data[p + 3]];
        if enc.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    };
    let truncated = |tag: Tag, end: usize| DicomError::Truncated {
        detail: format!(
            "element {tag} ends at byte {end}, the data set has {}",
            data.len()
        ),
    };
    let mut stack: Vec<Open> = Vec::new();
    let mut pos = 0usize;
    loop {
        while let Some(Open::Until(end)) = stack.last() {
            if pos < *end {
                break;
            }
            if pos > *end {
                return Err(malformed("an element runs past the end of its sequence"));
            }
            stack.pop();
        }
        if pos == data.len() {
            return if stack.iter().all(|o| matches!(o, Open::Until(_))) {
                Ok(dropped)
            } else {
                Err(DicomError::Truncated {
                    detail: "data ends inside an undefined-length sequence".into(),
                })
            };
        }
        if pos + 8 > data.len() {
            return Err(DicomError::Truncated {
                detail: "data ends inside an element header".into(),
            });
        }
        let tag = Tag(u16_at(pos), u16_at(pos + 2));
        if tag.group() == 0xFFFE {
            let len = u32_at(pos + 4);
            pos += 8;
            match tag.element() {
                0xE000 if matches!(stack.last(), Some(Open::Fragments)) => {
                    pos = pos
                        .checked_add(len as usize)
                        .filter(|&e| e <= data.len() && len != UNDEFINED)
                        .ok_or_else(|| truncated(tag, pos.saturating_add(len as usize)))?;
                }
                0xE000 if len == UNDEFINED => stack.push(Open::Item),
                0xE000 => {
                    let end = pos.checked_add(len as usize).filter(|&e| e <= data.len());
                    stack.push(Open::Until(
                        end.ok_or_else(|| truncated(tag, pos + len as usize))?,
                    ));
                }
                0xE00D => {
                    if !matches!(stack.pop(), Some(Open::Item)) {
                        return Err(malformed("item delimiter outside an item"));
                    }
                }
                0xE0DD => {
                    if !matches!(stack.pop(), Some(Open::Sequence | Open::Fragments)) {
                        return Err(malformed("sequence delimiter outside a sequence"));
                    }
                }
                _ => return Err(malformed("unknown item tag")),
            }
            continue;
        }
        if header_only && stack.is_empty() && tag.group() == 0x7FE0 && tag.element() == 0x0010 {
            return Ok(dropped);
        }
        let (header, len, is_sq) = if enc.explicit_vr {
            let vr = &data[pos + 4..pos + 6];
            if !looks_like_vr(vr) {
                return Err(malformed("element without a value representation"));
            }
            if matches!(
                vr,
                b"OB"
                    | b"OW"
                    | b"OF"
                    | b"SQ"
                    | b"UT"
                    | b"UN"
                    | b"OD"
                    | b"OL"
                    | b"UC"
                    | b"UR"
                    | b"OV"
                    | b"SV"
                    | b"UV"
            ) {
                if pos + 12 > data.len() {
                    return Err(truncated(tag, pos + 12));
                }
                (12, u32_at(pos + 8), vr == b"SQ")
            } else {
                (8, u32::from(u16_at(pos + 6)), false)
            }
        } else {
            let sq = StandardDataDictionary
                .by_tag(tag)
                .is_some_and(|e| e.vr().relaxed() == dicom_core::VR::SQ);
            (8, u32_at(pos + 4), sq)
        };
        if enc.explicit_vr
            && len == UNDEFINED
            && &data[pos + 4..pos + 6] == b"UN"
            && !stack.iter().any(|o| matches!(o, Open::Until(_)))
        {
            let end = implicit_sequence_end(data, pos + header, enc.big_endian, max_depth)?;
            dropped.push(pos..end);
            pos = end;
            continue;
        }
        pos += header;
        if len == UNDEFINED || is_sq {
            if stack.len() as u32 / 2 >= max_depth {
                return Err(DicomError::TooLarge {
                    what: "sequence nesting depth",
                    actual: u64::from(max_depth) + 1,
                    limit: u64::from(max_depth),
                });
            }
            if len == UNDEFINED && tag == Tag(0x7FE0, 0x0010) {
                stack.push(Open::Fragments);
            } else if len == UNDEFINED {
                stack.push(Open::Sequence);
            } else {
                let end = pos + len as usize;
                if end > data.len() {
                    return Err(truncated(tag, end));
                }
                stack.push(Open::Until(end));
            }
            continue;
        }
        let end = pos + len as usize;
        if end > data.len() {
            return Err(truncated(tag, end));
        }
        pos = end;
    }
}

/// The end of an undefined-length sequence whose content is implicit VR (just past its
/// sequence delimiter), starting at its first item.
fn implicit_sequence_end(
    data: &[u8],
    mut pos: usize,
    big_endian: bool,
    max_depth: u32,
) -> Result<usize, DicomError> {
    let u16_at = |p: usize| {
        let b = [data[p], data[p + 1]];
        if big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    };
    let u32_at = |p: usize| {
        let b = [data[p], data[p + 1], data[p + 2], data[p + 3]];
        if big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    };
    // open undefined-length containers inside the sequence (items and nested sequences)
    let mut open = 0u32;
    while pos + 8 <= data.len() {
        let (group, element, len) = (u16_at(pos), u16_at(pos + 2), u32_at(pos + 4));
        pos += 8;
        match (group, element) {
            (0xFFFE, 0xE0DD) | (0xFFFE, 0xE00D) if open == 0 => {
                if element == 0xE0DD {
                    return Ok(pos);
                }
                return Err(malformed("item delimiter outside an item"));
            }
            (0xFFFE, 0xE0DD) | (0xFFFE, 0xE00D) => open -= 1,
            _ if len == UNDEFINED => {
                open += 1;
                if open / 2 >= max_depth {
                    return Err(DicomError::TooLarge {
                        what: "sequence nesting depth",
                        actual: u64::from(max_depth) + 1,
                        limit: u64::from(max_depth),
                    });
                }
            }
            _ => {
                pos = pos
                    .checked_add(len as usize)
                    .filter(|&e| e <= data.len())
                    .ok_or_else(|| DicomError::Truncated {
                        detail: "an undefined-length UN sequence runs past the end".into(),
                    })?;
            }
        }
    }
    Err(DicomError::Truncated {
        detail: "an undefined-length UN sequence has no delimiter".into(),
    })
}

fn malformed(what: &str) -> DicomError {
    DicomError::Malformed {
        detail: what.to_string(),
    }
}
