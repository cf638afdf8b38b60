//! Grayscale pipeline: Modality LUT, VOI, MONOCHROME1 inversion, to 8 bits.
//!
//! For raw 8/16-bit samples the whole chain, masking and sign extension included, is folded into
//! one table indexed by the raw sample (over the range of samples present, not every possible
//! value), so a 7.5 MP radiograph costs one histogram or min/max pass and one lookup pass,
//! straight from the parsed pixel data.

use super::lut::Modality;
use super::voi::{self, Voi};
use crate::attrs::Obj;
use crate::pixels::{Colour, Frame, Samples, fix_bits};

/// `window`, when given, replaces the stored VOI (a viewer's or a WADO-RS request's choice).
pub(crate) fn render(frame: &Frame, o: &Obj, window: Option<Voi>) -> Vec<u8> {
    let modality = Modality::read(o, frame.signed);
    let invert = frame.colour == Colour::Monochrome1;
    let stored = window.or_else(|| voi::stored(o));
    match &frame.samples {
        Samples::Raw { data, bytes } => {
            let fix = |raw: usize| fix_bits(raw as u32, frame.bits, frame.signed);
            // The automatic window needs the histogram; a stored one needs only the range of
            // raw values present, so the table covers that range and not all 65,536 values.
            let counts = stored.is_none().then(|| histogram(data, *bytes));
            let Some((lo, hi)) = (match &counts {
                Some(counts) => used_range(counts),
                None => raw_range(data, *bytes),
            }) else {
                return Vec::new();
            };
            let window = stored.unwrap_or_else(|| {
                let counts = counts.as_deref().unwrap_or_default();
                let hist = (lo..=hi)
                    .filter(|&raw| counts[raw] > 0)
                    .map(|raw| (modality.apply(fix(raw)), u64::from(counts[raw])))
                    .collect();
                voi::auto(hist)
            });
            let table: Vec<u8> = (lo..=hi)
                .map(|raw| voi::to_u8(&modality, &window, invert, fix(raw)))
                .collect();
            if *bytes == 1 {
                data.iter().map(|&b| table[usize::from(b) - lo]).collect()
            } else {
                data.chunks_exact(2)
                    .map(|c| table[usize::from(u16::from_le_bytes([c[0], c[1]])) - lo])
                    .collect()
            }
        }
        Samples::Values(values) => {
            let k = frame.value_scale();
            let window = stored.unwrap_or_else(|| auto_window(values, &modality, k));
            values
                .iter()
                .map(|&s| voi::to_u8_f64(&modality, &window, invert, f64::from(s) * k))
                .collect()
        }
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

fn auto_window(values: &[i32], modality: &Modality, k: f64) -> Voi {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let mut hist: Vec<(f64, u64)> = Vec::new();
    for s in sorted {
        let v = modality.apply_f64(f64::from(s) * k);
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
