//! The share recipient's pages: the landing page of `/s/{token}`, and the study, series and viewer
//! pages (the patient's partials with recipient URLs, a banner with who shared it and until when,
//! and the download and own-viewer offers when allowed).

use askama::Template;

use crate::studies::{SeriesCard, StudySummary};
use crate::viewer::{SeriesView, ViewerView};
use crate::{Layout, debug_redacted};

/// What every recipient page says about the share.
#[derive(Clone)]
pub struct RecipientShare {
    /// Who shared it: the patient's display name.
    pub shared_by: String,
    /// Until when it works ("30 March 2025, 14:00 UTC").
    pub expires: String,
    /// The study zip, when the share allows downloads.
    pub download_url: Option<String>,
    /// The study's DICOMweb base URL for the recipient's own viewer, if offered.
    pub dicomweb_url: Option<String>,
    /// A `weasis://?…` link opening the study in Weasis, if offered.
    pub weasis_url: Option<String>,
    /// The DICOMweb address carries a viewer key of this recipient's (a passcode share): it
    /// opens the study without the passcode, for this many hours at most.
    pub viewer_key_hours: Option<i64>,
}

debug_redacted!(RecipientShare { shared_by, expires, viewer_key_hours } redact { download_url, dicomweb_url, weasis_url });

/// `GET /s/{token}`: who shared what, until when, and the "Open the study" form, which POSTs to
/// the same URL (no `action`) with `csrf` and, when the share has one, `passcode`. GET changes
/// nothing. No patient identifiers beyond the display name and the study facts.
#[derive(Debug, Template)]
#[template(path = "recipient/landing.html", whitespace = "minimize")]
pub struct RecipientLandingPage {
    /// `Layout::public("Shared study", csrf)`.
    pub layout: Layout,
    /// Who shared it: the patient's display name.
    pub shared_by: String,
    /// Their note, if any.
    pub note: Option<String>,
    /// What the study is.
    pub study: StudySummary,
    /// Until when the link works.
    pub expires: String,
    /// Show the passcode field.
    pub passcode_required: bool,
    /// After a wrong passcode: the attempts left before the link locks.
    pub wrong_passcode_attempts_left: Option<u32>,
}

/// The recipient's study page.
#[derive(Debug, Template)]
#[template(path = "recipient/study.html", whitespace = "minimize")]
pub struct RecipientStudyPage {
    /// `Layout::public(<study title>, csrf)`.
    pub layout: Layout,
    /// What the study is.
    pub study: StudySummary,
    /// The series, linking to recipient series pages.
    pub series: Vec<SeriesCard>,
    /// The share.
    pub share: RecipientShare,
}

/// The recipient's series page.
#[derive(Debug, Template)]
#[template(path = "recipient/series.html", whitespace = "minimize")]
pub struct RecipientSeriesPage {
    /// `Layout::public(<series title>, csrf)`.
    pub layout: Layout,
    /// The series, with recipient URLs.
    pub series: SeriesView,
    /// The share.
    pub share: RecipientShare,
}

/// The recipient's series viewer.
#[derive(Debug, Template)]
#[template(path = "recipient/viewer.html", whitespace = "minimize")]
pub struct RecipientViewerPage {
    /// `Layout::public(<series title>, csrf)`.
    pub layout: Layout,
    /// The series and the image shown; `allow_download` as the share allows.
    pub viewer: ViewerView,
    /// The share.
    pub share: RecipientShare,
}
