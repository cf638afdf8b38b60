//! Frames and bulk data as stored, for WADO-RS `…/frames/{list}` and `…/bulkdata/{tag}`:
//! nothing is decoded.
//!
//! - Native pixel data: each frame's bytes, little endian. A big-endian file's samples are
//!   swapped to little endian (PS3.18 sends `application/octet-stream` frames little endian).
//!   Frames of 1-bit data that do not start on a byte boundary are refused.
//! - Encapsulated pixel data: each frame's compressed bytes (its fragments joined, padding
//!   included, as pydicom's `generate_frames` gives them), found by the Basic Offset Table, or
//!   one fragment per frame when there is none, or, failing both, by the fragments that start
//!   a codestream (JPEG and JPEG-LS `FFD8`, JPEG 2000 `FF4F` or a JP2 signature box). The media
//!   type is the transfer syntax's (PS3.18 Table 8.7.3-5, as dicomweb-client reads it).
//! - Bulk data: a top-level binary attribute (OB, OD, OF, OL, OV, OW, UN) by its 8-hex tag, as
//!   little-endian bytes. Encapsulated Pixel Data is refused there
//!   ([`DicomError::UnsupportedPixelData`]): it is served frame by frame.

use dicom_core::value::Value;
use dicom_core::{Tag, VR};
use dicom_dictionary_std::{tags, uids};

use crate::attrs;
use crate::error::{DicomError, RenderError};
use crate::parse::ParsedInstance;
use crate::pixels::{PixelModule, native_little_endian};

/// One frame as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameBytes {
    /// The frame's bytes: raw little-endian samples, or a compressed codestream.
    pub bytes: Vec<u8>,
    /// `application/octet-stream` for native data, else the compressed frame's media type.
    pub media_type: &'static str,
}

/// The media type of a frame stored in this transfer syntax (PS3.18 Table 8.7.3-5):
/// `application/octet-stream` for native syntaxes, `image/jpeg`, `image/jls`, `image/jp2`,
/// `image/jpx`, `image/jphc` or `image/dicom-rle` for compressed ones; `None` for syntaxes
/// whose frames we do not serve (video, deflated image data …).
pub fn frame_media_type(transfer_syntax: &str) -> Option<&'static str> {
    Some(match transfer_syntax.trim_end_matches(['\0', ' ']) {
        uids::IMPLICIT_VR_LITTLE_ENDIAN
        | uids::EXPLICIT_VR_LITTLE_ENDIAN
        | crate::parse::EXPLICIT_VR_BIG_ENDIAN
        | uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN => "application/octet-stream",
        uids::JPEG_BASELINE8_BIT
        | uids::JPEG_EXTENDED12_BIT
        | uids::JPEG_LOSSLESS
        | uids::JPEG_LOSSLESS_SV1 => "image/jpeg",
        uids::JPEGLS_LOSSLESS | uids::JPEGLS_NEAR_LOSSLESS => "image/jls",
        uids::JPEG2000_LOSSLESS | uids::JPEG2000 => "image/jp2",
        uids::JPEG2000MC_LOSSLESS | uids::JPEG2000MC => "image/jpx",
        uids::HTJ2K | uids::HTJ2K_LOSSLESS | uids::HTJ2K_LOSSLESS_RPCL => "image/jphc",
        uids::RLE_LOSSLESS => "image/dicom-rle",
        _ => return None,
    })
}

impl ParsedInstance {
    /// The frames `numbers` (1-based, in the order given), as stored.
    ///
    /// Errors: an empty list, frame 0 or a number given twice is
    /// [`DicomError::InvalidFrameList`]; a number beyond Number of Frames (or any, when there
    /// is no Pixel Data) is [`DicomError::NoSuchFrame`]; pixel data we cannot cut into frames
    /// is [`DicomError::UnsupportedPixelData`]; pixel data shorter than its attributes say is
    /// [`DicomError::Truncated`].
    pub fn frames(&self, numbers: &[u32]) -> Result<Vec<FrameBytes>, DicomError> {
        check_list(numbers)?;
        let px = match PixelModule::read(&self.obj) {
            Ok(px) => px,
            Err(RenderError::NotAnImage) => {
                return Err(DicomError::NoSuchFrame {
                    number: numbers[0],
                    frames: 0,
                });
            }
            Err(e) => return Err(from_render(e)),
        };
        if let Some(&number) = numbers.iter().find(|&&n| n > px.frames) {
            return Err(DicomError::NoSuchFrame {
                number,
                frames: px.frames,
            });
        }
        let ts = self.obj.meta().transfer_syntax();
        let media_type = frame_media_type(ts).ok_or_else(|| DicomError::UnsupportedPixelData {
            detail: format!("frames of transfer syntax {ts} are not served"),
        })?;
        let element = self
            .obj
            .get(tags::PIXEL_DATA)
            .expect("PixelModule::read found it");
        match element.value() {
            Value::PixelSequence(seq) => {
                if media_type == "application/octet-stream" {
                    return Err(DicomError::UnsupportedPixelData {
                        detail: format!("encapsulated pixel data in transfer syntax {ts}"),
                    });
                }
                let fragments: Vec<&[u8]> = seq.fragments().iter().map(|f| f.as_ref()).collect();
                let ranges = frame_fragments(&fragments, seq.offset_table(), px.frames, ts)?;
                Ok(numbers
                    .iter()
                    .map(|&n| FrameBytes {
                        bytes: fragments[ranges[n as usize - 1].clone()].concat(),
                        media_type,
                    })
                    .collect())
            }
            Value::Primitive(_) => {
                if media_type != "application/octet-stream" {
                    return Err(DicomError::Malformed {
                        detail: format!("native pixel data in transfer syntax {ts}"),
                    });
                }
                let data = attrs::bytes(&self.obj, tags::PIXEL_DATA).expect("primitive");
                let data = native_little_endian(&self.obj, data, px.bits_allocated);
                let bits = native_frame_bits(&px);
                if !bits.is_multiple_of(8) && px.frames > 1 {
                    return Err(DicomError::UnsupportedPixelData {
                        detail: "1-bit frames that do not start on a byte boundary".into(),
                    });
                }
                let len = bits.div_ceil(8);
                numbers
                    .iter()
                    .map(|&n| {
                        let start = (n as usize - 1) * len;
                        let bytes =
                            data.get(start..start + len)
                                .ok_or_else(|| DicomError::Truncated {
                                    detail: format!(
                                        "frame {n} needs {} bytes of pixel data, {} present",
                                        start + len,
                                        data.len()
                                    ),
                                })?;
                        Ok(FrameBytes {
                            bytes: bytes.to_vec(),
                            media_type,
                        })
                    })
                    .collect()
            }
            Value::Sequence(_) => Err(DicomError::Malformed {
                detail: "Pixel Data is a sequence".into(),
            }),
        }
    }

    /// The value of the top-level binary attribute `tag` (8 hex digits, e.g. `7FE00010`) as
    /// little-endian bytes; `None` when there is no such attribute or it is not binary.
    /// Encapsulated Pixel Data is [`DicomError::UnsupportedPixelData`] (serve its frames).
    pub fn bulk(&self, tag: &str) -> Result<Option<Vec<u8>>, DicomError> {
        let Some(tag) = parse_tag(tag) else {
            return Ok(None);
        };
        let Some(element) = self.obj.get(tag) else {
            return Ok(None);
        };
        let binary = matches!(
            element.vr(),
            VR::OB | VR::OD | VR::OF | VR::OL | VR::OV | VR::OW | VR::UN
        );
        match element.value() {
            Value::PixelSequence(_) => Err(DicomError::UnsupportedPixelData {
                detail: "encapsulated pixel data is served frame by frame".into(),
            }),
            Value::Primitive(_) if binary => {
                let data = attrs::bytes(&self.obj, tag).expect("primitive");
                if tag == tags::PIXEL_DATA {
                    let bits = PixelModule::read(&self.obj)
                        .map(|px| px.bits_allocated)
                        .unwrap_or(8);
                    Ok(Some(
                        native_little_endian(&self.obj, data, bits).into_owned(),
                    ))
                } else {
                    Ok(Some(data.into_owned()))
                }
            }
            _ => Ok(None),
        }
    }
}

/// Refuses an empty list, frame 0 and repeated numbers.
fn check_list(numbers: &[u32]) -> Result<(), DicomError> {
    if numbers.is_empty() {
        return Err(DicomError::InvalidFrameList {
            detail: "no frame number",
        });
    }
    if numbers.contains(&0) {
        return Err(DicomError::InvalidFrameList {
            detail: "frame numbers start at 1",
        });
    }
    let mut sorted = numbers.to_vec();
    sorted.sort_unstable();
    if sorted.windows(2).any(|w| w[0] == w[1]) {
        return Err(DicomError::InvalidFrameList {
            detail: "a frame number is repeated",
        });
    }
    Ok(())
}

/// Bits of one native frame (YBR_FULL_422 keeps two samples per pixel).
fn native_frame_bits(px: &PixelModule) -> usize {
    let samples = if px.photometric == "YBR_FULL_422" && px.spp == 3 {
        2
    } else {
        px.spp
    };
    px.rows * px.cols * samples * usize::from(px.bits_allocated)
}

/// `GGGGEEEE` as a tag.
fn parse_tag(text: &str) -> Option<Tag> {
    if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let group = u16::from_str_radix(&text[..4], 16).ok()?;
    let element = u16::from_str_radix(&text[4..], 16).ok()?;
    Some(Tag(group, element))
}

/// The fragments of each frame, as index ranges into `fragments`.
fn frame_fragments(
    fragments: &[&[u8]],
    offsets: &[u32],
    frames: u32,
    ts: &str,
) -> Result<Vec<std::ops::Range<usize>>, DicomError> {
    let frames = frames as usize;
    let unsplittable = |why: &str| DicomError::UnsupportedPixelData {
        detail: format!(
            "{} fragments cannot be cut into {frames} frames: {why}",
            fragments.len()
        ),
    };
    if fragments.is_empty() {
        return Err(unsplittable("no fragment"));
    }
    if frames == 1 {
        return Ok(std::iter::once(0..fragments.len()).collect());
    }
    if !offsets.is_empty() {
        if offsets.len() != frames {
            return Err(unsplittable("the offset table has another length"));
        }
        // Each fragment item takes 8 header bytes and its value, from the first fragment on.
        let mut starts = Vec::with_capacity(fragments.len());
        let mut at = 0u64;
        for f in fragments {
            starts.push(at);
            at += 8 + f.len() as u64;
        }
        let first = |offset: u32| {
            starts
                .iter()
                .position(|&s| s == u64::from(offset))
                .ok_or_else(|| unsplittable("an offset is not at a fragment"))
        };
        let firsts = offsets
            .iter()
            .map(|&o| first(o))
            .collect::<Result<Vec<_>, _>>()?;
        if firsts[0] != 0 || firsts.windows(2).any(|w| w[0] >= w[1]) {
            return Err(unsplittable(
                "the offsets do not ascend from the first fragment",
            ));
        }
        return Ok(firsts
            .iter()
            .enumerate()
            .map(|(i, &s)| s..firsts.get(i + 1).copied().unwrap_or(fragments.len()))
            .collect());
    }
    if fragments.len() == frames {
        return Ok((0..frames).map(|i| i..i + 1).collect());
    }
    let starts_codestream = |f: &[u8]| match frame_media_type(ts) {
        Some("image/jpeg" | "image/jls") => f.starts_with(&[0xFF, 0xD8]),
        Some("image/jp2" | "image/jpx" | "image/jphc") => {
            f.starts_with(&[0xFF, 0x4F]) || f.starts_with(&[0, 0, 0, 0x0C, b'j', b'P'])
        }
        _ => false,
    };
    let firsts: Vec<usize> = (0..fragments.len())
        .filter(|&i| starts_codestream(fragments[i]))
        .collect();
    if firsts.len() != frames || firsts[0] != 0 {
        return Err(unsplittable("no offset table and no codestream per frame"));
    }
    Ok(firsts
        .iter()
        .enumerate()
        .map(|(i, &s)| s..firsts.get(i + 1).copied().unwrap_or(fragments.len()))
        .collect())
}

fn from_render(e: RenderError) -> DicomError {
    match e {
        RenderError::MissingAttribute { keyword } => DicomError::MissingAttribute { keyword },
        RenderError::InvalidAttribute { keyword } => DicomError::InvalidAttribute { keyword },
        other => DicomError::UnsupportedPixelData {
            detail: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Limits, parse};

    fn open(name: &str) -> ParsedInstance {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/dicom")
            .join(name);
        parse(&std::fs::read(path).unwrap(), &Limits::default()).unwrap()
    }

    fn lengths(frames: &[FrameBytes]) -> Vec<usize> {
        frames.iter().map(|f| f.bytes.len()).collect()
    }

    #[test]
    fn a_single_frame_native_image_is_its_whole_pixel_data() {
        let ct = open("CT_small.dcm");
        let frames = ct.frames(&[1]).unwrap();
        assert_eq!(frames[0].media_type, "application/octet-stream");
        let whole = ct.bulk("7FE00010").unwrap().unwrap();
        assert_eq!(whole.len(), 128 * 128 * 2);
        assert_eq!(frames[0].bytes, whole);
        assert_eq!(
            ct.frames(&[2]),
            Err(DicomError::NoSuchFrame {
                number: 2,
                frames: 1
            })
        );
    }

    #[test]
    fn native_frames_come_in_request_order_and_big_endian_is_swapped() {
        let dose = open("rtdose.dcm");
        let whole = dose.bulk("7FE00010").unwrap().unwrap();
        assert_eq!(whole.len(), 15 * 400);
        let frames = dose.frames(&[3, 1, 15]).unwrap();
        assert_eq!(frames[0].bytes, whole[800..1200]);
        assert_eq!(frames[1].bytes, whole[..400]);
        assert_eq!(frames[2].bytes, whole[5600..]);
        // The same doses stored big endian come out as the same little-endian bytes.
        let big = open("rtdose_expb.dcm");
        assert_eq!(big.frames(&[3, 1, 15]).unwrap(), frames);
        assert_eq!(big.bulk("7FE00010").unwrap().unwrap(), whole);
        let mr = open("MR_small.dcm");
        let mr_big = open("MR_small_bigendian.dcm");
        assert_eq!(mr.frames(&[1]).unwrap(), mr_big.frames(&[1]).unwrap());
    }

    #[test]
    fn frame_lists_are_checked() {
        let dose = open("rtdose.dcm");
        let invalid = |numbers: &[u32]| {
            matches!(
                dose.frames(numbers),
                Err(DicomError::InvalidFrameList { .. })
            )
        };
        assert!(invalid(&[]));
        assert!(invalid(&[0]));
        assert!(invalid(&[2, 5, 2]));
        assert_eq!(
            dose.frames(&[1, 16]),
            Err(DicomError::NoSuchFrame {
                number: 16,
                frames: 15
            })
        );
        assert_eq!(dose.frames(&[16]).unwrap_err().code(), "no-such-frame");
        let sr = open("test-SR.dcm");
        assert!(matches!(
            sr.frames(&[1]),
            Err(DicomError::NoSuchFrame { frames: 0, .. })
        ));
    }

    #[test]
    fn encapsulated_frames_are_their_fragments_as_pydicom_splits_them() {
        // Lengths and media types from pydicom.encaps.generate_frames.
        for (name, media_type, expected, head) in [
            ("JPEG-lossy.dcm", "image/jpeg", vec![6830], [0xFF, 0xD8]),
            ("JPEG2000.dcm", "image/jp2", vec![250], [0xFF, 0x4F]),
            (
                "MR_small_jp2klossless.dcm",
                "image/jp2",
                vec![4314],
                [0xFF, 0x4F],
            ),
            (
                "MR_small_jpeg_ls_lossless.dcm",
                "image/jls",
                vec![4430],
                [0xFF, 0xD8],
            ),
            ("MR_small_RLE.dcm", "image/dicom-rle", vec![6108], [2, 0]),
            (
                "SC_rgb_rle_2frame.dcm",
                "image/dicom-rle",
                vec![664, 664],
                [3, 0],
            ),
        ] {
            let instance = open(name);
            let numbers: Vec<u32> = (1..=expected.len() as u32).collect();
            let frames = instance.frames(&numbers).unwrap();
            assert_eq!(lengths(&frames), expected, "{name}");
            assert!(frames.iter().all(|f| f.media_type == media_type), "{name}");
            assert!(frames.iter().all(|f| f.bytes.starts_with(&head)), "{name}");
            assert!(
                matches!(
                    instance.bulk("7FE00010"),
                    Err(DicomError::UnsupportedPixelData { .. })
                ),
                "{name}"
            );
        }
        let dose = open("rtdose_rle.dcm");
        let frames = dose.frames(&[2, 1, 15]).unwrap();
        assert_eq!(lengths(&frames), [330, 332, 290]);
        let ybr = open("examples_ybr_color.dcm");
        let frames = ybr.frames(&[1, 2, 3, 30]).unwrap();
        assert_eq!(lengths(&frames), [6122, 6086, 6080, 6432]);
        assert!(frames.iter().all(|f| f.bytes.starts_with(&[0xFF, 0xD8])));
    }

    #[test]
    fn bulk_data_is_a_binary_attribute_or_nothing() {
        let ct = open("CT_small.dcm");
        assert_eq!(ct.bulk("00100010").unwrap(), None, "not binary");
        assert_eq!(ct.bulk("00431029").unwrap().map(|b| b.len()), Some(2068));
        assert_eq!(ct.bulk("7FE0001").unwrap(), None);
        assert_eq!(ct.bulk("zzzzzzzz").unwrap(), None);
        assert_eq!(ct.bulk("00420011").unwrap(), None, "absent");
    }

    #[test]
    fn fragments_are_grouped_by_offset_table_or_codestream_start() {
        let jpeg = uids::JPEG_BASELINE8_BIT;
        let (a, b, c) = (
            &[0xFF, 0xD8, 1, 2][..],
            &[3, 4][..],
            &[0xFF, 0xD8, 5, 6][..],
        );
        // Offsets count each fragment's 8-byte item header: 0, 12, 22.
        assert_eq!(
            frame_fragments(&[a, b, c], &[0, 22], 2, jpeg).unwrap(),
            [0..2, 2..3]
        );
        assert!(
            frame_fragments(&[a, b, c], &[0, 12], 3, jpeg).is_err(),
            "length"
        );
        assert!(
            frame_fragments(&[a, b, c], &[0, 13], 2, jpeg).is_err(),
            "not a fragment"
        );
        assert_eq!(
            frame_fragments(&[a, b, c], &[], 2, jpeg).unwrap(),
            [0..2, 2..3],
            "codestream starts"
        );
        assert_eq!(
            frame_fragments(&[a, c], &[], 2, jpeg).unwrap(),
            [0..1, 1..2]
        );
        assert!(frame_fragments(&[a, b, c], &[], 2, uids::RLE_LOSSLESS).is_err());
        assert!(frame_fragments(&[a, b, c], &[], 3, jpeg).is_ok());
        assert!(frame_fragments(&[a, b], &[], 3, jpeg).is_err());
    }

    #[test]
    fn media_types_follow_the_transfer_syntax() {
        assert_eq!(
            frame_media_type("1.2.840.10008.1.2.1"),
            Some("application/octet-stream")
        );
        assert_eq!(
            frame_media_type("1.2.840.10008.1.2.4.50"),
            Some("image/jpeg")
        );
        assert_eq!(
            frame_media_type("1.2.840.10008.1.2.4.57"),
            Some("image/jpeg")
        );
        assert_eq!(
            frame_media_type("1.2.840.10008.1.2.4.80"),
            Some("image/jls")
        );
        assert_eq!(
            frame_media_type("1.2.840.10008.1.2.4.90"),
            Some("image/jp2")
        );
        assert_eq!(
            frame_media_type("1.2.840.10008.1.2.5"),
            Some("image/dicom-rle")
        );
        assert_eq!(frame_media_type("1.2.840.10008.1.2.4.100"), None, "MPEG-2");
    }
}
