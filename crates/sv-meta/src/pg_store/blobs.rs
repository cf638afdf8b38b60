//! Named blobs. A blob's reference count is the number of names pointing at it, counted from
//! `named_blobs` through its `blob_id` index: it changes in the transaction that changes a
//! name, cannot disagree with the names, and no row is shared between records (so writers of
//! different records never wait for each other here).

use super::conn::{Db, Tx, owned};
use sv_model::{Audit, BlobId, BlobName, NamedBlob, RecordId, ThingId, VersionStamp};

use super::things::{check_expected, load_live, next_version};
use super::{PgMetaStore, blob_id, col, exec, lock_record_if_any, one, rows, to_i64, to_u64};
use crate::MetaError;
use crate::feed::ChangeOp;

fn named_blob(row: &tokio_postgres::Row, name: BlobName) -> Result<NamedBlob, MetaError> {
    Ok(NamedBlob {
        name,
        content_type: col(row, 0)?,
        length: to_u64(col(row, 1)?, "named_blobs", "length")?,
        blob_id: blob_id(col(row, 2)?, "named_blobs")?,
    })
}

fn blob_name(name: &str) -> Result<BlobName, MetaError> {
    BlobName::new(name).map_err(|_| super::corrupt("named_blobs", "named blob", "name"))
}

/// A thing's current named blobs, by name (byte order).
pub(super) fn named_blobs<C: Db>(
    c: &mut C,
    rid: RecordId,
    tid: ThingId,
) -> Result<Vec<NamedBlob>, MetaError> {
    rows(
        c,
        "SELECT content_type, length, blob_id, name FROM named_blobs
         WHERE rid = $1 AND thing_id = $2 ORDER BY name",
        &[&rid.as_uuid(), &tid.as_uuid()],
        |row| named_blob(row, blob_name(col(row, 3)?)?),
    )
}

/// Names a blob, replacing any blob of that name.
/// Names a blob (or renames what the name held), with the next statement sent; the commit is
/// refused if a collector marked the blob (see `gc`).
pub(super) fn put_name(
    tx: &mut Tx<'_>,
    rid: RecordId,
    tid: ThingId,
    b: &NamedBlob,
) -> Result<(), MetaError> {
    tx.defer(
        "INSERT INTO named_blobs (rid, thing_id, name, content_type, length, blob_id)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (rid, thing_id, name) DO UPDATE
         SET content_type = EXCLUDED.content_type, length = EXCLUDED.length,
             blob_id = EXCLUDED.blob_id",
        owned![
            rid.as_uuid(),
            tid.as_uuid(),
            b.name.as_str().to_owned(),
            b.content_type.clone(),
            to_i64(b.length, "named blob")?,
            b.blob_id.as_bytes().to_vec(),
        ],
    );
    super::gc::refuse_collected(tx, &b.blob_id);
    Ok(())
}

/// Removes a name; false when there was none.
pub(super) fn remove_name(
    tx: &mut Tx<'_>,
    rid: RecordId,
    tid: ThingId,
    name: &BlobName,
) -> Result<bool, MetaError> {
    let n = exec(
        tx,
        "DELETE FROM named_blobs WHERE rid = $1 AND thing_id = $2 AND name = $3",
        &[&rid.as_uuid(), &tid.as_uuid(), &name.as_str()],
    )?;
    Ok(n > 0)
}

impl PgMetaStore {
    pub(crate) fn named_blobs_impl(
        &self,
        rid: RecordId,
        tid: ThingId,
    ) -> Result<Vec<NamedBlob>, MetaError> {
        self.read(|c| named_blobs(c, rid, tid))
    }

    pub(crate) fn named_blob_impl(
        &self,
        rid: RecordId,
        tid: ThingId,
        name: &BlobName,
    ) -> Result<Option<NamedBlob>, MetaError> {
        self.read(|c| {
            super::one(
                c,
                "SELECT content_type, length, blob_id FROM named_blobs
                 WHERE rid = $1 AND thing_id = $2 AND name = $3",
                &[&rid.as_uuid(), &tid.as_uuid(), &name.as_str()],
                |row| named_blob(row, name.clone()),
            )
        })
    }

    pub(crate) fn put_named_blob_impl(
        &self,
        rid: RecordId,
        tid: ThingId,
        expected: Option<VersionStamp>,
        blob: &NamedBlob,
        audit: &Audit,
    ) -> Result<VersionStamp, MetaError> {
        let version = VersionStamp::new_random();
        self.write(|tx| {
            if !lock_record_if_any(tx, rid)? {
                return Err(MetaError::ThingNotFound(tid));
            }
            let cur = load_live(tx, rid, tid)?;
            check_expected(&cur.thing, expected)?;
            put_name(tx, rid, tid, blob)?;
            let next = next_version(tx, rid, &cur, version, audit, ChangeOp::Update, |_| {})?;
            Ok(next.thing.version)
        })
    }

    pub(crate) fn delete_named_blob_impl(
        &self,
        rid: RecordId,
        tid: ThingId,
        expected: Option<VersionStamp>,
        name: &BlobName,
        audit: &Audit,
    ) -> Result<VersionStamp, MetaError> {
        let version = VersionStamp::new_random();
        self.write(|tx| {
            if !lock_record_if_any(tx, rid)? {
                return Err(MetaError::ThingNotFound(tid));
            }
            let cur = load_live(tx, rid, tid)?;
            check_expected(&cur.thing, expected)?;
            if !remove_name(tx, rid, tid, name)? {
                return Err(MetaError::BlobNameNotFound { thing: tid });
            }
            let next = next_version(tx, rid, &cur, version, audit, ChangeOp::Update, |_| {})?;
            Ok(next.thing.version)
        })
    }

    pub(crate) fn blob_refcount_impl(&self, id: &BlobId) -> Result<u64, MetaError> {
        self.read(|c| {
            let n = one(
                c,
                "SELECT count(*) FROM named_blobs WHERE blob_id = $1",
                &[&id.as_bytes().as_slice()],
                |row| to_u64(col(row, 0)?, "named_blobs", "count"),
            )?;
            Ok(n.unwrap_or(0))
        })
    }

    pub(crate) fn referenced_blobs_impl(&self) -> Result<Vec<(BlobId, u64)>, MetaError> {
        self.read(|c| {
            rows(
                c,
                "SELECT blob_id, count(*) FROM named_blobs GROUP BY blob_id ORDER BY blob_id",
                &[],
                |row| {
                    Ok((
                        blob_id(col(row, 0)?, "named_blobs")?,
                        to_u64(col(row, 1)?, "named_blobs", "count")?,
                    ))
                },
            )
        })
    }
}
