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
        let end_key = keys::prefix_end(&prefix);
        let mut page = Page::default();
        // A cursor outside this query's range (another type's) clamps to it: sled's `range`
        // must not get a start above its end.
        let start = match q.after.map(|c| keys::thing(rid, c.type_id, c.thing_id)) {
            Some(k) if end_key.as_ref().is_some_and(|e| &k >= e) => return Ok(page),
            Some(k) if k >= prefix => Bound::Excluded(k),
            _ => Bound::Included(prefix.clone()),
        };
        let end = match end_key {
            Some(e) => Bound::Excluded(e),
            None => Bound::Unbounded,
        };
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
