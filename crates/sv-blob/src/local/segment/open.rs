//! Opening the segment log: scan every segment in order, recover the newest, rebuild the index.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

use super::record::Kind;
use super::scan::scan;
use super::{Loc, Segment, SegmentLog, State, create_segment, mark_dead};
use crate::BlobError;
use crate::local::counts::Counters;
use crate::local::durable::sync_dir;
use crate::local::fs::{Fs, Open, Site, write_all_at};
use crate::local::trace::{self, Step};

/// What opening found, for tests and diagnostics.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Recovery {
    /// Bytes cut from the end of the newest segment (a torn or unsynced tail).
    pub(crate) truncated: u64,
    /// Records of the newest segment voided because their payload failed its check.
    pub(crate) voided: u64,
    /// Sealed segments with a header that failed its check.
    pub(crate) damaged: Vec<u64>,
}

impl SegmentLog {
    /// Opens the log in `dir` (which exists), creating the first segment if there is none.
    ///
    /// Every segment but the newest was sealed (synced whole) before its successor was
    /// created, so only its headers are read. The newest may end in records a crash tore or
    /// never synced: each of its records is checked (header and payload hash). The segment is
    /// cut at the first header that fails or record that runs past the end (nothing after it
    /// can be found); a blob record whose header holds but whose payload fails is voided in
    /// place (its header rewritten as a void record of the same length), so that one bad
    /// record, torn or rotten, does not take the good ones after it along. Then the segment
    /// is synced, and the directory, so that everything the index now names is durable (a
    /// killed process leaves records in the page cache that passed the check but never
    /// reached the disk).
    pub(crate) fn open(
        fs: Arc<dyn Fs>,
        dir: PathBuf,
        max_len: u64,
        counts: Arc<Counters>,
    ) -> Result<(SegmentLog, Recovery), BlobError> {
        let mut recovery = Recovery::default();
        let seqs = segment_seqs(&*fs, &dir)?;
        let mut st = State {
            index: HashMap::new(),
            segments: BTreeMap::new(),
            active: 0,
            end: 0,
            synced: 0,
            syncing: false,
            failed: false,
        };
        for (i, (seq, path)) in seqs.iter().enumerate() {
            let newest = i + 1 == seqs.len();
            let file = fs
                .open(path, Open::Write)
                .map_err(|e| BlobError::io("open segment", path, e))?;
            let file_len = file
                .len()
                .map_err(|e| BlobError::io("stat segment", path, e))?;
            let found = scan(&*file, file_len, newest)
                .map_err(|e| BlobError::io("read segment", path, e))?;
            let damaged = !newest && found.bad.is_some();
            if damaged {
                recovery.damaged.push(*seq);
            }
            let len = if newest { found.end } else { file_len };
            if newest {
                if found.end < file_len {
                    recovery.truncated = file_len - found.end;
                    file.set_len(found.end)
                        .map_err(|e| BlobError::io("truncate segment", path, e))?;
                }
                for (offset, header) in &found.failed {
                    write_all_at(&*file, &header.voided().encode(), *offset)
                        .map_err(|e| BlobError::io("void a record in", path, e))?;
                    recovery.voided += 1;
                }
                trace::record(|| Step::SyncFile(path.clone()));
                counts.file_synced();
                file.sync_data(Site::RecoveryFile)
                    .map_err(|e| BlobError::io("fdatasync segment", path, e))?;
            }
            st.segments.insert(
                *seq,
                Segment {
                    path: path.clone(),
                    file,
                    len,
                    live: 0,
                    dead_ids: HashSet::new(),
                    damaged,
                },
            );
            replay(&mut st, *seq, &found.records);
        }
        match st.segments.last_key_value() {
            Some((seq, s)) => (st.active, st.end) = (*seq, s.len),
            None => {
                st.segments
                    .insert(1, create_segment(&*fs, &dir, 1, &counts)?);
                (st.active, st.end) = (1, 0);
            }
        }
        st.synced = st.end;
        // A crashed process may have created the newest segment without syncing its entry.
        sync_dir(&*fs, &counts, &dir, Site::RecoveryDir)?;
        let log = SegmentLog {
            fs,
            dir,
            max_len,
            counts,
            state: Mutex::new(st),
            sync_done: Condvar::new(),
        };
        Ok((log, recovery))
    }
}

/// Applies the records of segment `seq`, in log order, to the index and the accounting.
fn replay(st: &mut State, seq: u64, records: &[(u64, super::record::Header)]) {
    for (offset, header) in records {
        let loc = Loc {
            seq,
            offset: *offset,
            len: header.len,
        };
        let previous = match header.kind {
            Kind::Blob => {
                st.segments.get_mut(&seq).expect("segment inserted").live += loc.record_len();
                st.index.insert(header.id, loc)
            }
            Kind::Tombstone => st.index.remove(&header.id),
            Kind::Void => None,
        };
        if let Some(previous) = previous {
            mark_dead(st, &header.id, previous);
        }
    }
}

/// The segment files in `dir` (`<16 hex>.seg`), by sequence number.
fn segment_seqs(fs: &dyn Fs, dir: &Path) -> Result<Vec<(u64, PathBuf)>, BlobError> {
    let mut out = Vec::new();
    let entries = fs
        .read_dir(dir)
        .map_err(|e| BlobError::io("list", dir, e))?;
    for entry in entries {
        let name = entry.name;
        let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".seg")) else {
            continue;
        };
        if stem.len() != 16 {
            continue;
        }
        if let Ok(seq) = u64::from_str_radix(stem, 16) {
            out.push((seq, dir.join(&name)));
        }
    }
    out.sort();
    Ok(out)
}
