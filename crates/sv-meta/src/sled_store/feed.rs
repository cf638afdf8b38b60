//! The change feed on sled: `feed_heads` holds each record's last sequence number, so the
//! next one is a point read inside the transaction (sled transactions cannot scan).

use sv_model::{RecordId, Thing};

use super::{SledMetaStore, T, Tx, TxResult, tx_decode};
use crate::codec::{decode_change, decode_u64, encode_change, encode_u64};
use crate::feed::{Change, ChangeOp, ChangePage};
use crate::{MetaError, keys};

impl Tx<'_> {
    /// Appends the change that produced `thing`'s current version; returns its sequence number.
    pub(crate) fn append_change(
        &self,
        rid: RecordId,
        op: ChangeOp,
        thing: &Thing,
    ) -> TxResult<u64> {
        let head = keys::record(rid);
        let last = match self.get(T::FeedHeads, &head)? {
            Some(v) => tx_decode(T::FeedHeads, decode_u64(&v, "feed head"))?,
            None => 0,
        };
        let seq = last + 1;
        let change = Change {
            seq,
            op,
            thing_id: thing.id,
            type_id: thing.type_id,
            version: thing.version,
            at: thing.updated.timestamp,
        };
        self.put(T::Feed, keys::change(rid, seq), encode_change(&change))?;
        self.put(T::FeedHeads, head, encode_u64(seq))?;
        Ok(seq)
    }
}

impl SledMetaStore {
    pub(crate) fn changes_impl(
        &self,
        rid: RecordId,
        since: u64,
        limit: usize,
    ) -> Result<ChangePage, MetaError> {
        let latest_seq = match self.get(T::FeedHeads, &keys::record(rid))? {
            Some(v) => decode_u64(&v, "feed head").map_err(MetaError::corrupt("feed_heads"))?,
            None => 0,
        };
        let start = keys::change(rid, since.saturating_add(1));
        let end = keys::change(rid, u64::MAX);
        let mut changes = Vec::new();
        if since < u64::MAX {
            for kv in self.tree(T::Feed).range(start..=end).take(limit) {
                let (k, v) = kv.map_err(|e| MetaError::engine("read")(Box::new(e)))?;
                let seq = keys::u64_at(&k, 16).unwrap_or(0);
                changes.push(decode_change(&v, seq).map_err(MetaError::corrupt("feed"))?);
            }
        }
        Ok(ChangePage {
            changes,
            latest_seq,
        })
    }
}
