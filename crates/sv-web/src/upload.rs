//! The upload form and the no-JavaScript result page.
//!
//! The form POSTs `multipart/form-data` to [`crate::paths::UPLOAD`]: `csrf` and any number of
//! `files` parts (DICOM files, zips, or a folder's files; an empty file input still sends one
//! empty part, to be skipped). The script sends the same form by XMLHttpRequest with
//! `Accept: application/json` and `X-CSRF-Token`, and expects the ingest report as JSON:
//! `{"study_count":N,"instances":[{"sop_instance_uid":"…","status":"stored|duplicate|refused","reason":"…"}]}`
//! (or `{"code","message"}` on failure). Without the script the server answers with
//! [`UploadResultPage`].

use askama::Template;

use crate::Layout;

/// `GET /upload`.
#[derive(Debug, Template)]
#[template(path = "upload/upload.html", whitespace = "minimize")]
pub struct UploadPage {
    /// `Layout::patient("Upload", csrf, Section::Upload)`.
    pub layout: Layout,
    /// A line about the limit, e.g. "Up to 4 GB at a time.".
    pub limit: Option<String>,
}

/// What became of one instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadStatus {
    /// Stored now.
    Stored,
    /// Already stored, identical.
    Duplicate,
    /// Not stored: see the reason.
    Refused,
}

impl UploadStatus {
    /// The JSON and CSS name: `stored`, `duplicate`, `refused`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stored => "stored",
            Self::Duplicate => "duplicate",
            Self::Refused => "refused",
        }
    }

    /// What the page says.
    pub fn label(self) -> &'static str {
        match self {
            Self::Stored => "stored",
            Self::Duplicate => "already stored",
            Self::Refused => "refused",
        }
    }
}

/// One row of the report.
#[derive(Debug, Clone)]
pub struct UploadRow {
    /// The SOP Instance UID, when the file was DICOM enough to have one.
    pub sop_instance_uid: Option<String>,
    /// What became of it.
    pub status: UploadStatus,
    /// Why it was refused (a reason code or a short sentence).
    pub reason: Option<String>,
}

/// POST [`crate::paths::UPLOAD`] without JavaScript: counts, the refused rows, and every row
/// behind a disclosure.
#[derive(Debug, Template)]
#[template(path = "upload/result.html", whitespace = "minimize")]
pub struct UploadResultPage {
    /// `Layout::patient("Upload finished", csrf, Section::Upload)`.
    pub layout: Layout,
    /// Studies touched.
    pub study_count: u32,
    /// Every instance, in the order processed.
    pub rows: Vec<UploadRow>,
}

impl UploadResultPage {
    /// Rows with this status.
    pub fn count(&self, status: UploadStatus) -> usize {
        self.rows.iter().filter(|r| r.status == status).count()
    }

    fn refused_rows(&self) -> Vec<&UploadRow> {
        self.rows
            .iter()
            .filter(|r| r.status == UploadStatus::Refused)
            .collect()
    }
}
