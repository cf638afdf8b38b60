//! Native (uncompressed) pixel data: 1/8/16/32 bits, planar configuration, native YBR_FULL_422.

use std::borrow::Cow;

use dicom_core::PrimitiveValue;
use dicom_core::value::Value;
use dicom_dictionary_std::tags;
use dicom_object::DefaultDicomObject;

use super::{Colour, Frame, PixelModule, Samples, interleave, le_samples};
use crate::attrs;
use crate::error::RenderError;

pub(crate) fn decode<'a>(
    file: &'a DefaultDicomObject,
    px: &PixelModule,
    index: u32,
    colour: Colour,
) -> Result<Frame<'a>, RenderError> {
    let data = attrs::bytes(file, tags::PIXEL_DATA).ok_or(RenderError::NotAnImage)?;
    let data = little_endian(file, data, usize::from(px.bits_allocated / 8));
    let pixels = px.rows * px.cols;
    let index = index as usize;
    let samples = if px.spp == 1 && matches!(px.bits_allocated, 8 | 16) {
        let bytes = usize::from(px.bits_allocated / 8);
        let frame_len = pixels * bytes;
        let start = index * frame_len;
        ensure_len(data.len(), start + frame_len)?;
        let data = match data {
            Cow::Borrowed(b) => Cow::Borrowed(&b[start..start + frame_len]),
            Cow::Owned(v) => Cow::Owned(v[start..start + frame_len].to_vec()),
        };
        Samples::Raw { data, bytes }
    } else if px.bits_allocated == 1 {
        let n = pixels * px.spp;
        let first_bit = index * n;
        let needed = (first_bit + n).div_ceil(8);
        ensure_len(data.len(), needed)?;
        Samples::Values(
            (first_bit..first_bit + n)
                .map(|bit| i32::from((data[bit / 8] >> (bit % 8)) & 1))
                .collect(),
        )
    } else if px.photometric == "YBR_FULL_422" && px.spp == 3 && px.bits_allocated == 8 {
        // two Y samples share one Cb, Cr pair: Y1 Y2 Cb Cr
        let frame_len = pixels * 2;
        let start = index * frame_len;
        ensure_len(data.len(), start + frame_len)?;
        let mut out = Vec::with_capacity(pixels * 3);
        for q in data[start..start + frame_len].chunks_exact(4) {
            let (y1, y2, cb, cr) = (q[0], q[1], q[2], q[3]);
            out.extend([y1, cb, cr, y2, cb, cr].map(i32::from));
        }
        out.truncate(pixels * 3);
        Samples::Values(out)
    } else {
        let bytes_per = usize::from(px.bits_allocated / 8);
        let frame_len = pixels * px.spp * bytes_per;
        let start = index * frame_len;
        ensure_len(data.len(), start + frame_len)?;
        let s = le_samples(
            &data[start..start + frame_len],
            bytes_per,
            px.bits_stored,
            px.signed,
        );
        Samples::Values(if px.spp == 3 && px.planar {
            interleave(&s, pixels)
        } else {
            s
        })
    };
    Ok(Frame {
        width: px.cols,
        height: px.rows,
        samples,
        bits: if px.bits_allocated == 1 {
            1
        } else {
            px.bits_stored
        },
        signed: px.signed,
        colour,
    })
}

/// Big endian files: dicom-rs swaps OW words but not 32-bit samples, and leaves OB bytes alone.
pub(crate) fn little_endian<'a>(
    file: &DefaultDicomObject,
    data: Cow<'a, [u8]>,
    bytes_per: usize,
) -> Cow<'a, [u8]> {
    if file.meta().transfer_syntax() != crate::parse::EXPLICIT_VR_BIG_ENDIAN || bytes_per < 2 {
        return data;
    }
    let value = file.get(tags::PIXEL_DATA).map(|e| e.value());
    let word_swapped = matches!(value, Some(Value::Primitive(PrimitiveValue::U16(_))));
    let raw = matches!(value, Some(Value::Primitive(PrimitiveValue::U8(_))));
    if !(raw || (word_swapped && bytes_per == 4)) {
        return data;
    }
    let mut v = data.into_owned();
    for s in v.chunks_exact_mut(bytes_per) {
        if raw {
            s.reverse();
        } else {
            s.rotate_left(2);
        }
    }
    Cow::Owned(v)
}

fn ensure_len(have: usize, need: usize) -> Result<(), RenderError> {
    if have < need {
        return Err(RenderError::Truncated {
            detail: format!("frame needs {need} bytes of pixel data, {have} present"),
        });
    }
    Ok(())
}
