//! The QIDO-RS response objects: what a level returns (PS18 10.6.3.3), as DICOM JSON.
//!
//! An object holds Specific Character Set `ISO_IR 192` (our values are UTF-8), every
//! attribute of the known tables returned `Always` (empty when we lack a value), those
//! returned `IfPresent` that have a value, and those asked for by `includefield` or as a
//! matching key (`includefield=all`: every attribute we know at this level), empty or not.

use std::collections::BTreeMap;

use serde_json::Value;
use sv_model::study::{InstanceFacts, SeriesDigest, StudyDigest};

use super::{Level, QidoQuery};
use crate::attributes::{Returned, Row, Vr};
use crate::dicom_json::{element, object};

/// Specific Character Set (0008,0005).
const SPECIFIC_CHARACTER_SET: u32 = 0x0008_0005;

impl QidoQuery {
    /// A study as `/studies` returns it. `base` is the DICOMweb service base, absolute, with
    /// no trailing slash; the Retrieve URL is `{base}/studies/{study}`.
    pub fn study_json(&self, digest: &StudyDigest, base: &str) -> Value {
        self.object(&Row::study(digest, base), Level::Study)
    }

    /// A series as the series searches return it (with the study attributes at `/series`).
    pub fn series_json(&self, digest: &StudyDigest, series: &SeriesDigest, base: &str) -> Value {
        self.object(&Row::series(digest, series, base), Level::Series)
    }

    /// An instance as the instance searches return it (with the study and series attributes
    /// the path does not fix).
    pub fn instance_json(&self, digest: &StudyDigest, facts: &InstanceFacts, base: &str) -> Value {
        self.object(&Row::instance(digest, facts, base), Level::Instance)
    }

    fn object(&self, row: &Row<'_>, up_to: Level) -> Value {
        let mut elements = BTreeMap::new();
        elements.insert(SPECIFIC_CHARACTER_SET, element(Vr::CS, &["ISO_IR 192"]));
        for attribute in self.attributes.iter().filter(|a| a.level <= up_to) {
            let asked = self.include_all || self.requested.contains(&attribute.tag);
            let values = attribute.values(row);
            let returned = match attribute.returned {
                Returned::Always => true,
                Returned::IfPresent => asked || !values.is_empty(),
                Returned::OnRequest => asked,
            };
            if returned {
                elements.insert(attribute.tag, element(attribute.vr, &values));
            }
        }
        object(elements)
    }
}
