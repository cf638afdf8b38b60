//! Finds where the data set starts: Part 10 preamble, bare `DICM`, group 2 alone, or no meta at all.
//!
//! The file meta group is scanned by hand (always explicit VR little endian, but often sloppy in
//! the wild: no group length, no transfer syntax), so dicom-rs never sees the original meta.

use crate::error::DicomError;

/// The file meta facts we keep (trimmed of padding).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct MetaInfo {
    pub transfer_syntax: Option<String>,
    pub sop_class_uid: Option<String>,
    pub sop_instance_uid: Option<String>,
}

/// The input split into its meta information (if any) and the data set bytes.
#[derive(Debug)]
pub(crate) struct Framing<'a> {
    pub meta: Option<MetaInfo>,
    pub dataset: &'a [u8],
}

const LONG_VRS: [&[u8; 2]; 13] = [
    b"OB", b"OW", b"OF", b"SQ", b"UT", b"UN", b"OD", b"OL", b"UC", b"UR", b"OV", b"SV", b"UV",
];

/// Whether two bytes spell a DICOM value representation.
pub(crate) fn looks_like_vr(b: &[u8]) -> bool {
    const ALL: [&[u8; 2]; 34] = [
        b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT", b"OB",
        b"OD", b"OF", b"OL", b"OV", b"OW", b"PN", b"SH", b"SL", b"SQ", b"SS", b"ST", b"SV", b"TM",
        b"UC", b"UI", b"UL", b"UN", b"UR", b"US", b"UT", b"UV",
    ];
    b.len() >= 2 && ALL.iter().any(|v| v[..] == b[..2])
}

/// Splits `bytes` into meta and data set.
pub(crate) fn split(bytes: &[u8]) -> Result<Framing<'_>, DicomError> {
    if bytes.len() >= 132 && &bytes[128..132] == b"DICM" {
        return scan_meta(&bytes[132..]);
    }
    if bytes.len() >= 4 && &bytes[..4] == b"DICM" {
        return scan_meta(&bytes[4..]);
    }
    if bytes.len() >= 8 && bytes[0] == 0x02 && bytes[1] == 0x00 {
        return scan_meta(bytes);
    }
    if bytes.len() < 8 {
        return Err(DicomError::NotDicom {
            detail: "fewer than 8 bytes".into(),
        });
    }
    if !plausible_first_group(bytes) {
        return Err(DicomError::NotDicom {
            detail: "no DICM marker and the first bytes are not a data element".into(),
        });
    }
    Ok(Framing {
        meta: None,
        dataset: bytes,
    })
}

/// A bare data set starts with a low, even group number (little or big endian).
fn plausible_first_group(bytes: &[u8]) -> bool {
    let le = u16::from_le_bytes([bytes[0], bytes[1]]);
    let be = u16::from_be_bytes([bytes[0], bytes[1]]);
    let ok = |g: u16| g.is_multiple_of(2) && (g == 0x0000 || (0x0008..=0x0100).contains(&g));
    ok(le) || ok(be)
}

fn scan_meta(bytes: &[u8]) -> Result<Framing<'_>, DicomError> {
    let mut meta = MetaInfo::default();
    let mut pos = 0usize;
    while bytes.len() >= pos + 8 {
        let group = u16::from_le_bytes([bytes[pos], bytes[pos + 1]]);
        if group != 0x0002 {
            break;
        }
        let element = u16::from_le_bytes([bytes[pos + 2], bytes[pos + 3]]);
        let vr = &bytes[pos + 4..pos + 6];
        let (header, len) = if looks_like_vr(vr) {
            if LONG_VRS.iter().any(|v| v[..] == vr[..]) {
                if bytes.len() < pos + 12 {
                    return Err(truncated_meta());
                }
                let l = u32::from_le_bytes(bytes[pos + 8..pos + 12].try_into().expect("4 bytes"));
                (12usize, l as usize)
            } else {
                (
                    8,
                    u16::from_le_bytes([bytes[pos + 6], bytes[pos + 7]]) as usize,
                )
            }
        } else {
            // implicit VR meta group: seen in old files
            let l = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().expect("4 bytes"));
            (8, l as usize)
        };
        let start = pos + header;
        let end = start.checked_add(len).ok_or_else(truncated_meta)?;
        if end > bytes.len() {
            return Err(truncated_meta());
        }
        let value = trim_value(&bytes[start..end]);
        match element {
            0x0002 => meta.sop_class_uid = value,
            0x0003 => meta.sop_instance_uid = value,
            0x0010 => meta.transfer_syntax = value,
            _ => {}
        }
        pos = end;
    }
    if pos >= bytes.len() {
        return Err(DicomError::Truncated {
            detail: "nothing follows the file meta group".into(),
        });
    }
    Ok(Framing {
        meta: Some(meta),
        dataset: &bytes[pos..],
    })
}

fn truncated_meta() -> DicomError {
    DicomError::Truncated {
        detail: "file meta group ends inside an element".into(),
    }
}

fn trim_value(v: &[u8]) -> Option<String> {
    let s = String::from_utf8_lossy(v);
    let t = s.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!t.is_empty()).then(|| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_random_input_is_not_dicom() {
        assert_eq!(split(b"abc").unwrap_err().code(), "not-dicom");
        assert_eq!(
            split(b"hello world, not dicom").unwrap_err().code(),
            "not-dicom"
        );
    }

    #[test]
    fn meta_without_following_data_is_truncated() {
        let mut b = b"DICM".to_vec();
        b.extend_from_slice(&[2, 0, 0x10, 0, b'U', b'I', 4, 0]);
        b.extend_from_slice(b"1.2\0");
        assert_eq!(split(&b).unwrap_err().code(), "truncated");
    }
}
