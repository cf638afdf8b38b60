//! Garbage collection across nodes: the collector's marks (table `gc_marks`).
//!
//! A node's collector deletes blobs no name refers to; a writer on any node stores a blob (or
//! finds it already stored: content addressing) and then commits a name for it. Between those
//! two steps the blob is unreferenced, and the collector of another node cannot see that
//! node's in-memory pins. The marks order the two across nodes:
//!
//! 1. The collector marks its candidates in one transaction that holds the advisory lock
//!    [`GC_LOCK`] exclusively and checks, after taking it, that no name refers to them.
//! 2. Every commit that names a blob calls `sv_refuse_collected` (migration 2), which takes
//!    the same lock shared, then fails the commit (`SVG01`, [`MetaError::BlobCollected`]) if
//!    the blob is marked. So a commit either ends before the marking looks (the blob is
//!    referenced and not marked) or runs after it and is refused.
//! 3. The collector deletes each marked blob while it holds the mark's row lock, and only if
//!    the mark still stands (several collectors may have marked the same blob, and a writer
//!    may have cleared it since), then records the deletion in the same transaction.
//! 4. A refused writer waits for that, stores its blob again if it is gone, clears the mark
//!    and commits again. It clears only the mark it saw deleted, by its generation: another
//!    collector may have marked and deleted the blob again after the writer stored it, and
//!    that mark must stay to refuse the commit.
//!    The mark of a deleted blob stays until a writer clears it, or until it is old enough
//!    that no writer can still hold a put from before the deletion
//!    ([`PgMetaStore::forget_collections_impl`]).

use std::cell::RefCell;

use sv_model::{BlobId, Timestamp};

use super::conn::{Db, Tx, owned};
use super::{PgMetaStore, blob_id, col, db, exec, one, rows, to_i64, to_u64};
use crate::{Collection, CollectionMark, MetaError};

/// The advisory lock that orders marking with commits ("svgcol" in ASCII); migration 2's
/// `sv_refuse_collected` takes it with this number.
const GC_LOCK: i64 = 0x7376_6763_6f6c;

/// The SQLSTATE `sv_refuse_collected` raises.
const REFUSED: &str = "SVG01";

/// Refuses the commit if `id` is marked (sent with the commit; see the module's notes).
pub(super) fn refuse_collected(tx: &mut Tx<'_>, id: &BlobId) {
    tx.defer(
        "SELECT sv_refuse_collected($1)",
        owned![id.as_bytes().to_vec()],
    );
}

/// True if `e` is a commit refused by `sv_refuse_collected`.
pub(super) fn is_refused(e: &MetaError) -> bool {
    let MetaError::Engine { source, .. } = e else {
        return false;
    };
    source
        .downcast_ref::<tokio_postgres::Error>()
        .and_then(tokio_postgres::Error::code)
        .is_some_and(|c| c.code() == REFUSED)
}

fn bytes(ids: &[BlobId]) -> Vec<Vec<u8>> {
    ids.iter().map(|id| id.as_bytes().to_vec()).collect()
}

fn ids_of(rows: &[tokio_postgres::Row]) -> Result<Vec<BlobId>, MetaError> {
    rows.iter()
        .map(|row| blob_id(col(row, 0)?, "gc_marks"))
        .collect()
}

impl PgMetaStore {
    pub(crate) fn mark_for_collection_impl(
        &self,
        candidates: &[BlobId],
    ) -> Result<Vec<BlobId>, MetaError> {
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let (ids, now) = (bytes(candidates), Timestamp::now().unix_micros());
        self.write(|tx| {
            exec(tx, "SELECT pg_advisory_xact_lock($1)", &[&GC_LOCK])?;
            // A statement of its own, after the lock: it sees every name committed before.
            let rows = tx
                .query(
                    "INSERT INTO gc_marks (blob_id, deleted, at)
                     SELECT id, false, $2 FROM unnest($1::bytea[]) AS c(id)
                     WHERE NOT EXISTS (SELECT 1 FROM named_blobs n WHERE n.blob_id = c.id)
                     ON CONFLICT (blob_id) DO UPDATE
                     SET deleted = false, at = EXCLUDED.at, gen = nextval('gc_mark_gen')
                     RETURNING blob_id",
                    &[&ids, &now],
                )
                .map_err(db("mark blobs in"))?;
            ids_of(&rows)
        })
    }

    pub(crate) fn collect_marked_impl(
        &self,
        id: &BlobId,
        delete: &mut dyn FnMut() -> Collection,
    ) -> Result<Option<Collection>, MetaError> {
        let key = id.as_bytes().to_vec();
        let delete = RefCell::new(delete);
        self.write(|tx| {
            // The row lock holds the mark while the blob goes: a writer clearing it waits, and
            // another collector finds it deleted.
            let stands = one(
                tx,
                "SELECT deleted FROM gc_marks WHERE blob_id = $1 FOR UPDATE",
                &[&key],
                |row| col::<bool>(row, 0),
            )?;
            if stands != Some(false) {
                return Ok(None);
            }
            let done = (delete.borrow_mut())();
            match done {
                Collection::Deleted(_) | Collection::Gone => exec(
                    tx,
                    "UPDATE gc_marks SET deleted = true, at = $2, gen = nextval('gc_mark_gen')
                     WHERE blob_id = $1",
                    &[&key, &Timestamp::now().unix_micros()],
                )?,
                Collection::Kept => exec(tx, "DELETE FROM gc_marks WHERE blob_id = $1", &[&key])?,
            };
            Ok(Some(done))
        })
    }

    pub(crate) fn collection_marks_impl(
        &self,
        ids: &[BlobId],
    ) -> Result<Vec<CollectionMark>, MetaError> {
        let ids = bytes(ids);
        self.read(|c| {
            rows(
                c,
                "SELECT blob_id, deleted, gen FROM gc_marks WHERE blob_id = ANY($1)
                 ORDER BY blob_id",
                &[&ids],
                |row| {
                    Ok(CollectionMark {
                        blob_id: blob_id(col(row, 0)?, "gc_marks")?,
                        deleted: col(row, 1)?,
                        generation: to_u64(col(row, 2)?, "gc_marks", "gen")?,
                    })
                },
            )
        })
    }

    pub(crate) fn unmark_collected_impl(&self, marks: &[CollectionMark]) -> Result<(), MetaError> {
        let seen: Vec<&CollectionMark> = marks.iter().filter(|m| m.deleted).collect();
        if seen.is_empty() {
            return Ok(());
        }
        let ids: Vec<Vec<u8>> = seen.iter().map(|m| m.blob_id.as_bytes().to_vec()).collect();
        let gens = seen
            .iter()
            .map(|m| to_i64(m.generation, "collection mark"))
            .collect::<Result<Vec<i64>, _>>()?;
        self.write(|tx| {
            exec(
                tx,
                "DELETE FROM gc_marks m USING unnest($1::bytea[], $2::bigint[]) AS s(id, gen)
                 WHERE m.blob_id = s.id AND m.gen = s.gen AND m.deleted",
                &[&ids, &gens],
            )
        })
        .map(drop)
    }

    pub(crate) fn unfinished_collections_impl(
        &self,
        before: Timestamp,
    ) -> Result<Vec<BlobId>, MetaError> {
        self.read(|c| {
            let rows = c
                .query(
                    "SELECT blob_id FROM gc_marks WHERE NOT deleted AND at < $1 ORDER BY blob_id",
                    &[&before.unix_micros()],
                )
                .map_err(db("read from"))?;
            ids_of(&rows)
        })
    }

    pub(crate) fn forget_collections_impl(&self, before: Timestamp) -> Result<u64, MetaError> {
        self.write(|tx| {
            exec(
                tx,
                "DELETE FROM gc_marks WHERE deleted AND at < $1",
                &[&before.unix_micros()],
            )
        })
    }
}
