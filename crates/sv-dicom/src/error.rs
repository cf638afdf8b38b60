//! Error types of parsing and rendering, each with a stable machine-readable reason code.
//!
//! Messages never carry patient data: they name attributes, transfer syntaxes and limits only.

use thiserror::Error;

/// Why a byte string could not be accepted as a DICOM instance.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DicomError {
    /// Neither a Part 10 file, nor a file meta group, nor a data set that parses.
    #[error("not a dicom instance: {detail}")]
    NotDicom {
        /// What was looked at.
        detail: String,
    },
    /// The data ended in the middle of an element.
    #[error("dicom data is truncated: {detail}")]
    Truncated {
        /// Where it ended, in terms of the parser.
        detail: String,
    },
    /// The structure is broken in a way other than truncation.
    #[error("malformed dicom data: {detail}")]
    Malformed {
        /// The parser's explanation (no values).
        detail: String,
    },
    /// A required attribute is absent or empty.
    #[error("missing required attribute {keyword}")]
    MissingAttribute {
        /// DICOM keyword, e.g. `SOPInstanceUID`.
        keyword: &'static str,
    },
    /// An attribute is present but its value cannot be used.
    #[error("invalid value of attribute {keyword}")]
    InvalidAttribute {
        /// DICOM keyword, e.g. `NumberOfFrames`.
        keyword: &'static str,
    },
    /// A configured bound is exceeded; nothing was decoded.
    #[error("{what} is {actual}, over the limit of {limit}")]
    TooLarge {
        /// Which limit, e.g. `pixels per frame`.
        what: &'static str,
        /// The value found.
        actual: u64,
        /// The configured bound.
        limit: u64,
    },
    /// A frame list asked for is empty, has frame 0, or repeats a number.
    #[error("invalid frame list: {detail}")]
    InvalidFrameList {
        /// What is wrong with the list.
        detail: &'static str,
    },
    /// A frame number beyond the instance's frames (`frames` is 0 without Pixel Data).
    #[error("frame {number} does not exist: the instance has {frames}")]
    NoSuchFrame {
        /// The 1-based number asked for.
        number: u32,
        /// How many frames the instance has.
        frames: u32,
    },
    /// Pixel data that cannot be served as asked (cut into frames, or as one value).
    #[error("unsupported pixel data: {detail}")]
    UnsupportedPixelData {
        /// Why.
        detail: String,
    },
    /// The transfer syntax is not known or its data set encoding cannot be read.
    #[error("unsupported transfer syntax {uid}")]
    UnsupportedTransferSyntax {
        /// Transfer syntax UID.
        uid: String,
    },
}

impl DicomError {
    /// Stable kebab-case reason code, for APIs and per-file batch reports.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotDicom { .. } => "not-dicom",
            Self::Truncated { .. } => "truncated",
            Self::Malformed { .. } => "malformed",
            Self::MissingAttribute { .. } => "missing-attribute",
            Self::InvalidAttribute { .. } => "invalid-attribute",
            Self::TooLarge { .. } => "too-large",
            Self::UnsupportedTransferSyntax { .. } => "unsupported-transfer-syntax",
            Self::InvalidFrameList { .. } => "invalid-frame-list",
            Self::NoSuchFrame { .. } => "no-such-frame",
            Self::UnsupportedPixelData { .. } => "unsupported-pixel-data",
        }
    }
}

/// Why a parsed instance could not be rendered to a preview.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RenderError {
    /// The instance has no pixel data (SR, RT plan, waveform, KOS …).
    #[error("instance has no pixel data")]
    NotAnImage,
    /// A required image attribute is absent.
    #[error("missing image attribute {keyword}")]
    MissingAttribute {
        /// DICOM keyword.
        keyword: &'static str,
    },
    /// An image attribute has a value that cannot be used.
    #[error("invalid value of image attribute {keyword}")]
    InvalidAttribute {
        /// DICOM keyword.
        keyword: &'static str,
    },
    /// No decoder for this transfer syntax is built in.
    #[error("no decoder for transfer syntax {uid}")]
    UnsupportedTransferSyntax {
        /// Transfer syntax UID.
        uid: String,
    },
    /// The pixel layout is valid DICOM but not rendered by us.
    #[error("unsupported pixel format: {detail}")]
    UnsupportedPixelFormat {
        /// E.g. the photometric interpretation or bit depth.
        detail: String,
    },
    /// The pixel data is shorter than its attributes say.
    #[error("pixel data is truncated: {detail}")]
    Truncated {
        /// Expected versus found sizes.
        detail: String,
    },
    /// The codec refused the compressed frame.
    #[error("could not decode frame {frame}: {detail}")]
    DecodeFailed {
        /// 0-based frame index.
        frame: u32,
        /// The codec's explanation.
        detail: String,
    },
    /// A configured bound is exceeded; nothing was decoded.
    #[error("{what} is {actual}, over the limit of {limit}")]
    TooLarge {
        /// Which limit.
        what: &'static str,
        /// The value found.
        actual: u64,
        /// The configured bound.
        limit: u64,
    },
    /// The preview could not be resized or encoded.
    #[error("could not encode preview: {detail}")]
    EncodeFailed {
        /// The encoder's explanation.
        detail: String,
    },
}

impl RenderError {
    /// Stable kebab-case reason code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotAnImage => "not-an-image",
            Self::MissingAttribute { .. } => "missing-attribute",
            Self::InvalidAttribute { .. } => "invalid-attribute",
            Self::UnsupportedTransferSyntax { .. } => "unsupported-transfer-syntax",
            Self::UnsupportedPixelFormat { .. } => "unsupported-pixel-format",
            Self::Truncated { .. } => "truncated",
            Self::DecodeFailed { .. } => "decode-failed",
            Self::TooLarge { .. } => "too-large",
            Self::EncodeFailed { .. } => "encode-failed",
        }
    }
}
