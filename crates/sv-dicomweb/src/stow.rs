//! The STOW-RS Store Instances Response (PS18 10.5.3, Annex I) and its HTTP status.
//!
//! Decisions (PS18 leaves these codes to the implementation; see `standards.md` §1.2):
//! - **Duplicate** (the same SOP Instance UID with the same bytes is already stored): the part
//!   counts as stored, so a retried upload is idempotent. It is listed in the Referenced SOP
//!   Sequence with Warning Reason `0xB00E` (45070, Azure DICOM's "already stored" code) and,
//!   being a warning, makes the status 202, as PS18 Table 10.5.3-1 says for warnings.
//! - **Conflict** (the same SOP Instance UID with other bytes): a failure with reason
//!   [`failure::DUPLICATE_SOP_INSTANCE`] `0x0111`, the DIMSE status for a duplicate SOP
//!   Instance.
//! - **Study mismatch** (`POST /studies/{study}` with an instance of another study): failure
//!   [`failure::STUDY_MISMATCH`] `0xA901` (Azure's code: in the A9xx "data set does not match"
//!   range; Orthanc uses 0x0110).
//!
//! Status: 200 when every part is stored with no warning; 202 when some are stored (or all
//! with a warning) and others failed or warned; with none stored, 400 when every failure is a
//! `Cxxx` "cannot understand" (bad syntax) and 409 otherwise (conflicts, study mismatch, and
//! any mixture of reasons); 400 for a request with no part at all.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::attributes::{Vr, retrieve_url};
use crate::dicom_json::{element, object, with_values};

/// Failure Reason values (0008,1197) we use (PS18 I.2.2).
pub mod failure {
    /// Processing failure (storage or another internal error).
    pub const PROCESSING: u16 = 0x0110;
    /// Duplicate SOP Instance: the UID is stored with other bytes.
    pub const DUPLICATE_SOP_INSTANCE: u16 = 0x0111;
    /// Referenced SOP Class not supported.
    pub const SOP_CLASS_NOT_SUPPORTED: u16 = 0x0122;
    /// Refused, out of resources (e.g. the store is full or the instance too big).
    pub const OUT_OF_RESOURCES: u16 = 0xA700;
    /// The instance's Study Instance UID is not the one in the request path (A9xx: "data set
    /// does not match"; Azure DICOM uses the same code).
    pub const STUDY_MISMATCH: u16 = 0xA901;
    /// Cannot understand: the part is not a readable DICOM instance or lacks its UIDs.
    pub const CANNOT_UNDERSTAND: u16 = 0xC000;
    /// Referenced Transfer Syntax not supported.
    pub const TRANSFER_SYNTAX_NOT_SUPPORTED: u16 = 0xC122;
}

/// Warning Reason values (0008,1196) we use (PS18 I.2.1).
pub mod warning {
    /// The instance was already stored, byte for byte (Azure DICOM's 45070).
    pub const ALREADY_STORED: u16 = 0xB00E;
}

/// What happened to one part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreOutcome {
    Stored,
    /// Already stored with the same bytes: stored, with warning [`warning::ALREADY_STORED`].
    Duplicate,
    /// Not stored, with a Failure Reason (see [`failure`]).
    Failed {
        reason: u16,
    },
    /// Not stored: the SOP Instance UID is stored with other bytes
    /// ([`failure::DUPLICATE_SOP_INSTANCE`]).
    Conflict,
}

/// One part of a STOW-RS request and its outcome; UIDs are `None` when the part could not be
/// read far enough to know them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPart {
    pub sop_class_uid: Option<String>,
    pub sop_instance_uid: Option<String>,
    pub study_instance_uid: Option<String>,
    pub series_instance_uid: Option<String>,
    pub outcome: StoreOutcome,
}

const RETRIEVE_URL: u32 = 0x0008_1190;
const WARNING_REASON: u32 = 0x0008_1196;
const FAILURE_REASON: u32 = 0x0008_1197;
const FAILED_SOP_SEQUENCE: u32 = 0x0008_1198;
const REFERENCED_SOP_SEQUENCE: u32 = 0x0008_1199;
const REFERENCED_SOP_CLASS_UID: u32 = 0x0008_1150;
const REFERENCED_SOP_INSTANCE_UID: u32 = 0x0008_1155;

/// The response object (`application/dicom+json`, one object) and the HTTP status.
///
/// `study_retrieve` is the Study Instance UID of the request path (`POST /studies/{study}`);
/// the top Retrieve URL is then `{base}/studies/{study}`. (A value that is already an
/// absolute URL, with `://`, is used as it is.) Without it, the Retrieve URL is the study of
/// the stored parts when they all share one, and empty otherwise (the attribute is type 2).
pub fn store_response(
    parts: &[StoredPart],
    base: &str,
    study_retrieve: Option<&str>,
) -> (u16, Value) {
    let mut referenced = Vec::new();
    let mut failed = Vec::new();
    let mut warned = false;
    for part in parts {
        let mut item = BTreeMap::new();
        item.insert(REFERENCED_SOP_CLASS_UID, uid(part.sop_class_uid.as_deref()));
        item.insert(
            REFERENCED_SOP_INSTANCE_UID,
            uid(part.sop_instance_uid.as_deref()),
        );
        let reason = match part.outcome {
            StoreOutcome::Stored | StoreOutcome::Duplicate => None,
            StoreOutcome::Failed { reason } => Some(reason),
            StoreOutcome::Conflict => Some(failure::DUPLICATE_SOP_INSTANCE),
        };
        match reason {
            Some(reason) => {
                item.insert(FAILURE_REASON, us(reason));
                failed.push((reason, object(item)));
            }
            None => {
                let url = match (
                    &part.study_instance_uid,
                    &part.series_instance_uid,
                    &part.sop_instance_uid,
                ) {
                    (Some(st), Some(se), Some(sop)) => {
                        vec![retrieve_url(base, st, Some(se), Some(sop))]
                    }
                    _ => Vec::new(),
                };
                item.insert(RETRIEVE_URL, element(Vr::UR, &url));
                if part.outcome == StoreOutcome::Duplicate {
                    warned = true;
                    item.insert(WARNING_REASON, us(warning::ALREADY_STORED));
                }
                referenced.push(object(item));
            }
        }
    }

    let status = if parts.is_empty() {
        400
    } else if referenced.is_empty() {
        let bad_syntax = failed.iter().all(|(reason, _)| reason & 0xF000 == 0xC000);
        if bad_syntax { 400 } else { 409 }
    } else if failed.is_empty() && !warned {
        200
    } else {
        202
    };

    let study_url = match study_retrieve {
        Some(s) if s.contains("://") => Some(s.to_owned()),
        Some(s) => Some(retrieve_url(base, s, None, None)),
        None => single_stored_study(parts).map(|s| retrieve_url(base, s, None, None)),
    };
    let mut body = BTreeMap::new();
    body.insert(RETRIEVE_URL, element(Vr::UR, study_url.as_slice()));
    if !failed.is_empty() {
        let items = failed.into_iter().map(|(_, item)| item).collect();
        body.insert(FAILED_SOP_SEQUENCE, with_values("SQ", items));
    }
    if !referenced.is_empty() {
        body.insert(REFERENCED_SOP_SEQUENCE, with_values("SQ", referenced));
    }
    (status, object(body))
}

/// The one study every stored part belongs to, if they share one.
fn single_stored_study(parts: &[StoredPart]) -> Option<&str> {
    let mut studies = parts
        .iter()
        .filter(|p| matches!(p.outcome, StoreOutcome::Stored | StoreOutcome::Duplicate))
        .map(|p| p.study_instance_uid.as_deref());
    let first = studies.next()??;
    studies.all(|s| s == Some(first)).then_some(first)
}

fn uid(value: Option<&str>) -> Value {
    element(Vr::UI, value.as_slice())
}

fn us(value: u16) -> Value {
    with_values("US", vec![Value::from(value)])
}
