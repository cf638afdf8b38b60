//! Building study digests from instances, once: stores written before digests existed have no
//! `study_digests` tree. When the store opens and the `meta` tree lacks the
//! [`DIGESTS_BUILT`] marker, every live study's digest is built from its instances (version
//! and time from the study thing's header), in transactions of [`BATCH`] studies, then the
//! marker is set and made durable. A crash before that just rebuilds on the next open: the
//! build starts by clearing the tree. Nothing else writes while the store is being opened.

use sled::transaction::{ConflictableTransactionError, TransactionError};
use sv_model::study::StudyDigest;
use sv_model::{RecordId, ThingId, ThingState, TypeId};

use super::{SledMetaStore, T, engine};
use crate::codec::{decode_facts, decode_u64, encode_digest, encode_u64};
use crate::{MetaError, keys};

/// The `meta` key whose presence says every live study has its digest.
pub(crate) const DIGESTS_BUILT: &[u8] = b"study_digests_built";
/// Studies whose digests are written per transaction.
const BATCH: usize = 256;

impl SledMetaStore {
    /// Builds the digests unless the marker says they were built.
    pub(super) fn ensure_digests(&self) -> Result<(), MetaError> {
        let meta = self.db.open_tree("meta").map_err(engine("open"))?;
        if let Some(v) = meta.get(DIGESTS_BUILT).map_err(engine("read"))? {
            decode_u64(&v, "digest marker").map_err(MetaError::corrupt("meta"))?;
            return Ok(());
        }
        self.build_digests()?;
        meta.insert(DIGESTS_BUILT, encode_u64(1))
            .map_err(engine("write"))?;
        self.durable()
    }

    /// Replaces the whole `study_digests` tree by digests built from the instances.
    fn build_digests(&self) -> Result<(), MetaError> {
        self.tree(T::StudyDigests)
            .clear()
            .map_err(engine("clear"))?;
        let mut batch = Vec::with_capacity(BATCH);
        for record in self.records_impl()? {
            let rid = record.id;
            for (uid, tid) in self.studies_impl(rid)? {
                if let Some(d) = self.digest_from_instances(rid, tid, &uid)? {
                    batch.push((keys::record_thing(rid, tid), encode_digest(&d)));
                }
                if batch.len() == BATCH {
                    self.write_digests(&mut batch)?;
                }
            }
        }
        self.write_digests(&mut batch)
    }

    /// The digest of a live study thing, folded from its instances in key order (what
    /// `StudyDigest::of` over `study_instances` gives, without holding the study in memory);
    /// `None` for a thing that is missing, deleted or not a study.
    fn digest_from_instances(
        &self,
        rid: RecordId,
        tid: ThingId,
        uid: &str,
    ) -> Result<Option<StudyDigest>, MetaError> {
        let Some(header) = self.load_header(rid, tid)? else {
            return Ok(None);
        };
        let t = &header.thing;
        if t.state != ThingState::Active || t.type_id != TypeId::MEDICAL_IMAGE_STUDY {
            return Ok(None);
        }
        let mut d = StudyDigest::empty(uid, t.version, t.updated.timestamp);
        for kv in self
            .tree(T::Instances)
            .scan_prefix(keys::record_thing(rid, tid))
        {
            let (_, v) = kv.map_err(engine("read"))?;
            d.add(&decode_facts(&v).map_err(MetaError::corrupt("instances"))?);
        }
        Ok(Some(d))
    }

    /// Writes `batch` in one transaction and empties it.
    fn write_digests(&self, batch: &mut Vec<(Vec<u8>, Vec<u8>)>) -> Result<(), MetaError> {
        let result = self.tree(T::StudyDigests).transaction(|tree| {
            for (k, v) in batch.iter() {
                tree.insert(k.as_slice(), v.as_slice())?;
            }
            Ok::<_, ConflictableTransactionError<MetaError>>(())
        });
        batch.clear();
        match result {
            Ok(()) => Ok(()),
            Err(TransactionError::Abort(e)) => Err(e),
            Err(TransactionError::Storage(e)) => Err(engine("commit to")(e)),
        }
    }
}

#[cfg(test)]
mod tests;
