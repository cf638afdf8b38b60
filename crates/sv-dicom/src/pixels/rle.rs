//! RLE Lossless (PS3.5 Annex G): our own decoder, so 32-bit samples work too.

use dicom_encoding::adapters::PixelDataObject;
use dicom_object::DefaultDicomObject;

use super::{Colour, Frame, PixelModule, Samples, fix_bits};
use crate::error::RenderError;

pub(crate) fn decode(
    file: &DefaultDicomObject,
    px: &PixelModule,
    index: u32,
    colour: Colour,
) -> Result<Frame<'static>, RenderError> {
    let fail = |detail: &str| RenderError::DecodeFailed {
        frame: index,
        detail: detail.to_string(),
    };
    if px.bits_allocated == 1 {
        return Err(RenderError::UnsupportedPixelFormat {
            detail: "1-bit RLE".into(),
        });
    }
    let data = file
        .frame_pixel_data(index)
        .ok_or_else(|| fail("frame not found in the fragments"))?;
    if data.len() < 64 {
        return Err(fail("rle header shorter than 64 bytes"));
    }
    let word = |i: usize| u32::from_le_bytes(data[i * 4..i * 4 + 4].try_into().expect("4 bytes"));
    let segments = word(0) as usize;
    let bytes_per = usize::from(px.bits_allocated / 8);
    if segments != px.spp * bytes_per || segments > 15 {
        return Err(fail("segment count does not match samples and bits"));
    }
    let pixels = px.rows * px.cols;
    let mut planes: Vec<Vec<u8>> = Vec::with_capacity(segments);
    for s in 0..segments {
        let start = word(1 + s) as usize;
        let end = if s + 1 < segments {
            word(2 + s) as usize
        } else {
            data.len()
        };
        if start > end || end > data.len() {
            return Err(fail("segment offsets out of range"));
        }
        planes.push(unpack(&data[start..end], pixels));
    }
    let mut samples = Vec::with_capacity(pixels * px.spp);
    for p in 0..pixels {
        for sample in planes.chunks_exact(bytes_per) {
            // segments of one sample run from the most to the least significant byte
            let v = sample
                .iter()
                .fold(0u32, |v, plane| (v << 8) | u32::from(plane[p]));
            samples.push(fix_bits(v, px.bits_stored, px.signed));
        }
    }
    Ok(Frame {
        width: px.cols,
        height: px.rows,
        samples: Samples::Values(samples),
        bits: px.bits_stored,
        signed: px.signed,
        colour,
    })
}

/// PackBits: a header byte n in 0..=127 copies n+1 literals, in -127..=-1 repeats the next byte
/// 1-n times, -128 is a no-op. The output is padded or cut to `len`.
fn unpack(src: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut i = 0;
    while i < src.len() && out.len() < len {
        let n = src[i] as i8;
        i += 1;
        if n >= 0 {
            let count = n as usize + 1;
            let end = (i + count).min(src.len());
            out.extend_from_slice(&src[i..end]);
            i = end;
        } else if n != -128 {
            let count = 1 + (-(n as i32)) as usize;
            if let Some(&b) = src.get(i) {
                out.extend(std::iter::repeat_n(b, count));
            }
            i += 1;
        }
    }
    out.resize(len, 0);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn packbits() {
        assert_eq!(
            super::unpack(&[2, 1, 2, 3, 0xFE, 9], 6),
            vec![1, 2, 3, 9, 9, 9]
        );
        assert_eq!(super::unpack(&[0x80, 0, 7], 2), vec![7, 0]);
    }
}
