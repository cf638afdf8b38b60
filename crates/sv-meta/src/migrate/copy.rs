//! One record's rows, read from sled's trees and written to PostgreSQL's tables in one
//! transaction, value bytes unchanged; and the rows that belong to no record.
//!
//! Each sled key is checked against the value it holds (the key a store would write for the
//! decoded value must be the key found), so a value filed under the wrong key stops the copy
//! rather than landing somewhere else.

use crate::pg_store::conn::{Db, Param, Tx};
use sv_model::{BlobName, RecordId, ThingId};

use super::side::Side;
use crate::codec::{
    CodecError, decode_blob_value, decode_facts, decode_id, decode_mail, decode_session,
    decode_sop, decode_thing, decode_u64,
};
use crate::pg_store::{col, db, one, state_code, to_i64};
use crate::sled_store::T;
use crate::{MetaError, PgMetaStore, SledMetaStore, keys};

/// Rows written for records, by table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RowCounts {
    pub things: u64,
    pub versions: u64,
    pub names: u64,
    pub changes: u64,
    pub studies: u64,
    pub sops: u64,
    pub instances: u64,
    pub digests: u64,
    pub tokens: u64,
    pub shares: u64,
    pub share_events: u64,
    pub signin_links: u64,
}

impl RowCounts {
    pub(super) fn add(&mut self, o: &RowCounts) {
        self.things += o.things;
        self.versions += o.versions;
        self.names += o.names;
        self.changes += o.changes;
        self.studies += o.studies;
        self.sops += o.sops;
        self.instances += o.instances;
        self.digests += o.digests;
        self.tokens += o.tokens;
        self.shares += o.shares;
        self.share_events += o.share_events;
        self.signin_links += o.signin_links;
    }
}

pub(super) fn bad_key(t: T) -> MetaError {
    MetaError::Corrupt {
        tree: t.name(),
        source: CodecError::Invalid {
            what: "key",
            field: "layout",
        },
    }
}

/// Calls `f` with every (key, value) of tree `t` under `prefix`, in key order.
pub(super) fn scan(
    src: &SledMetaStore,
    t: T,
    prefix: &[u8],
    mut f: impl FnMut(&[u8], &[u8]) -> Result<(), MetaError>,
) -> Result<(), MetaError> {
    for kv in src.tree(t).scan_prefix(prefix) {
        let (k, v) = kv.map_err(|e| MetaError::engine("read")(Box::new(e)))?;
        f(&k, &v)?;
    }
    Ok(())
}

fn uuid_at(t: T, k: &[u8], at: usize) -> Result<[u8; 16], MetaError> {
    k.get(at..at + 16)
        .and_then(|b| <[u8; 16]>::try_from(b).ok())
        .ok_or_else(|| bad_key(t))
}

fn text_after(t: T, k: &[u8], at: usize) -> Result<&str, MetaError> {
    k.get(at..)
        .and_then(|b| std::str::from_utf8(b).ok())
        .ok_or_else(|| bad_key(t))
}

/// `expected` must be `found`, the key a store writes for the decoded value.
fn check_key(t: T, expected: &[u8], found: &[u8]) -> Result<(), MetaError> {
    if expected == found {
        Ok(())
    } else {
        Err(bad_key(t))
    }
}

/// Writes one row with the parameters given.
type PutRow<'p> = dyn FnMut(&[Param<'_>]) -> Result<(), MetaError> + 'p;

/// Runs one statement per row (prepared once per connection): a record of many instances is
/// thousands of rows.
struct Insert<'a, 'b> {
    tx: &'a mut Tx<'b>,
}

impl Insert<'_, '_> {
    fn rows(
        &mut self,
        sql: &str,
        each: &mut dyn FnMut(&mut PutRow<'_>) -> Result<(), MetaError>,
    ) -> Result<u64, MetaError> {
        let mut n = 0u64;
        let tx = &mut *self.tx;
        each(&mut |params| {
            tx.execute(sql, params).map_err(db("write to"))?;
            n += 1;
            Ok(())
        })?;
        Ok(n)
    }
}

/// Writes record `rid` (stored as `value` in sled) with everything it holds. Runs inside the
/// record's transaction: an error anywhere rolls all of it back.
pub(super) fn copy_record(
    tx: &mut Tx<'_>,
    src: &SledMetaStore,
    rid: RecordId,
    value: &[u8],
    side: &Side,
    fail: bool,
) -> Result<RowCounts, MetaError> {
    let uuid = rid.as_uuid();
    let prefix = keys::record(rid);
    let feed_seq = match src.get(T::FeedHeads, &prefix)? {
        Some(v) => decode_u64(&v, "feed head").map_err(MetaError::corrupt("feed_heads"))?,
        None => 0,
    };
    tx.execute(
        "INSERT INTO records (rid, feed_seq, value) VALUES ($1, $2, $3)",
        &[&uuid, &to_i64(feed_seq, "feed head")?, &value],
    )
    .map_err(db("write to"))?;
    let mut c = RowCounts::default();
    let mut ins = Insert { tx };

    c.things = ins.rows(
        "INSERT INTO things
             (rid, thing_id, type_id, version_no, stamp, state, eff_date, updated, value)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &mut |put| {
            scan(src, T::Things, &prefix, |k, v| {
                let s = decode_thing(v).map_err(MetaError::corrupt("things"))?;
                let t = &s.thing;
                check_key(T::Things, &keys::thing(rid, t.type_id, t.id), k)?;
                let kind = src.get(T::ThingTypes, &keys::record_thing(rid, t.id))?;
                let kind = kind.map(|v| decode_id(&v, "thing type"));
                if kind != Some(Ok(*t.type_id.as_bytes())) {
                    return Err(bad_key(T::ThingTypes));
                }
                put(&[
                    &uuid,
                    &t.id.as_uuid(),
                    &t.type_id.as_uuid(),
                    &to_i64(s.version_no, "thing version")?,
                    &t.version.as_uuid(),
                    &state_code(t.state),
                    &t.eff_date.unix_micros(),
                    &t.updated.timestamp.unix_micros(),
                    &v,
                ])
            })
        },
    )?;
    if fail {
        return Err(MetaError::Invalid {
            what: "copy",
            reason: "a fault injected by a test",
        });
    }
    c.versions = ins.rows(
        "INSERT INTO thing_versions (rid, thing_id, version_no, stamp, value)
         VALUES ($1, $2, $3, $4, $5)",
        &mut |put| {
            scan(src, T::Versions, &prefix, |k, v| {
                let s = decode_thing(v).map_err(MetaError::corrupt("versions"))?;
                let tid = ThingId::from_bytes(uuid_at(T::Versions, k, 16)?);
                check_key(T::Versions, &keys::version(rid, tid, s.version_no), k)?;
                put(&[
                    &uuid,
                    &tid.as_uuid(),
                    &to_i64(s.version_no, "thing version")?,
                    &s.thing.version.as_uuid(),
                    &v,
                ])
            })
        },
    )?;
    c.names = ins.rows(
        "INSERT INTO named_blobs (rid, thing_id, name, content_type, length, blob_id)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &mut |put| {
            scan(src, T::Names, &prefix, |k, v| {
                let tid = ThingId::from_bytes(uuid_at(T::Names, k, 16)?);
                let name =
                    BlobName::new(text_after(T::Names, k, 32)?).map_err(|_| bad_key(T::Names))?;
                let b = decode_blob_value(v, name).map_err(MetaError::corrupt("names"))?;
                put(&[
                    &uuid,
                    &tid.as_uuid(),
                    &b.name.as_str(),
                    &b.content_type,
                    &to_i64(b.length, "named blob")?,
                    &b.blob_id.as_bytes().as_slice(),
                ])
            })
        },
    )?;
    c.changes = ins.rows(
        "INSERT INTO feed (rid, seq, value) VALUES ($1, $2, $3)",
        &mut |put| {
            scan(src, T::Feed, &prefix, |k, v| {
                let seq = keys::u64_at(k, 16).ok_or_else(|| bad_key(T::Feed))?;
                check_key(T::Feed, &keys::change(rid, seq), k)?;
                put(&[&uuid, &to_i64(seq, "feed")?, &v])
            })
        },
    )?;
    c.studies = ins.rows(
        "INSERT INTO studies (rid, study_uid, thing_id) VALUES ($1, $2, $3)",
        &mut |put| {
            scan(src, T::Studies, &prefix, |k, v| {
                let uid = text_after(T::Studies, k, 16)?;
                let tid = decode_id(v, "study index").map_err(MetaError::corrupt("studies"))?;
                put(&[&uuid, &uid, &ThingId::from_bytes(tid).as_uuid()])
            })
        },
    )?;
    c.sops = ins.rows(
        "INSERT INTO sops (rid, sop_uid, thing_id, series_uid, blob_id)
         VALUES ($1, $2, $3, $4, $5)",
        &mut |put| {
            scan(src, T::Sops, &prefix, |k, v| {
                let sop = text_after(T::Sops, k, 16)?;
                let e = decode_sop(v).map_err(MetaError::corrupt("sops"))?;
                put(&[
                    &uuid,
                    &sop,
                    &e.thing_id.as_uuid(),
                    &e.series_uid,
                    &e.blob_id.as_bytes().as_slice(),
                ])
            })
        },
    )?;
    c.instances = ins.rows(
        "INSERT INTO instances (rid, thing_id, series_uid, sop_uid, value)
         VALUES ($1, $2, $3, $4, $5)",
        &mut |put| {
            scan(src, T::Instances, &prefix, |k, v| {
                let tid = ThingId::from_bytes(uuid_at(T::Instances, k, 16)?);
                let f = decode_facts(v).map_err(MetaError::corrupt("instances"))?;
                let (series, sop) = (&f.series_instance_uid, &f.sop_instance_uid);
                check_key(T::Instances, &keys::instance(rid, tid, series, sop), k)?;
                put(&[&uuid, &tid.as_uuid(), series, sop, &v])
            })
        },
    )?;
    c.digests = ins.rows(
        "INSERT INTO study_digests (rid, thing_id, value) VALUES ($1, $2, $3)",
        &mut |put| {
            scan(src, T::StudyDigests, &prefix, |k, v| {
                let tid = ThingId::from_bytes(uuid_at(T::StudyDigests, k, 16)?);
                check_key(T::StudyDigests, &keys::record_thing(rid, tid), k)?;
                put(&[&uuid, &tid.as_uuid(), &v])
            })
        },
    )?;
    let none = Vec::new();
    c.tokens = ins.rows(
        "INSERT INTO tokens (secret_hash, rid, token_id, value) VALUES ($1, $2, $3, $4)",
        &mut |put| {
            for t in side.tokens.get(&rid).unwrap_or(&none) {
                put(&[&t.hash.as_slice(), &uuid, &t.decoded.id.as_uuid(), &t.value])?;
            }
            Ok(())
        },
    )?;
    let none = Vec::new();
    let shares = side.shares.get(&rid).unwrap_or(&none);
    c.shares = ins.rows(
        "INSERT INTO shares (secret_hash, rid, share_id, value) VALUES ($1, $2, $3, $4)",
        &mut |put| {
            for s in shares {
                put(&[&s.hash.as_slice(), &uuid, &s.decoded.id.as_uuid(), &s.value])?;
            }
            Ok(())
        },
    )?;
    let none = Vec::new();
    c.share_events = ins.rows(
        "INSERT INTO share_events (rid, share_id, at, value) VALUES ($1, $2, $3, $4)",
        &mut |put| {
            for s in shares {
                let sid = s.decoded.id.as_uuid();
                for e in side.events.get(&s.decoded.id).unwrap_or(&none) {
                    put(&[&uuid, &sid, &e.at, &e.value])?;
                }
            }
            Ok(())
        },
    )?;
    let none = Vec::new();
    c.signin_links = ins.rows(
        "INSERT INTO signin_links (secret_hash, rid, value) VALUES ($1, $2, $3)",
        &mut |put| {
            for l in side.signin_links.get(&rid).unwrap_or(&none) {
                put(&[&l.hash.as_slice(), &uuid, &l.value])?;
            }
            Ok(())
        },
    )?;
    Ok(c)
}

/// Copies sessions or the outbox (`t`), rows that belong to no record, in one transaction:
/// a row already there must hold the same bytes. Returns (copied, already there).
pub(super) fn copy_unowned(
    dst: &PgMetaStore,
    src: &SledMetaStore,
    t: T,
) -> Result<(usize, usize), super::MigrateError> {
    let mut source = Vec::new();
    scan(src, t, &[], |k, v| {
        source.push((k.to_vec(), v.to_vec()));
        Ok(())
    })?;
    let (table, insert, select) = match t {
        T::Sessions => (
            "sessions",
            "INSERT INTO sessions (secret_hash, expires, value) VALUES ($1, $2, $3)
             ON CONFLICT (secret_hash) DO NOTHING",
            "SELECT value FROM sessions WHERE secret_hash = $1",
        ),
        _ => (
            "outbox",
            "INSERT INTO outbox (mail_id, value) VALUES ($1, $2)
             ON CONFLICT (mail_id) DO NOTHING",
            "SELECT value FROM outbox WHERE mail_id = $1",
        ),
    };
    let outcome = dst.write(|tx| {
        let (mut copied, mut there) = (0, 0);
        for (k, v) in &source {
            let added = if t == T::Sessions {
                let s = decode_session(v).map_err(MetaError::corrupt("sessions"))?;
                let hash: &[u8] = k;
                tx.execute(insert, &[&hash, &s.expires.unix_micros(), v])
            } else {
                decode_mail(v).map_err(MetaError::corrupt("outbox"))?;
                let id: &[u8] = k;
                tx.execute(insert, &[&id, v])
            }
            .map_err(db("write to"))?;
            if added == 1 {
                copied += 1;
                continue;
            }
            let key: &[u8] = k;
            let found = one(tx, select, &[&key], |row| col::<Vec<u8>>(row, 0))?;
            if found.as_ref() != Some(v) {
                return Ok(Err(table));
            }
            there += 1;
        }
        Ok(Ok((copied, there)))
    })?;
    outcome.map_err(|table| super::MigrateError::RowDiffers { table })
}
