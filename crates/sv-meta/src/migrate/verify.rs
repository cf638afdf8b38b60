//! The comparison of a source and its copy: every read of the trait, on both sides, for every
//! record, thing, version, study, instance, token and share, and the rows no read returns
//! whole (sessions by their hashes, sign-in links, which can only be taken) compared as
//! stored. A difference is a [`Mismatch`] naming ids and the read, never a value (values may
//! be patient data).

use std::collections::BTreeMap;

use sv_model::{RecordId, SecretHash, ThingId, TypeId};

use super::copy::scan;
use crate::pg_store::{col, fixed, rows};
use crate::sled_store::T;
use crate::{MetaError, MetaStore, PgMetaStore, SledMetaStore, StateFilter, ThingQuery};

/// Things read per page when listing a record's things.
const PAGE: usize = 256;

/// One difference between the source and the destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub record: Option<RecordId>,
    pub thing: Option<ThingId>,
    /// The read that answered differently (`versions`, `share_events`, …).
    pub what: &'static str,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(r) = self.record {
            write!(f, "record {r}: ")?;
        }
        if let Some(t) = self.thing {
            write!(f, "thing {t}: ")?;
        }
        write!(f, "{} differs", self.what)
    }
}

/// What the comparison looked at, and every difference it found.
#[derive(Debug, Clone, Default)]
pub struct VerifyReport {
    pub records: u64,
    pub things: u64,
    pub versions: u64,
    pub changes: u64,
    pub studies: u64,
    pub instances: u64,
    pub tokens: u64,
    pub shares: u64,
    pub share_events: u64,
    pub sessions: u64,
    pub signin_links: u64,
    pub mails: u64,
    /// Distinct blobs the names refer to.
    pub blobs_referenced: u64,
    pub mismatches: Vec<Mismatch>,
}

impl VerifyReport {
    pub fn is_clean(&self) -> bool {
        self.mismatches.is_empty()
    }
}

/// A read's answer with "not found" as an answer (`None`), so that a thing missing on one side
/// is a difference, not an error.
fn answer<V>(r: Result<V, MetaError>) -> Result<Option<V>, MetaError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

struct Compare<'a> {
    src: &'a dyn MetaStore,
    dst: &'a dyn MetaStore,
    report: &'a mut VerifyReport,
    record: Option<RecordId>,
}

impl Compare<'_> {
    /// Runs `read` on both sides; records a mismatch when the answers differ. Returns the
    /// source's answer.
    fn same<V: PartialEq>(
        &mut self,
        thing: Option<ThingId>,
        what: &'static str,
        read: impl Fn(&dyn MetaStore) -> Result<V, MetaError>,
    ) -> Result<Option<V>, MetaError> {
        let a = answer(read(self.src))?;
        let b = answer(read(self.dst))?;
        if a != b {
            self.report.mismatches.push(Mismatch {
                record: self.record,
                thing,
                what,
            });
        }
        Ok(a)
    }
}

/// Compares `src` and `dst` in full (see the module notes). Differences are in the report;
/// an error means a store could not be read.
pub fn verify_copy(src: &SledMetaStore, dst: &PgMetaStore) -> Result<VerifyReport, MetaError> {
    let mut report = VerifyReport::default();
    let mut c = Compare {
        src,
        dst,
        report: &mut report,
        record: None,
    };
    let sort = |mut v: Vec<sv_model::Record>| {
        v.sort_by_key(|r| r.id);
        v
    };
    let records = c.same(None, "records", |s| s.records().map(sort))?;
    let referenced = c.same(None, "referenced_blobs", |s| s.referenced_blobs())?;
    c.report.blobs_referenced = referenced.map_or(0, |r| r.len() as u64);
    let outbox = c.same(None, "outbox", |s| s.outbox())?;
    c.report.mails = outbox.map_or(0, |m| m.len() as u64);
    compare_sessions(src, dst, &mut c)?;
    compare_signin_links(src, dst, c.report)?;
    for record in records.unwrap_or_default() {
        verify_record(src, dst, record.id, &mut report)?;
    }
    Ok(report)
}

/// Compares one record and all it holds, adding to `report`.
pub(super) fn verify_record(
    src: &SledMetaStore,
    dst: &PgMetaStore,
    rid: RecordId,
    report: &mut VerifyReport,
) -> Result<(), MetaError> {
    report.records += 1;
    let mut c = Compare {
        src,
        dst,
        report,
        record: Some(rid),
    };
    c.same(None, "record", |s| s.record(rid))?;
    let feed = c.same(None, "changes", |s| s.changes(rid, 0, usize::MAX))?;
    c.report.changes += feed.map_or(0, |p| p.changes.len() as u64);
    for thing in things(&mut c, rid)? {
        let tid = thing.id;
        c.report.things += 1;
        c.same(Some(tid), "thing", |s| s.thing(rid, tid))?;
        c.same(Some(tid), "thing_header", |s| s.thing_header(rid, tid))?;
        let versions = c.same(Some(tid), "versions", |s| s.versions(rid, tid))?;
        for v in versions.unwrap_or_default() {
            c.report.versions += 1;
            c.same(Some(tid), "thing_at", |s| s.thing_at(rid, tid, v.version))?;
        }
        if thing.type_id == TypeId::MEDICAL_IMAGE_STUDY {
            c.same(Some(tid), "study_instances", |s| {
                s.study_instances(rid, tid)
            })?;
            c.same(Some(tid), "study_digest", |s| s.study_digest(rid, tid))?;
        }
    }
    let studies = c.same(None, "studies", |s| s.studies(rid))?;
    for (uid, _) in studies.unwrap_or_default() {
        c.report.studies += 1;
        c.same(None, "study_thing", |s| s.study_thing(rid, &uid))?;
    }
    c.same(None, "study_digests", |s| s.study_digests(rid))?;
    let index = c.same(None, "instance_index", |s| s.instance_index(rid))?;
    for entry in index.unwrap_or_default() {
        c.report.instances += 1;
        let sop = entry.sop_instance_uid;
        c.same(Some(entry.thing_id), "instance", |s| s.instance(rid, &sop))?;
    }
    let tokens = c.same(None, "tokens", |s| s.tokens(rid))?;
    for t in tokens.unwrap_or_default() {
        c.report.tokens += 1;
        c.same(None, "token_by_hash", |s| s.token_by_hash(&t.secret_hash))?;
    }
    let shares = c.same(None, "shares", |s| s.shares(rid))?;
    for share in shares.unwrap_or_default() {
        c.report.shares += 1;
        c.same(None, "share", |s| s.share(rid, share.id))?;
        c.same(None, "share_by_hash", |s| {
            s.share_by_hash(&share.secret_hash)
        })?;
        let log = c.same(None, "share_events", |s| s.share_events(rid, share.id))?;
        c.report.share_events += log.map_or(0, |l| l.len() as u64);
    }
    Ok(())
}

/// Every thing of the record, deleted ones too, with their named blobs, listed page by page
/// on both sides (the pages must agree); the source's list.
fn things(c: &mut Compare<'_>, rid: RecordId) -> Result<Vec<sv_model::Thing>, MetaError> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let q = ThingQuery {
            states: StateFilter::Any,
            after,
            limit: PAGE,
            with_blobs: true,
            ..ThingQuery::default()
        };
        let Some(page) = c.same(None, "query", |s| s.query(rid, &q))? else {
            return Ok(all);
        };
        all.extend(page.things);
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(all),
        }
    }
}

/// Sessions have no listing read: each of the source's is read by its hash on both sides, and
/// the destination must hold no others.
fn compare_sessions(
    src: &SledMetaStore,
    dst: &PgMetaStore,
    c: &mut Compare<'_>,
) -> Result<(), MetaError> {
    let mut hashes = Vec::new();
    scan(src, T::Sessions, &[], |k, _| {
        hashes.push(<[u8; 32]>::try_from(k).map_err(|_| super::copy::bad_key(T::Sessions))?);
        Ok(())
    })?;
    for h in &hashes {
        c.report.sessions += 1;
        c.same(None, "session", |s| s.session(&SecretHash(*h)))?;
    }
    let count = dst.read(|client| {
        let n = crate::pg_store::one(client, "SELECT count(*) FROM sessions", &[], |row| {
            col::<i64>(row, 0)
        })?;
        Ok(n.unwrap_or(0))
    })?;
    if u64::try_from(count).ok() != Some(hashes.len() as u64) {
        c.report.mismatches.push(Mismatch {
            record: None,
            thing: None,
            what: "sessions",
        });
    }
    Ok(())
}

/// Sign-in links can only be taken (which removes them): compared as stored, hash and bytes.
fn compare_signin_links(
    src: &SledMetaStore,
    dst: &PgMetaStore,
    report: &mut VerifyReport,
) -> Result<(), MetaError> {
    let mut a = BTreeMap::new();
    scan(src, T::SigninLinks, &[], |k, v| {
        a.insert(k.to_vec(), v.to_vec());
        Ok(())
    })?;
    let b: BTreeMap<Vec<u8>, Vec<u8>> = dst
        .read(|client| {
            rows(
                client,
                "SELECT secret_hash, value FROM signin_links",
                &[],
                |row| {
                    let hash: [u8; 32] = fixed(col(row, 0)?, "signin_links")?;
                    Ok((hash.to_vec(), col::<Vec<u8>>(row, 1)?))
                },
            )
        })?
        .into_iter()
        .collect();
    report.signin_links = a.len() as u64;
    if a != b {
        report.mismatches.push(Mismatch {
            record: None,
            thing: None,
            what: "signin_links",
        });
    }
    Ok(())
}
