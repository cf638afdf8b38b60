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

/// What to send before stored `bytes` so that they read as a PS3.10 file (128-byte preamble,
/// `DICM`, file meta group): `None` when they already do. DICOMweb clients read each part of a
/// WADO-RS answer as a file, but STOW-RS clients may send a data set without the preamble, or
/// without any file meta; the stored bytes stay as they came, and this is prepended on the way
/// out. For a bare data set the meta group is written from the instance's identity and the
/// transfer syntax ingest found.
pub fn part10_prefix(
    bytes: &[u8],
    sop_class_uid: &str,
    sop_instance_uid: &str,
    transfer_syntax_uid: &str,
) -> Result<Option<Vec<u8>>, DicomError> {
    if bytes.len() >= 132 && &bytes[128..132] == b"DICM" {
        return Ok(None);
    }
    let mut prefix = vec![0u8; 128];
    if bytes.starts_with(b"DICM") {
        return Ok(Some(prefix));
    }
    prefix.extend_from_slice(b"DICM");
    if bytes.len() >= 2 && bytes[0] == 0x02 && bytes[1] == 0x00 {
        return Ok(Some(prefix));
    }
    let meta = dicom_object::FileMetaTableBuilder::new()
        .transfer_syntax(transfer_syntax_uid)
        .media_storage_sop_class_uid(sop_class_uid)
        .media_storage_sop_instance_uid(sop_instance_uid)
        .build()
        .map_err(|e| DicomError::Malformed {
            detail: format!("cannot write a file meta group: {e}"),
        })?;
    meta.write(&mut prefix).map_err(|e| DicomError::Malformed {
        detail: format!("cannot write a file meta group: {e}"),
    })?;
    Ok(Some(prefix))
}

#[cfg(test)]
mod part10_tests {
    use super::*;

    const CT: &str = "1.2.840.10008.5.1.4.1.1.2";
    const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";

    fn ct_small() -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/dicom/CT_small.dcm");
        std::fs::read(path).unwrap()
    }

    /// The prefix plus the bytes parse as a file with the same data set.
    fn reads_back(bytes: &[u8]) {
        let prefix = part10_prefix(bytes, CT, "1.2.3", EXPLICIT_LE).unwrap();
        let whole = [prefix.unwrap_or_default(), bytes.to_vec()].concat();
        assert_eq!(&whole[128..132], b"DICM");
        let parsed = crate::parse(&whole, &crate::Limits::default()).unwrap();
        let original = crate::parse(&ct_small(), &crate::Limits::default()).unwrap();
        assert_eq!(
            parsed.summary().sop_instance_uid,
            original.summary().sop_instance_uid
        );
    }

    #[test]
    fn every_framing_becomes_a_part10_file() {
        let file = ct_small();
        assert!(
            part10_prefix(&file, CT, "1.2.3", EXPLICIT_LE)
                .unwrap()
                .is_none()
        );
        reads_back(&file);
        reads_back(&file[128..]); // DICM without the preamble
        reads_back(&file[132..]); // group 2 alone
        let Framing { dataset, meta } = split(&file).unwrap();
        let ts = meta.unwrap().transfer_syntax.unwrap();
        let prefix = part10_prefix(dataset, CT, "1.2.3", &ts).unwrap().unwrap();
        let whole = [prefix, dataset.to_vec()].concat();
        assert!(
            crate::parse(&whole, &crate::Limits::default()).is_ok(),
            "a bare data set gets a meta group"
        );
    }
}
