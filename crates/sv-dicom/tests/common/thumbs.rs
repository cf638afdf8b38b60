//! Reference comparison: 64×64 box-averaged thumbnails, per-channel MAE and correlation.

use image::GenericImageView;
use sv_dicom::RenderedImage;

use super::fixtures;

/// Native render vs reference: worst channel MAE and correlation.
pub const NATIVE_MAX_MAE: f64 = 2.0;
pub const NATIVE_MIN_CORR: f64 = 0.99;
/// Encoded preview (resampled, JPEG q90) vs reference.
pub const PREVIEW_MAX_MAE: f64 = 8.0;
pub const PREVIEW_MIN_CORR: f64 = 0.95;

pub const SIZE: usize = 64;
pub const FLAT_VARIANCE: f64 = 16.0;

/// A 64×64 thumbnail, channels interleaved.
#[derive(Debug, Clone, PartialEq)]
pub struct Thumb {
    pub channels: usize,
    pub px: Vec<f64>,
}

/// Box average to 64×64, the rule of make_references.py, rounded half up.
pub fn thumb(w: usize, h: usize, channels: usize, px: &[u8]) -> Thumb {
    let mut out = Vec::with_capacity(SIZE * SIZE * channels);
    for i in 0..SIZE {
        let r0 = i * h / SIZE;
        let r1 = ((i + 1) * h / SIZE).max(r0 + 1);
        for j in 0..SIZE {
            let c0 = j * w / SIZE;
            let c1 = ((j + 1) * w / SIZE).max(c0 + 1);
            for c in 0..channels {
                let mut sum = 0.0;
                for r in r0..r1 {
                    for k in c0..c1 {
                        sum += f64::from(px[(r * w + k) * channels + c]);
                    }
                }
                let n = ((r1 - r0) * (c1 - c0)) as f64;
                out.push((sum / n + 0.5).floor());
            }
        }
    }
    Thumb { channels, px: out }
}

pub fn thumb_of(img: &RenderedImage) -> Thumb {
    let (w, h, ch) = (
        img.width as usize,
        img.height as usize,
        usize::from(img.channels),
    );
    thumb(w, h, ch, &img.pixels)
}

pub fn reference(name: &str) -> Thumb {
    let file = format!("{}.png", name.replace('/', "__"));
    let path = fixtures().join("previews").join(file);
    let img = image::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(img.dimensions(), (SIZE as u32, SIZE as u32));
    match img {
        image::DynamicImage::ImageLuma8(g) => Thumb {
            channels: 1,
            px: g.into_raw().into_iter().map(f64::from).collect(),
        },
        other => Thumb {
            channels: 3,
            px: other
                .to_rgb8()
                .into_raw()
                .into_iter()
                .map(f64::from)
                .collect(),
        },
    }
}

/// (worst channel MAE, worst channel correlation); a flat channel counts as correlated.
/// Grayscale against colour never matches: (infinity, -1).
pub fn compare(a: &Thumb, b: &Thumb) -> (f64, f64) {
    if a.channels != b.channels {
        return (f64::INFINITY, -1.0);
    }
    let ch = a.channels;
    let (mut worst_mae, mut worst_corr) = (0.0f64, 1.0f64);
    for c in 0..ch {
        let x: Vec<f64> = a.px.iter().skip(c).step_by(ch).copied().collect();
        let y: Vec<f64> = b.px.iter().skip(c).step_by(ch).copied().collect();
        let n = x.len() as f64;
        let mae = x.iter().zip(&y).map(|(p, q)| (p - q).abs()).sum::<f64>() / n;
        let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
        let cov: f64 = x.iter().zip(&y).map(|(p, q)| (p - mx) * (q - my)).sum();
        let vx: f64 = x.iter().map(|p| (p - mx).powi(2)).sum();
        let vy: f64 = y.iter().map(|q| (q - my).powi(2)).sum();
        // A near-flat reference channel (std < 4 grey levels) has no shape to correlate with.
        let corr = if vy / n < FLAT_VARIANCE || vx < 1e-9 {
            1.0 // the caller's MAE bound decides
        } else {
            cov / (vx * vy).sqrt()
        };
        worst_mae = worst_mae.max(mae);
        worst_corr = worst_corr.min(corr);
    }
    (worst_mae, worst_corr)
}

/// A grayscale thumbnail as RGB (each grey repeated): what a renderer that drops the palette
/// and shows the stored values in grey hands out, once it is compared as colour.
pub fn grey_as_rgb(t: &Thumb) -> Thumb {
    assert_eq!(t.channels, 1);
    Thumb {
        channels: 3,
        px: t.px.iter().flat_map(|&v| [v; 3]).collect(),
    }
}

pub fn matches(ours: &Thumb, reference: &Thumb) -> bool {
    let (mae, corr) = compare(ours, reference);
    mae <= NATIVE_MAX_MAE && corr >= NATIVE_MIN_CORR
}
