//! Grayscale pipeline: Modality LUT, VOI, MONOCHROME1 inversion, to 8 bits.
//!
//! For samples of up to 16 bits the whole chain is folded into one table over the stored range,
//! so a 7.5 MP radiograph costs one lookup per pixel.

use super::lut::Modality;
use super::voi;
use crate::attrs::Obj;
use crate::pixels::{Colour, Frame};

pub(crate) fn render(frame: &Frame, o: &Obj) -> Vec<u8> {
    let modality = Modality::read(o, frame.signed);
    let invert = frame.colour == Colour::Monochrome1;
    let stored = voi::stored(o);
    if frame.bits <= 16 {
        let (min, max) = if frame.signed {
            (-(1i32 << (frame.bits - 1)), (1i32 << (frame.bits - 1)) - 1)
        } else {
            (0, (1i32 << frame.bits) - 1)
        };
        let window = stored.unwrap_or_else(|| {
            let mut counts = vec![0u64; (max - min + 1) as usize];
            for &s in &frame.samples {
                counts[(s.clamp(min, max) - min) as usize] += 1;
            }
            let hist = counts
                .iter()
                .enumerate()
                .filter(|&(_, &c)| c > 0)
                .map(|(i, &c)| (modality.apply(i as i32 + min), c))
                .collect();
            voi::auto(hist)
        });
        let table: Vec<u8> = (min..=max)
            .map(|sv| voi::to_u8(&modality, &window, invert, sv))
            .collect();
        frame
            .samples
            .iter()
            .map(|&s| table[(s.clamp(min, max) - min) as usize])
            .collect()
    } else {
        let k = frame.value_scale();
        let window = stored.unwrap_or_else(|| {
            voi::auto(
                frame
                    .samples
                    .iter()
                    .map(|&s| (modality.apply_f64(f64::from(s) * k), 1))
                    .collect(),
            )
        });
        frame
            .samples
            .iter()
            .map(|&s| voi::to_u8_f64(&modality, &window, invert, f64::from(s) * k))
            .collect()
    }
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
