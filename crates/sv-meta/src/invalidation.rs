//! What a store shared by several processes tells each of them about changes made by the
//! others, so that what they remember of secrets (tokens, share links) never outlives a
//! revocation made elsewhere.

use std::sync::Arc;

use sv_model::{RecordId, ThingId, TokenId};

/// A change after which a process may hold stale copies of secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalidation {
    /// Token `id` of `record` was revoked.
    Token { record: RecordId, id: TokenId },
    /// Share `id` of `record` changed: revoked, locked, counted.
    Share { record: RecordId, id: TokenId },
    /// Thing `thing` of `record` was deleted: the shares of a study end with it.
    Thing { record: RecordId, thing: ThingId },
    /// Anything may have changed: changes may have gone unheard (a lost connection).
    Everything,
}

/// Called with every change made by another process, on a thread of the store's.
pub type InvalidationSink = Arc<dyn Fn(Invalidation) + Send + Sync>;

impl Invalidation {
    /// The message text: a kind letter and the ids, space-separated.
    pub(crate) fn encode(&self) -> String {
        match self {
            Invalidation::Token { record, id } => format!("t {record} {id}"),
            Invalidation::Share { record, id } => format!("s {record} {id}"),
            Invalidation::Thing { record, thing } => format!("d {record} {thing}"),
            Invalidation::Everything => "*".to_owned(),
        }
    }

    /// Reads [`Invalidation::encode`]'s text; anything else is [`Invalidation::Everything`],
    /// the answer that is safe whatever the message meant (a newer node's message, say).
    pub(crate) fn decode(text: &str) -> Invalidation {
        let mut parts = text.split(' ');
        let (Some(kind), Some(record), Some(id), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Invalidation::Everything;
        };
        let Ok(record) = record.parse::<RecordId>() else {
            return Invalidation::Everything;
        };
        match kind {
            "t" => id.parse().map(|id| Invalidation::Token { record, id }),
            "s" => id.parse().map(|id| Invalidation::Share { record, id }),
            "d" => id
                .parse()
                .map(|thing| Invalidation::Thing { record, thing }),
            _ => return Invalidation::Everything,
        }
        .unwrap_or(Invalidation::Everything)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_back_and_anything_unknown_means_everything() {
        let record = RecordId::new_random();
        for change in [
            Invalidation::Token {
                record,
                id: TokenId::new_random(),
            },
            Invalidation::Share {
                record,
                id: TokenId::new_random(),
            },
            Invalidation::Thing {
                record,
                thing: ThingId::new_random(),
            },
            Invalidation::Everything,
        ] {
            assert_eq!(Invalidation::decode(&change.encode()), change);
        }
        for odd in ["", "t", "t x y", "q 1 2", &format!("t {record}"), "t a b c"] {
            assert_eq!(Invalidation::decode(odd), Invalidation::Everything, "{odd}");
        }
    }
}
