//! Things: create, update, soft delete, history; and the steps every change shares inside its
//! transaction (load, write the next version with its stamp compared and set, feed entry).

use super::conn::{Db, Tx, owned};
use sv_model::{
    Audit, AuditAction, RecordId, Thing, ThingId, ThingState, ThingVersion, TypeId, VersionStamp,
};

use super::{PgMetaStore, col, exec, lock_record, lock_record_if_any, notify, one, rows};
use crate::codec::{StoredThing, decode_thing, encode_thing};
use crate::feed::ChangeOp;
use crate::thing_rules::{check_unique_names, keeps_content};
use crate::{Invalidation, MetaError, ThingUpdate};

/// The `state` column of a thing (also written by the copy from sled, `crate::migrate`).
pub(crate) fn state_code(s: ThingState) -> i16 {
    match s {
        ThingState::Active => 0,
        ThingState::Deleted => 1,
    }
}

pub(super) fn decode(v: &[u8], table: &'static str) -> Result<StoredThing, MetaError> {
    decode_thing(v).map_err(MetaError::corrupt(table))
}

/// The current version of a thing, without its named blobs.
pub(super) fn load_thing<C: Db>(
    c: &mut C,
    rid: RecordId,
    tid: ThingId,
) -> Result<Option<StoredThing>, MetaError> {
    one(
        c,
        "SELECT value FROM things WHERE rid = $1 AND thing_id = $2",
        &[&rid.as_uuid(), &tid.as_uuid()],
        |row| decode(col(row, 0)?, "things"),
    )
}

/// The current version of a live thing: `ThingNotFound` if missing or deleted.
pub(super) fn load_live(
    tx: &mut Tx<'_>,
    rid: RecordId,
    tid: ThingId,
) -> Result<StoredThing, MetaError> {
    match load_thing(tx, rid, tid)? {
        Some(s) if s.thing.state == ThingState::Active => Ok(s),
        _ => Err(MetaError::ThingNotFound(tid)),
    }
}

/// `expected` must be the current version, if given.
pub(super) fn check_expected(cur: &Thing, expected: Option<VersionStamp>) -> Result<(), MetaError> {
    match expected {
        Some(v) if v != cur.version => Err(MetaError::Conflict {
            current: cur.version,
        }),
        _ => Ok(()),
    }
}

/// The `things` value: the thing without its named blobs (they have their own table).
fn header_value(s: &StoredThing) -> Vec<u8> {
    encode_thing(&StoredThing {
        version_no: s.version_no,
        thing: Thing {
            blobs: Vec::new(),
            ..s.thing.clone()
        },
    })
}

/// Adds `s` to the history (sent with the next statement); for types that keep content, with
/// the thing's named blobs as they are now (the caller has already changed them), otherwise
/// without data XML. The key `(rid, thing_id, version_no)` refuses a second version of the
/// same number: what makes a deferred version write safe (see [`write_next_version`]).
fn write_history(tx: &mut Tx<'_>, rid: RecordId, s: &StoredThing) -> Result<(), MetaError> {
    let mut history = s.thing.clone();
    if keeps_content(history.type_id) {
        history.blobs = super::blobs::named_blobs(tx, rid, history.id)?;
    } else {
        history.blobs.clear();
        history.data_xml.clear();
    }
    let value = encode_thing(&StoredThing {
        version_no: s.version_no,
        thing: history,
    });
    tx.defer(
        "INSERT INTO thing_versions (rid, thing_id, version_no, stamp, value)
         VALUES ($1, $2, $3, $4, $5)",
        owned![
            rid.as_uuid(),
            s.thing.id.as_uuid(),
            super::to_i64(s.version_no, "thing version")?,
            s.thing.version.as_uuid(),
            value,
        ],
    );
    Ok(())
}

/// Writes the version after `cur`: `edit` changes the header. Then the history, the feed
/// entry, and a study's digest follow. Returns it.
pub(super) fn next_version(
    tx: &mut Tx<'_>,
    rid: RecordId,
    cur: &StoredThing,
    version: VersionStamp,
    audit: &Audit,
    op: ChangeOp,
    edit: impl FnOnce(&mut Thing),
) -> Result<StoredThing, MetaError> {
    let next = write_next_version(tx, rid, cur, version, audit, op, edit)?;
    if next.thing.type_id == TypeId::MEDICAL_IMAGE_STUDY {
        super::digest::follow_study(tx, rid, &next.thing)?;
    }
    Ok(next)
}

/// [`next_version`] without the study digest, which the caller keeps in step itself. Every
/// write is deferred (sent with the next statement or the commit).
///
/// The `UPDATE` compares and sets the stamp, and its row count is not read: if another writer
/// had made a version since `cur` (which the record lock rules out for every writer here),
/// that version has number `cur + 1` in the history, and the history row written here, with
/// the same number, fails the transaction on the history's key.
pub(super) fn write_next_version(
    tx: &mut Tx<'_>,
    rid: RecordId,
    cur: &StoredThing,
    version: VersionStamp,
    audit: &Audit,
    op: ChangeOp,
    edit: impl FnOnce(&mut Thing),
) -> Result<StoredThing, MetaError> {
    let mut thing = cur.thing.clone();
    thing.blobs.clear();
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
    let next = StoredThing {
        version_no: cur.version_no + 1,
        thing,
    };
    let t = &next.thing;
    tx.defer(
        "UPDATE things
         SET version_no = $3, stamp = $4, state = $5, eff_date = $6, updated = $7, value = $8
         WHERE rid = $1 AND thing_id = $2 AND stamp = $9",
        owned![
            rid.as_uuid(),
            t.id.as_uuid(),
            super::to_i64(next.version_no, "thing version")?,
            t.version.as_uuid(),
            state_code(t.state),
            t.eff_date.unix_micros(),
            t.updated.timestamp.unix_micros(),
            header_value(&next),
            cur.thing.version.as_uuid(),
        ],
    );
    write_history(tx, rid, &next)?;
    super::feed::append_change(tx, rid, op, &next.thing);
    Ok(next)
}

/// Stores a brand-new thing (version 1) with its named blobs, and its feed entry.
pub(super) fn insert_thing(tx: &mut Tx<'_>, rid: RecordId, thing: &Thing) -> Result<(), MetaError> {
    let stored = StoredThing {
        version_no: 1,
        thing: thing.clone(),
    };
    let inserted = exec(
        tx,
        "INSERT INTO things
             (rid, thing_id, type_id, version_no, stamp, state, eff_date, updated, value)
         VALUES ($1, $2, $3, 1, $4, $5, $6, $7, $8)
         ON CONFLICT (rid, thing_id) DO NOTHING",
        &[
            &rid.as_uuid(),
            &thing.id.as_uuid(),
            &thing.type_id.as_uuid(),
            &thing.version.as_uuid(),
            &state_code(thing.state),
            &thing.eff_date.unix_micros(),
            &thing.updated.timestamp.unix_micros(),
            &header_value(&stored),
        ],
    )?;
    if inserted == 0 {
        return Err(MetaError::AlreadyExists {
            what: "thing",
            id: thing.id.to_string(),
        });
    }
    for b in &thing.blobs {
        super::blobs::put_name(tx, rid, thing.id, b)?;
    }
    write_history(tx, rid, &stored)?;
    super::feed::append_change(tx, rid, ChangeOp::Create, thing);
    Ok(())
}

impl PgMetaStore {
    pub(crate) fn create_thing_impl(&self, rid: RecordId, thing: &Thing) -> Result<(), MetaError> {
        check_unique_names(thing)?;
        self.write(|tx| {
            lock_record(tx, rid)?;
            insert_thing(tx, rid, thing)
        })
    }

    pub(crate) fn update_thing_impl(
        &self,
        rid: RecordId,
        tid: ThingId,
        expected: VersionStamp,
        u: &ThingUpdate,
    ) -> Result<Thing, MetaError> {
        self.write(|tx| {
            if !lock_record_if_any(tx, rid)? {
                return Err(MetaError::ThingNotFound(tid));
            }
            let cur = load_live(tx, rid, tid)?;
            check_expected(&cur.thing, Some(expected))?;
            let next = next_version(tx, rid, &cur, u.version, &u.audit, ChangeOp::Update, |t| {
                t.flags = u.flags;
                t.eff_date = u.eff_date;
                if keeps_content(t.type_id) {
                    t.data_xml = u.data_xml.clone();
                }
            })?;
            let mut thing = next.thing;
            thing.blobs = super::blobs::named_blobs(tx, rid, tid)?;
            Ok(thing)
        })
    }

    pub(crate) fn delete_thing_impl(
        &self,
        rid: RecordId,
        tid: ThingId,
        expected: Option<VersionStamp>,
        audit: &Audit,
    ) -> Result<VersionStamp, MetaError> {
        let version = VersionStamp::new_random();
        self.write(|tx| {
            if !lock_record_if_any(tx, rid)? {
                return Err(MetaError::ThingNotFound(tid));
            }
            let Some(cur) = load_thing(tx, rid, tid)? else {
                return Err(MetaError::ThingNotFound(tid));
            };
            check_expected(&cur.thing, expected)?;
            if cur.thing.state == ThingState::Deleted {
                return Ok(cur.thing.version);
            }
            let next = next_version(tx, rid, &cur, version, audit, ChangeOp::Delete, |t| {
                t.state = ThingState::Deleted
            })?;
            notify(
                tx,
                Invalidation::Thing {
                    record: rid,
                    thing: tid,
                },
            );
            Ok(next.thing.version)
        })
    }

    pub(crate) fn thing_header_impl(
        &self,
        rid: RecordId,
        tid: ThingId,
    ) -> Result<Option<Thing>, MetaError> {
        self.read(|c| Ok(load_thing(c, rid, tid)?.map(|s| s.thing)))
    }

    pub(crate) fn thing_impl(
        &self,
        rid: RecordId,
        tid: ThingId,
    ) -> Result<Option<Thing>, MetaError> {
        self.read(|c| {
            let Some(s) = load_thing(c, rid, tid)? else {
                return Ok(None);
            };
            let mut thing = s.thing;
            thing.blobs = super::blobs::named_blobs(c, rid, tid)?;
            Ok(Some(thing))
        })
    }

    pub(crate) fn versions_impl(
        &self,
        rid: RecordId,
        tid: ThingId,
    ) -> Result<Vec<ThingVersion>, MetaError> {
        let history = self.read(|c| {
            rows(
                c,
                "SELECT value FROM thing_versions WHERE rid = $1 AND thing_id = $2
                 ORDER BY version_no",
                &[&rid.as_uuid(), &tid.as_uuid()],
                |row| decode(col(row, 0)?, "thing_versions"),
            )
        })?;
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
        self.read(|c| {
            one(
                c,
                "SELECT value FROM thing_versions
                 WHERE rid = $1 AND thing_id = $2 AND stamp = $3
                 ORDER BY version_no LIMIT 1",
                &[&rid.as_uuid(), &tid.as_uuid(), &version.as_uuid()],
                |row| Ok(decode(col(row, 0)?, "thing_versions")?.thing),
            )
        })
    }
}
