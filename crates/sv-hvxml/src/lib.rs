//! HealthVault XML both ways: the `<thing>` envelope and the medical-image-study (v2)
//! element, written from and read into the `sv-model` types with quick-xml.
//!
//! Architecture invariant: this crate knows nothing of HTTP, storage or DICOM. It turns model
//! values into XML text and untrusted XML text into model values, nothing else.
//!
//! - [`write_medical_image_study`] / [`read_medical_image_study`]: the v2 element, every
//!   element of `medical-image-study.2.xsd` in schema order, model invariants enforced on read.
//! - [`write_thing`] / [`write_things`]: the `<thing>` envelope and the `<things>` page,
//!   narrowed by [`Sections`]; see the `envelope` notes on [`ThingXml`] for the store's choices
//!   (audit ids, blake3 hashes, the `<continuation>` element).
//! - [`read_thing`]: a client's `<thing>` for create or update ([`ThingInput`]), data-xml kept
//!   byte for byte.
//!
//! Reading is bounded and boring (see [`XmlLimits`]): a size and a depth limit, UTF-8 only,
//! no DTD, no entities beyond the predefined five, exactly one root. Every refusal is an
//! [`XmlError`] with a stable [`code`](XmlError::code).
//!
//! ```
//! use sv_hvxml::{read_medical_image_study, write_medical_image_study};
//! use sv_model::NonBlank;
//! use sv_model::study::{HvDate, HvDateTime, MedicalImageStudy, NonEmpty, Series, SeriesImage};
//!
//! let image = SeriesImage {
//!     image_blob_name: NonBlank::new("1.2.840.113619.2.1.1.1").unwrap(),
//!     image_preview_blob_name: None,
//! };
//! let series = Series::new(NonEmpty::one(image));
//! let when = HvDateTime::date_only(HvDate::new(2009, 1, 8).unwrap());
//! let study = MedicalImageStudy::new(when, NonEmpty::one(series));
//!
//! let xml = write_medical_image_study(&study);
//! assert!(xml.starts_with("<medical-image-study>"));
//! assert_eq!(read_medical_image_study(&xml).unwrap(), study);
//! ```
//!
//! Known gap, by design of the model: `sv_model::study::Address::street` may be empty while
//! the schema needs at least one street line; such an address is written with one empty
//! `<street/>` (valid), which reads back as one empty line.

mod chars;
mod dom;
mod envelope;
mod error;
mod operations;
mod reader;
mod sections;
mod shared_read;
mod shared_write;
mod study_read;
mod study_write;
mod thing_read;
mod writer;

pub use envelope::{DataXml, STORE_APP_ID, ThingXml, write_thing, write_things};
pub use error::XmlError;
pub use operations::{RecordOperation, write_record_operations};
pub use reader::XmlLimits;
pub use sections::Sections;
pub use study_read::{read_medical_image_study, read_medical_image_study_with};
pub use study_write::write_medical_image_study;
pub use thing_read::{DataXmlInput, ThingInput, ThingKey, read_thing};
