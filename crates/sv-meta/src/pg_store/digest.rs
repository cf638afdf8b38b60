//! Study digests on PostgreSQL: one row per live study thing in `study_digests`, changed in the
//! transaction that changes the study (see `sled_store::digest` for the rules, which are the
//! same: instances fold in and out, every new version stamps it, a tombstone removes it).

use super::conn::{Db, Tx, owned};
use sv_model::study::StudyDigest;
use sv_model::{RecordId, Thing, ThingId, ThingState};

use super::{PgMetaStore, col, exec, one, rows};
use crate::MetaError;
use crate::codec::{decode_digest, encode_digest};

pub(super) fn decode(v: &[u8]) -> Result<StudyDigest, MetaError> {
    decode_digest(v).map_err(MetaError::corrupt("study_digests"))
}

/// Writes a study's digest, with the next statement sent.
pub(super) fn put_digest(tx: &mut Tx<'_>, rid: RecordId, tid: ThingId, d: &StudyDigest) {
    tx.defer(
        "INSERT INTO study_digests (rid, thing_id, value) VALUES ($1, $2, $3)
         ON CONFLICT (rid, thing_id) DO UPDATE SET value = EXCLUDED.value",
        owned![rid.as_uuid(), tid.as_uuid(), encode_digest(d)],
    );
}

fn digest<C: Db>(c: &mut C, rid: RecordId, tid: ThingId) -> Result<Option<StudyDigest>, MetaError> {
    one(
        c,
        "SELECT value FROM study_digests WHERE rid = $1 AND thing_id = $2",
        &[&rid.as_uuid(), &tid.as_uuid()],
        |row| decode(col(row, 0)?),
    )
}

/// Changes a study's digest with `f`, if it has one (a live study without one is damage that
/// `fsck` reports).
pub(super) fn edit_digest(
    tx: &mut Tx<'_>,
    rid: RecordId,
    tid: ThingId,
    f: impl FnOnce(&mut StudyDigest),
) -> Result<(), MetaError> {
    let Some(mut d) = digest(tx, rid, tid)? else {
        return Ok(());
    };
    f(&mut d);
    put_digest(tx, rid, tid, &d);
    Ok(())
}

/// Keeps a study's digest in step with its new version `t`: removed with a tombstone,
/// stamped with the version and its time otherwise.
pub(super) fn follow_study(tx: &mut Tx<'_>, rid: RecordId, t: &Thing) -> Result<(), MetaError> {
    if t.state == ThingState::Deleted {
        exec(
            tx,
            "DELETE FROM study_digests WHERE rid = $1 AND thing_id = $2",
            &[&rid.as_uuid(), &t.id.as_uuid()],
        )?;
        return Ok(());
    }
    edit_digest(tx, rid, t.id, |d| {
        d.version = t.version;
        d.updated = t.updated.timestamp;
    })
}

impl PgMetaStore {
    pub(crate) fn study_digests_impl(
        &self,
        rid: RecordId,
    ) -> Result<Vec<(ThingId, StudyDigest)>, MetaError> {
        self.read(|c| {
            rows(
                c,
                "SELECT thing_id, value FROM study_digests WHERE rid = $1 ORDER BY thing_id",
                &[&rid.as_uuid()],
                |row| Ok((ThingId::from_uuid(col(row, 0)?), decode(col(row, 1)?)?)),
            )
        })
    }

    pub(crate) fn study_digest_impl(
        &self,
        rid: RecordId,
        tid: ThingId,
    ) -> Result<Option<StudyDigest>, MetaError> {
        self.read(|c| digest(c, rid, tid))
    }
}
