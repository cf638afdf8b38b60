//! Moving up: a faithful copy of a stopped sled store into a PostgreSQL database
//! ([`copy_to_postgres`]), and the comparison that proves the two hold the same
//! ([`verify_copy`]).
//!
//! The copy reads sled's trees as they are and writes PostgreSQL's rows from them, with the
//! value bytes unchanged (both engines keep the same versioned codec bytes): ids, version
//! stamps and numbers, feed numbers, timestamps and access logs come over exactly. Nothing
//! goes through the trait's mutating calls, which would number, stamp and date anew. What
//! PostgreSQL derives follows from the rows (a blob's reference count is its `named_blobs`
//! rows); what sled derives (`refcounts`, `thing_types`, `record_tokens`, `record_shares`)
//! is not copied but compared, through the trait reads that use it.
//!
//! Decisions:
//! - **Whole records.** One PostgreSQL transaction carries everything of one record: the
//!   record with its feed counter, its things and every version, names, feed, study index,
//!   instances, digests, tokens, shares with their logs, sign-in links. An interruption (a
//!   crash, a lost connection, the caller stopping) leaves whole records only. Sessions and
//!   the outbox, which hang off no record row, follow in one transaction each.
//! - **Resuming.** A run again skips a record already at the destination once it compares
//!   equal in full, and refuses one that differs ([`MigrateError::RecordDiffers`]): the
//!   destination was written to since. Sessions and mails already there must hold the same
//!   bytes. A destination holding a record the source does not have is refused before
//!   anything is written ([`MigrateError::ForeignRecords`]): a copy never merges stores.
//! - **Stopped stores.** The source is opened by the caller, so sled's lock keeps a server and
//!   the copy apart; nothing may serve the destination until the copy is done and verified.
//! - **Leftovers.** A share event whose share no longer exists is unreachable in sled (reads
//!   go through the share) and has no share to hang off in PostgreSQL: it is counted, not
//!   copied.

mod copy;
mod side;
#[cfg(test)]
mod tests;
mod verify;

use std::collections::BTreeSet;
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use sv_model::RecordId;

use crate::pg_store::{col, rows};
use crate::sled_store::T;
use crate::{MetaError, PgMetaStore, SledMetaStore};

pub use copy::RowCounts;
pub use verify::{Mismatch, VerifyReport, verify_copy};

/// Why a copy stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MigrateError {
    #[error(transparent)]
    Meta(#[from] MetaError),
    /// The destination holds records the source does not: it is another store's.
    #[error("the destination holds {count} records the source does not have (first: {first})")]
    ForeignRecords { count: usize, first: RecordId },
    /// A record is at the destination already, with other contents.
    #[error("record {record} is at the destination already and differs: {mismatch}")]
    RecordDiffers {
        record: RecordId,
        mismatch: Mismatch,
    },
    /// A row that belongs to no record (a session, a queued mail) is at the destination
    /// already with another value.
    #[error("a row of {table} is at the destination already with another value")]
    RowDiffers { table: &'static str },
    /// The caller's progress callback asked to stop; `records_done` are copied whole.
    #[error("stopped after {records_done} records, at the caller's request")]
    Stopped { records_done: usize },
}

/// What happened to one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordOutcome {
    Copied,
    /// At the destination already, and equal in full: skipped.
    AlreadyThere,
}

/// Told after each record.
#[derive(Debug, Clone, Copy)]
pub struct CopyProgress {
    /// Records done so far, this one included, of `total`.
    pub done: usize,
    pub total: usize,
    pub record: RecordId,
    pub outcome: RecordOutcome,
    /// Rows written for this record (zero when it was there already).
    pub rows: RowCounts,
}

/// What a copy did.
#[derive(Debug, Clone, Default)]
pub struct CopyReport {
    pub records_copied: usize,
    pub records_already_there: usize,
    /// Rows written, summed over the records copied.
    pub rows: RowCounts,
    pub sessions_copied: usize,
    pub sessions_already_there: usize,
    pub mails_copied: usize,
    pub mails_already_there: usize,
    /// Share events whose share no longer exists (see the module notes): not copied.
    pub orphan_share_events: usize,
    pub elapsed: Duration,
}

/// Copies every record of `src` (with all it holds), the sessions and the outbox into `dst`,
/// value bytes unchanged, one transaction per record (see the module notes). `progress` is
/// called after each record; [`ControlFlow::Break`] stops the copy there
/// ([`MigrateError::Stopped`]), leaving whole records, and a later call goes on from there.
pub fn copy_to_postgres(
    src: &SledMetaStore,
    dst: &PgMetaStore,
    progress: &mut dyn FnMut(&CopyProgress) -> ControlFlow<()>,
) -> Result<CopyReport, MigrateError> {
    copy_with(src, dst, progress, None)
}

/// [`copy_to_postgres`], with the transaction of record number `fail_in_record` (from 0)
/// failing half-way, as a crash would leave it (for the tests).
fn copy_with(
    src: &SledMetaStore,
    dst: &PgMetaStore,
    progress: &mut dyn FnMut(&CopyProgress) -> ControlFlow<()>,
    fail_in_record: Option<usize>,
) -> Result<CopyReport, MigrateError> {
    let started = Instant::now();
    let records = source_records(src)?;
    let there = destination_records(dst)?;
    let ours: BTreeSet<RecordId> = records.iter().map(|(rid, _)| *rid).collect();
    let foreign: Vec<RecordId> = there.difference(&ours).copied().collect();
    if let Some(first) = foreign.first() {
        return Err(MigrateError::ForeignRecords {
            count: foreign.len(),
            first: *first,
        });
    }
    let side = side::Side::gather(src)?;
    let mut report = CopyReport {
        orphan_share_events: side.orphan_events,
        ..CopyReport::default()
    };
    let total = records.len();
    for (i, (rid, value)) in records.iter().enumerate() {
        let (outcome, rows) = if there.contains(rid) {
            let mut check = VerifyReport::default();
            verify::verify_record(src, dst, *rid, &mut check)?;
            if let Some(mismatch) = check.mismatches.into_iter().next() {
                return Err(MigrateError::RecordDiffers {
                    record: *rid,
                    mismatch,
                });
            }
            report.records_already_there += 1;
            (RecordOutcome::AlreadyThere, RowCounts::default())
        } else {
            let fail = fail_in_record == Some(i);
            let rows = dst.write(|tx| copy::copy_record(tx, src, *rid, value, &side, fail))?;
            report.records_copied += 1;
            report.rows.add(&rows);
            (RecordOutcome::Copied, rows)
        };
        let step = CopyProgress {
            done: i + 1,
            total,
            record: *rid,
            outcome,
            rows,
        };
        if progress(&step).is_break() {
            return Err(MigrateError::Stopped {
                records_done: i + 1,
            });
        }
    }
    let sessions = copy::copy_unowned(dst, src, T::Sessions)?;
    (report.sessions_copied, report.sessions_already_there) = sessions;
    let mails = copy::copy_unowned(dst, src, T::Outbox)?;
    (report.mails_copied, report.mails_already_there) = mails;
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Every record of the source with its stored value, by id.
fn source_records(src: &SledMetaStore) -> Result<Vec<(RecordId, Vec<u8>)>, MetaError> {
    let mut out = Vec::new();
    for kv in src.tree(T::Records).iter() {
        let (k, v) = kv.map_err(|e| MetaError::engine("read")(Box::new(e)))?;
        let id = <[u8; 16]>::try_from(&k[..]).map_err(|_| copy::bad_key(T::Records))?;
        out.push((RecordId::from_bytes(id), v.to_vec()));
    }
    Ok(out)
}

fn destination_records(dst: &PgMetaStore) -> Result<BTreeSet<RecordId>, MetaError> {
    let ids = dst.read(|c| {
        rows(c, "SELECT rid FROM records", &[], |row| {
            Ok(RecordId::from_uuid(col(row, 0)?))
        })
    })?;
    Ok(ids.into_iter().collect())
}
