//! DICOMweb formats and matching for studyvault: QIDO-RS queries and their DICOM JSON
//! answers, the STOW-RS response, WADO-RS `Accept` negotiation and `multipart/related`
//! framing.
//!
//! Architecture invariants: no HTTP and no IO; only `sv-model` among our crates. The server
//! (sv-api handlers, sv-vault use cases) reads the stores, decides access, and writes bytes;
//! this crate turns decoded query pairs, study digests and instance facts into decisions and
//! `serde_json` values, and never sees a socket, a file or a header map. Error and warning
//! messages name keys, never values (a value may be a patient's name).
//!
//! - [`QidoQuery`]: parse a query for a [`Level`] and [`Scope`], match
//!   ([`matches_study`](QidoQuery::matches_study), [`matches_series`](QidoQuery::matches_series),
//!   [`matches_instance`](QidoQuery::matches_instance)), page, and write the response objects
//!   ([`study_json`](QidoQuery::study_json) …). What each level matches and returns is one
//!   table per level ([`STUDY_ATTRIBUTES`], [`SERIES_ATTRIBUTES`], [`INSTANCE_ATTRIBUTES`]).
//! - [`order`]: a stable result order, so `offset` paging repeats.
//! - [`store_response`]: the Store Instances Response and its status (decisions on
//!   duplicates, conflicts and failure codes in the `stow` notes).
//! - [`accepts_stored_instance`], [`accepts_dicom_json`]: 406 or not (the transfer syntax
//!   decision is in the `accept` notes).
//! - [`part_header`], [`next_part_header`], [`closing`]: multipart bodies as
//!   dicomweb-client reads them.
//!
//! DICOM JSON written here: keys are ascending 8-hex tags, `"vr"` is always present, empty
//! values have no `"Value"`, PN values are `{"Alphabetic": …}` objects, IS and US values are
//! numbers, and every object carries Specific Character Set `ISO_IR 192` (values are UTF-8).
//!
//! ```
//! use sv_dicomweb::{Level, QidoQuery, Scope};
//!
//! let pairs = vec![
//!     ("PatientName".to_owned(), "doe*".to_owned()),
//!     ("StudyDate".to_owned(), "20200101-20201231".to_owned()),
//!     ("includefield".to_owned(), "StudyDescription,00081030".to_owned()),
//!     ("limit".to_owned(), "10".to_owned()),
//! ];
//! let query = QidoQuery::parse(Level::Study, &Scope::default(), &pairs).unwrap();
//! assert_eq!(query.limit(), Some(10));
//! assert!(query.warnings().is_empty());
//! assert!(!query.needs_instances());
//! ```

mod accept;
mod attributes;
mod dicom_json;
mod error;
mod multipart;
pub mod order;
mod qido;
mod rendered;
mod stow;

pub use accept::{
    FramesAs, NotAcceptable, accepts_dicom_json, accepts_frames, accepts_stored_instance,
    frame_media_type,
};
pub use attributes::{
    Attribute, INSTANCE_ATTRIBUTES, Returned, SERIES_ATTRIBUTES, STUDY_ATTRIBUTES, Vr,
    is_dicom_keyword,
};
pub use error::QidoError;
pub use multipart::{
    BOUNDARY, closing, dicom_part_content_type, multipart_content_type, next_part_header,
    part_header,
};
pub use qido::{Level, MAX_LIMIT, MAX_UIDS, MAX_WARNINGS, QidoQuery, Scope};
pub use rendered::{MAX_VIEWPORT, Rendering, RenderingError, WindowShape};
pub use stow::{StoreOutcome, StoredPart, failure, store_response, warning};

/// The `Warning` header value for a QIDO-RS warning or for remaining results:
/// `299 studyvault: {message}` (the PS18 8.3.4.4.1 form). Messages from this crate are
/// printable ASCII.
pub fn warning_header(message: &str) -> String {
    let message: String = message.chars().filter(|c| !c.is_control()).collect();
    format!("299 studyvault: {message}")
}

/// The message for results beyond a page (PS18 8.3.4.4.1).
pub fn remaining_results_message(remaining: usize) -> String {
    format!("There are {remaining} additional results that can be requested")
}
