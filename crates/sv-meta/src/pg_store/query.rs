//! Thing queries on PostgreSQL: the filters and the key cursor in SQL, over the
//! `(rid, type_id, thing_id)` index, so a page reads what it returns and one row more.

use std::collections::HashMap;

use sv_model::{NamedBlob, RecordId, ThingId};

use super::things::decode;
use super::{PgMetaStore, blob_id, col, rows, to_u64};
use crate::MetaError;
use crate::query::{Page, StateFilter, ThingCursor, ThingQuery};

impl PgMetaStore {
    pub(crate) fn query_impl(&self, rid: RecordId, q: &ThingQuery) -> Result<Page, MetaError> {
        let mut page = Page::default();
        if q.limit == 0 {
            return Ok(page);
        }
        let state: Option<i16> = match q.states {
            StateFilter::Active => Some(0),
            StateFilter::Deleted => Some(1),
            StateFilter::Any => None,
        };
        let micros = |t: Option<sv_model::Timestamp>| t.map(|t| t.unix_micros());
        let (after_type, after_thing) = match q.after {
            Some(c) => (Some(c.type_id.as_uuid()), Some(c.thing_id.as_uuid())),
            None => (None, None),
        };
        // One more than asked: its presence says there is a next page.
        let limit = i64::try_from(q.limit).unwrap_or(i64::MAX - 1) + 1;
        self.read(|c| {
            let mut things = rows(
                c,
                "SELECT value FROM things
                 WHERE rid = $1
                   AND ($2::uuid IS NULL OR type_id = $2)
                   AND ($3::uuid IS NULL OR (type_id, thing_id) > ($3::uuid, $4::uuid))
                   AND ($5::smallint IS NULL OR state = $5)
                   AND ($6::bigint IS NULL OR eff_date >= $6)
                   AND ($7::bigint IS NULL OR eff_date <= $7)
                   AND ($8::bigint IS NULL OR updated >= $8)
                   AND ($9::bigint IS NULL OR updated <= $9)
                 ORDER BY type_id, thing_id
                 LIMIT $10",
                &[
                    &rid.as_uuid(),
                    &q.type_id.map(|t| t.as_uuid()),
                    &after_type,
                    &after_thing,
                    &state,
                    &micros(q.eff_date_min),
                    &micros(q.eff_date_max),
                    &micros(q.updated_min),
                    &micros(q.updated_max),
                    &limit,
                ],
                |row| Ok(decode(col(row, 0)?, "things")?.thing),
            )?;
            if things.len() > q.limit {
                things.truncate(q.limit);
                page.next = things.last().map(|t| ThingCursor {
                    type_id: t.type_id,
                    thing_id: t.id,
                });
            }
            if q.with_blobs && !things.is_empty() {
                let ids: Vec<_> = things.iter().map(|t| t.id.as_uuid()).collect();
                let mut by_thing: HashMap<ThingId, Vec<NamedBlob>> = HashMap::new();
                for (tid, blob) in rows(
                    c,
                    "SELECT thing_id, content_type, length, blob_id, name FROM named_blobs
                     WHERE rid = $1 AND thing_id = ANY($2) ORDER BY thing_id, name",
                    &[&rid.as_uuid(), &ids],
                    |row| {
                        let name = sv_model::BlobName::new(col::<&str>(row, 4)?)
                            .map_err(|_| super::corrupt("named_blobs", "named blob", "name"))?;
                        let blob = NamedBlob {
                            name,
                            content_type: col(row, 1)?,
                            length: to_u64(col(row, 2)?, "named_blobs", "length")?,
                            blob_id: blob_id(col(row, 3)?, "named_blobs")?,
                        };
                        Ok((ThingId::from_uuid(col(row, 0)?), blob))
                    },
                )? {
                    by_thing.entry(tid).or_default().push(blob);
                }
                for t in &mut things {
                    t.blobs = by_thing.remove(&t.id).unwrap_or_default();
                }
            }
            page.things = things;
            Ok(page)
        })
    }
}
