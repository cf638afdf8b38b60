//! DICOM bytes -> plain summary structs; pixel data -> preview image bytes.
//!
//! Architecture invariants:
//! - this is the only crate that knows dicom-rs and pixels; no dicom-rs type appears in the public
//!   API, which is plain structs ([`InstanceSummary`], [`Preview`]) and error enums with stable
//!   reason codes ([`DicomError::code`], [`RenderError::code`]);
//! - limits ([`Limits`]) are checked before anything is decoded;
//! - error messages name attributes and limits, never patient data.
//!
//! ```no_run
//! use sv_dicom::{Limits, PreviewOptions, parse};
//! let bytes = std::fs::read("ct.dcm")?;
//! let instance = parse(&bytes, &Limits::default())?;
//! println!("{}", instance.summary().sop_instance_uid);
//! if instance.summary().is_image() {
//!     let preview = instance.render_preview(&PreviewOptions::default())?;
//!     std::fs::write(format!("preview.{}", preview.format.extension()), &preview.bytes)?;
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod attrs;
mod deid;
mod error;
mod frames;
mod framing;
mod json;
mod limits;
mod parse;
mod pixels;
mod render;
mod scan;
mod summary;

#[cfg(feature = "synthetic")]
pub mod synthetic;

pub use deid::{DeidError, Deidentifier};
pub use error::{DicomError, RenderError};
pub use frames::{FrameBytes, frame_media_type};
pub use framing::part10_prefix;
pub use json::INLINE_BINARY_LIMIT;
pub use limits::Limits;
pub use parse::{ParsedInstance, parse, parse_for_preview, parse_header};
pub use render::{
    Preview, PreviewFormat, PreviewOptions, RenderRequest, RenderedImage, VoiWindow, WindowFunction,
};
pub use summary::{
    InstanceSummary, KEY_OBJECT_SELECTION_SOP_CLASS, MAX_PROCEDURE_CODES, ProcedureCode,
};
