//! The search parameter table: name, type and documentation of every ImagingStudy search
//! parameter, the field the engine reads for it, and the `_include` values.
//!
//! The parser, the matcher and the CapabilityStatement all read these tables, so what the
//! server says it supports cannot drift from what it does.

use crate::search::Include;

/// What a token parameter is matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenField {
    Id,
    Identifier,
    Status,
    Modality,
    BodySite,
    DicomClass,
    Instance,
    Series,
    Reason,
}

/// What a date parameter is matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DateField {
    Started,
    LastUpdated,
}

/// What a reference parameter is matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefField {
    /// `Patient/<record id>`.
    Patient,
    /// `Endpoint/dicomweb`.
    Endpoint,
    /// A display-only reference: no value matches, `:missing` tells whether it is there.
    Referrer,
    /// An element the store never fills: no value matches.
    Absent,
}

/// A search parameter's type and field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Token(TokenField),
    Date(DateField),
    /// The field and the resource types the reference may point to.
    Reference(RefField, &'static [&'static str]),
}

impl Kind {
    /// The FHIR `SearchParamType` code.
    pub fn type_code(&self) -> &'static str {
        match self {
            Kind::Token(_) => "token",
            Kind::Date(_) => "date",
            Kind::Reference(..) => "reference",
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SearchParam {
    pub name: &'static str,
    pub kind: Kind,
    pub documentation: &'static str,
}

const PRACTITIONERS: &[&str] = &["Practitioner", "PractitionerRole"];

/// Every search parameter, in the order the canonical query (and the self link) lists them.
pub(crate) const PARAMS: [SearchParam; 19] = [
    SearchParam {
        name: "_id",
        kind: Kind::Token(TokenField::Id),
        documentation: "The study's logical id (exact, case-sensitive).",
    },
    SearchParam {
        name: "_lastUpdated",
        kind: Kind::Date(DateField::LastUpdated),
        documentation: "When the study thing last changed (an instant).",
    },
    SearchParam {
        name: "identifier",
        kind: Kind::Token(TokenField::Identifier),
        documentation: "Study Instance UID (urn:dicom:uid|urn:oid:<uid>; a bare <uid> or \
                        urn:oid:<uid> without a system also matches), accession number \
                        (also :of-type with v2-0203|ACSN), or Study ID.",
    },
    SearchParam {
        name: "status",
        kind: Kind::Token(TokenField::Status),
        documentation: "Always 'available' for stored studies.",
    },
    SearchParam {
        name: "started",
        kind: Kind::Date(DateField::Started),
        documentation: "StudyDate+StudyTime as a range by its precision; local times without \
                        a Timezone Offset From UTC, and search values without a zone, are UTC.",
    },
    SearchParam {
        name: "modality",
        kind: Kind::Token(TokenField::Modality),
        documentation: "A series' Modality (DCM system); OT for a series that states none.",
    },
    SearchParam {
        name: "bodysite",
        kind: Kind::Token(TokenField::BodySite),
        documentation: "A series' Body Part Examined as SNOMED CT; :text matches the display.",
    },
    SearchParam {
        name: "dicom-class",
        kind: Kind::Token(TokenField::DicomClass),
        documentation: "An instance's SOP Class UID (urn:ietf:rfc:3986|urn:oid:<uid>, or bare).",
    },
    SearchParam {
        name: "instance",
        kind: Kind::Token(TokenField::Instance),
        documentation: "A SOP Instance UID the study holds.",
    },
    SearchParam {
        name: "series",
        kind: Kind::Token(TokenField::Series),
        documentation: "A Series Instance UID the study holds.",
    },
    SearchParam {
        name: "reason",
        kind: Kind::Token(TokenField::Reason),
        documentation: "Reason for the Requested Procedure; text only, so use :text (or :missing).",
    },
    SearchParam {
        name: "patient",
        kind: Kind::Reference(RefField::Patient, &["Patient"]),
        documentation: "The record's Patient (its id is the record id).",
    },
    SearchParam {
        name: "subject",
        kind: Kind::Reference(RefField::Patient, &["Patient", "Device", "Group"]),
        documentation: "The record's Patient (its id is the record id).",
    },
    SearchParam {
        name: "endpoint",
        kind: Kind::Reference(RefField::Endpoint, &["Endpoint"]),
        documentation: "The record's DICOMweb endpoint, Endpoint/dicomweb.",
    },
    SearchParam {
        name: "referrer",
        kind: Kind::Reference(RefField::Referrer, PRACTITIONERS),
        documentation: "Display-only: no reference value matches; :missing works.",
    },
    SearchParam {
        name: "interpreter",
        kind: Kind::Reference(RefField::Absent, PRACTITIONERS),
        documentation: "Not stored: no value matches.",
    },
    SearchParam {
        name: "performer",
        kind: Kind::Reference(
            RefField::Absent,
            &[
                "Practitioner",
                "PractitionerRole",
                "Organization",
                "CareTeam",
                "Patient",
                "Device",
                "RelatedPerson",
            ],
        ),
        documentation: "Not stored: no value matches.",
    },
    SearchParam {
        name: "basedon",
        kind: Kind::Reference(
            RefField::Absent,
            &[
                "CarePlan",
                "ServiceRequest",
                "Appointment",
                "AppointmentResponse",
                "Task",
            ],
        ),
        documentation: "Not stored: no value matches.",
    },
    SearchParam {
        name: "encounter",
        kind: Kind::Reference(RefField::Absent, &["Encounter"]),
        documentation: "Not stored: no value matches.",
    },
];

/// Result parameters the parser knows (`_format` and `_pretty` are HTTP's; they are only
/// carried into the links).
pub(crate) const CONTROL_PARAMS: [&str; 9] = [
    "_count",
    "_offset",
    "_sort",
    "_summary",
    "_total",
    "_elements",
    "_include",
    "_format",
    "_pretty",
];

/// `_include` values and what they bring. The first of each kind is its canonical spelling.
pub(crate) const INCLUDES: [(&str, Include); 3] = [
    ("ImagingStudy:subject", Include::Patient),
    ("ImagingStudy:endpoint", Include::Endpoint),
    ("ImagingStudy:patient", Include::Patient),
];

/// The `_sort` keys: parameter name and the key.
pub(crate) const SORT_KEYS: [(&str, SortField); 2] = [
    ("started", SortField::Started),
    ("_lastUpdated", SortField::LastUpdated),
];

/// What a study can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SortField {
    Started,
    LastUpdated,
}

pub(crate) fn param(name: &str) -> Option<(usize, &'static SearchParam)> {
    PARAMS.iter().enumerate().find(|(_, p)| p.name == name)
}
