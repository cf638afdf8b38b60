//! `_elements`: an `ImagingStudy` narrowed to the top-level elements a client asked for.
//!
//! Kept always: `resourceType`, `id`, `meta`, and the mandatory `status` and `subject`
//! (R4 search: "Servers SHOULD always return mandatory elements whether they are requested
//! or not"). A narrowed resource carries the `SUBSETTED` tag in `meta.tag`.

use crate::datatypes::Coding;
use crate::imaging_study::ImagingStudy;

/// The code system of the `SUBSETTED` tag.
pub const OBSERVATION_VALUE_SYSTEM: &str =
    "http://terminology.hl7.org/CodeSystem/v3-ObservationValue";

/// Every top-level element of R4 ImagingStudy: what `_elements` may name. Elements the store
/// never fills (`encounter`, `note`, …) are valid names that select nothing.
pub const IMAGING_STUDY_ELEMENTS: [&str; 29] = [
    "id",
    "meta",
    "implicitRules",
    "language",
    "text",
    "contained",
    "extension",
    "modifierExtension",
    "identifier",
    "status",
    "modality",
    "subject",
    "encounter",
    "started",
    "basedOn",
    "referrer",
    "interpreter",
    "endpoint",
    "numberOfSeries",
    "numberOfInstances",
    "procedureReference",
    "procedureCode",
    "location",
    "reasonCode",
    "reasonReference",
    "note",
    "description",
    "series",
    "resourceType",
];

/// The `SUBSETTED` tag of a narrowed resource.
pub fn subsetted_tag() -> Coding {
    Coding::new(OBSERVATION_VALUE_SYSTEM, "SUBSETTED")
}

impl ImagingStudy {
    /// Drops every top-level element not in `keep` (see the module notes for what stays
    /// regardless) and tags the resource `SUBSETTED`.
    pub fn retain_elements(&mut self, keep: &[String]) {
        let kept = |name: &str| keep.iter().any(|k| k == name);
        let ImagingStudy {
            id: _,
            meta,
            identifier,
            status: _,
            modality,
            subject: _,
            started,
            referrer,
            endpoint,
            number_of_series,
            number_of_instances,
            procedure_code,
            reason_code,
            description,
            series,
        } = self;
        if !kept("identifier") {
            identifier.clear();
        }
        if !kept("modality") {
            modality.clear();
        }
        if !kept("started") {
            *started = None;
        }
        if !kept("referrer") {
            *referrer = None;
        }
        if !kept("endpoint") {
            endpoint.clear();
        }
        if !kept("numberOfSeries") {
            *number_of_series = None;
        }
        if !kept("numberOfInstances") {
            *number_of_instances = None;
        }
        if !kept("procedureCode") {
            procedure_code.clear();
        }
        if !kept("reasonCode") {
            reason_code.clear();
        }
        if !kept("description") {
            *description = None;
        }
        if !kept("series") {
            series.clear();
        }
        let tag = subsetted_tag();
        if !meta.tag.contains(&tag) {
            meta.tag.push(tag);
        }
    }
}
