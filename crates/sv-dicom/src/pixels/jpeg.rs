//! JPEG baseline, extended and lossless via jpeg-decoder, choosing the colour transform ourselves.
//!
//! jpeg-decoder assumes YCbCr for three components unless an Adobe APP14 marker says otherwise;
//! DICOM RGB JPEGs often carry no marker at all (or a truncated APP14), so we decide as pydicom
//! with libjpeg does: a complete APP14 transform flag wins, then JFIF (YCbCr), then component ids
//! `R`,`G`,`B` (RGB), then the Photometric Interpretation (`RGB` means no transform). 12-bit lossy JPEG (process 2/4), which jpeg-decoder and zune-jpeg refuse, goes
//! to libjpeg-turbo-rs (pure Rust).

use dicom_encoding::adapters::PixelDataObject;
use dicom_object::DefaultDicomObject;
use jpeg_decoder::{ColorTransform, Decoder, PixelFormat};

use std::borrow::Cow;

use super::{Colour, Frame, PixelModule, Samples, le_samples};
use crate::error::RenderError;

/// What the marker segments before the first scan tell.
#[derive(Debug, Default)]
struct Header {
    precision: u8,
    lossless: bool,
    component_ids: Vec<u8>,
    /// The APP14 transform flag (0 = none, 1 = YCbCr, 2 = YCCK) when the segment is complete.
    adobe_transform: Option<u8>,
    jfif: bool,
}

fn scan_header(data: &[u8]) -> Option<Header> {
    let mut h = Header::default();
    let mut i = 2; // after SOI
    if data.len() < 4 || data[0] != 0xFF || data[1] != 0xD8 {
        return None;
    }
    while i + 4 <= data.len() {
        if data[i] != 0xFF {
            i += 1;
            continue;
        }
        let marker = data[i + 1];
        if marker == 0xFF || (0xD0..=0xD7).contains(&marker) || marker == 0x01 {
            i += if marker == 0xFF { 1 } else { 2 };
            continue;
        }
        let len = usize::from(u16::from_be_bytes([data[i + 2], data[i + 3]]));
        let body = data.get(i + 4..(i + 2 + len).min(data.len()))?;
        match marker {
            0xE0 if body.starts_with(b"JFIF") => h.jfif = true,
            0xEE if body.starts_with(b"Adobe") && body.len() >= 12 => {
                h.adobe_transform = Some(body[11]);
            }
            0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                h.precision = *body.first()?;
                h.lossless = matches!(marker, 0xC3 | 0xC7 | 0xCB | 0xCF);
                let n = usize::from(*body.get(5)?);
                h.component_ids = (0..n)
                    .filter_map(|c| body.get(6 + 3 * c).copied())
                    .collect();
            }
            0xDA => return Some(h),
            _ => {}
        }
        i += 2 + len;
    }
    Some(h)
}

pub(crate) fn decode(
    file: &DefaultDicomObject,
    px: &PixelModule,
    index: u32,
    colour: Colour,
) -> Result<Frame<'static>, RenderError> {
    let fail = |detail: String| RenderError::DecodeFailed {
        frame: index,
        detail,
    };
    let data = match file.frame_pixel_data(index) {
        Some(d) => d,
        None => Cow::Owned(
            nth_codestream(file, index as usize)
                .ok_or_else(|| fail("frame not found in the fragments".into()))?,
        ),
    };
    let header = scan_header(&data).ok_or_else(|| fail("no JPEG start-of-image marker".into()))?;
    if header.precision > 8 && !header.lossless {
        return decode_12bit(&data, px, index, colour);
    }
    let mut decoder = Decoder::new(&data[..]);
    decoder.set_max_decoding_buffer_size(px.rows * px.cols * px.spp * 2 + 1024);
    if px.spp == 3 && !header.lossless {
        let stored_rgb = match header.adobe_transform {
            Some(t) => t == 0,
            None if header.jfif => false,
            None if header.component_ids == [b'R', b'G', b'B'] => true,
            None => px.photometric == "RGB",
        };
        // `ColorTransform::None` would return planes one after another; `RGB` interleaves as is.
        decoder.set_color_transform(if stored_rgb {
            ColorTransform::RGB
        } else {
            ColorTransform::YCbCr
        });
    }
    let decoded = decoder.decode().map_err(|e| fail(e.to_string()))?;
    let info = decoder
        .info()
        .ok_or_else(|| fail("no frame header".into()))?;
    if usize::from(info.width) != px.cols || usize::from(info.height) != px.rows {
        return Err(fail(format!(
            "JPEG is {}x{}, attributes say {}x{}",
            info.width, info.height, px.cols, px.rows
        )));
    }
    let (spp, bytes_per) = match info.pixel_format {
        PixelFormat::L8 => (1, 1),
        PixelFormat::L16 => (1, 2),
        PixelFormat::RGB24 => (3, 1),
        PixelFormat::CMYK32 => {
            return Err(RenderError::UnsupportedPixelFormat {
                detail: "CMYK JPEG".into(),
            });
        }
    };
    if spp != px.spp {
        return Err(fail(format!(
            "JPEG has {spp} components, attributes say {}",
            px.spp
        )));
    }
    let bits = if bytes_per == 1 {
        8
    } else {
        px.bits_stored.min(16)
    };
    let signed = px.signed && spp == 1;
    // Lossy colour JPEGs come out as RGB; lossless ones keep the stored colour model.
    let colour = if spp == 3 && !header.lossless {
        Colour::Rgb
    } else {
        colour
    };
    Ok(Frame {
        width: px.cols,
        height: px.rows,
        samples: if spp == 1 {
            Samples::Raw {
                data: Cow::Owned(decoded),
                bytes: bytes_per,
            }
        } else {
            Samples::Values(le_samples(&decoded, bytes_per, bits, signed))
        },
        bits,
        signed,
        colour,
    })
}

/// 12-bit lossy JPEG (JPEG Extended, process 4): grayscale or colour via libjpeg-turbo-rs.
fn decode_12bit(
    data: &[u8],
    px: &PixelModule,
    index: u32,
    colour: Colour,
) -> Result<Frame<'static>, RenderError> {
    let img = libjpeg_turbo_rs::precision::decompress_12bit(data).map_err(|e| {
        RenderError::DecodeFailed {
            frame: index,
            detail: format!("12-bit JPEG: {e}"),
        }
    })?;
    if img.width != px.cols || img.height != px.rows || img.num_components != px.spp {
        return Err(RenderError::DecodeFailed {
            frame: index,
            detail: format!(
                "12-bit JPEG is {}x{}x{}, attributes say {}x{}x{}",
                img.width, img.height, img.num_components, px.cols, px.rows, px.spp
            ),
        });
    }
    let bits = px.bits_stored.clamp(9, 12);
    let signed = px.signed && px.spp == 1;
    let samples = img
        .data
        .iter()
        .map(|&v| super::fix_bits(u32::from(v as u16), bits, signed))
        .collect();
    Ok(Frame {
        width: px.cols,
        height: px.rows,
        samples: Samples::Values(samples),
        bits,
        signed,
        colour: if px.spp == 3 { Colour::Rgb } else { colour },
    })
}

/// Multi-frame JPEG split over several fragments per frame with no offset table: the frames are
/// the codestreams of the concatenated fragments, each from SOI to EOI (EOI cannot occur inside
/// entropy-coded data, which stuffs 0xFF bytes).
fn nth_codestream(file: &DefaultDicomObject, n: usize) -> Option<Vec<u8>> {
    let count = file.number_of_fragments()? as usize;
    let all: Vec<u8> = (0..count)
        .filter_map(|i| file.fragment(i))
        .flat_map(|f| f.into_owned())
        .collect();
    let mut pos = 0;
    for i in 0.. {
        let start = pos + all.get(pos..)?.windows(2).position(|w| w == [0xFF, 0xD8])?;
        let end = start
            + 2
            + all[start + 2..]
                .windows(2)
                .position(|w| w == [0xFF, 0xD9])?
            + 2;
        if i == n {
            return Some(all[start..end].to_vec());
        }
        pos = end;
    }
    None
}
