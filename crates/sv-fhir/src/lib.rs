//! FHIR R4 JSON for a record's studies, and the R4 `ImagingStudy` search engine.
//!
//! Architecture invariants: no HTTP and no IO. The crate turns store facts
//! (`sv_model::study::InstanceFacts`, `StudyDigest`, `Record`) into serde-serializable FHIR
//! resources, and decoded query pairs into a [`SearchRequest`] that matches, orders and pages
//! study digests. The server fetches, decides access and writes the bytes; this crate never
//! sees a socket, a file or a header. Error messages name parameters, never their values.
//!
//! - [`imaging_study`]: one study thing as an `ImagingStudy` (`standards.md` §3.1; the
//!   mapping decisions are in the `imaging_study` module notes).
//! - [`patient`], [`endpoint`]: the record's one Patient (id = record id) and its one
//!   Endpoint (`Endpoint/dicomweb`, the record's DICOMweb base).
//! - [`SearchRequest`]: parse, [`matches`](SearchRequest::matches),
//!   [`compare`](SearchRequest::compare), paging; [`search_bundle`] writes the searchset.
//! - [`capability_statement`]: generated from the parser's own parameter table.
//! - [`operation_outcome`], [`FhirError::outcome`]: errors as FHIR reports them.
//!
//! Time: a DICOM time without a Timezone Offset From UTC is treated as UTC, and so is a
//! search value without a zone (see the `datetime` and `search::date` notes).
//!
//! ```
//! use sv_fhir::{Handling, Links, SearchContext, SearchRequest};
//! use sv_model::RecordId;
//!
//! let ctx = SearchContext {
//!     record: RecordId::new_random(),
//!     links: Links {
//!         fhir_base: "http://127.0.0.1:8080/v1/records/r/fhir".into(),
//!         dicomweb_base: "http://127.0.0.1:8080/v1/records/r/dicomweb".into(),
//!     },
//! };
//! let pairs = vec![("modality".to_owned(), "CT,MR".to_owned())];
//! let request = SearchRequest::parse(&pairs, Handling::Lenient, &ctx).unwrap();
//! assert_eq!(request.count(), 20);
//! assert_eq!(request.canonical_query(), "modality=CT,MR&_count=20");
//! ```

mod body_site;
mod bundle;
mod capability;
mod datatypes;
mod datetime;
mod elements;
mod endpoint;
mod error;
mod imaging_study;
mod outcome;
mod patient;
mod percent;
mod search;

pub use bundle::{
    Bundle, BundleEntry, BundleLink, EntrySearch, Resource, SearchMode, search_bundle,
};
pub use capability::{
    CapabilityStatement, GRAPHQL_OPERATION, Implementation, Interaction, Operation, Rest,
    RestResource, SearchParamDecl, Software, capability_statement,
};
pub use datatypes::{
    CodeableConcept, Coding, DCM_SYSTEM, DICOM_UID_SYSTEM, HumanName, Identifier, Meta, Reference,
    SNOMED_SYSTEM, URI_SYSTEM, V2_0203_SYSTEM,
};
pub use elements::{IMAGING_STUDY_ELEMENTS, OBSERVATION_VALUE_SYSTEM, subsetted_tag};
pub use endpoint::{CONNECTION_TYPE_SYSTEM, Endpoint, endpoint};
pub use error::FhirError;
pub use imaging_study::{
    ImagingStudy, ImagingStudyInstance, ImagingStudySeries, STUDY_STATUS, STUDY_STATUS_SYSTEM,
    UNKNOWN_MODALITY, imaging_study,
};
pub use outcome::{Issue, IssueCode, OperationOutcome, Severity, operation_outcome};
pub use patient::{Patient, patient};
pub use percent::encode_component;
pub use search::{
    DEFAULT_COUNT, Handling, Include, MAX_COUNT, MAX_VALUES, SearchContext, SearchRequest,
    search_parameters,
};

/// Where the resources of one record live (absolute URLs, no trailing slash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Links {
    /// e.g. `http://127.0.0.1:8080/v1/records/{rid}/fhir`
    pub fhir_base: String,
    /// e.g. `http://127.0.0.1:8080/v1/records/{rid}/dicomweb`
    pub dicomweb_base: String,
}

/// The id of the record's one Endpoint.
pub const ENDPOINT_ID: &str = "dicomweb";
