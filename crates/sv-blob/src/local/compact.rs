//! Compaction: sealed segments mostly dead are rewritten by appending their live records (and
//! the tombstones still needed) through the normal group-commit path, then unlinked.
//!
//! Safe while other threads put, get and delete: a record is moved only if, under the log's
//! mutex, the index still points at its old place, and the index is repointed in the same
//! step; readers keep the old file open (an `Arc` of the handle) after it is unlinked. Safe at any crash:
//! the old segment is unlinked only once every copy made from it is durable, and replay at open
//! lets a later record of an id win over an earlier one, so both copies existing is harmless.

use std::sync::PoisonError;

use super::LocalBlobStore;
use super::segment::record::{HEADER_LEN, Kind};
use super::segment::scan::scan;
use super::segment::{Appended, Found, Loc, Mode};
use super::trace;
use crate::{BlobError, CompactReport};

impl LocalBlobStore {
    pub(super) fn compact_segments(&self, min_live_ratio: f64) -> Result<CompactReport, BlobError> {
        let _one_at_a_time = self
            .compacting
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut report = CompactReport::default();
        // Oldest first, one segment at a time, each unlink made durable before the next
        // segment's tombstones are judged: a tombstone is dropped only when no segment that
        // may still hold a record of its id survives a crash (the tombstone rule).
        for (seq, segment) in self.log.compaction_candidates(min_live_ratio) {
            let scanned = scan(&*segment.file, segment.loc.len, false)
                .map_err(|e| BlobError::io("read segment", &segment.path, e))?;
            let mut written = 0;
            let mut last = None;
            for (offset, header) in scanned.records {
                let loc = Loc {
                    seq,
                    offset,
                    len: header.len,
                };
                let appended = match header.kind {
                    Kind::Blob => {
                        if self.log.lookup(&header.id).map(|f| f.loc) != Some(loc) {
                            continue; // dead: deleted or superseded
                        }
                        let old = Found {
                            loc,
                            ..segment.clone()
                        };
                        // A copy that fails verification is not carried forward: it stays
                        // live here (so the segment stays) until a re-upload heals it.
                        let Ok(bytes) = self.read_record(&header.id, &old) else {
                            continue;
                        };
                        trace::before_move(&old.path);
                        match self.log.append_blob(&header.id, &bytes, Mode::Move(loc))? {
                            Appended::New(new) => {
                                report.records_moved += 1;
                                Some(new.loc)
                            }
                            Appended::Found(_) | Appended::Skipped => None,
                        }
                    }
                    Kind::Void => None,
                    Kind::Tombstone => {
                        let kept = self.log.carry_tombstone(&header.id, seq)?;
                        report.tombstones_kept += u64::from(kept.is_some());
                        kept
                    }
                };
                if let Some(new) = appended {
                    written += HEADER_LEN + new.len;
                    last = Some(new);
                }
            }
            // Durability covers a prefix of the log: the last copy's sync covers them all.
            if let Some(last) = last {
                self.log.wait_durable(last)?;
            }
            let Some((path, len)) = self.log.retire(seq) else {
                continue; // a corrupt record is still live in it
            };
            (self.fs)
                .remove_file(&path)
                .map_err(|e| BlobError::io("remove segment", &path, e))?;
            self.log.sync_dir()?;
            report.segments_rewritten += 1;
            report.bytes_reclaimed += len.saturating_sub(written);
        }
        Ok(report)
    }
}
