//! The study index on PostgreSQL: `add_instance` in one transaction, O(1) in the number of
//! instances of the study (key lookups and single-row writes; the rows rewritten are the study
//! thing's and its digest's, which grow with series and SOP classes, not instances).

use postgres::{GenericClient, Transaction};
use sv_model::study::{InstanceFacts, StudyDigest};
use sv_model::{
    Audit, AuditAction, BlobName, RecordId, Thing, ThingFlags, ThingId, ThingState, TypeId,
    VersionStamp,
};

use super::digest::{edit_digest, put_digest};
use super::things::{insert_thing, load_thing, next_version};
use super::{PgMetaStore, blob_id, col, exec, lock_record, one, rows};
use crate::MetaError;
use crate::codec::{SopEntry, StoredThing, decode_facts, encode_facts};
use crate::feed::ChangeOp;
use crate::study::{AddInstanceOutcome, InstanceIndexEntry, instance_blobs, study_instant};

fn facts(v: &[u8]) -> Result<InstanceFacts, MetaError> {
    decode_facts(v).map_err(MetaError::corrupt("instances"))
}

/// PostgreSQL text cannot hold NUL: no such UID can be stored, or found.
fn storable(uid: &str) -> bool {
    !uid.contains('\0')
}

fn sop_entry<C: GenericClient>(
    c: &mut C,
    rid: RecordId,
    sop: &str,
) -> Result<Option<SopEntry>, MetaError> {
    one(
        c,
        "SELECT thing_id, blob_id, series_uid FROM sops WHERE rid = $1 AND sop_uid = $2",
        &[&rid.as_uuid(), &sop],
        |row| {
            Ok(SopEntry {
                thing_id: ThingId::from_uuid(col(row, 0)?),
                blob_id: blob_id(col(row, 1)?, "sops")?,
                series_uid: col(row, 2)?,
            })
        },
    )
}

/// Removes an instance's facts and names and takes it out of its study's digest; its SOP
/// entry is left to the caller.
fn release_instance(
    tx: &mut Transaction<'_>,
    rid: RecordId,
    e: &SopEntry,
    sop: &str,
) -> Result<(), MetaError> {
    let old = one(
        tx,
        "DELETE FROM instances
         WHERE rid = $1 AND thing_id = $2 AND series_uid = $3 AND sop_uid = $4
         RETURNING value",
        &[&rid.as_uuid(), &e.thing_id.as_uuid(), &e.series_uid, &sop],
        |row| facts(col(row, 0)?),
    )?;
    if let Some(old) = old {
        if let Some(p) = old.preview_blob_name()
            && let Ok(name) = BlobName::new(p)
        {
            super::blobs::remove_name(tx, rid, e.thing_id, &name)?;
        }
        edit_digest(tx, rid, e.thing_id, |d| d.remove(&old))?;
    }
    if let Ok(name) = BlobName::new(sop) {
        super::blobs::remove_name(tx, rid, e.thing_id, &name)?;
    }
    Ok(())
}

/// The live study thing a StudyInstanceUID maps to.
fn live_study(
    tx: &mut Transaction<'_>,
    rid: RecordId,
    study_uid: &str,
) -> Result<Option<StoredThing>, MetaError> {
    let tid = one(
        tx,
        "SELECT thing_id FROM studies WHERE rid = $1 AND study_uid = $2",
        &[&rid.as_uuid(), &study_uid],
        |row| Ok(ThingId::from_uuid(col(row, 0)?)),
    )?;
    let Some(tid) = tid else {
        return Ok(None);
    };
    Ok(load_thing(tx, rid, tid)?.filter(|s| s.thing.state == ThingState::Active))
}

impl PgMetaStore {
    pub(crate) fn add_instance_impl(
        &self,
        rid: RecordId,
        f: &InstanceFacts,
        replace: bool,
        audit: &Audit,
    ) -> Result<AddInstanceOutcome, MetaError> {
        let blobs = instance_blobs(f)?;
        if !storable(&f.study_instance_uid) || !storable(&f.series_instance_uid) {
            return Err(MetaError::Invalid {
                what: "instance",
                reason: "a study or series instance uid contains a NUL character",
            });
        }
        let sop = f.sop_instance_uid.as_str();
        let new_tid = ThingId::new_random();
        let version = VersionStamp::new_random();
        let other_version = VersionStamp::new_random();
        let eff_date = study_instant(f).unwrap_or(audit.timestamp);
        let value = encode_facts(f);
        self.write(|tx| {
            lock_record(tx, rid)?;
            let mut replaced_from = None;
            if let Some(entry) = sop_entry(tx, rid, sop)? {
                let live = load_thing(tx, rid, entry.thing_id)?
                    .is_some_and(|s| s.thing.state == ThingState::Active);
                // An entry of a deleted study is stale: the instance is new again.
                if live {
                    if entry.blob_id == f.blob_id {
                        return Ok(AddInstanceOutcome::Duplicate {
                            thing_id: entry.thing_id,
                        });
                    }
                    if !replace {
                        return Ok(AddInstanceOutcome::Conflict {
                            thing_id: entry.thing_id,
                            existing: entry.blob_id,
                        });
                    }
                    release_instance(tx, rid, &entry, sop)?;
                    replaced_from = Some(entry.thing_id);
                }
            }
            let (study, created_study) = match live_study(tx, rid, &f.study_instance_uid)? {
                Some(s) => (s, false),
                None => {
                    let created = Audit {
                        action: AuditAction::Created,
                        ..audit.clone()
                    };
                    let thing = Thing {
                        id: new_tid,
                        version,
                        type_id: TypeId::MEDICAL_IMAGE_STUDY,
                        state: ThingState::Active,
                        flags: ThingFlags::default(),
                        eff_date,
                        created: created.clone(),
                        updated: created,
                        data_xml: String::new(),
                        blobs: Vec::new(),
                    };
                    insert_thing(tx, rid, &thing)?;
                    exec(
                        tx,
                        "INSERT INTO studies (rid, study_uid, thing_id) VALUES ($1, $2, $3)
                         ON CONFLICT (rid, study_uid) DO UPDATE SET thing_id = EXCLUDED.thing_id",
                        &[&rid.as_uuid(), &f.study_instance_uid, &new_tid.as_uuid()],
                    )?;
                    let digest =
                        StudyDigest::empty(&f.study_instance_uid, version, audit.timestamp);
                    put_digest(tx, rid, new_tid, &digest)?;
                    let stored = StoredThing {
                        version_no: 1,
                        thing,
                    };
                    (stored, true)
                }
            };
            let tid = study.thing.id;
            exec(
                tx,
                "INSERT INTO instances (rid, thing_id, series_uid, sop_uid, value)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (rid, thing_id, series_uid, sop_uid) DO UPDATE
                 SET value = EXCLUDED.value",
                &[
                    &rid.as_uuid(),
                    &tid.as_uuid(),
                    &f.series_instance_uid,
                    &sop,
                    &value,
                ],
            )?;
            for b in &blobs {
                super::blobs::put_name(tx, rid, tid, b)?;
            }
            exec(
                tx,
                "INSERT INTO sops (rid, sop_uid, thing_id, series_uid, blob_id)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (rid, sop_uid) DO UPDATE
                 SET thing_id = EXCLUDED.thing_id, series_uid = EXCLUDED.series_uid,
                     blob_id = EXCLUDED.blob_id",
                &[
                    &rid.as_uuid(),
                    &sop,
                    &tid.as_uuid(),
                    &f.series_instance_uid,
                    &f.blob_id.as_bytes().as_slice(),
                ],
            )?;
            edit_digest(tx, rid, tid, |d| d.add(f))?;
            // A new version of a study stamps its digest with that version and time.
            if !created_study {
                next_version(tx, rid, &study, version, audit, ChangeOp::Update, |_| {})?;
            }
            if let Some(old) = replaced_from.filter(|old| *old != tid)
                && let Some(cur) = load_thing(tx, rid, old)?
            {
                next_version(
                    tx,
                    rid,
                    &cur,
                    other_version,
                    audit,
                    ChangeOp::Update,
                    |_| {},
                )?;
            }
            Ok(AddInstanceOutcome::Stored {
                thing_id: tid,
                version,
                created_study,
                replaced: replaced_from.is_some(),
            })
        })
    }

    pub(crate) fn study_thing_impl(
        &self,
        rid: RecordId,
        study_uid: &str,
    ) -> Result<Option<ThingId>, MetaError> {
        if !storable(study_uid) {
            return Ok(None);
        }
        self.read(|c| {
            one(
                c,
                "SELECT s.thing_id FROM studies s
                 JOIN things t ON t.rid = s.rid AND t.thing_id = s.thing_id
                 WHERE s.rid = $1 AND s.study_uid = $2 AND t.state = 0",
                &[&rid.as_uuid(), &study_uid],
                |row| Ok(ThingId::from_uuid(col(row, 0)?)),
            )
        })
    }

    pub(crate) fn studies_impl(&self, rid: RecordId) -> Result<Vec<(String, ThingId)>, MetaError> {
        self.read(|c| {
            rows(
                c,
                "SELECT study_uid, thing_id FROM studies WHERE rid = $1 ORDER BY study_uid",
                &[&rid.as_uuid()],
                |row| Ok((col(row, 0)?, ThingId::from_uuid(col(row, 1)?))),
            )
        })
    }

    pub(crate) fn instance_impl(
        &self,
        rid: RecordId,
        sop: &str,
    ) -> Result<Option<(ThingId, InstanceFacts)>, MetaError> {
        if !storable(sop) {
            return Ok(None);
        }
        self.read(|c| {
            one(
                c,
                "SELECT s.thing_id, i.value FROM sops s
                 JOIN instances i ON i.rid = s.rid AND i.thing_id = s.thing_id
                     AND i.series_uid = s.series_uid AND i.sop_uid = s.sop_uid
                 WHERE s.rid = $1 AND s.sop_uid = $2",
                &[&rid.as_uuid(), &sop],
                |row| Ok((ThingId::from_uuid(col(row, 0)?), facts(col(row, 1)?)?)),
            )
        })
    }

    /// A study's instances (or one series' when `series` is given), by series then SOP UID.
    pub(crate) fn instances_of(
        &self,
        rid: RecordId,
        tid: ThingId,
        series: Option<&str>,
    ) -> Result<Vec<InstanceFacts>, MetaError> {
        if series.is_some_and(|s| !storable(s)) {
            return Ok(Vec::new());
        }
        self.read(|c| {
            rows(
                c,
                "SELECT value FROM instances
                 WHERE rid = $1 AND thing_id = $2 AND ($3::text IS NULL OR series_uid = $3)
                 ORDER BY series_uid, sop_uid",
                &[&rid.as_uuid(), &tid.as_uuid(), &series],
                |row| facts(col(row, 0)?),
            )
        })
    }

    pub(crate) fn instance_index_impl(
        &self,
        rid: RecordId,
    ) -> Result<Vec<InstanceIndexEntry>, MetaError> {
        self.read(|c| {
            rows(
                c,
                "SELECT sop_uid, series_uid, thing_id, blob_id FROM sops
                 WHERE rid = $1 ORDER BY sop_uid",
                &[&rid.as_uuid()],
                |row| {
                    Ok(InstanceIndexEntry {
                        sop_instance_uid: col(row, 0)?,
                        series_instance_uid: col(row, 1)?,
                        thing_id: ThingId::from_uuid(col(row, 2)?),
                        blob_id: blob_id(col(row, 3)?, "sops")?,
                    })
                },
            )
        })
    }
}
