//! Things: create, update, soft delete, history; and the in-transaction steps every change
//! shares (load, next version, feed entry).

use sv_model::{
    Audit, AuditAction, BlobName, NamedBlob, RecordId, Thing, ThingId, ThingState, ThingVersion,
    TypeId, VersionStamp,
};

use super::{SledMetaStore, T, Tx, TxResult, abort, tx_decode};
use crate::codec::{StoredThing, decode_id, decode_thing, encode_id, encode_thing};
use crate::feed::ChangeOp;
use crate::thing_rules::{check_unique_names, keeps_content};
use crate::{MetaError, ThingUpdate, keys};

/// How a new version changes the thing's named blobs (for the version's blob snapshot).
#[derive(Debug)]
pub(crate) enum BlobChange<'a> {
    None,
    Put(&'a NamedBlob),
    Remove(&'a BlobName),
}

/// `expected` must be the current version, if given.
pub(crate) fn check_expected(cur: &Thing, expected: Option<VersionStamp>) -> TxResult<()> {
    match expected {
        Some(v) if v != cur.version => abort(MetaError::Conflict {
            current: cur.version,
        }),
        _ => Ok(()),
    }
}

impl Tx<'_> {
    pub(crate) fn require_record(&self, rid: RecordId) -> TxResult<()> {
        match self.get(T::Records, &keys::record(rid))? {
            Some(_) => Ok(()),
            None => abort(MetaError::RecordNotFound(rid)),
        }
    }

    /// The current version of a thing.
    pub(crate) fn load_thing(&self, rid: RecordId, tid: ThingId) -> TxResult<Option<StoredThing>> {
        let Some(ty) = self.get(T::ThingTypes, &keys::record_thing(rid, tid))? else {
            return Ok(None);
        };
        let ty = TypeId::from_bytes(tx_decode(T::ThingTypes, decode_id(&ty, "thing type"))?);
        match self.get(T::Things, &keys::thing(rid, ty, tid))? {
            Some(v) => Ok(Some(tx_decode(T::Things, decode_thing(&v))?)),
            None => abort(MetaError::Corrupt {
                tree: T::Things.name(),
                source: crate::codec::CodecError::Empty {
                    what: "indexed thing",
                },
            }),
        }
    }

    /// The current version of a live thing: `ThingNotFound` if missing or deleted.
    pub(crate) fn load_live(&self, rid: RecordId, tid: ThingId) -> TxResult<StoredThing> {
        match self.load_thing(rid, tid)? {
            Some(s) if s.thing.state == ThingState::Active => Ok(s),
            _ => abort(MetaError::ThingNotFound(tid)),
        }
    }

    /// Writes `s` as the current version and into the history (with `blobs` as the version's
    /// blob snapshot for types that keep content).
    pub(crate) fn write_version(
        &self,
        rid: RecordId,
        s: &StoredThing,
        blobs: Vec<NamedBlob>,
    ) -> TxResult<()> {
        let t = &s.thing;
        let current = StoredThing {
            version_no: s.version_no,
            thing: Thing {
                blobs: Vec::new(),
                ..t.clone()
            },
        };
        self.put(
            T::Things,
            keys::thing(rid, t.type_id, t.id),
            encode_thing(&current),
        )?;
        let mut history = current;
        if keeps_content(t.type_id) {
            history.thing.blobs = blobs;
        } else {
            history.thing.data_xml.clear();
        }
        self.put(
            T::Versions,
            keys::version(rid, t.id, s.version_no),
            encode_thing(&history),
        )
    }

    /// The named blobs recorded with version `n` (types that keep content only).
    fn version_blobs(&self, rid: RecordId, tid: ThingId, n: u64) -> TxResult<Vec<NamedBlob>> {
        match self.get(T::Versions, &keys::version(rid, tid, n))? {
            Some(v) => Ok(tx_decode(T::Versions, decode_thing(&v))?.thing.blobs),
            None => Ok(Vec::new()),
        }
    }

    /// Writes the version after `cur`: `edit` changes the header, `change` the blob snapshot;
    /// appends the feed entry and keeps a study's digest in step. Returns the new version.
    #[allow(clippy::too_many_arguments)] // one step shared by every kind of change
    pub(crate) fn next_version(
        &self,
        rid: RecordId,
        cur: &StoredThing,
        version: VersionStamp,
        audit: &Audit,
        op: ChangeOp,
        change: BlobChange<'_>,
        edit: impl FnOnce(&mut Thing),
    ) -> TxResult<StoredThing> {
        let mut thing = cur.thing.clone();
        edit(&mut thing);
        thing.version = version;
        thing.updated = Audit {
            action: match op {
                ChangeOp::Create => AuditAction::Created,
                ChangeOp::Update => AuditAction::Updated,
                ChangeOp::Delete => AuditAction::Deleted,
            },
            ..audit.clone()
        };
        let mut blobs = Vec::new();
        if keeps_content(thing.type_id) {
            blobs = self.version_blobs(rid, thing.id, cur.version_no)?;
            match change {
                BlobChange::None => {}
                BlobChange::Put(b) => {
                    blobs.retain(|x| x.name != b.name);
                    blobs.push(b.clone());
                    blobs.sort_by(|a, b| a.name.as_str().cmp(b.name.as_str()));
                }
                BlobChange::Remove(n) => blobs.retain(|x| &x.name != n),
            }
        }
        let next = StoredThing {
            version_no: cur.version_no + 1,
            thing,
        };
        self.write_version(rid, &next, blobs)?;
        self.append_change(rid, op, &next.thing)?;
        if next.thing.type_id == TypeId::MEDICAL_IMAGE_STUDY {
            self.follow_study(rid, &next.thing)?;
        }
        Ok(next)
    }

    /// Stores a brand-new thing (version 1) with its named blobs, and its feed entry.
    pub(crate) fn insert_thing(&self, rid: RecordId, thing: &Thing) -> TxResult<()> {
        let index = keys::record_thing(rid, thing.id);
        if self.get(T::ThingTypes, &index)?.is_some() {
            return abort(MetaError::AlreadyExists {
                what: "thing",
                id: thing.id.to_string(),
            });
        }
        self.put(T::ThingTypes, index, encode_id(thing.type_id.as_bytes()))?;
        for b in &thing.blobs {
            self.put_name(rid, thing.id, b)?;
        }
        let mut blobs = thing.blobs.clone();
        blobs.sort_by(|a, b| a.name.as_str().cmp(b.name.as_str()));
        let stored = StoredThing {
            version_no: 1,
            thing: thing.clone(),
        };
        self.write_version(rid, &stored, blobs)?;
        self.append_change(rid, ChangeOp::Create, thing)?;
        Ok(())
    }
}

impl SledMetaStore {
    pub(crate) fn create_thing_impl(&self, rid: RecordId, thing: &Thing) -> Result<(), MetaError> {
        check_unique_names(thing)?;
        self.transact(|tx| {
            tx.require_record(rid)?;
            tx.insert_thing(rid, thing)
        })
    }

    pub(crate) fn update_thing_impl(
        &self,
        rid: RecordId,
        tid: ThingId,
        expected: VersionStamp,
        u: &ThingUpdate,
    ) -> Result<Thing, MetaError> {
        let next = self.transact(|tx| {
            let cur = tx.load_live(rid, tid)?;
            check_expected(&cur.thing, Some(expected))?;
            tx.next_version(
                rid,
                &cur,
                u.version,
                &u.audit,
                ChangeOp::Update,
                BlobChange::None,
                |t| {
                    t.flags = u.flags;
                    t.eff_date = u.eff_date;
                    if keeps_content(t.type_id) {
                        t.data_xml = u.data_xml.clone();
                    }
                },
            )
        })?;
        let mut thing = next.thing;
        thing.blobs = self.named_blobs_impl(rid, tid)?;
        Ok(thing)
    }

    pub(crate) fn delete_thing_impl(
        &self,
        rid: RecordId,
        tid: ThingId,
        expected: Option<VersionStamp>,
        audit: &Audit,
    ) -> Result<VersionStamp, MetaError> {
        let version = VersionStamp::new_random();
        self.transact(|tx| {
            let Some(cur) = tx.load_thing(rid, tid)? else {
                return abort(MetaError::ThingNotFound(tid));
            };
            check_expected(&cur.thing, expected)?;
            if cur.thing.state == ThingState::Deleted {
                return Ok(cur.thing.version);
            }
            let next = tx.next_version(
                rid,
                &cur,
                version,
                audit,
                ChangeOp::Delete,
                BlobChange::None,
                |t| t.state = ThingState::Deleted,
            )?;
            Ok(next.thing.version)
        })
    }

    /// The current version without its named blobs.
    pub(crate) fn load_header(
        &self,
        rid: RecordId,
        tid: ThingId,
    ) -> Result<Option<StoredThing>, MetaError> {
        let Some(ty) = self.get(T::ThingTypes, &keys::record_thing(rid, tid))? else {
            return Ok(None);
        };
        let ty = decode_id(&ty, "thing type").map_err(MetaError::corrupt("thing_types"))?;
        let key = keys::thing(rid, TypeId::from_bytes(ty), tid);
        match self.get(T::Things, &key)? {
            Some(v) => decode_thing(&v)
                .map(Some)
                .map_err(MetaError::corrupt("things")),
            None => Err(MetaError::Corrupt {
                tree: "things",
                source: crate::codec::CodecError::Empty {
                    what: "indexed thing",
                },
            }),
        }
    }

    pub(crate) fn thing_impl(
        &self,
        rid: RecordId,
        tid: ThingId,
    ) -> Result<Option<Thing>, MetaError> {
        let Some(s) = self.load_header(rid, tid)? else {
            return Ok(None);
        };
        let mut thing = s.thing;
        thing.blobs = self.named_blobs_impl(rid, tid)?;
        Ok(Some(thing))
    }

    fn history(&self, rid: RecordId, tid: ThingId) -> Result<Vec<StoredThing>, MetaError> {
        self.scan(T::Versions, &keys::record_thing(rid, tid), |_, v| {
            decode_thing(v).map_err(MetaError::corrupt("versions"))
        })
    }

    pub(crate) fn versions_impl(
        &self,
        rid: RecordId,
        tid: ThingId,
    ) -> Result<Vec<ThingVersion>, MetaError> {
        let history = self.history(rid, tid)?;
        if history.is_empty() {
            return Err(MetaError::ThingNotFound(tid));
        }
        Ok(history
            .into_iter()
            .map(|s| ThingVersion {
                version: s.thing.version,
                state: s.thing.state,
                audit: s.thing.updated,
            })
            .collect())
    }

    pub(crate) fn thing_at_impl(
        &self,
        rid: RecordId,
        tid: ThingId,
        version: VersionStamp,
    ) -> Result<Option<Thing>, MetaError> {
        Ok(self
            .history(rid, tid)?
            .into_iter()
            .find(|s| s.thing.version == version)
            .map(|s| s.thing))
    }
}
