//! `fsck`: checks a metadata store against its blob store.
//!
//! Real problems (a named blob missing or corrupt, a reference count that disagrees with the
//! names, an index entry pointing nowhere, a study digest missing, stray or disagreeing with
//! its instances, a gap in a change feed) are reported apart from unreferenced blobs, which a
//! crash between a blob write and its metadata leaves behind by design and `gc` removes.

use std::collections::{BTreeMap, HashMap};

use sv_blob::{BlobError, BlobStore};
use sv_model::{BlobId, RecordId, ThingId, TypeId};

use crate::{MetaError, MetaStore, StateFilter, ThingQuery};

mod digest;

/// One inconsistency. Ids only: no names, UIDs or other patient data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FsckProblem {
    /// A thing names a blob the blob store does not have.
    MissingBlob {
        record: RecordId,
        thing: ThingId,
        blob: BlobId,
    },
    /// A named blob does not hash to its id (or could not be read).
    CorruptBlob { blob: BlobId, reason: String },
    /// A named blob's recorded length differs from the stored one.
    LengthMismatch {
        blob: BlobId,
        named: u64,
        stored: u64,
    },
    /// The stored reference count differs from the number of names pointing at the blob.
    RefcountMismatch {
        blob: BlobId,
        stored: u64,
        names: u64,
    },
    /// A StudyInstanceUID maps to a thing that is missing or not a study.
    DanglingStudy { record: RecordId, thing: ThingId },
    /// A SOP Instance UID maps to a thing or facts that are missing.
    DanglingInstance { record: RecordId, thing: ThingId },
    /// A live study thing of the study index has no digest.
    MissingStudyDigest { record: RecordId, thing: ThingId },
    /// A study's digest disagrees with its instances (instance count, per-series or per-SOP
    /// class counts) or with its thing (version).
    StudyDigestMismatch { record: RecordId, thing: ThingId },
    /// A digest of a thing that is not a live study of the index (a deleted one, say).
    StrayStudyDigest { record: RecordId, thing: ThingId },
    /// The change feed's sequence numbers are not 1, 2, … up to the latest.
    FeedGap {
        record: RecordId,
        expected: u64,
        found: u64,
    },
}

/// What `fsck` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FsckReport {
    pub problems: Vec<FsckProblem>,
    /// Stored blobs no name points at: expected after a crash; `gc` removes them.
    pub unreferenced_blobs: Vec<BlobId>,
    pub records: u64,
    pub things: u64,
    pub names: u64,
    pub blobs_verified: u64,
}

impl FsckReport {
    /// True when nothing is wrong (unreferenced blobs are not a problem).
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks every record of `meta` and every blob it names in `blobs`.
pub fn fsck(meta: &dyn MetaStore, blobs: &dyn BlobStore) -> Result<FsckReport, MetaError> {
    let mut report = FsckReport::default();
    let mut names: BTreeMap<BlobId, u64> = BTreeMap::new();
    let mut verified: HashMap<BlobId, Option<u64>> = HashMap::new();
    for record in meta.records()? {
        report.records += 1;
        let rid = record.id;
        let mut query = ThingQuery {
            states: StateFilter::Any,
            limit: 256,
            ..ThingQuery::default()
        };
        loop {
            let page = meta.query(rid, &query)?;
            for thing in &page.things {
                report.things += 1;
                for b in meta.named_blobs(rid, thing.id)? {
                    report.names += 1;
                    *names.entry(b.blob_id).or_default() += 1;
                    let stored = *verified
                        .entry(b.blob_id)
                        .or_insert_with(|| verify(blobs, &b.blob_id, rid, thing.id, &mut report));
                    if let Some(len) = stored
                        && len != b.length
                    {
                        report.problems.push(FsckProblem::LengthMismatch {
                            blob: b.blob_id,
                            named: b.length,
                            stored: len,
                        });
                    }
                }
            }
            match page.next {
                Some(next) => query.after = Some(next),
                None => break,
            }
        }
        check_study_index(meta, rid, &mut report)?;
        digest::check_study_digests(meta, rid, &mut report)?;
        check_feed(meta, rid, &mut report)?;
    }
    let counted: BTreeMap<BlobId, u64> = meta.referenced_blobs()?.into_iter().collect();
    for (blob, &n) in &names {
        let stored = counted.get(blob).copied().unwrap_or(0);
        if stored != n {
            report.problems.push(FsckProblem::RefcountMismatch {
                blob: *blob,
                stored,
                names: n,
            });
        }
    }
    for (blob, &stored) in &counted {
        if !names.contains_key(blob) {
            report.problems.push(FsckProblem::RefcountMismatch {
                blob: *blob,
                stored,
                names: 0,
            });
        }
    }
    let listed = blobs
        .list()
        .map_err(|e| MetaError::engine("list the blobs of")(Box::new(e)))?;
    report.unreferenced_blobs = listed
        .into_iter()
        .filter(|id| !names.contains_key(id) && !counted.contains_key(id))
        .collect();
    Ok(report)
}

/// Verifies one blob; its stored length when it is intact.
fn verify(
    blobs: &dyn BlobStore,
    id: &BlobId,
    record: RecordId,
    thing: ThingId,
    report: &mut FsckReport,
) -> Option<u64> {
    report.blobs_verified += 1;
    let problem = match blobs.verify(id) {
        Ok(()) => match blobs.len(id) {
            Ok(Some(len)) => return Some(len),
            Ok(None) => FsckProblem::MissingBlob {
                record,
                thing,
                blob: *id,
            },
            Err(e) => corrupt(id, &e),
        },
        Err(BlobError::NotFound(_)) => FsckProblem::MissingBlob {
            record,
            thing,
            blob: *id,
        },
        Err(e) => corrupt(id, &e),
    };
    report.problems.push(problem);
    None
}

fn corrupt(id: &BlobId, e: &BlobError) -> FsckProblem {
    FsckProblem::CorruptBlob {
        blob: *id,
        reason: e.to_string(),
    }
}

fn check_study_index(
    meta: &dyn MetaStore,
    rid: RecordId,
    report: &mut FsckReport,
) -> Result<(), MetaError> {
    for (_, tid) in meta.studies(rid)? {
        let ok = meta
            .thing_header(rid, tid)?
            .is_some_and(|t| t.type_id == TypeId::MEDICAL_IMAGE_STUDY);
        if !ok {
            report.problems.push(FsckProblem::DanglingStudy {
                record: rid,
                thing: tid,
            });
        }
    }
    for e in meta.instance_index(rid)? {
        let thing_ok = meta.thing_header(rid, e.thing_id)?.is_some();
        let facts_ok = meta
            .instance(rid, &e.sop_instance_uid)?
            .is_some_and(|(tid, f)| tid == e.thing_id && f.blob_id == e.blob_id);
        if !(thing_ok && facts_ok) {
            report.problems.push(FsckProblem::DanglingInstance {
                record: rid,
                thing: e.thing_id,
            });
        }
    }
    Ok(())
}

fn check_feed(
    meta: &dyn MetaStore,
    rid: RecordId,
    report: &mut FsckReport,
) -> Result<(), MetaError> {
    let mut expected = 1;
    let mut since = 0;
    loop {
        let page = meta.changes(rid, since, 4096)?;
        if page.changes.is_empty() {
            if expected != page.latest_seq + 1 {
                report.problems.push(FsckProblem::FeedGap {
                    record: rid,
                    expected,
                    found: page.latest_seq + 1,
                });
            }
            return Ok(());
        }
        for c in &page.changes {
            if c.seq != expected {
                report.problems.push(FsckProblem::FeedGap {
                    record: rid,
                    expected,
                    found: c.seq,
                });
                return Ok(());
            }
            expected += 1;
            since = c.seq;
        }
    }
}
