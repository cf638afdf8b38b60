//! Grayscale pipeline: Modality LUT, VOI, inversion (MONOCHROME1 or Presentation LUT Shape
//! INVERSE), pixel padding, and the supplemental palette of enhanced objects, to 8 bits.
//!
//! For raw 8/16-bit samples the whole chain, masking and sign extension included, is folded into
//! one table indexed by the raw sample (over the range of samples present, not every possible
//! value), so a 7.5 MP radiograph costs one histogram or min/max pass and one lookup pass,
//! straight from the parsed pixel data.

use dicom_dictionary_std::tags;

use super::lut::Modality;
use super::palette::Palette;
use super::voi::{self, Voi};
use crate::attrs::{Obj, int, text};
use crate::pixels::{Colour, Frame, Samples, fix_bits};

/// What turns one frame's stored values into 8-bit grey or RGB, apart from the VOI.
struct Pipeline {
    modality: Modality,
    /// MONOCHROME1, or Presentation LUT Shape INVERSE (on MONOCHROME1 the same inversion, not a
    /// second one): invert after the VOI.
    invert: bool,
    /// Stored values from Pixel Padding Value to Pixel Padding Range Limit (either order):
    /// shown black, the background, and left out of the automatic window.
    padding: Option<(f64, f64)>,
    /// A supplemental palette (Pixel Presentation COLOR or MIXED): stored values in its range
    /// are shown in its colours and left out of the automatic window.
    palette: Option<Palette>,
}

impl Pipeline {
    fn read(frame: &Frame, o: &Obj, index: u32) -> Pipeline {
        let inverse = text(o, tags::PRESENTATION_LUT_SHAPE).as_deref() == Some("INVERSE");
        let colour = matches!(
            text(o, tags::PIXEL_PRESENTATION).as_deref(),
            Some("COLOR" | "MIXED")
        );
        Pipeline {
            modality: Modality::read(o, frame.signed, index),
            invert: frame.colour == Colour::Monochrome1 || inverse,
            padding: padding(o, frame.signed),
            // supplemental: a table that does not read leaves the image in grey
            palette: (colour && Palette::present(o))
                .then(|| Palette::read(o, frame.signed).ok())
                .flatten(),
        }
    }

    #[inline]
    fn padded(&self, sv: f64) -> bool {
        self.padding.is_some_and(|(lo, hi)| lo <= sv && sv <= hi)
    }

    /// Left out of the automatic window.
    #[inline]
    fn excluded(&self, sv: f64) -> bool {
        self.padded(sv) || self.palette.as_ref().is_some_and(|p| p.maps(sv as i64))
    }

    #[inline]
    fn grey(&self, window: &Voi, sv: f64) -> u8 {
        if self.padded(sv) {
            0
        } else {
            voi::to_u8_f64(&self.modality, window, self.invert, sv)
        }
    }

    #[inline]
    fn rgb(&self, window: &Voi, sv: f64) -> [u8; 3] {
        match &self.palette {
            Some(p) if p.maps(sv as i64) && !self.padded(sv) => p.rgb(sv as i64),
            _ => [self.grey(window, sv); 3],
        }
    }
}

/// Pixel Padding Value and Range Limit as stored values (US or SS as the pixels are).
fn padding(o: &Obj, signed: bool) -> Option<(f64, f64)> {
    let value = |tag| {
        int(o, tag).map(|v| match v {
            0x8000..=0xFFFF if signed => v - 0x10000,
            -0x8000..=-1 if !signed => v + 0x10000,
            _ => v,
        })
    };
    let a = value(tags::PIXEL_PADDING_VALUE)?;
    let b = value(tags::PIXEL_PADDING_RANGE_LIMIT).unwrap_or(a);
    Some((a.min(b) as f64, a.max(b) as f64))
}

/// Renders frame `index` (1 channel, or 3 with a supplemental palette). `window`, when given,
/// replaces the stored VOI (a viewer's or a WADO-RS request's choice).
pub(crate) fn render(frame: &Frame, o: &Obj, index: u32, window: Option<Voi>) -> (u8, Vec<u8>) {
    let p = Pipeline::read(frame, o, index);
    let channels = if p.palette.is_some() { 3 } else { 1 };
    let stored = window.or_else(|| voi::stored(o, index));
    let pixels = match &frame.samples {
        Samples::Raw { data, bytes } => {
            let fix = |raw: usize| f64::from(fix_bits(raw as u32, frame.bits, frame.signed));
            // The automatic window needs the histogram; a stored one needs only the range of
            // raw values present, so the table covers that range and not all 65,536 values.
            let counts = stored.is_none().then(|| histogram(data, *bytes));
            let Some((lo, hi)) = (match &counts {
                Some(counts) => used_range(counts),
                None => raw_range(data, *bytes),
            }) else {
                return (channels, Vec::new());
            };
            let window = stored.unwrap_or_else(|| {
                let counts = counts.as_deref().unwrap_or_default();
                let hist = (lo..=hi)
                    .filter(|&raw| counts[raw] > 0 && !p.excluded(fix(raw)))
                    .map(|raw| (p.modality.apply_f64(fix(raw)), u64::from(counts[raw])))
                    .collect();
                voi::auto(hist)
            });
            if p.palette.is_some() {
                let table: Vec<[u8; 3]> = (lo..=hi).map(|raw| p.rgb(&window, fix(raw))).collect();
                lookup(data, *bytes, lo, &table).into_flattened()
            } else {
                let table: Vec<u8> = (lo..=hi).map(|raw| p.grey(&window, fix(raw))).collect();
                lookup(data, *bytes, lo, &table)
            }
        }
        Samples::Values(values) => {
            let k = frame.value_scale();
            let window = stored.unwrap_or_else(|| auto_window(values, &p, k));
            if p.palette.is_some() {
                values
                    .iter()
                    .flat_map(|&s| p.rgb(&window, f64::from(s) * k))
                    .collect()
            } else {
                values
                    .iter()
                    .map(|&s| p.grey(&window, f64::from(s) * k))
                    .collect()
            }
        }
    };
    (channels, pixels)
}

/// Each raw sample (1 or 2 bytes, little endian, all within `lo..lo + table.len()`) through
/// `table`.
fn lookup<T: Copy>(data: &[u8], bytes: usize, lo: usize, table: &[T]) -> Vec<T> {
    if bytes == 1 {
        data.iter().map(|&b| table[usize::from(b) - lo]).collect()
    } else {
        data.chunks_exact(2)
            .map(|c| table[usize::from(u16::from_le_bytes([c[0], c[1]])) - lo])
            .collect()
    }
}

/// Counts of each raw sample value (1 or 2 bytes, little endian).
fn histogram(data: &[u8], bytes: usize) -> Vec<u32> {
    let mut counts = vec![0u32; 1 << (8 * bytes)];
    if bytes == 1 {
        for &b in data {
            counts[usize::from(b)] += 1;
        }
    } else {
        for c in data.chunks_exact(2) {
            counts[usize::from(u16::from_le_bytes([c[0], c[1]]))] += 1;
        }
    }
    counts
}

/// The smallest and largest raw sample present, from the histogram.
fn used_range(counts: &[u32]) -> Option<(usize, usize)> {
    let lo = counts.iter().position(|&c| c > 0)?;
    let hi = counts.iter().rposition(|&c| c > 0)?;
    Some((lo, hi))
}

/// The smallest and largest raw sample present (1 or 2 bytes, little endian).
fn raw_range(data: &[u8], bytes: usize) -> Option<(usize, usize)> {
    if data.len() < bytes {
        return None;
    }
    if bytes == 1 {
        let (lo, hi) = data
            .iter()
            .fold((u8::MAX, u8::MIN), |(lo, hi), &b| (lo.min(b), hi.max(b)));
        return Some((usize::from(lo), usize::from(hi)));
    }
    let (lo, hi) = data
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .fold((u16::MAX, u16::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    Some((usize::from(lo), usize::from(hi)))
}

fn auto_window(values: &[i32], p: &Pipeline, k: f64) -> Voi {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let mut hist: Vec<(f64, u64)> = Vec::new();
    for s in sorted {
        let sv = f64::from(s) * k;
        if p.excluded(sv) {
            continue;
        }
        let v = p.modality.apply_f64(sv);
        match hist.last_mut() {
            Some((last, c)) if *last == v => *c += 1,
            _ => hist.push((v, 1)),
        }
    }
    voi::auto(hist)
}

#[cfg(test)]
mod tests {
    use super::super::voi::{Voi, auto};

    #[test]
    fn auto_window_ignores_outliers() {
        let mut hist: Vec<(f64, u64)> = (0..1000).map(|v| (f64::from(v), 1)).collect();
        hist.push((1e6, 1));
        let Voi::Range { lo, hi } = auto(hist) else {
            panic!()
        };
        assert_eq!((lo, hi), (5.0, 995.0));
    }

    #[test]
    fn auto_window_of_binary_image_falls_back_to_min_max() {
        let Voi::Range { lo, hi } = auto(vec![(0.0, 999), (1.0, 1)]) else {
            panic!()
        };
        assert_eq!((lo, hi), (0.0, 1.0));
    }
}
