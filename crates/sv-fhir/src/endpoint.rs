//! The record's one `Endpoint`: its DICOMweb (WADO-RS) service, which every ImagingStudy
//! names as its endpoint.
//!
//! Shaped after R4's `endpoint-example-wadors`: connection type `dicom-wado-rs`, payload type
//! as text (R4's payload-type code system has no DICOM code), `application/dicom`.

use serde::Serialize;

use crate::datatypes::{CodeableConcept, Coding};
use crate::{ENDPOINT_ID, Links};

/// The code system of `Endpoint.connectionType`.
pub const CONNECTION_TYPE_SYSTEM: &str =
    "http://terminology.hl7.org/CodeSystem/endpoint-connection-type";

/// An R4 `Endpoint`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "resourceType", rename = "Endpoint", rename_all = "camelCase")]
pub struct Endpoint {
    pub id: String,
    pub status: String,
    pub connection_type: Coding,
    pub name: String,
    pub payload_type: Vec<CodeableConcept>,
    pub payload_mime_type: Vec<String>,
    pub address: String,
}

/// The record's DICOMweb endpoint (`Endpoint/dicomweb`).
pub fn endpoint(links: &Links) -> Endpoint {
    Endpoint {
        id: ENDPOINT_ID.to_owned(),
        status: "active".to_owned(),
        connection_type: Coding::new(CONNECTION_TYPE_SYSTEM, "dicom-wado-rs"),
        name: "DICOMweb".to_owned(),
        payload_type: vec![CodeableConcept::text("DICOM WADO-RS")],
        payload_mime_type: vec!["application/dicom".to_owned()],
        address: links.dicomweb_base.trim_end_matches('/').to_owned(),
    }
}
