//! Thing queries on sled: one key range per record (or per record and type), paged by key.

use std::ops::Bound;

use sv_model::RecordId;

use super::{SledMetaStore, T};
use crate::codec::decode_thing;
use crate::query::{Page, ThingCursor, ThingQuery};
use crate::{MetaError, keys};

impl SledMetaStore {
    pub(crate) fn query_impl(&self, rid: RecordId, q: &ThingQuery) -> Result<Page, MetaError> {
        let prefix = match q.type_id {
            Some(ty) => keys::Key::new().record(rid).type_id(ty).bytes(),
            None => keys::record(rid),
        };
        let start = match q.after {
            Some(c) => Bound::Excluded(keys::thing(rid, c.type_id, c.thing_id)),
            None => Bound::Included(prefix.clone()),
        };
        let end = match keys::prefix_end(&prefix) {
            Some(e) => Bound::Excluded(e),
            None => Bound::Unbounded,
        };
        let mut page = Page::default();
        if q.limit == 0 {
            return Ok(page);
        }
        for kv in self.tree(T::Things).range::<Vec<u8>, _>((start, end)) {
            let (_, v) = kv.map_err(|e| MetaError::engine("read")(Box::new(e)))?;
            let thing = decode_thing(&v)
                .map_err(MetaError::corrupt("things"))?
                .thing;
            if !q.admits(&thing) {
                continue;
            }
            if page.things.len() == q.limit {
                // One more match exists: the page ends at its last thing.
                let last = page.things.last().expect("limit > 0");
                page.next = Some(ThingCursor {
                    type_id: last.type_id,
                    thing_id: last.id,
                });
                break;
            }
            page.things.push(thing);
        }
        if q.with_blobs {
            for t in &mut page.things {
                t.blobs = self.named_blobs_impl(rid, t.id)?;
            }
        }
        Ok(page)
    }
}
