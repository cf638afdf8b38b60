//! The segment log: blobs up to the small bound appended as records to `segments/<seq>.seg`,
//! located by an in-memory index and made durable by group commit.
//!
//! One mutex guards the index, the per-segment accounting and the end of the active segment;
//! a record is written (pwrite, a page-cache copy of at most the small bound) under it, so the
//! order of records in the log is the order in which the index changed. Replaying the log in
//! that order at open rebuilds the same index, which the tombstone rule relies on.
//!
//! Group commit: a writer notes where its record ends and calls [`SegmentLog::wait_durable`].
//! If no fdatasync is in flight it becomes the leader: it syncs the active segment, outside the
//! mutex, which covers every record appended before the sync started. Writers arriving
//! meanwhile wait for that sync; those it did not cover elect the next leader among
//! themselves. So each file sees at most one fdatasync in flight, and a group of writers pays
//! for one.

mod open;
pub(crate) mod record;
pub(crate) mod scan;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use super::counts::Counters;
use super::durable::sync_dir;
use super::fs::{FileRef, Fs, Open, Site, write_all_at};
use super::trace::{self, Step};
use crate::{BlobError, BlobId};
use record::{HEADER_LEN, Header};

/// Where a record lives: segment, offset of its header, payload length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Loc {
    pub(crate) seq: u64,
    pub(crate) offset: u64,
    pub(crate) len: u64,
}

impl Loc {
    pub(crate) fn payload_offset(&self) -> u64 {
        self.offset + HEADER_LEN
    }

    fn end(&self) -> u64 {
        self.payload_offset() + self.len
    }

    pub(crate) fn record_len(&self) -> u64 {
        HEADER_LEN + self.len
    }

    /// Where a sync must reach for this record to be durable.
    pub(crate) fn sync_point(&self) -> crate::SyncPoint {
        crate::SyncPoint {
            seq: self.seq,
            end: self.end(),
        }
    }
}

/// A located record with the open file that holds it: a reader keeps the file (and so its
/// bytes) even if compaction unlinks it meanwhile.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub(crate) file: FileRef,
    pub(crate) path: PathBuf,
    pub(crate) loc: Loc,
}

/// One segment file and what the index knows of it.
#[derive(Debug)]
pub(crate) struct Segment {
    pub(crate) path: PathBuf,
    pub(crate) file: FileRef,
    /// Bytes of records in the file.
    pub(crate) len: u64,
    /// Bytes of the blob records the index points at.
    pub(crate) live: u64,
    /// Ids of blob records here that are no longer live (deleted or superseded). While this
    /// segment exists, a tombstone of one of them in a later segment must be kept.
    pub(crate) dead_ids: HashSet<BlobId>,
    /// A header failed its check when the segment was scanned at open: what follows it is
    /// unknown, so it is never compacted and every later tombstone is kept.
    pub(crate) damaged: bool,
}

/// What [`SegmentLog::append_blob`] is asked to do when the index already knows the id.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Mode {
    /// A new put: append unless the id is indexed.
    New,
    /// The copy at this place failed verification: append a fresh one unless the index has
    /// moved on to another copy meanwhile.
    Heal(Loc),
    /// Compaction: append a copy only while the index still points at this place.
    Move(Loc),
}

/// What [`SegmentLog::append_blob`] did.
#[derive(Debug)]
pub(crate) enum Appended {
    /// A record was appended here; the index points at it.
    New(Found),
    /// Nothing was written: the index points at this copy.
    Found(Found),
    /// Nothing was written: the copy to move is no longer the indexed one.
    Skipped,
}

#[derive(Debug)]
struct State {
    index: HashMap<BlobId, Loc>,
    segments: BTreeMap<u64, Segment>,
    /// Sequence number of the active segment, the newest; every older one is sealed (synced).
    active: u64,
    /// Where the next record of the active segment goes.
    end: u64,
    /// Bytes of the active segment known durable.
    synced: u64,
    /// A leader's fdatasync is in flight.
    syncing: bool,
    /// An fdatasync failed: the page cache may have dropped the dirty pages, so nothing
    /// appended before can be trusted durable again until the store is reopened (and the
    /// newest segment verified).
    failed: bool,
}

/// The segment log of one store root.
#[derive(Debug)]
pub(crate) struct SegmentLog {
    fs: Arc<dyn Fs>,
    dir: PathBuf,
    max_len: u64,
    counts: Arc<Counters>,
    state: Mutex<State>,
    sync_done: Condvar,
}

/// The path of segment `seq` in `dir`.
pub(crate) fn segment_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:016x}.seg"))
}

impl SegmentLog {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update under the lock is completed or undone before anything can panic.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The indexed record of `id`, if any.
    pub(crate) fn lookup(&self, id: &BlobId) -> Option<Found> {
        let st = self.lock();
        let loc = *st.index.get(id)?;
        Some(found(&st, loc))
    }

    /// Every indexed id.
    pub(crate) fn ids(&self) -> Vec<BlobId> {
        self.lock().index.keys().copied().collect()
    }

    /// Appends a blob record for `bytes` (which hash to `id`) as `mode` allows, and points the
    /// index at it. The record is not yet durable: call [`SegmentLog::wait_durable`].
    pub(crate) fn append_blob(
        &self,
        id: &BlobId,
        bytes: &[u8],
        mode: Mode,
    ) -> Result<Appended, BlobError> {
        let mut st = self.lock();
        let current = st.index.get(id).copied();
        let replaces = match (mode, current) {
            (Mode::New, Some(loc)) => return Ok(Appended::Found(found(&st, loc))),
            (Mode::New, None) => None,
            (Mode::Heal(old), Some(loc)) if loc != old => {
                return Ok(Appended::Found(found(&st, loc)));
            }
            (Mode::Heal(_), current) => current,
            (Mode::Move(old), Some(loc)) if loc == old => Some(loc),
            (Mode::Move(_), _) => return Ok(Appended::Skipped),
        };
        let loc = self.append_locked(&mut st, Header::blob(*id, bytes.len() as u64), bytes)?;
        if let Some(old) = replaces {
            mark_dead(&mut st, id, old);
        }
        st.index.insert(*id, loc);
        st.segments
            .get_mut(&loc.seq)
            .expect("the active segment is known")
            .live += loc.record_len();
        Ok(Appended::New(found(&st, loc)))
    }

    /// Deletes `id` from the index and appends its tombstone; `None` when it was not indexed.
    /// The tombstone is not yet durable: call [`SegmentLog::wait_durable`].
    pub(crate) fn delete(&self, id: &BlobId) -> Result<Option<Loc>, BlobError> {
        let mut st = self.lock();
        let Some(old) = st.index.get(id).copied() else {
            return Ok(None);
        };
        let tombstone = self.append_locked(&mut st, Header::tombstone(*id), &[])?;
        st.index.remove(id);
        mark_dead(&mut st, id, old);
        Ok(Some(tombstone))
    }

    /// Compaction of segment `from`: appends again its tombstone of `id` if it is still
    /// needed, that is when `id` is not live and a segment older than `from` may still hold a
    /// record of it (which replay would otherwise bring back).
    pub(crate) fn carry_tombstone(&self, id: &BlobId, from: u64) -> Result<Option<Loc>, BlobError> {
        let mut st = self.lock();
        if st.index.contains_key(id) {
            return Ok(None);
        }
        let needed = st
            .segments
            .range(..from)
            .any(|(_, s)| s.damaged || s.dead_ids.contains(id));
        if !needed {
            return Ok(None);
        }
        self.append_locked(&mut st, Header::tombstone(*id), &[])
            .map(Some)
    }

    /// Writes one record at the end of the active segment, first rolling to a new segment if
    /// this one would grow past `max_len`.
    fn append_locked(
        &self,
        st: &mut State,
        header: Header,
        payload: &[u8],
    ) -> Result<Loc, BlobError> {
        if st.failed {
            return Err(self.failed_error());
        }
        if st.end > 0 && st.end + header.record_len() > self.max_len {
            self.roll(st)?;
        }
        let offset = st.end;
        let segment = st
            .segments
            .get_mut(&st.active)
            .expect("the active segment is known");
        let written = write_all_at(&*segment.file, &header.encode(), offset)
            .and_then(|()| write_all_at(&*segment.file, payload, offset + HEADER_LEN));
        if let Err(e) = written {
            // Best effort: cut the partial record; a leftover would be cut at seal or open.
            let _ = segment.file.set_len(offset);
            return Err(BlobError::io("append to segment", &segment.path, e));
        }
        segment.len = offset + header.record_len();
        st.end = segment.len;
        trace::record(|| Step::Append {
            to: segment.path.clone(),
            end: st.end,
        });
        Ok(Loc {
            seq: st.active,
            offset,
            len: header.len,
        })
    }

    /// Seals the active segment (cut to its records, fdatasync) and starts the next one. The
    /// seal comes first, so that every segment but the newest is whole and durable.
    fn roll(&self, st: &mut State) -> Result<(), BlobError> {
        let old = &st.segments[&st.active];
        let (file, path) = (old.file.clone(), old.path.clone());
        trace::record(|| Step::SyncFile(path.clone()));
        self.counts.file_synced();
        let sealed = file
            .set_len(st.end)
            .and_then(|()| file.sync_data(Site::SegmentSeal));
        if let Err(e) = sealed {
            st.failed = true;
            return Err(BlobError::io("seal segment", &path, e));
        }
        let seq = st.active + 1;
        let segment = create_segment(&*self.fs, &self.dir, seq, &self.counts)?;
        st.segments.insert(seq, segment);
        st.active = seq;
        st.end = 0;
        st.synced = 0;
        Ok(())
    }

    /// Returns once the record at `loc` is durable: at once if a sync already covered it,
    /// else by waiting for the sync in flight or leading the next one (see the module doc).
    pub(crate) fn wait_durable(&self, loc: Loc) -> Result<(), BlobError> {
        self.wait_durable_to(loc.seq, loc.end())
    }

    /// [`SegmentLog::wait_durable`] for the bytes of segment `seq` up to `need`.
    pub(crate) fn wait_durable_to(&self, seq: u64, need: u64) -> Result<(), BlobError> {
        let mut st = self.lock();
        loop {
            if seq < st.active || (seq == st.active && need <= st.synced) {
                return Ok(());
            }
            if st.failed {
                return Err(self.failed_error());
            }
            if st.syncing {
                st = self
                    .sync_done
                    .wait(st)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            st.syncing = true;
            let (seq, target) = (st.active, st.end);
            let segment = &st.segments[&seq];
            let (file, path) = (segment.file.clone(), segment.path.clone());
            drop(st);
            trace::record(|| Step::SyncFile(path.clone()));
            self.counts.file_synced();
            let result = file.sync_data(Site::SegmentCommit);
            st = self.lock();
            st.syncing = false;
            match &result {
                Ok(()) if st.active == seq => st.synced = st.synced.max(target),
                Ok(()) => {}
                Err(_) => st.failed = true,
            }
            self.sync_done.notify_all();
            if let Err(e) = result {
                return Err(BlobError::io("fdatasync segment", &path, e));
            }
            trace::record(|| Step::Durable { path, end: target });
        }
    }

    fn failed_error(&self) -> BlobError {
        BlobError::io(
            "append to segments in",
            &self.dir,
            io::Error::other("an earlier fdatasync failed; reopen the store to recover"),
        )
    }

    /// Sealed, undamaged segments whose live bytes are below `min_live_ratio` of their length,
    /// oldest first.
    pub(crate) fn compaction_candidates(&self, min_live_ratio: f64) -> Vec<(u64, Found)> {
        let st = self.lock();
        st.segments
            .iter()
            .filter(|(seq, s)| {
                **seq != st.active
                    && !s.damaged
                    && s.len > 0
                    && (s.live as f64) < min_live_ratio * s.len as f64
            })
            .map(|(seq, s)| {
                let loc = Loc {
                    seq: *seq,
                    offset: 0,
                    len: s.len,
                };
                (
                    *seq,
                    Found {
                        file: s.file.clone(),
                        path: s.path.clone(),
                        loc,
                    },
                )
            })
            .collect()
    }

    /// Forgets sealed segment `seq` if no live record is left in it; returns its path and
    /// length, for the caller to unlink. Its dead ids go with it: tombstones kept for them
    /// may be dropped by later compactions (once the unlink is durable).
    pub(crate) fn retire(&self, seq: u64) -> Option<(PathBuf, u64)> {
        let mut st = self.lock();
        if seq == st.active || st.segments.get(&seq)?.live > 0 {
            return None;
        }
        st.segments.remove(&seq).map(|s| (s.path, s.len))
    }

    /// Syncs the segment directory (after unlinking retired segments).
    pub(crate) fn sync_dir(&self) -> Result<(), BlobError> {
        sync_dir(&*self.fs, &self.counts, &self.dir, Site::CompactionDir)
    }
}

fn found(st: &State, loc: Loc) -> Found {
    let segment = &st.segments[&loc.seq];
    Found {
        file: segment.file.clone(),
        path: segment.path.clone(),
        loc,
    }
}

/// The record of `id` at `loc` is no longer the live one.
fn mark_dead(st: &mut State, id: &BlobId, loc: Loc) {
    if let Some(segment) = st.segments.get_mut(&loc.seq) {
        segment.live -= loc.record_len();
        segment.dead_ids.insert(*id);
    }
}

/// Creates segment `seq` (empty) and makes its directory entry durable.
fn create_segment(
    fs: &dyn Fs,
    dir: &Path,
    seq: u64,
    counts: &Counters,
) -> Result<Segment, BlobError> {
    let path = segment_path(dir, seq);
    let file = fs
        .open(&path, Open::CreateNew)
        .map_err(|e| BlobError::io("create segment", &path, e))?;
    counts.file_created();
    sync_dir(fs, counts, dir, Site::SegmentCreateDir)?;
    Ok(Segment {
        path,
        file,
        len: 0,
        live: 0,
        dead_ids: HashSet::new(),
        damaged: false,
    })
}
