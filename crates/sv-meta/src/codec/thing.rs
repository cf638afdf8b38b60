//! Value encodings of records, things, named blobs and change-feed entries.

use sv_model::{
    Audit, AuditAction, BlobName, NamedBlob, Record, RecordId, Thing, ThingFlags, ThingId,
    ThingState, TokenId, TypeId, VersionStamp,
};

use super::{CodecError, Dec, Enc, V1, V2};
use crate::feed::{Change, ChangeOp};

/// A thing as the `things` and `versions` trees hold it: the thing and the number of its
/// version (1 for the first, then +1 per change), which orders its history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredThing {
    pub(crate) version_no: u64,
    pub(crate) thing: Thing,
}

/// V1 records had no owner e-mail; V2 adds it.
pub(crate) fn encode_record(r: &Record) -> Vec<u8> {
    Enc::versioned(V2)
        .raw(r.id.as_bytes())
        .str(&r.name)
        .time(r.created)
        .opt_str(r.owner_email.as_deref())
        .finish()
}

pub(crate) fn decode_record(buf: &[u8]) -> Result<Record, CodecError> {
    let (mut d, version) = Dec::versioned(buf, "record", &[V1, V2])?;
    let r = Record {
        id: RecordId::from_bytes(d.array()?),
        name: d.str("name")?,
        created: d.time()?,
        owner_email: if version >= V2 {
            d.opt_str("owner email")?
        } else {
            None
        },
    };
    d.finish(r)
}

fn audit(e: &mut Enc, a: &Audit) {
    e.time(a.timestamp)
        .opt(a.token, |e, t| {
            e.raw(t.as_bytes());
        })
        .u8(match a.action {
            AuditAction::Created => 0,
            AuditAction::Updated => 1,
            AuditAction::Deleted => 2,
        });
}

fn read_audit(d: &mut Dec<'_>) -> Result<Audit, CodecError> {
    let timestamp = d.time()?;
    let token = d.opt("audit token", |d| Ok(TokenId::from_bytes(d.array()?)))?;
    let action = match d.u8()? {
        0 => AuditAction::Created,
        1 => AuditAction::Updated,
        2 => AuditAction::Deleted,
        _ => return Err(d.invalid("audit action")),
    };
    Ok(Audit {
        timestamp,
        token,
        action,
    })
}

pub(crate) fn encode_thing(s: &StoredThing) -> Vec<u8> {
    let t = &s.thing;
    let mut e = Enc::new();
    e.u64(s.version_no)
        .raw(t.id.as_bytes())
        .raw(t.version.as_bytes())
        .raw(t.type_id.as_bytes())
        .u8(match t.state {
            ThingState::Active => 0,
            ThingState::Deleted => 1,
        })
        .u32(t.flags.0)
        .time(t.eff_date);
    audit(&mut e, &t.created);
    audit(&mut e, &t.updated);
    e.str(&t.data_xml).u64(t.blobs.len() as u64);
    for b in &t.blobs {
        e.str(b.name.as_str());
        blob_fields(&mut e, &b.content_type, b.length, &b.blob_id);
    }
    e.finish()
}

pub(crate) fn decode_thing(buf: &[u8]) -> Result<StoredThing, CodecError> {
    let mut d = Dec::new(buf, "thing")?;
    let version_no = d.u64()?;
    let id = ThingId::from_bytes(d.array()?);
    let version = VersionStamp::from_bytes(d.array()?);
    let type_id = TypeId::from_bytes(d.array()?);
    let state = match d.u8()? {
        0 => ThingState::Active,
        1 => ThingState::Deleted,
        _ => return Err(d.invalid("state")),
    };
    let flags = ThingFlags(d.u32("flags")?);
    let eff_date = d.time()?;
    let created = read_audit(&mut d)?;
    let updated = read_audit(&mut d)?;
    let data_xml = d.str("data xml")?;
    let n = d.len()?;
    let mut blobs = Vec::with_capacity(n);
    for _ in 0..n {
        let name = BlobName::new(d.str("blob name")?).map_err(|_| d.invalid("blob name"))?;
        blobs.push(read_blob_fields(&mut d, name)?);
    }
    let thing = Thing {
        id,
        version,
        type_id,
        state,
        flags,
        eff_date,
        created,
        updated,
        data_xml,
        blobs,
    };
    d.finish(StoredThing { version_no, thing })
}

fn blob_fields(e: &mut Enc, content_type: &str, length: u64, id: &sv_model::BlobId) {
    e.str(content_type).u64(length).blob(id);
}

fn read_blob_fields(d: &mut Dec<'_>, name: BlobName) -> Result<NamedBlob, CodecError> {
    Ok(NamedBlob {
        name,
        content_type: d.str("content type")?,
        length: d.u64()?,
        blob_id: d.blob()?,
    })
}

/// A `names` value: the blob without its name (the name is the key's last component).
pub(crate) fn encode_blob_value(b: &NamedBlob) -> Vec<u8> {
    let mut e = Enc::new();
    blob_fields(&mut e, &b.content_type, b.length, &b.blob_id);
    e.finish()
}

pub(crate) fn decode_blob_value(buf: &[u8], name: BlobName) -> Result<NamedBlob, CodecError> {
    let mut d = Dec::new(buf, "named blob")?;
    let b = read_blob_fields(&mut d, name)?;
    d.finish(b)
}

/// A `feed` value: the change without its sequence number (the key's last component).
pub(crate) fn encode_change(c: &Change) -> Vec<u8> {
    Enc::new()
        .u8(match c.op {
            ChangeOp::Create => 0,
            ChangeOp::Update => 1,
            ChangeOp::Delete => 2,
        })
        .raw(c.thing_id.as_bytes())
        .raw(c.type_id.as_bytes())
        .raw(c.version.as_bytes())
        .time(c.at)
        .finish()
}

pub(crate) fn decode_change(buf: &[u8], seq: u64) -> Result<Change, CodecError> {
    let mut d = Dec::new(buf, "change")?;
    let op = match d.u8()? {
        0 => ChangeOp::Create,
        1 => ChangeOp::Update,
        2 => ChangeOp::Delete,
        _ => return Err(d.invalid("operation")),
    };
    let c = Change {
        seq,
        op,
        thing_id: ThingId::from_bytes(d.array()?),
        type_id: TypeId::from_bytes(d.array()?),
        version: VersionStamp::from_bytes(d.array()?),
        at: d.time()?,
    };
    d.finish(c)
}
