//! Named blobs and blob reference counts, changed together in one transaction so a blob
//! that is still named always has a non-zero count.

use sv_model::{Audit, BlobId, BlobName, NamedBlob, RecordId, ThingId, VersionStamp};

use super::things::{BlobChange, check_expected};
use super::{SledMetaStore, T, Tx, TxResult, abort, tx_decode};
use crate::codec::{decode_blob_value, decode_u64, encode_blob_value, encode_u64};
use crate::feed::ChangeOp;
use crate::{MetaError, keys};

impl Tx<'_> {
    fn add_ref(&self, id: &BlobId, delta: i64) -> TxResult<()> {
        let key = keys::blob(id);
        let count = match self.get(T::Refcounts, &key)? {
            Some(v) => tx_decode(T::Refcounts, decode_u64(&v, "reference count"))?,
            None => 0,
        };
        let next = count.checked_add_signed(delta).ok_or_else(|| {
            sled::transaction::ConflictableTransactionError::Abort(MetaError::Corrupt {
                tree: T::Refcounts.name(),
                source: crate::codec::CodecError::Invalid {
                    what: "reference count",
                    field: "count below zero",
                },
            })
        })?;
        if next == 0 {
            self.remove(T::Refcounts, key)?;
        } else {
            self.put(T::Refcounts, key, encode_u64(next))?;
        }
        Ok(())
    }

    /// Names a blob (replacing any blob of that name); counts follow. Returns the old blob.
    pub(crate) fn put_name(
        &self,
        rid: RecordId,
        tid: ThingId,
        blob: &NamedBlob,
    ) -> TxResult<Option<NamedBlob>> {
        let old = self.remove_name(rid, tid, &blob.name)?;
        self.put(
            T::Names,
            keys::name(rid, tid, blob.name.as_str()),
            encode_blob_value(blob),
        )?;
        self.add_ref(&blob.blob_id, 1)?;
        Ok(old)
    }

    /// Removes a name; counts follow. Returns the removed blob.
    pub(crate) fn remove_name(
        &self,
        rid: RecordId,
        tid: ThingId,
        name: &BlobName,
    ) -> TxResult<Option<NamedBlob>> {
        let Some(v) = self.remove(T::Names, keys::name(rid, tid, name.as_str()))? else {
            return Ok(None);
        };
        let old = tx_decode(T::Names, decode_blob_value(&v, name.clone()))?;
        self.add_ref(&old.blob_id, -1)?;
        Ok(Some(old))
    }
}

impl SledMetaStore {
    pub(crate) fn named_blobs_impl(
        &self,
        rid: RecordId,
        tid: ThingId,
    ) -> Result<Vec<NamedBlob>, MetaError> {
        let prefix = keys::record_thing(rid, tid);
        self.scan(T::Names, &prefix, |k, v| {
            let name = std::str::from_utf8(&k[prefix.len()..])
                .ok()
                .and_then(|n| BlobName::new(n).ok())
                .ok_or(MetaError::Corrupt {
                    tree: "names",
                    source: crate::codec::CodecError::Invalid {
                        what: "named blob key",
                        field: "name",
                    },
                })?;
            decode_blob_value(v, name).map_err(MetaError::corrupt("names"))
        })
    }

    pub(crate) fn named_blob_impl(
        &self,
        rid: RecordId,
        tid: ThingId,
        name: &BlobName,
    ) -> Result<Option<NamedBlob>, MetaError> {
        match self.get(T::Names, &keys::name(rid, tid, name.as_str()))? {
            Some(v) => decode_blob_value(&v, name.clone())
                .map(Some)
                .map_err(MetaError::corrupt("names")),
            None => Ok(None),
        }
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
        self.transact(|tx| {
            let cur = tx.load_live(rid, tid)?;
            check_expected(&cur.thing, expected)?;
            tx.put_name(rid, tid, blob)?;
            let next = tx.next_version(
                rid,
                &cur,
                version,
                audit,
                ChangeOp::Update,
                BlobChange::Put(blob),
                |_| {},
            )?;
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
        self.transact(|tx| {
            let cur = tx.load_live(rid, tid)?;
            check_expected(&cur.thing, expected)?;
            if tx.remove_name(rid, tid, name)?.is_none() {
                return abort(MetaError::BlobNameNotFound { thing: tid });
            }
            let next = tx.next_version(
                rid,
                &cur,
                version,
                audit,
                ChangeOp::Update,
                BlobChange::Remove(name),
                |_| {},
            )?;
            Ok(next.thing.version)
        })
    }

    pub(crate) fn blob_refcount_impl(&self, id: &BlobId) -> Result<u64, MetaError> {
        match self.get(T::Refcounts, &keys::blob(id))? {
            Some(v) => decode_u64(&v, "reference count").map_err(MetaError::corrupt("refcounts")),
            None => Ok(0),
        }
    }

    pub(crate) fn referenced_blobs_impl(&self) -> Result<Vec<(BlobId, u64)>, MetaError> {
        self.scan(T::Refcounts, &[], |k, v| {
            let id: [u8; 32] = k.try_into().map_err(|_| MetaError::Corrupt {
                tree: "refcounts",
                source: crate::codec::CodecError::Invalid {
                    what: "reference count key",
                    field: "blob id",
                },
            })?;
            let n = decode_u64(v, "reference count").map_err(MetaError::corrupt("refcounts"))?;
            Ok((BlobId::from_bytes(id), n))
        })
    }
}
