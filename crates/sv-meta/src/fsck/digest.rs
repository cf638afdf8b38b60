//! The study digest check: each live study of the index has a digest whose counts (instances,
//! per series, per SOP class) match its instances and whose version is the study's; no other
//! thing has one. Attribute values are not compared: the first value an instance gave stays
//! after that instance is replaced, by design.

use std::collections::BTreeMap;

use sv_model::study::StudyDigest;
use sv_model::{RecordId, ThingState, TypeId};

use super::{FsckProblem, FsckReport};
use crate::{MetaError, MetaStore};

/// Whether two digests count the same instances, series by series and class by class.
fn same_counts(a: &StudyDigest, b: &StudyDigest) -> bool {
    let series_agree = a.series.len() == b.series.len()
        && a.series.iter().zip(&b.series).all(|(x, y)| {
            (&x.series_instance_uid, x.instance_count) == (&y.series_instance_uid, y.instance_count)
        });
    a.instance_count == b.instance_count && series_agree && a.sop_classes == b.sop_classes
}

pub(super) fn check_study_digests(
    meta: &dyn MetaStore,
    rid: RecordId,
    report: &mut FsckReport,
) -> Result<(), MetaError> {
    let mut digests: BTreeMap<_, _> = meta.study_digests(rid)?.into_iter().collect();
    for (uid, tid) in meta.studies(rid)? {
        let Some(t) = meta.thing_header(rid, tid)? else {
            continue; // a dangling study, reported by the index check
        };
        if t.type_id != TypeId::MEDICAL_IMAGE_STUDY || t.state != ThingState::Active {
            continue;
        }
        let (record, thing) = (rid, tid);
        let Some(stored) = digests.remove(&tid) else {
            report
                .problems
                .push(FsckProblem::MissingStudyDigest { record, thing });
            continue;
        };
        let (version, at) = (t.version, t.updated.timestamp);
        let facts = meta.study_instances(rid, tid)?;
        let built = StudyDigest::of(&facts, version, at)
            .unwrap_or_else(|| StudyDigest::empty(&uid, version, at));
        let agrees = same_counts(&stored, &built)
            && stored.version == version
            && stored.study_instance_uid == uid;
        if !agrees {
            report
                .problems
                .push(FsckProblem::StudyDigestMismatch { record, thing });
        }
    }
    for thing in digests.into_keys() {
        report
            .problems
            .push(FsckProblem::StrayStudyDigest { record: rid, thing });
    }
    Ok(())
}
