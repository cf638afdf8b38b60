//! Preview encoding: JPEG via libjpeg-turbo (the `turbojpeg` crate), PNG via image's fast
//! deflate.
//!
//! JPEG encoding is the largest cost of ingesting a CT slice: libjpeg-turbo with its SIMD
//! entropy coder takes about a third of the time of jpeg-encoder (0.5-0.7 ms against 2.0 ms
//! for a 512x512 grey slice at quality 90, measured on the build machine).
//!
//! Colour is encoded 4:4:4, not chroma-subsampled: 4:2:0 halves the chroma resolution, which
//! smears the 1-pixel coloured annotations, calipers and traces of ultrasound and secondary
//! captures. Colour previews also get optimised Huffman tables (a second entropy pass, 1-3 ms
//! for a 500x500 preview), which keeps them within 1.4 times the size of the 4:2:0 files
//! (`previews.rs` checks 1.5 on every colour fixture); grayscale keeps the one-pass encoder.

use image::ImageEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};

use super::{PreviewFormat, RenderedImage};
use crate::error::RenderError;

pub(crate) fn encode(
    img: &RenderedImage,
    format: PreviewFormat,
    jpeg_quality: u8,
) -> Result<Vec<u8>, RenderError> {
    let fail = |e: &dyn std::fmt::Display| RenderError::EncodeFailed {
        detail: e.to_string(),
    };
    match format {
        PreviewFormat::Jpeg => jpeg(img, jpeg_quality).map_err(|e| fail(&e)),
        PreviewFormat::Png => {
            let ct = if img.channels == 3 {
                image::ExtendedColorType::Rgb8
            } else {
                image::ExtendedColorType::L8
            };
            let mut out = Vec::with_capacity(img.pixels.len() / 8 + 1024);
            PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Adaptive)
                .write_image(&img.pixels, img.width, img.height, ct)
                .map_err(|e| fail(&e))?;
            Ok(out)
        }
    }
}

/// Baseline JPEG: grey as one component, RGB as YCbCr 4:4:4 with optimised Huffman tables.
fn jpeg(img: &RenderedImage, quality: u8) -> Result<Vec<u8>, turbojpeg::Error> {
    let colour = img.channels == 3;
    let (format, subsamp) = if colour {
        (turbojpeg::PixelFormat::RGB, turbojpeg::Subsamp::None)
    } else {
        (turbojpeg::PixelFormat::GRAY, turbojpeg::Subsamp::Gray)
    };
    let width = img.width as usize;
    let image = turbojpeg::Image {
        pixels: img.pixels.as_slice(),
        width,
        pitch: width * usize::from(img.channels),
        height: img.height as usize,
        format,
    };
    let mut compressor = turbojpeg::Compressor::new()?;
    compressor.set_quality(i32::from(quality.clamp(1, 100)))?;
    compressor.set_subsamp(subsamp)?;
    compressor.set_optimize(colour)?;
    compressor.compress_to_vec(image)
}
