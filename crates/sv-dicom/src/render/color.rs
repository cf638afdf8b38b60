//! Colour pipeline: PALETTE COLOR lookup, YBR_FULL to RGB, deeper samples scaled to 8 bits.

use super::palette::Palette;
use crate::attrs::Obj;
use crate::error::RenderError;
use crate::pixels::{Colour, Frame};

/// Interleaved RGB8 of a PALETTE COLOR, RGB or YBR_FULL frame.
pub(crate) fn render(frame: &Frame, o: &Obj) -> Result<Vec<u8>, RenderError> {
    match frame.colour {
        Colour::Palette => palette(frame, o),
        Colour::Rgb => Ok(scaled(frame)),
        Colour::YbrFull => {
            let mut px = scaled(frame);
            for p in px.chunks_exact_mut(3) {
                let rgb = ybr_to_rgb(p[0], p[1], p[2]);
                p.copy_from_slice(&rgb);
            }
            Ok(px)
        }
        Colour::Monochrome1 | Colour::Monochrome2 => unreachable!("grayscale goes to gray.rs"),
    }
}

/// Samples to 0..=255: as is up to 8 bits, else `v * 255 / (2^bits - 1)` rounded.
fn scaled(frame: &Frame) -> Vec<u8> {
    let values = frame.values();
    if frame.bits <= 8 {
        return values.iter().map(|&v| v.clamp(0, 255) as u8).collect();
    }
    let max = ((1u64 << frame.sample_bits()) - 1) as f64;
    values
        .iter()
        .map(|&v| {
            ((f64::from(v.max(0)) * 255.0 / max) + 0.5)
                .floor()
                .min(255.0) as u8
        })
        .collect()
}

/// Full-range YCbCr (ITU-T T.871) to RGB, rounded half up and clamped.
#[inline]
pub(crate) fn ybr_to_rgb(y: u8, cb: u8, cr: u8) -> [u8; 3] {
    let (y, cb, cr) = (f64::from(y), f64::from(cb) - 128.0, f64::from(cr) - 128.0);
    let r = y + 1.402 * cr;
    let g = y - (0.114 * 1.772 / 0.587) * cb - (0.299 * 1.402 / 0.587) * cr;
    let b = y + 1.772 * cb;
    [r, g, b].map(|v| (v + 0.5).floor().clamp(0.0, 255.0) as u8)
}

/// PALETTE COLOR: each stored value through the Red, Green and Blue tables (plain or
/// segmented), clamped at their ends.
fn palette(frame: &Frame, o: &Obj) -> Result<Vec<u8>, RenderError> {
    let palette = Palette::read(o, frame.signed)?;
    let values = frame.values();
    let mut out = Vec::with_capacity(values.len() * 3);
    for &s in values.iter() {
        out.extend_from_slice(&palette.rgb(i64::from(s)));
    }
    Ok(out)
}
