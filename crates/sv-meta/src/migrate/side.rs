//! The source's rows keyed by secret hash or share id rather than by record (tokens, shares,
//! share events, sign-in links), read once and grouped by the record they belong to, so each
//! record's transaction finds its own without scanning the trees again.

use std::collections::HashMap;

use sv_model::{RecordId, Share, Token, TokenId};

use super::copy::{bad_key, scan};
use crate::codec::{decode_event, decode_share, decode_signin, decode_token};
use crate::sled_store::T;
use crate::{MetaError, SledMetaStore};

/// A row keyed by a secret hash, with its stored value.
#[derive(Debug)]
pub(super) struct Hashed<V> {
    pub(super) hash: [u8; 32],
    pub(super) value: Vec<u8>,
    pub(super) decoded: V,
}

/// A share event: its time (a column in PostgreSQL) and its stored value.
#[derive(Debug)]
pub(super) struct Event {
    pub(super) at: i64,
    pub(super) value: Vec<u8>,
}

#[derive(Debug, Default)]
pub(super) struct Side {
    pub(super) tokens: HashMap<RecordId, Vec<Hashed<Token>>>,
    pub(super) shares: HashMap<RecordId, Vec<Hashed<Share>>>,
    /// Each share's log in sled's key order (time, then the random tail), which is the order
    /// the rows are inserted in, so PostgreSQL's `(at, n)` order keeps ties as sled had them.
    pub(super) events: HashMap<TokenId, Vec<Event>>,
    pub(super) signin_links: HashMap<RecordId, Vec<Hashed<RecordId>>>,
    pub(super) orphan_events: usize,
}

fn hash_key(t: T, k: &[u8]) -> Result<[u8; 32], MetaError> {
    <[u8; 32]>::try_from(k).map_err(|_| bad_key(t))
}

impl Side {
    pub(super) fn gather(src: &SledMetaStore) -> Result<Side, MetaError> {
        let mut side = Side::default();
        scan(src, T::Tokens, &[], |k, v| {
            let token = decode_token(v).map_err(MetaError::corrupt("tokens"))?;
            let row = Hashed {
                hash: hash_key(T::Tokens, k)?,
                value: v.to_vec(),
                decoded: token,
            };
            side.tokens
                .entry(row.decoded.record_id)
                .or_default()
                .push(row);
            Ok(())
        })?;
        scan(src, T::Shares, &[], |k, v| {
            let share = decode_share(v).map_err(MetaError::corrupt("shares"))?;
            let row = Hashed {
                hash: hash_key(T::Shares, k)?,
                value: v.to_vec(),
                decoded: share,
            };
            side.shares
                .entry(row.decoded.record_id)
                .or_default()
                .push(row);
            Ok(())
        })?;
        scan(src, T::SigninLinks, &[], |k, v| {
            let link = decode_signin(v).map_err(MetaError::corrupt("signin_links"))?;
            let row = Hashed {
                hash: hash_key(T::SigninLinks, k)?,
                value: v.to_vec(),
                decoded: link.record_id,
            };
            side.signin_links.entry(row.decoded).or_default().push(row);
            Ok(())
        })?;
        let shares: std::collections::HashSet<TokenId> = side
            .shares
            .values()
            .flatten()
            .map(|s| s.decoded.id)
            .collect();
        scan(src, T::ShareEvents, &[], |k, v| {
            let id = k
                .get(..16)
                .and_then(|b| <[u8; 16]>::try_from(b).ok())
                .ok_or_else(|| bad_key(T::ShareEvents))?;
            let id = TokenId::from_bytes(id);
            if !shares.contains(&id) {
                side.orphan_events += 1;
                return Ok(());
            }
            let event = decode_event(v).map_err(MetaError::corrupt("share_events"))?;
            side.events.entry(id).or_default().push(Event {
                at: event.at.unix_micros(),
                value: v.to_vec(),
            });
            Ok(())
        })?;
        Ok(side)
    }
}
