//! Preview encoding: JPEG via jpeg-encoder (SIMD), PNG via image's fast deflate.

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
    let mut out = Vec::with_capacity(img.pixels.len() / 8 + 1024);
    match format {
        PreviewFormat::Jpeg => {
            let w = u16::try_from(img.width).map_err(|e| fail(&e))?;
            let h = u16::try_from(img.height).map_err(|e| fail(&e))?;
            let ct = if img.channels == 3 {
                jpeg_encoder::ColorType::Rgb
            } else {
                jpeg_encoder::ColorType::Luma
            };
            jpeg_encoder::Encoder::new(&mut out, jpeg_quality.clamp(1, 100))
                .encode(&img.pixels, w, h, ct)
                .map_err(|e| fail(&e))?;
        }
        PreviewFormat::Png => {
            let ct = if img.channels == 3 {
                image::ExtendedColorType::Rgb8
            } else {
                image::ExtendedColorType::L8
            };
            PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Adaptive)
                .write_image(&img.pixels, img.width, img.height, ct)
                .map_err(|e| fail(&e))?;
        }
    }
    Ok(out)
}
