//! The study index on sled: `add_instance` in one transaction, O(1) in the number of
//! instances of the study (point reads and writes only; the values rewritten are the study
//! thing's header and its digest, which grows with series and SOP classes, not instances).

use sv_model::study::{InstanceFacts, StudyDigest};
use sv_model::{
    Audit, AuditAction, BlobName, RecordId, Thing, ThingFlags, ThingId, ThingState, TypeId,
    VersionStamp,
};

use super::things::BlobChange;
use super::{SledMetaStore, T, Tx, TxResult, tx_decode};
use crate::codec::{
    SopEntry, StoredThing, decode_facts, decode_id, decode_sop, encode_facts, encode_id, encode_sop,
};
use crate::feed::ChangeOp;
use crate::study::{AddInstanceOutcome, InstanceIndexEntry, instance_blobs, study_instant};
use crate::{MetaError, keys};

impl Tx<'_> {
    /// Removes an instance's facts and names (counts follow) and takes it out of its study's
    /// digest; its SOP entry is left to the caller.
    fn release_instance(&self, rid: RecordId, e: &SopEntry, sop: &str) -> TxResult<()> {
        let key = keys::instance(rid, e.thing_id, &e.series_uid, sop);
        if let Some(v) = self.remove(T::Instances, key)? {
            let old = tx_decode(T::Instances, decode_facts(&v))?;
            if let Some(p) = old.preview_blob_name()
                && let Ok(name) = BlobName::new(p)
            {
                self.remove_name(rid, e.thing_id, &name)?;
            }
            self.edit_digest(rid, e.thing_id, |d| d.remove(&old))?;
        }
        if let Ok(name) = BlobName::new(sop) {
            self.remove_name(rid, e.thing_id, &name)?;
        }
        Ok(())
    }

    /// The live study thing a StudyInstanceUID maps to.
    fn live_study(&self, rid: RecordId, study_uid: &str) -> TxResult<Option<StoredThing>> {
        let Some(v) = self.get(T::Studies, &keys::study(rid, study_uid))? else {
            return Ok(None);
        };
        let tid = ThingId::from_bytes(tx_decode(T::Studies, decode_id(&v, "study index"))?);
        Ok(self
            .load_thing(rid, tid)?
            .filter(|s| s.thing.state == ThingState::Active))
    }
}

impl SledMetaStore {
    pub(crate) fn add_instance_impl(
        &self,
        rid: RecordId,
        f: &InstanceFacts,
        replace: bool,
        audit: &Audit,
    ) -> Result<AddInstanceOutcome, MetaError> {
        let blobs = instance_blobs(f)?;
        let sop = f.sop_instance_uid.as_str();
        let new_tid = ThingId::new_random();
        let version = VersionStamp::new_random();
        let other_version = VersionStamp::new_random();
        let eff_date = study_instant(f).unwrap_or(audit.timestamp);
        // Held until the change is durable: a reader of this SOP meanwhile waits for it.
        let _pending = self.pending_sops.hold(keys::sop(rid, sop));
        self.transact(|tx| {
            tx.require_record(rid)?;
            let sop_key = keys::sop(rid, sop);
            let mut replaced_from = None;
            if let Some(v) = tx.get(T::Sops, &sop_key)? {
                let entry = tx_decode(T::Sops, decode_sop(&v))?;
                let live = tx
                    .load_thing(rid, entry.thing_id)?
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
                    tx.release_instance(rid, &entry, sop)?;
                    replaced_from = Some(entry.thing_id);
                }
            }
            let (study, created_study) = match tx.live_study(rid, &f.study_instance_uid)? {
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
                    tx.insert_thing(rid, &thing)?;
                    tx.put(
                        T::Studies,
                        keys::study(rid, &f.study_instance_uid),
                        encode_id(new_tid.as_bytes()),
                    )?;
                    let digest =
                        StudyDigest::empty(&f.study_instance_uid, version, audit.timestamp);
                    tx.put_digest(rid, new_tid, &digest)?;
                    (
                        StoredThing {
                            version_no: 1,
                            thing,
                        },
                        true,
                    )
                }
            };
            let tid = study.thing.id;
            tx.put(
                T::Instances,
                keys::instance(rid, tid, &f.series_instance_uid, sop),
                encode_facts(f),
            )?;
            for b in &blobs {
                tx.put_name(rid, tid, b)?;
            }
            let entry = SopEntry {
                thing_id: tid,
                blob_id: f.blob_id,
                series_uid: f.series_instance_uid.clone(),
            };
            tx.put(T::Sops, sop_key.clone(), encode_sop(&entry))?;
            tx.edit_digest(rid, tid, |d| d.add(f))?;
            // A new version of a study stamps its digest with that version and time.
            if !created_study {
                let (op, change) = (ChangeOp::Update, BlobChange::None);
                tx.next_version(rid, &study, version, audit, op, change, |_| {})?;
            }
            if let Some(old) = replaced_from.filter(|old| *old != tid)
                && let Some(cur) = tx.load_thing(rid, old)?
            {
                let (op, change) = (ChangeOp::Update, BlobChange::None);
                tx.next_version(rid, &cur, other_version, audit, op, change, |_| {})?;
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
        let Some(v) = self.get(T::Studies, &keys::study(rid, study_uid))? else {
            return Ok(None);
        };
        let tid = ThingId::from_bytes(
            decode_id(&v, "study index").map_err(MetaError::corrupt("studies"))?,
        );
        let live = self
            .load_header(rid, tid)?
            .is_some_and(|s| s.thing.state == ThingState::Active);
        Ok(live.then_some(tid))
    }

    pub(crate) fn studies_impl(&self, rid: RecordId) -> Result<Vec<(String, ThingId)>, MetaError> {
        self.scan(T::Studies, &keys::record(rid), |k, v| {
            let uid = String::from_utf8_lossy(&k[16..]).into_owned();
            let tid = decode_id(v, "study index").map_err(MetaError::corrupt("studies"))?;
            Ok((uid, ThingId::from_bytes(tid)))
        })
    }

    /// The instance with this SOP Instance UID, as durable: facts another `add_instance` has
    /// committed but not yet made durable are answered only once they are (the caller may
    /// acknowledge a re-sent instance as a duplicate on them).
    pub(crate) fn instance_impl(
        &self,
        rid: RecordId,
        sop: &str,
    ) -> Result<Option<(ThingId, InstanceFacts)>, MetaError> {
        let sop_key = keys::sop(rid, sop);
        let Some(v) = self.get(T::Sops, &sop_key)? else {
            return Ok(None);
        };
        let e = decode_sop(&v).map_err(MetaError::corrupt("sops"))?;
        let key = keys::instance(rid, e.thing_id, &e.series_uid, sop);
        let found = match self.get(T::Instances, &key)? {
            Some(v) => {
                let facts = decode_facts(&v).map_err(MetaError::corrupt("instances"))?;
                Some((e.thing_id, facts))
            }
            None => None,
        };
        // Asked after the reads: a writer that still holds the key may have committed what
        // was read; a sync that starts now covers it. A writer that let go is durable.
        if found.is_some() && self.pending_sops.contains(&sop_key) {
            self.durable()?;
        }
        Ok(found)
    }

    pub(crate) fn instances_under(&self, prefix: &[u8]) -> Result<Vec<InstanceFacts>, MetaError> {
        self.scan(T::Instances, prefix, |_, v| {
            decode_facts(v).map_err(MetaError::corrupt("instances"))
        })
    }

    pub(crate) fn instance_index_impl(
        &self,
        rid: RecordId,
    ) -> Result<Vec<InstanceIndexEntry>, MetaError> {
        self.scan(T::Sops, &keys::record(rid), |k, v| {
            let e = decode_sop(v).map_err(MetaError::corrupt("sops"))?;
            Ok(InstanceIndexEntry {
                sop_instance_uid: String::from_utf8_lossy(&k[16..]).into_owned(),
                series_instance_uid: e.series_uid,
                thing_id: e.thing_id,
                blob_id: e.blob_id,
            })
        })
    }
}

#[cfg(test)]
#[path = "study_tests.rs"]
mod tests;
