//! Preview rendering: decode one frame, apply the grayscale or colour pipeline, size, encode.

mod color;
mod encode;
mod gray;
mod groups;
mod lut;
mod palette;
mod resize;
mod segmented;
mod voi;

use crate::error::RenderError;
use crate::parse::ParsedInstance;
use crate::pixels::{self, Colour, PixelModule};

/// Encoded image format of a preview.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PreviewFormat {
    /// Baseline JPEG (the default).
    #[default]
    Jpeg,
    /// PNG, fast deflate.
    Png,
}

impl PreviewFormat {
    /// The media type, e.g. `image/jpeg`.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
        }
    }

    /// The file extension without dot: `jpg` or `png`.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
        }
    }
}

/// How previews are sized and encoded (configuration; defaults follow DESIGN.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreviewOptions {
    /// Output format.
    pub format: PreviewFormat,
    /// A shorter side below this is scaled up to it (500).
    pub min_short_side: u32,
    /// A shorter side above this is scaled down to it (1024).
    pub max_short_side: u32,
    /// The longer side never exceeds this (4096), which wins over `min_short_side` for extreme
    /// aspect ratios (a 10×2000 strip becomes 20×4096, not 500×100000).
    pub max_long_side: u32,
    /// JPEG quality 1–100 (90).
    pub jpeg_quality: u8,
}

impl Default for PreviewOptions {
    fn default() -> Self {
        Self {
            format: PreviewFormat::Jpeg,
            min_short_side: 500,
            max_short_side: 1024,
            max_long_side: 4096,
            jpeg_quality: 90,
        }
    }
}

/// A VOI LUT Function a rendering request may name (PS3.3 C.11.2.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowFunction {
    Linear,
    LinearExact,
    Sigmoid,
}

/// A window (centre and width in modality units) a rendering request puts in place of the
/// stored VOI.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VoiWindow {
    pub center: f64,
    pub width: f64,
    pub function: WindowFunction,
}

/// What [`ParsedInstance::render`] makes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RenderRequest {
    /// 0-based frame; the middle one (`n / 2`) when absent.
    pub frame: Option<u32>,
    pub window: Option<VoiWindow>,
    /// Width and height the image is fitted into; native size when absent.
    pub viewport: Option<(u32, u32)>,
    pub format: PreviewFormat,
    /// JPEG quality 1–100.
    pub quality: u8,
}

/// An encoded preview image.
#[derive(Clone, PartialEq, Eq)]
pub struct Preview {
    /// Encoding of `bytes`.
    pub format: PreviewFormat,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The encoded image.
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Preview {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Preview")
            .field("format", &self.format)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// A rendered 8-bit frame at native size: grayscale (1 channel) or interleaved RGB (3).
#[derive(Clone, PartialEq, Eq)]
pub struct RenderedImage {
    /// Width in pixels (Columns).
    pub width: u32,
    /// Height in pixels (Rows).
    pub height: u32,
    /// 1 (grayscale) or 3 (RGB).
    pub channels: u8,
    /// Row-major pixels, `width * height * channels` bytes.
    pub pixels: Vec<u8>,
}

impl std::fmt::Debug for RenderedImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenderedImage")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("channels", &self.channels)
            .finish_non_exhaustive()
    }
}

impl ParsedInstance {
    /// Renders the preview frame (0-based `n / 2` of `n` frames) to 8 bits at native size, with
    /// Modality LUT and VOI (the frame's own functional groups first), MONOCHROME1 or
    /// Presentation LUT Shape inversion, pixel padding, palettes (plain, segmented or
    /// supplemental) and YBR conversion applied.
    pub fn render_image(&self) -> Result<RenderedImage, RenderError> {
        let px = PixelModule::read(&self.obj)?;
        self.render_frame(px.frames / 2)
    }

    /// Renders 0-based frame `index` to 8 bits at native size.
    pub fn render_frame(&self, index: u32) -> Result<RenderedImage, RenderError> {
        self.render_frame_with(index, None)
    }

    /// [`render_frame`](Self::render_frame) with `window` in place of the stored VOI
    /// (greyscale only; colour images have none).
    fn render_frame_with(
        &self,
        index: u32,
        window: Option<voi::Voi>,
    ) -> Result<RenderedImage, RenderError> {
        let px = PixelModule::read(&self.obj)?;
        let pixels_per_frame = (px.rows * px.cols) as u64;
        if pixels_per_frame > self.limits.max_pixels_per_frame {
            return Err(RenderError::TooLarge {
                what: "pixels per frame",
                actual: pixels_per_frame,
                limit: self.limits.max_pixels_per_frame,
            });
        }
        if px.frames > self.limits.max_frames {
            return Err(RenderError::TooLarge {
                what: "number of frames",
                actual: u64::from(px.frames),
                limit: u64::from(self.limits.max_frames),
            });
        }
        if index >= px.frames {
            return Err(RenderError::InvalidAttribute {
                keyword: "NumberOfFrames",
            });
        }
        let frame = pixels::decode_frame(&self.obj, &px, index)?;
        let (channels, pixels) = match frame.colour {
            Colour::Monochrome1 | Colour::Monochrome2 => {
                gray::render(&frame, &self.obj, index, window)
            }
            _ => (3, color::render(&frame, &self.obj)?),
        };
        Ok(RenderedImage {
            width: frame.width as u32,
            height: frame.height as u32,
            channels,
            pixels,
        })
    }

    /// Renders what a viewer asks for (WADO-RS `rendered` with parameters): a frame, a window
    /// in place of the stored VOI, a viewport the image is fitted into (aspect kept, non-square
    /// pixels honoured; native size without one), a format and a quality.
    pub fn render(&self, request: &RenderRequest) -> Result<Preview, RenderError> {
        let px = PixelModule::read(&self.obj)?;
        let index = request.frame.unwrap_or(px.frames / 2);
        let window = request.window.map(|w| voi::Voi::Window {
            center: w.center,
            width: w.width,
            function: match w.function {
                WindowFunction::Linear => voi::Function::Linear,
                WindowFunction::LinearExact => voi::Function::LinearExact,
                WindowFunction::Sigmoid => voi::Function::Sigmoid,
            },
        });
        let img = self.render_frame_with(index, window)?;
        let aspect = resize::pixel_aspect(&self.obj);
        let (dw, dh) = (f64::from(img.width), f64::from(img.height) * aspect);
        let scale = match request.viewport {
            Some((vw, vh)) => (f64::from(vw) / dw).min(f64::from(vh) / dh),
            None => 1.0,
        };
        let tw = (dw * scale).round().clamp(1.0, 16384.0) as u32;
        let th = (dh * scale).round().clamp(1.0, 16384.0) as u32;
        let img = resize::resize(img, tw, th)?;
        let bytes = encode::encode(&img, request.format, request.quality)?;
        Ok(Preview {
            format: request.format,
            width: img.width,
            height: img.height,
            bytes,
        })
    }

    /// The number of frames (1 for a single-frame image).
    pub fn number_of_frames(&self) -> Result<u32, RenderError> {
        Ok(PixelModule::read(&self.obj)?.frames)
    }

    /// Renders, sizes (short-side rule, non-square pixels) and encodes the preview.
    pub fn render_preview(&self, opts: &PreviewOptions) -> Result<Preview, RenderError> {
        let img = self.render_image()?;
        let aspect = resize::pixel_aspect(&self.obj);
        let (tw, th) = resize::target_size(img.width as usize, img.height as usize, aspect, opts);
        let img = resize::resize(img, tw, th)?;
        let bytes = encode::encode(&img, opts.format, opts.jpeg_quality)?;
        Ok(Preview {
            format: opts.format,
            width: img.width,
            height: img.height,
            bytes,
        })
    }
}
