//! A series' image grid and its one-image-at-a-time viewer (patient and recipient pages).
//!
//! The viewer pages without JavaScript: `?i=N` (1-based) picks the image, Previous/Next are links
//! and the slider is a GET form. The script swaps the image in place instead, and adds arrow keys,
//! the mouse wheel and a cine button (never started by itself, at most 10 images a second).

use askama::Template;

use crate::studies::{series_label, series_title};
use crate::{Layout, debug_redacted};

/// One image of a series at preview size.
#[derive(Clone)]
pub struct ImageTile {
    /// The preview image.
    pub url: String,
    /// Preview width in pixels.
    pub width: u32,
    /// Preview height in pixels.
    pub height: u32,
    /// Alt text, best made by [`image_alt`]: "CT, series 3 'Axial 1.25', image 12 of 240".
    pub alt: String,
    /// The viewer page at this image (`…?i=12`).
    pub viewer_url: String,
}

debug_redacted!(ImageTile { width, height, alt } redact { url, viewer_url });

/// "CT, series 3 'Axial 1.25', image 12 of 240" (`position` is 1-based).
pub fn image_alt(
    modality: &str,
    number: Option<u32>,
    description: Option<&str>,
    position: u32,
    count: u32,
) -> String {
    format!(
        "{}, image {position} of {count}",
        series_label(modality, number, description)
    )
}

/// A series and its images, in order.
#[derive(Clone)]
pub struct SeriesView {
    /// The study's title, for the breadcrumb ([`crate::studies::StudySummary::title`]).
    pub study_title: String,
    /// The study page.
    pub study_url: String,
    /// Modality ("CT").
    pub modality: String,
    /// SeriesNumber, if any.
    pub number: Option<u32>,
    /// SeriesDescription, if any.
    pub description: Option<String>,
    /// Every image, in order.
    pub images: Vec<ImageTile>,
}

debug_redacted!(SeriesView { study_title, modality, number, description, images } redact { study_url });

impl SeriesView {
    /// "Series 3: Axial 1.25".
    pub fn title(&self) -> String {
        series_title(self.number, self.description.as_deref())
    }
}

/// The viewer at one image of a series.
#[derive(Clone)]
pub struct ViewerView {
    /// The series (all its images: the script steps through their previews).
    pub series: SeriesView,
    /// The series' grid page.
    pub series_url: String,
    /// This viewer page without a query; the slider form GETs it with `?i=N`, and the script
    /// keeps the address bar at `page_url?i=N`.
    pub page_url: String,
    /// The image shown, 1-based (`?i=`); out-of-range values are clamped.
    pub index: u32,
    /// Show a "Download this image" link (the preview).
    pub allow_download: bool,
}

debug_redacted!(ViewerView { series, index, allow_download } redact { series_url, page_url });

impl ViewerView {
    /// The 1-based position shown: `index` clamped to the series.
    pub fn position(&self) -> usize {
        (self.index as usize).clamp(1, self.series.images.len().max(1))
    }

    /// The image shown.
    pub fn current(&self) -> Option<&ImageTile> {
        self.series.images.get(self.position() - 1)
    }

    /// The image before it.
    pub fn previous(&self) -> Option<&ImageTile> {
        let p = self.position();
        (p > 1).then(|| &self.series.images[p - 2])
    }

    /// The image after it.
    pub fn next(&self) -> Option<&ImageTile> {
        self.series.images.get(self.position())
    }

    /// The script's frame list: `[{"src":…,"alt":…},…]`, printed (HTML-escaped) in `data-frames`.
    pub fn frames_json(&self) -> String {
        let mut out = String::with_capacity(self.series.images.len() * 120 + 2);
        out.push('[');
        for (i, image) in self.series.images.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"src\":");
            json_string(&mut out, &image.url);
            out.push_str(",\"alt\":");
            json_string(&mut out, &image.alt);
            out.push('}');
        }
        out.push(']');
        out
    }
}

fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The patient's series page: a grid of its images, each linking to the viewer.
#[derive(Debug, Template)]
#[template(path = "viewer/series.html", whitespace = "minimize")]
pub struct SeriesPage {
    /// `Layout::patient(<series title>, csrf, Section::Studies)`.
    pub layout: Layout,
    /// The series.
    pub series: SeriesView,
}

/// The patient's series viewer.
#[derive(Debug, Template)]
#[template(path = "viewer/viewer.html", whitespace = "minimize")]
pub struct ViewerPage {
    /// `Layout::patient(<series title>, csrf, Section::Studies)`.
    pub layout: Layout,
    /// The series and the image shown.
    pub viewer: ViewerView,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_escaped() {
        let mut out = String::new();
        json_string(&mut out, "a\"b\\c\nd\u{1}\u{2028}é");
        assert_eq!(out, r#""a\"b\\c\nd\u0001\u2028é""#);
    }
}
