//! Parsing from a byte slice: transfer syntax guessing and retries, limits, error classification.
//!
//! Order of work, so that a hostile file costs little: size limit, framing, an iterative token
//! pre-scan up to Pixel Data (sequence depth limit, no recursion), then dicom-rs builds the object,
//! then the frame-size and frame-count limits; pixel data is decoded only by `render_preview`.

use std::io::{Cursor, Read};

use dicom_dictionary_std::{tags, uids};
use dicom_encoding::transfer_syntax::{Codec, Endianness};
use dicom_object::file::ReadPreamble;
use dicom_object::{DefaultDicomObject, FileMetaTableBuilder, OpenFileOptions};
use dicom_transfer_syntax_registry::{TransferSyntax, TransferSyntaxIndex, TransferSyntaxRegistry};

use crate::error::DicomError;
use crate::framing::{self, Framing, looks_like_vr};
use crate::limits::Limits;
use crate::scan::{Encoding, scan};
use crate::summary::{self, InstanceSummary};

/// Explicit VR Big Endian (retired, still met in old files).
pub(crate) const EXPLICIT_VR_BIG_ENDIAN: &str = "1.2.840.10008.1.2.2";

/// A parsed instance: the summary plus everything needed to render its preview later.
pub struct ParsedInstance {
    pub(crate) obj: DefaultDicomObject,
    pub(crate) summary: InstanceSummary,
    pub(crate) limits: Limits,
}

impl std::fmt::Debug for ParsedInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Only identifiers: the summary holds patient data, which must not reach logs.
        f.debug_struct("ParsedInstance")
            .field("sop_instance_uid", &self.summary.sop_instance_uid)
            .field("transfer_syntax_uid", &self.summary.transfer_syntax_uid)
            .finish_non_exhaustive()
    }
}

impl ParsedInstance {
    /// The study, series and instance attributes.
    pub fn summary(&self) -> &InstanceSummary {
        &self.summary
    }

    /// The summary, consuming the instance (drops the pixel data).
    pub fn into_summary(self) -> InstanceSummary {
        self.summary
    }
}

/// Parses a whole instance (pixel data kept, not decoded).
pub fn parse(bytes: &[u8], limits: &Limits) -> Result<ParsedInstance, DicomError> {
    let (obj, summary) = read(bytes, limits, false, true)?;
    Ok(ParsedInstance {
        obj,
        summary,
        limits: *limits,
    })
}

/// Like [`parse`], but a missing Study, Series or SOP Instance UID or SOP Class UID is left as an
/// empty string instead of refused: for tools and tests that only render pixels.
pub fn parse_for_preview(bytes: &[u8], limits: &Limits) -> Result<ParsedInstance, DicomError> {
    let (obj, summary) = read(bytes, limits, false, false)?;
    Ok(ParsedInstance {
        obj,
        summary,
        limits: *limits,
    })
}

/// Parses attributes up to (excluding) Pixel Data: the cheap path for listing and validation.
pub fn parse_header(bytes: &[u8], limits: &Limits) -> Result<InstanceSummary, DicomError> {
    let (_, summary) = read(bytes, limits, true, true)?;
    Ok(summary)
}

fn read(
    bytes: &[u8],
    limits: &Limits,
    header_only: bool,
    require_ids: bool,
) -> Result<(DefaultDicomObject, InstanceSummary), DicomError> {
    check(
        "instance size in bytes",
        bytes.len() as u64,
        limits.max_instance_bytes,
    )?;
    let Framing { meta, dataset } = framing::split(bytes)?;
    let meta = meta.unwrap_or_default();
    let declared = meta.transfer_syntax.clone();
    let inflated;
    let (dataset, candidates) =
        if declared.as_deref() == Some(uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN) {
            inflated = inflate(dataset, limits.max_instance_bytes)?;
            let explicit = TransferSyntaxRegistry
                .get(uids::EXPLICIT_VR_LITTLE_ENDIAN)
                .expect("built in");
            (&inflated[..], vec![explicit])
        } else {
            (dataset, candidates(declared.as_deref(), dataset)?)
        };

    let mut first_err: Option<DicomError> = None;
    let mut parsed = None;
    for ts in &candidates {
        let enc = Encoding {
            explicit_vr: ts.uid() != uids::IMPLICIT_VR_LITTLE_ENDIAN,
            big_endian: ts.endianness() == Endianness::Big,
        };
        let attempt =
            scan(dataset, enc, limits.max_sequence_depth, header_only).and_then(|dropped| {
                if dropped.is_empty() {
                    build(dataset, ts, header_only)
                } else {
                    build(&without(dataset, &dropped), ts, header_only)
                }
            });
        match attempt {
            Ok(obj) => {
                parsed = Some(obj);
                break;
            }
            Err(e @ DicomError::TooLarge { .. }) => return Err(e),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    let Some(mut obj) = parsed else {
        let err = first_err.expect("at least one candidate transfer syntax");
        if declared.is_none() && !matches!(err, DicomError::Truncated { .. }) {
            return Err(DicomError::NotDicom {
                detail: "no file meta and the data set does not parse".into(),
            });
        }
        return Err(err);
    };
    // The pixel codec follows the declared transfer syntax even when the data set itself had to be
    // read with another one (the explicit/implicit mix-up pydicom tolerates).
    let pixel_ts = declared.unwrap_or_else(|| candidates[0].uid().to_string());
    obj.meta_mut().transfer_syntax = pixel_ts;

    let summary = summary::extract(&obj, &meta, !header_only, require_ids)?;
    if let (Some(r), Some(c)) = (summary.rows, summary.columns) {
        check(
            "pixels per frame",
            u64::from(r) * u64::from(c),
            limits.max_pixels_per_frame,
        )?;
    }
    if let Some(n) = summary.number_of_frames {
        check(
            "number of frames",
            u64::from(n),
            u64::from(limits.max_frames),
        )?;
    }
    Ok((obj, summary))
}

fn check(what: &'static str, actual: u64, limit: u64) -> Result<(), DicomError> {
    if actual > limit {
        return Err(DicomError::TooLarge {
            what,
            actual,
            limit,
        });
    }
    Ok(())
}

/// Transfer syntaxes to try for the data set, best guess first.
fn candidates(
    declared: Option<&str>,
    dataset: &[u8],
) -> Result<Vec<&'static TransferSyntax>, DicomError> {
    let get = |uid: &str| TransferSyntaxRegistry.get(uid);
    let implicit = get(uids::IMPLICIT_VR_LITTLE_ENDIAN).expect("built in");
    let explicit = get(uids::EXPLICIT_VR_LITTLE_ENDIAN).expect("built in");
    let big = get(EXPLICIT_VR_BIG_ENDIAN).expect("built in");
    if let Some(uid) = declared {
        let ts = get(uid).ok_or_else(|| DicomError::UnsupportedTransferSyntax {
            uid: uid.to_string(),
        })?;
        if matches!(ts.codec(), Codec::Dataset(_)) || ts.endianness() == Endianness::Big {
            return Ok(vec![ts]);
        }
        let fallback = if ts.uid() == uids::IMPLICIT_VR_LITTLE_ENDIAN {
            explicit
        } else {
            implicit
        };
        return Ok(vec![ts, fallback]);
    }
    // No transfer syntax: look at the first element.
    if dataset.len() < 8 {
        return Err(DicomError::Truncated {
            detail: "data set shorter than one element header".into(),
        });
    }
    let group_le = u16::from_le_bytes([dataset[0], dataset[1]]);
    let group_be = u16::from_be_bytes([dataset[0], dataset[1]]);
    let explicit_vr = looks_like_vr(&dataset[4..6]);
    Ok(if group_le > 0x00ff && group_be <= 0x00ff {
        vec![big, explicit, implicit]
    } else if explicit_vr {
        vec![explicit, implicit]
    } else {
        vec![implicit, explicit]
    })
}

/// Inflates a Deflated Explicit VR Little Endian data set, refusing output beyond `limit` bytes
/// (a deflate bomb is bounded like any other instance).
fn inflate(dataset: &[u8], limit: u64) -> Result<Vec<u8>, DicomError> {
    let ts = TransferSyntaxRegistry
        .get(uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN)
        .expect("built in");
    let Codec::Dataset(Some(adapter)) = ts.codec() else {
        return Err(DicomError::UnsupportedTransferSyntax {
            uid: ts.uid().to_string(),
        });
    };
    let mut out = Vec::new();
    adapter
        .adapt_reader(Box::new(dataset))
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| DicomError::Malformed {
            detail: format!("deflated data set: {}", sanitize(&e.to_string())),
        })?;
    check("inflated data set in bytes", out.len() as u64, limit)?;
    Ok(out)
}

/// `data` without the given byte ranges (sorted, disjoint).
fn without(data: &[u8], ranges: &[std::ops::Range<usize>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut pos = 0;
    for r in ranges {
        out.extend_from_slice(&data[pos..r.start]);
        pos = r.end;
    }
    out.extend_from_slice(&data[pos..]);
    out
}

/// Has dicom-rs build the object, behind a clean synthetic meta group naming `ts`.
fn build(
    dataset: &[u8],
    ts: &TransferSyntax,
    header_only: bool,
) -> Result<DefaultDicomObject, DicomError> {
    let meta = FileMetaTableBuilder::new()
        .transfer_syntax(ts.uid())
        .media_storage_sop_class_uid("")
        .media_storage_sop_instance_uid("")
        .build()
        .map_err(|e| DicomError::Malformed {
            detail: sanitize(&e.to_string()),
        })?;
    let mut head = b"DICM".to_vec();
    meta.write(&mut head).map_err(|e| DicomError::Malformed {
        detail: sanitize(&e.to_string()),
    })?;
    let src = Cursor::new(head).chain(dataset);
    let mut opts = OpenFileOptions::new().read_preamble(ReadPreamble::Never);
    if header_only {
        opts = opts.read_until(tags::PIXEL_DATA);
    }
    opts.from_reader(src).map_err(|e| classify(&e))
}

/// Maps a dicom-rs error to our kinds: end of input is truncation, anything else malformed.
fn classify(err: &(dyn std::error::Error + 'static)) -> DicomError {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    let mut innermost = err;
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::UnexpectedEof
        {
            return DicomError::Truncated {
                detail: sanitize(&err.to_string()),
            };
        }
        innermost = e;
        cur = e.source();
    }
    let detail = if std::ptr::addr_eq(innermost, err) {
        sanitize(&err.to_string())
    } else {
        format!(
            "{}: {}",
            sanitize(&err.to_string()),
            sanitize(&innermost.to_string())
        )
    };
    DicomError::Malformed { detail }
}

/// Keeps parser messages structural: drops quoted text (which could be a value) and bounds length.
pub(crate) fn sanitize(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len().min(200));
    let mut quoted = false;
    for c in msg.chars() {
        match c {
            '"' | '`' => {
                quoted = !quoted;
                out.push_str(if quoted { "\"…" } else { "\"" });
            }
            _ if quoted => {}
            _ => out.push(c),
        }
        if out.len() >= 200 {
            out.push('…');
            break;
        }
    }
    out
}
