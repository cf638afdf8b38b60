//! The patient's study list and study page, and the study facts and series cards that the
//! recipient's pages reuse.

use askama::Template;

use crate::{Layout, debug_redacted};

/// What a study is, in a few words: the study page header, list cards and the share landing page.
#[derive(Debug, Clone)]
pub struct StudySummary {
    /// StudyDescription, if any.
    pub description: Option<String>,
    /// The study date as it should be shown ("12 March 2024").
    pub date: String,
    /// Modalities in the study ("CT", "SR").
    pub modalities: Vec<String>,
    /// Number of series.
    pub series_count: u32,
    /// Number of images (instances).
    pub image_count: u32,
}

impl StudySummary {
    /// The description, else "CT study", else "Study".
    pub fn title(&self) -> String {
        match &self.description {
            Some(d) if !d.trim().is_empty() => d.clone(),
            _ if !self.modalities.is_empty() => format!("{} study", self.modalities_text()),
            _ => "Study".to_owned(),
        }
    }

    /// "CT, SR", or "unknown".
    pub fn modalities_text(&self) -> String {
        if self.modalities.is_empty() {
            "unknown".to_owned()
        } else {
            self.modalities.join(", ")
        }
    }

    /// Alt text of the study preview: "Preview of CT study 'CT chest', 12 March 2024".
    pub fn preview_alt(&self) -> String {
        let mut alt = format!("Preview of {} study", self.modalities_text());
        if let Some(d) = self.description.as_deref().filter(|d| !d.trim().is_empty()) {
            alt.push_str(&format!(" '{d}'"));
        }
        alt.push_str(&format!(", {}", self.date));
        alt
    }
}

/// One study in the list.
#[derive(Clone)]
pub struct StudyListItem {
    /// The study page.
    pub url: String,
    /// The study preview image, if the study has one.
    pub preview_url: Option<String>,
    /// What the study is.
    pub study: StudySummary,
}

debug_redacted!(StudyListItem { study } redact { url, preview_url });

/// `GET /studies`: the patient's studies, newest first; an empty state links to the upload page.
#[derive(Debug, Template)]
#[template(path = "studies/list.html", whitespace = "minimize")]
pub struct StudyListPage {
    /// `Layout::patient("Studies", csrf, Section::Studies)`.
    pub layout: Layout,
    /// The studies, in the order to show.
    pub studies: Vec<StudyListItem>,
}

/// One series of a study, as a card linking to its series page (patient and recipient pages).
#[derive(Clone)]
pub struct SeriesCard {
    /// The series page.
    pub url: String,
    /// The series preview, if any.
    pub preview_url: Option<String>,
    /// Modality ("CT").
    pub modality: String,
    /// SeriesNumber, if any.
    pub number: Option<u32>,
    /// SeriesDescription, if any.
    pub description: Option<String>,
    /// Number of images.
    pub image_count: u32,
}

debug_redacted!(SeriesCard { modality, number, description, image_count } redact { url, preview_url });

impl SeriesCard {
    /// "Series 3: Axial 1.25".
    pub fn title(&self) -> String {
        series_title(self.number, self.description.as_deref())
    }

    /// "CT, series 3 'Axial 1.25', preview".
    pub fn preview_alt(&self) -> String {
        format!(
            "{}, preview",
            series_label(&self.modality, self.number, self.description.as_deref())
        )
    }
}

/// The patient's study page: facts, "Download zip", "Share", and the series cards.
#[derive(Debug, Template)]
#[template(path = "studies/study.html", whitespace = "minimize")]
pub struct StudyPage {
    /// `Layout::patient(<study title>, csrf, Section::Studies)`.
    pub layout: Layout,
    /// What the study is.
    pub study: StudySummary,
    /// The series, in order.
    pub series: Vec<SeriesCard>,
    /// The study archive (zip of the DICOM files).
    pub archive_url: String,
    /// The share form for this study ([`crate::shares::ShareFormPage`]).
    pub share_url: String,
}

/// "Series 3: Axial 1.25", "Series 3", "Axial 1.25" or "Series".
pub fn series_title(number: Option<u32>, description: Option<&str>) -> String {
    match (number, description.filter(|d| !d.trim().is_empty())) {
        (Some(n), Some(d)) => format!("Series {n}: {d}"),
        (Some(n), None) => format!("Series {n}"),
        (None, Some(d)) => d.to_owned(),
        (None, None) => "Series".to_owned(),
    }
}

/// "CT, series 3 'Axial 1.25'": the start of every alt text of a series' images.
pub fn series_label(modality: &str, number: Option<u32>, description: Option<&str>) -> String {
    let mut label = if modality.is_empty() {
        "Series".to_owned()
    } else {
        format!("{modality}, series")
    };
    if let Some(n) = number {
        label.push_str(&format!(" {n}"));
    }
    if let Some(d) = description.filter(|d| !d.trim().is_empty()) {
        label.push_str(&format!(" '{d}'"));
    }
    label
}
