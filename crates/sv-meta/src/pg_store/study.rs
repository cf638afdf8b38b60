//! The study index on PostgreSQL: `add_instance` in one transaction, O(1) in the number of
//! instances of the study (key lookups and single-row writes; the rows rewritten are the study
//! thing's and its digest's, which grow with series and SOP classes, not instances).

use sv_model::study::{InstanceFacts, StudyDigest};
use sv_model::{
    Audit, AuditAction, BlobName, RecordId, Thing, ThingFlags, ThingId, ThingState, TypeId,
    VersionStamp,
};

use tokio_postgres::Row;

use super::conn::{Db, Tx, owned};
use super::digest::{edit_digest, put_digest};
use super::things::{decode, insert_thing, load_thing, next_version, write_next_version};
use super::{LOCK_RECORD, PgMetaStore, blob_id, col, db, one, rows};
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

/// Removes an instance's facts and names and takes it out of its study's digest; its SOP
/// entry is left to the caller.
fn release_instance(
    tx: &mut Tx<'_>,
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

/// A SOP Instance UID's entry with its thing's current version (`None` if that thing is gone),
/// from the rows of [`SOP_ENTRY`].
const SOP_ENTRY: &str = "SELECT s.thing_id, s.blob_id, s.series_uid, t.value FROM sops s
     LEFT JOIN things t ON t.rid = s.rid AND t.thing_id = s.thing_id
     WHERE s.rid = $1 AND s.sop_uid = $2";

fn sop_entry_of(rows: &[Row]) -> Result<Option<(SopEntry, Option<StoredThing>)>, MetaError> {
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let entry = SopEntry {
        thing_id: ThingId::from_uuid(col(row, 0)?),
        blob_id: blob_id(col(row, 1)?, "sops")?,
        series_uid: col(row, 2)?,
    };
    let thing = col::<Option<&[u8]>>(row, 3)?
        .map(|v| decode(v, "things"))
        .transpose()?;
    Ok(Some((entry, thing)))
}

/// The study thing a StudyInstanceUID maps to, with its digest, from the rows of
/// [`LIVE_STUDY`] (`None` if there is none or it is deleted).
const LIVE_STUDY: &str = "SELECT t.value, d.value FROM studies s
     JOIN things t ON t.rid = s.rid AND t.thing_id = s.thing_id
     LEFT JOIN study_digests d ON d.rid = s.rid AND d.thing_id = s.thing_id
     WHERE s.rid = $1 AND s.study_uid = $2";

type LiveStudy = (StoredThing, Option<StudyDigest>);

fn live_study_of(rows: &[Row]) -> Result<Option<LiveStudy>, MetaError> {
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let study = decode(col(row, 0)?, "things")?;
    if study.thing.state != ThingState::Active {
        return Ok(None);
    }
    let digest = col::<Option<&[u8]>>(row, 1)?
        .map(super::digest::decode)
        .transpose()?;
    Ok(Some((study, digest)))
}

impl PgMetaStore {
    /// One transaction of two round trips for a new instance: `BEGIN`, the record's lock and
    /// the reads go out together (each read runs once the lock is held, so it sees every
    /// change committed before); the writes go out with the `COMMIT`. Replacing an instance
    /// costs a few more.
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
        let rid_u = rid.as_uuid();
        self.write(|tx| {
            let reads = tx
                .query_all(&[
                    (LOCK_RECORD, &[&rid_u]),
                    (SOP_ENTRY, &[&rid_u, &sop]),
                    (LIVE_STUDY, &[&rid_u, &f.study_instance_uid]),
                ])
                .map_err(db("read from"))?;
            if reads[0].is_empty() {
                return Err(MetaError::RecordNotFound(rid));
            }
            let mut study = live_study_of(&reads[2])?;
            let mut replaced_from = None;
            if let Some((entry, thing)) = sop_entry_of(&reads[1])? {
                // An entry of a deleted study is stale: the instance is new again.
                if thing.is_some_and(|s| s.thing.state == ThingState::Active) {
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
                    // The release may have changed this very study's digest.
                    let rows = tx
                        .query(LIVE_STUDY, &[&rid_u, &f.study_instance_uid])
                        .map_err(db("read from"))?;
                    study = live_study_of(&rows)?;
                }
            }
            let (study, mut digest, created_study) = match study {
                Some((s, d)) => (s, d, false),
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
                    tx.defer(
                        "INSERT INTO studies (rid, study_uid, thing_id) VALUES ($1, $2, $3)
                         ON CONFLICT (rid, study_uid) DO UPDATE SET thing_id = EXCLUDED.thing_id",
                        owned![rid_u, f.study_instance_uid.clone(), new_tid.as_uuid()],
                    );
                    let digest =
                        StudyDigest::empty(&f.study_instance_uid, version, audit.timestamp);
                    let stored = StoredThing {
                        version_no: 1,
                        thing,
                    };
                    (stored, Some(digest), true)
                }
            };
            let tid = study.thing.id;
            tx.defer(
                "INSERT INTO instances (rid, thing_id, series_uid, sop_uid, value)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (rid, thing_id, series_uid, sop_uid) DO UPDATE
                 SET value = EXCLUDED.value",
                owned![
                    rid_u,
                    tid.as_uuid(),
                    f.series_instance_uid.clone(),
                    sop.to_owned(),
                    value.clone(),
                ],
            );
            for b in &blobs {
                super::blobs::put_name(tx, rid, tid, b)?;
            }
            tx.defer(
                "INSERT INTO sops (rid, sop_uid, thing_id, series_uid, blob_id)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (rid, sop_uid) DO UPDATE
                 SET thing_id = EXCLUDED.thing_id, series_uid = EXCLUDED.series_uid,
                     blob_id = EXCLUDED.blob_id",
                owned![
                    rid_u,
                    sop.to_owned(),
                    tid.as_uuid(),
                    f.series_instance_uid.clone(),
                    f.blob_id.as_bytes().to_vec(),
                ],
            );
            // The digest takes the instance, then (for a new version of a study) that
            // version's stamp and time; one write (a live study without one is damage that
            // `fsck` reports, left as it is).
            if let Some(d) = digest.as_mut() {
                d.add(f);
            }
            if !created_study {
                let next =
                    write_next_version(tx, rid, &study, version, audit, ChangeOp::Update, |_| {})?;
                if let Some(d) = digest.as_mut() {
                    d.version = next.thing.version;
                    d.updated = next.thing.updated.timestamp;
                }
            }
            if let Some(d) = &digest {
                put_digest(tx, rid, tid, d);
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

    /// The instance ingest meets, and whether the record exists, in one statement.
    pub(crate) fn live_instance_impl(
        &self,
        rid: RecordId,
        sop: &str,
    ) -> Result<Option<(ThingId, InstanceFacts)>, MetaError> {
        let sop = storable(sop).then_some(sop);
        let found = self.read(|c| {
            one(
                c,
                "SELECT i.thing_id, i.value FROM records r
                 LEFT JOIN (sops s
                     JOIN things t ON t.rid = s.rid AND t.thing_id = s.thing_id AND t.state = 0
                     JOIN instances i ON i.rid = s.rid AND i.thing_id = s.thing_id
                         AND i.series_uid = s.series_uid AND i.sop_uid = s.sop_uid)
                   ON s.rid = r.rid AND s.sop_uid = $2
                 WHERE r.rid = $1",
                &[&rid.as_uuid(), &sop],
                |row| {
                    let tid = col::<Option<_>>(row, 0)?.map(ThingId::from_uuid);
                    let value: Option<&[u8]> = col(row, 1)?;
                    Ok(match (tid, value) {
                        (Some(tid), Some(v)) => Some((tid, facts(v)?)),
                        _ => None,
                    })
                },
            )
        })?;
        found.ok_or(MetaError::RecordNotFound(rid))
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
