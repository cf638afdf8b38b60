//! Pixel decoding: one frame from native or encapsulated pixel data to plain integer samples.
//!
//! Native and RLE data are read by our own code (any bit depth incl. 32, planar configuration,
//! native YBR_FULL_422); JPEG goes straight to jpeg-decoder (so the colour transform is ours to
//! choose); JPEG 2000 and JPEG-LS go through dicom-rs's transfer-syntax registry.

mod codec;
mod jpeg;
mod native;
mod rle;

use std::borrow::Cow;

use dicom_dictionary_std::{tags, uids};
use dicom_object::DefaultDicomObject;

use crate::attrs::{Obj, int, int_is_invalid, text};
use crate::error::RenderError;

/// Colour model of decoded samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Colour {
    Monochrome1,
    Monochrome2,
    Palette,
    Rgb,
    /// Full-range YCbCr, still to convert.
    YbrFull,
}

/// The image pixel module attributes that decoding needs.
#[derive(Debug, Clone)]
pub(crate) struct PixelModule {
    pub rows: usize,
    pub cols: usize,
    pub spp: usize,
    pub bits_allocated: u16,
    pub bits_stored: u16,
    pub signed: bool,
    pub photometric: String,
    pub planar: bool,
    pub frames: u32,
}

/// Decoded samples of one frame.
#[derive(Debug)]
pub(crate) enum Samples<'a> {
    /// One sample per pixel, little endian, `bytes` (1 or 2) each, not yet masked or
    /// sign-extended: the grayscale stage folds that into its lookup table (no copy of a native
    /// frame at all).
    Raw { data: Cow<'a, [u8]>, bytes: usize },
    /// Interleaved values, masked to the stored bits and sign-extended.
    Values(Vec<i32>),
}

/// One decoded frame.
#[derive(Debug)]
pub(crate) struct Frame<'a> {
    pub width: usize,
    pub height: usize,
    pub samples: Samples<'a>,
    /// Bits per sample of the values in `samples` (may differ from Bits Stored after a codec).
    pub bits: u16,
    pub signed: bool,
    pub colour: Colour,
}

impl Frame<'_> {
    /// The samples as fixed-up values (copies raw samples).
    pub(crate) fn values(&self) -> Cow<'_, [i32]> {
        match &self.samples {
            Samples::Values(v) => Cow::Borrowed(v),
            Samples::Raw { data, bytes } => {
                Cow::Owned(le_samples(data, *bytes, self.bits, self.signed))
            }
        }
    }

    /// Multiplier from `samples` back to stored values (2 for unsigned 32-bit, kept as 31 bits).
    pub(crate) fn value_scale(&self) -> f64 {
        if self.bits == 32 && !self.signed {
            2.0
        } else {
            1.0
        }
    }

    /// Significant bits of the values in `samples`.
    pub(crate) fn sample_bits(&self) -> u16 {
        if self.bits == 32 && !self.signed {
            31
        } else {
            self.bits
        }
    }
}

fn missing(keyword: &'static str) -> RenderError {
    RenderError::MissingAttribute { keyword }
}

fn req_u16(o: &Obj, tag: dicom_core::Tag, keyword: &'static str) -> Result<u16, RenderError> {
    let v = int(o, tag).ok_or_else(|| missing(keyword))?;
    u16::try_from(v).map_err(|_| RenderError::InvalidAttribute { keyword })
}

impl PixelModule {
    pub(crate) fn read(o: &Obj) -> Result<Self, RenderError> {
        if o.get(tags::PIXEL_DATA).is_none() {
            return Err(RenderError::NotAnImage);
        }
        let rows = req_u16(o, tags::ROWS, "Rows")? as usize;
        let cols = req_u16(o, tags::COLUMNS, "Columns")? as usize;
        if rows == 0 || cols == 0 {
            return Err(RenderError::InvalidAttribute {
                keyword: if rows == 0 { "Rows" } else { "Columns" },
            });
        }
        let spp = int(o, tags::SAMPLES_PER_PIXEL).unwrap_or(1);
        if !(spp == 1 || spp == 3) {
            return Err(RenderError::InvalidAttribute {
                keyword: "SamplesPerPixel",
            });
        }
        let bits_allocated = req_u16(o, tags::BITS_ALLOCATED, "BitsAllocated")?;
        if !matches!(bits_allocated, 1 | 8 | 16 | 32) {
            return Err(RenderError::UnsupportedPixelFormat {
                detail: format!("bits allocated {bits_allocated}"),
            });
        }
        let bits_stored = int(o, tags::BITS_STORED)
            .and_then(|v| u16::try_from(v).ok())
            .filter(|&b| b >= 1 && b <= bits_allocated)
            .unwrap_or(bits_allocated);
        if int_is_invalid(o, tags::NUMBER_OF_FRAMES) {
            return Err(RenderError::InvalidAttribute {
                keyword: "NumberOfFrames",
            });
        }
        let frames = int(o, tags::NUMBER_OF_FRAMES).unwrap_or(1);
        let frames = u32::try_from(frames.max(1)).map_err(|_| RenderError::InvalidAttribute {
            keyword: "NumberOfFrames",
        })?;
        let default_pi = if spp == 3 { "RGB" } else { "MONOCHROME2" };
        Ok(Self {
            rows,
            cols,
            spp: spp as usize,
            bits_allocated,
            bits_stored,
            signed: int(o, tags::PIXEL_REPRESENTATION) == Some(1),
            photometric: text(o, tags::PHOTOMETRIC_INTERPRETATION)
                .unwrap_or_else(|| default_pi.to_string())
                .to_ascii_uppercase(),
            planar: int(o, tags::PLANAR_CONFIGURATION) == Some(1),
            frames,
        })
    }

    /// The colour model as stored (before any codec transform).
    pub(crate) fn stored_colour(&self) -> Result<Colour, RenderError> {
        let pi = self.photometric.as_str();
        let c = match (self.spp, pi) {
            (1, "MONOCHROME1") => Colour::Monochrome1,
            (1, "MONOCHROME2") => Colour::Monochrome2,
            (1, "PALETTE COLOR") => Colour::Palette,
            (3, "RGB") => Colour::Rgb,
            (3, "YBR_FULL" | "YBR_FULL_422") => Colour::YbrFull,
            // decoders undo the J2K component transforms; YBR_PARTIAL_* are 4:2:x JPEG outputs
            (3, "YBR_ICT" | "YBR_RCT" | "YBR_PARTIAL_420" | "YBR_PARTIAL_422") => Colour::Rgb,
            _ => {
                return Err(RenderError::UnsupportedPixelFormat {
                    detail: format!("photometric interpretation {pi} with {} samples", self.spp),
                });
            }
        };
        Ok(c)
    }
}

/// Decodes 0-based frame `index` of the instance. A panic inside a codec (C or Rust) on hostile
/// data becomes `decode-failed` instead of unwinding into the caller.
pub(crate) fn decode_frame<'a>(
    file: &'a DefaultDicomObject,
    px: &PixelModule,
    index: u32,
) -> Result<Frame<'a>, RenderError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        decode_with_codec(file, px, index)
    }))
    .unwrap_or_else(|_| {
        Err(RenderError::DecodeFailed {
            frame: index,
            detail: "the decoder panicked".into(),
        })
    })
}

fn decode_with_codec<'a>(
    file: &'a DefaultDicomObject,
    px: &PixelModule,
    index: u32,
) -> Result<Frame<'a>, RenderError> {
    let ts = file.meta().transfer_syntax();
    let colour = px.stored_colour()?;
    match ts {
        uids::IMPLICIT_VR_LITTLE_ENDIAN
        | uids::EXPLICIT_VR_LITTLE_ENDIAN
        | crate::parse::EXPLICIT_VR_BIG_ENDIAN
        | uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN
        | uids::ENCAPSULATED_UNCOMPRESSED_EXPLICIT_VR_LITTLE_ENDIAN => {
            native::decode(file, px, index, colour)
        }
        uids::RLE_LOSSLESS => rle::decode(file, px, index, colour),
        uids::JPEG_BASELINE8_BIT
        | uids::JPEG_EXTENDED12_BIT
        | uids::JPEG_LOSSLESS
        | uids::JPEG_LOSSLESS_SV1 => jpeg::decode(file, px, index, colour),
        uids::JPEG2000
        | uids::JPEG2000_LOSSLESS
        | uids::JPEG2000MC
        | uids::JPEG2000MC_LOSSLESS
        | uids::HTJ2K
        | uids::HTJ2K_LOSSLESS
        | uids::HTJ2K_LOSSLESS_RPCL
        | uids::JPEGLS_LOSSLESS
        | uids::JPEGLS_NEAR_LOSSLESS => codec::decode(file, px, index, colour),
        other => Err(RenderError::UnsupportedTransferSyntax {
            uid: other.to_string(),
        }),
    }
}

/// Native pixel data bytes in little-endian order (a big-endian file's samples swapped).
pub(crate) fn native_little_endian<'a>(
    file: &DefaultDicomObject,
    data: Cow<'a, [u8]>,
    bits_allocated: u16,
) -> Cow<'a, [u8]> {
    native::little_endian(file, data, usize::from(bits_allocated / 8))
}

/// Masks a raw sample to `bits` and sign-extends it when `signed`.
#[inline]
pub(crate) fn fix_bits(raw: u32, bits: u16, signed: bool) -> i32 {
    let shift = 32 - u32::from(bits);
    if signed {
        ((raw << shift) as i32) >> shift
    } else if bits == 32 {
        // unsigned 32-bit keeps its top 31 bits; see `Frame::value_scale`
        (raw >> 1) as i32
    } else {
        ((raw << shift) >> shift) as i32
    }
}

/// Reads little-endian samples of `bytes_per` bytes from `data` into fixed-up i32 values.
pub(crate) fn le_samples(data: &[u8], bytes_per: usize, bits: u16, signed: bool) -> Vec<i32> {
    match bytes_per {
        1 => data
            .iter()
            .map(|&b| fix_bits(u32::from(b), bits, signed))
            .collect(),
        2 => data
            .chunks_exact(2)
            .map(|c| fix_bits(u32::from(u16::from_le_bytes([c[0], c[1]])), bits, signed))
            .collect(),
        _ => data
            .chunks_exact(4)
            .map(|c| fix_bits(u32::from_le_bytes([c[0], c[1], c[2], c[3]]), bits, signed))
            .collect(),
    }
}

/// Reorders planar `R…G…B…` samples to interleaved `RGBRGB…`.
pub(crate) fn interleave(planar: &[i32], pixels: usize) -> Vec<i32> {
    let mut out = Vec::with_capacity(pixels * 3);
    for i in 0..pixels {
        out.extend_from_slice(&[planar[i], planar[pixels + i], planar[2 * pixels + i]]);
    }
    out
}
