//! The VOI stage: stored window (LINEAR, LINEAR_EXACT, SIGMOID), VOI LUT Sequence, or a robust
//! 0.5–99.5 percentile window of the frame's modality values; output in 0..=255 before rounding.

use dicom_dictionary_std::tags;

use super::groups;
use super::lut::{Lut, Modality};
use crate::attrs::{Obj, first_item, floats, text};

/// Percentile bounds of the automatic window, in thousandths.
pub(crate) const AUTO_LOW_PERMILLE: usize = 5;
pub(crate) const AUTO_HIGH_PERMILLE: usize = 995;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Function {
    Linear,
    LinearExact,
    Sigmoid,
}

#[derive(Debug, Clone)]
pub(crate) enum Voi {
    Window {
        center: f64,
        width: f64,
        function: Function,
    },
    Table(Lut),
    /// Linear from `lo` (black) to `hi` (white); `lo == hi` renders black.
    Range {
        lo: f64,
        hi: f64,
    },
}

/// The stored VOI of 0-based frame `index`, if any: from the first place, in the order of
/// [`groups::sources`] (the Frame VOI LUT macro of enhanced objects), that has a usable window
/// (the first of several, preferred, as DESIGN.md orders it) or else a VOI LUT Sequence item.
pub(crate) fn stored(o: &Obj, index: u32) -> Option<Voi> {
    groups::sources(o, index, tags::FRAME_VOILUT_SEQUENCE).find_map(|src| {
        window(src).or_else(|| {
            first_item(src, tags::VOILUT_SEQUENCE)
                .and_then(|i| Lut::read(i, tags::LUT_DESCRIPTOR, tags::LUT_DATA, false))
                .map(Voi::Table)
        })
    })
}

/// The first Window Center and Width of `src`, with its VOI LUT Function, when usable.
fn window(src: &Obj) -> Option<Voi> {
    let center = floats(src, tags::WINDOW_CENTER)?[0];
    let width = floats(src, tags::WINDOW_WIDTH)?[0];
    let function = match text(src, tags::VOILUT_FUNCTION).as_deref() {
        Some("LINEAR_EXACT") => Function::LinearExact,
        Some("SIGMOID") => Function::Sigmoid,
        _ => Function::Linear,
    };
    let usable = match function {
        Function::Linear => width >= 1.0,
        _ => width > 0.0,
    };
    (usable && center.is_finite() && width.is_finite()).then_some(Voi::Window {
        center,
        width,
        function,
    })
}

/// The automatic window over `(modality value, count)` pairs: 0.5 and 99.5 percentiles, falling
/// back to min/max when they coincide. Index rule (same as the reference script): with N values
/// sorted, lo = v[floor((N-1)*5/1000)], hi = v[ceil((N-1)*995/1000)].
pub(crate) fn auto(mut hist: Vec<(f64, u64)>) -> Voi {
    hist.retain(|&(_, c)| c > 0);
    if hist.is_empty() {
        return Voi::Range { lo: 0.0, hi: 0.0 };
    }
    hist.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n: u64 = hist.iter().map(|&(_, c)| c).sum();
    let k_lo = (n - 1) * AUTO_LOW_PERMILLE as u64 / 1000;
    let k_hi = ((n - 1) * AUTO_HIGH_PERMILLE as u64).div_ceil(1000);
    let at = |k: u64| {
        let mut seen = 0;
        for &(v, c) in &hist {
            seen += c;
            if seen > k {
                return v;
            }
        }
        hist[hist.len() - 1].0
    };
    let (mut lo, mut hi) = (at(k_lo), at(k_hi));
    if hi <= lo {
        lo = hist[0].0;
        hi = hist[hist.len() - 1].0;
    }
    Voi::Range { lo, hi }
}

impl Voi {
    /// Maps a modality value to 0..=255 (unrounded).
    #[inline]
    pub(crate) fn apply(&self, x: f64) -> f64 {
        match *self {
            Voi::Window {
                center: c,
                width: w,
                function,
            } => match function {
                Function::Linear => {
                    let lo = c - 0.5 - (w - 1.0) / 2.0;
                    let hi = c - 0.5 + (w - 1.0) / 2.0;
                    if x <= lo {
                        0.0
                    } else if x > hi {
                        255.0
                    } else {
                        ((x - (c - 0.5)) / (w - 1.0) + 0.5) * 255.0
                    }
                }
                Function::LinearExact => {
                    if x <= c - w / 2.0 {
                        0.0
                    } else if x > c + w / 2.0 {
                        255.0
                    } else {
                        ((x - c) / w + 0.5) * 255.0
                    }
                }
                Function::Sigmoid => 255.0 / (1.0 + (-4.0 * (x - c) / w).exp()),
            },
            Voi::Table(ref lut) => f64::from(lut.lookup(x as i64)) / lut.max_value() * 255.0,
            Voi::Range { lo, hi } => {
                if hi <= lo {
                    0.0
                } else {
                    ((x - lo) / (hi - lo) * 255.0).clamp(0.0, 255.0)
                }
            }
        }
    }
}

/// The grayscale stage for one stored value: modality, then VOI, then optional inversion,
/// rounded half up.
#[inline]
pub(crate) fn to_u8_f64(m: &Modality, v: &Voi, invert: bool, sv: f64) -> u8 {
    let y = (v.apply(m.apply_f64(sv)) + 0.5).floor().clamp(0.0, 255.0) as u8;
    if invert { 255 - y } else { y }
}
