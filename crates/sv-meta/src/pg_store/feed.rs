//! The change feed on PostgreSQL, numbered from the record's `feed_seq` counter rather than a
//! sequence: the counter is bumped under the record's row lock, which the transaction holds
//! until it commits, so the next writer gets the next number only after this one is visible,
//! and a rolled-back change gives its number back (a sequence would leave a gap, or let a
//! reader see 2 before 1 and skip 1 for good).

use super::conn::{Db, Tx, owned};
use sv_model::{RecordId, Thing};

use super::{PgMetaStore, col, to_u64};
use crate::MetaError;
use crate::codec::{decode_change, encode_change};
use crate::feed::{Change, ChangeOp, ChangePage};

/// Appends the change that produced `thing`'s current version, with the next statement sent
/// (the row count is not read: the caller holds the record's lock, so its row is there).
pub(super) fn append_change(tx: &mut Tx<'_>, rid: RecordId, op: ChangeOp, thing: &Thing) {
    let change = Change {
        seq: 0, // not encoded: the number is the row's key
        op,
        thing_id: thing.id,
        type_id: thing.type_id,
        version: thing.version,
        at: thing.updated.timestamp,
    };
    tx.defer(
        "WITH next AS (
             UPDATE records SET feed_seq = feed_seq + 1 WHERE rid = $1 RETURNING feed_seq
         )
         INSERT INTO feed (rid, seq, value) SELECT $1, feed_seq, $2 FROM next",
        owned![rid.as_uuid(), encode_change(&change)],
    );
}

impl PgMetaStore {
    /// One statement, so the latest number and the page come from one snapshot.
    pub(crate) fn changes_impl(
        &self,
        rid: RecordId,
        since: u64,
        limit: usize,
    ) -> Result<ChangePage, MetaError> {
        let since = i64::try_from(since).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.read(|c| {
            c.query(
                "SELECT r.feed_seq, f.seq, f.value
                 FROM records r
                 LEFT JOIN LATERAL (
                     SELECT seq, value FROM feed
                     WHERE feed.rid = r.rid AND seq > $2 ORDER BY seq LIMIT $3
                 ) f ON true
                 WHERE r.rid = $1",
                &[&rid.as_uuid(), &since, &limit],
            )
            .map_err(super::db("read from"))
        })?;
        let mut page = ChangePage::default();
        for row in &rows {
            page.latest_seq = to_u64(col(row, 0)?, "records", "feed_seq")?;
            let seq: Option<i64> = col(row, 1)?;
            let value: Option<&[u8]> = col(row, 2)?;
            if let (Some(seq), Some(value)) = (seq, value) {
                let seq = to_u64(seq, "feed", "seq")?;
                page.changes
                    .push(decode_change(value, seq).map_err(MetaError::corrupt("feed"))?);
            }
        }
        Ok(page)
    }
}
