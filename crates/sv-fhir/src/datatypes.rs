//! FHIR R4 general-purpose data types, as far as the store's resources use them.
//!
//! Every optional element is skipped when absent and every list when empty: FHIR JSON
//! forbids `null`, `[]` and `{}`.

use serde::Serialize;

/// The DICOM Controlled Terminology (PS3.16) code system: modalities.
pub const DCM_SYSTEM: &str = "http://dicom.nema.org/resources/ontology/DCM";
/// SNOMED CT: body sites and laterality.
pub const SNOMED_SYSTEM: &str = "http://snomed.info/sct";
/// The system of DICOM UIDs written as `urn:oid:` URIs (the Study Instance UID identifier).
pub const DICOM_UID_SYSTEM: &str = "urn:dicom:uid";
/// RFC 3986 URIs: the SOP Class of an instance as a `urn:oid:` code.
pub const URI_SYSTEM: &str = "urn:ietf:rfc:3986";
/// HL7 v2 table 0203, identifier types (`ACSN`, the accession number).
pub const V2_0203_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v2-0203";

/// A `Coding`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Coding {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

impl Coding {
    /// A coding with a system and a code, no display.
    pub fn new(system: &str, code: &str) -> Coding {
        Coding {
            system: Some(system.to_owned()),
            code: Some(code.to_owned()),
            display: None,
        }
    }

    pub fn with_display(mut self, display: &str) -> Coding {
        self.display = Some(display.to_owned());
        self
    }
}

/// A `CodeableConcept`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct CodeableConcept {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub coding: Vec<Coding>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl CodeableConcept {
    pub fn text(text: &str) -> CodeableConcept {
        CodeableConcept {
            coding: Vec::new(),
            text: Some(text.to_owned()),
        }
    }
}

/// An `Identifier`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Identifier {
    #[serde(rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<CodeableConcept>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// A `Reference`: a relative reference, a display, or both.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Reference {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

impl Reference {
    /// `{"reference": "<Type>/<id>"}`.
    pub fn to(resource_type: &str, id: &str) -> Reference {
        Reference {
            reference: Some(format!("{resource_type}/{id}")),
            display: None,
        }
    }
}

/// A resource's `Meta`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tag: Vec<Coding>,
}

impl Meta {
    pub fn is_empty(&self) -> bool {
        self.version_id.is_none() && self.last_updated.is_none() && self.tag.is_empty()
    }
}

/// A `HumanName`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct HumanName {
    #[serde(rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub given: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub prefix: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suffix: Vec<String>,
}
