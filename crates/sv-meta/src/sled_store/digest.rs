//! Study digests on sled: one value per live study thing in `study_digests`, keyed
//! (record, thing), changed in the transaction that changes the study.
//!
//! `add_instance` folds instances in and out ([`Tx::edit_digest`]); every new version of a
//! study thing, whatever made it, stamps the digest with that version and time, and a
//! tombstone removes the digest ([`Tx::follow_study`], called by `next_version`). So a digest
//! exists exactly for each live study thing the study index made, and carries its version.

use sv_model::study::StudyDigest;
use sv_model::{RecordId, Thing, ThingId, ThingState};

use super::{SledMetaStore, T, Tx, TxResult, tx_decode};
use crate::codec::{decode_digest, encode_digest};
use crate::{MetaError, keys};

impl Tx<'_> {
    pub(crate) fn put_digest(&self, rid: RecordId, tid: ThingId, d: &StudyDigest) -> TxResult<()> {
        self.put(
            T::StudyDigests,
            keys::record_thing(rid, tid),
            encode_digest(d),
        )
    }

    /// Changes a study's digest with `f`, if it has one. A live study without one is damage
    /// that `fsck` reports; it cannot be rebuilt here (a transaction reads no ranges).
    pub(crate) fn edit_digest(
        &self,
        rid: RecordId,
        tid: ThingId,
        f: impl FnOnce(&mut StudyDigest),
    ) -> TxResult<()> {
        let key = keys::record_thing(rid, tid);
        let Some(v) = self.get(T::StudyDigests, &key)? else {
            return Ok(());
        };
        let mut d = tx_decode(T::StudyDigests, decode_digest(&v))?;
        f(&mut d);
        self.put(T::StudyDigests, key, encode_digest(&d))
    }

    /// Keeps a study's digest in step with its new version `t`: removed with a tombstone,
    /// stamped with the version and its time otherwise.
    pub(crate) fn follow_study(&self, rid: RecordId, t: &Thing) -> TxResult<()> {
        if t.state == ThingState::Deleted {
            self.remove(T::StudyDigests, keys::record_thing(rid, t.id))?;
            return Ok(());
        }
        self.edit_digest(rid, t.id, |d| {
            d.version = t.version;
            d.updated = t.updated.timestamp;
        })
    }
}

impl SledMetaStore {
    pub(crate) fn study_digests_impl(
        &self,
        rid: RecordId,
    ) -> Result<Vec<(ThingId, StudyDigest)>, MetaError> {
        self.scan(T::StudyDigests, &keys::record(rid), |k, v| {
            let tid = k
                .get(16..32)
                .and_then(|b| <[u8; 16]>::try_from(b).ok())
                .ok_or(MetaError::Corrupt {
                    tree: "study_digests",
                    source: crate::codec::CodecError::Invalid {
                        what: "study digest key",
                        field: "thing id",
                    },
                })?;
            let d = decode_digest(v).map_err(MetaError::corrupt("study_digests"))?;
            Ok((ThingId::from_bytes(tid), d))
        })
    }

    pub(crate) fn study_digest_impl(
        &self,
        rid: RecordId,
        tid: ThingId,
    ) -> Result<Option<StudyDigest>, MetaError> {
        self.get(T::StudyDigests, &keys::record_thing(rid, tid))?
            .map(|v| decode_digest(&v).map_err(MetaError::corrupt("study_digests")))
            .transpose()
    }
}
