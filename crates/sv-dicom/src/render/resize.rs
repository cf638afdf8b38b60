//! Preview geometry: non-square pixels and the short-side rule, then a fast_image_resize pass.

use dicom_dictionary_std::tags;
use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use super::{PreviewOptions, RenderedImage};
use crate::attrs::{Obj, floats};
use crate::error::RenderError;

/// Physical height / width of one pixel: Pixel Aspect Ratio, else Pixel Spacing, else 1.
/// Ratios within 1% of square, or beyond 1:8, are treated as square.
pub(crate) fn pixel_aspect(o: &Obj) -> f64 {
    let pair = |v: Option<Vec<f64>>| v.filter(|v| v.len() >= 2 && v[0] > 0.0 && v[1] > 0.0);
    let ratio = o
        .get(tags::PIXEL_ASPECT_RATIO)
        .and_then(|e| e.value().to_multi_int::<i64>().ok())
        .map(|v| v.into_iter().map(|x| x as f64).collect())
        .and_then(|v| pair(Some(v)))
        .or_else(|| pair(floats(o, tags::PIXEL_SPACING)))
        .map_or(1.0, |v| v[0] / v[1]);
    if (ratio - 1.0).abs() < 0.01 || !(0.125..=8.0).contains(&ratio) {
        1.0
    } else {
        ratio
    }
}

/// Output size for an image of `w`×`h` pixels with the given pixel aspect (height/width).
pub(crate) fn target_size(w: usize, h: usize, aspect: f64, opts: &PreviewOptions) -> (u32, u32) {
    let (dw, dh) = (w as f64, h as f64 * aspect);
    let short = dw.min(dh);
    let mut scale = if short < f64::from(opts.min_short_side) {
        f64::from(opts.min_short_side) / short
    } else if short > f64::from(opts.max_short_side) {
        f64::from(opts.max_short_side) / short
    } else {
        1.0
    };
    let long = dw.max(dh) * scale;
    if long > f64::from(opts.max_long_side) {
        scale *= f64::from(opts.max_long_side) / long;
    }
    let tw = (dw * scale).round().max(1.0) as u32;
    let th = (dh * scale).round().max(1.0) as u32;
    (tw, th)
}

/// Resizes with Catmull-Rom (sharp enough both ways, 2× cheaper than Lanczos3).
pub(crate) fn resize(img: RenderedImage, tw: u32, th: u32) -> Result<RenderedImage, RenderError> {
    if img.width == tw && img.height == th {
        return Ok(img);
    }
    let fail = |e: &dyn std::fmt::Display| RenderError::EncodeFailed {
        detail: format!("resize: {e}"),
    };
    let pt = if img.channels == 3 {
        PixelType::U8x3
    } else {
        PixelType::U8
    };
    let src = ImageRef::new(img.width, img.height, &img.pixels, pt).map_err(|e| fail(&e))?;
    let mut dst = Image::new(tw, th, pt);
    let opts = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::CatmullRom));
    Resizer::new()
        .resize(&src, &mut dst, &opts)
        .map_err(|e| fail(&e))?;
    Ok(RenderedImage {
        width: tw,
        height: th,
        channels: img.channels,
        pixels: dst.into_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_side_rule() {
        let o = PreviewOptions::default();
        assert_eq!(target_size(64, 64, 1.0, &o), (500, 500));
        assert_eq!(target_size(3000, 2500, 1.0, &o), (1229, 1024));
        assert_eq!(target_size(800, 600, 1.0, &o), (800, 600));
        assert_eq!(target_size(256, 128, 2.0, &o), (500, 500));
        // 10×2000 would be 500×100000: the long side is capped, the short side gives way
        assert_eq!(target_size(10, 2000, 1.0, &o), (20, 4096));
    }
}
