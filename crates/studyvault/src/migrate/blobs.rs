//! The blob half of `migrate`: every blob the source's metadata names, copied to the
//! destination store with verification on the way, a few at a time.
//!
//! A blob is read through the source store's reader, which hands out no byte it has not
//! checked against the id, and the destination's put hashes what it stores again: the copy
//! must come out under the same id and length, or it counts as a failure. A blob already at
//! the destination with the right length is not sent again, so a run again resumes. A blob
//! that is named but missing or damaged at the source is reported, and the others still go.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, bail};
use sv_blob::{BlobError, BlobId, BlobStore};
use sv_meta::MetaStore;

use super::PROGRESS_EVERY;

/// What the blob copy did.
#[derive(Debug, Default)]
pub struct BlobReport {
    pub referenced: usize,
    pub copied: usize,
    pub copied_bytes: u64,
    pub already_there: usize,
    pub already_there_bytes: u64,
    pub missing_at_source: Vec<BlobId>,
    /// Named at the source but failing to read there (damaged): with why.
    pub unreadable: Vec<(BlobId, String)>,
}

enum Outcome {
    Copied(u64),
    AlreadyThere(u64),
    MissingAtSource,
    Unreadable(String),
}

/// Copies every blob `meta` names from `src` to `dst` with `jobs` threads. An error of the
/// destination (or of the source's metadata) stops the copy; a damaged source blob does not.
pub fn copy(
    meta: &dyn MetaStore,
    src: &dyn BlobStore,
    dst: &dyn BlobStore,
    jobs: usize,
) -> anyhow::Result<BlobReport> {
    let ids: Vec<BlobId> = meta
        .referenced_blobs()
        .context("could not list the source's referenced blobs")?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let next = AtomicUsize::new(0);
    let report = Mutex::new(BlobReport {
        referenced: ids.len(),
        ..BlobReport::default()
    });
    let last = Mutex::new(Instant::now());
    let failed: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                loop {
                    if failed.lock().expect("not poisoned").is_some() {
                        return;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(id) = ids.get(i) else { return };
                    let outcome = match copy_one(src, dst, id) {
                        Ok(o) => o,
                        Err(e) => {
                            failed.lock().expect("not poisoned").get_or_insert(e);
                            return;
                        }
                    };
                    let mut r = report.lock().expect("not poisoned");
                    match outcome {
                        Outcome::Copied(n) => {
                            (r.copied, r.copied_bytes) = (r.copied + 1, r.copied_bytes + n)
                        }
                        Outcome::AlreadyThere(n) => {
                            r.already_there += 1;
                            r.already_there_bytes += n;
                        }
                        Outcome::MissingAtSource => r.missing_at_source.push(*id),
                        Outcome::Unreadable(why) => r.unreadable.push((*id, why)),
                    }
                    let mut last = last.lock().expect("not poisoned");
                    if last.elapsed() >= PROGRESS_EVERY {
                        *last = Instant::now();
                        eprintln!(
                            "blobs: {}/{} ({} copied, {} already there)",
                            i + 1,
                            ids.len(),
                            r.copied,
                            r.already_there
                        );
                    }
                }
            });
        }
    });
    if let Some(e) = failed.into_inner().expect("not poisoned") {
        return Err(e);
    }
    let mut report = report.into_inner().expect("not poisoned");
    report.missing_at_source.sort();
    report.unreadable.sort_by_key(|(id, _)| *id);
    Ok(report)
}

fn copy_one(src: &dyn BlobStore, dst: &dyn BlobStore, id: &BlobId) -> anyhow::Result<Outcome> {
    let Some(len) = src
        .len(id)
        .context("could not read the source's blob store")?
    else {
        return Ok(Outcome::MissingAtSource);
    };
    let there = dst
        .len(id)
        .context("could not look at the destination's blob store")?;
    if there == Some(len) {
        return Ok(Outcome::AlreadyThere(len));
    }
    let mut reader = match src.get(id, None) {
        Ok(r) => r,
        Err(BlobError::NotFound(_)) => return Ok(Outcome::MissingAtSource),
        Err(e) => return Ok(Outcome::Unreadable(e.to_string())),
    };
    let put = match dst.put(&mut reader) {
        Ok(put) => put,
        // The source's reader failed (a byte that did not hash right, or the disk).
        Err(BlobError::Source(e)) => return Ok(Outcome::Unreadable(e.to_string())),
        Err(e) => return Err(e).context("could not store a blob at the destination"),
    };
    if put.id != *id || put.len != len {
        bail!(
            "blob {id} was stored at the destination as {} ({} bytes)",
            put.id,
            put.len
        );
    }
    Ok(Outcome::Copied(len))
}

/// The blobs the source names and holds that the destination lacks, or holds at another
/// length.
pub fn verify(
    meta: &dyn MetaStore,
    src: &dyn BlobStore,
    dst: &dyn BlobStore,
) -> anyhow::Result<Vec<BlobId>> {
    let mut absent = Vec::new();
    for (id, _) in meta.referenced_blobs()? {
        let Some(len) = src.len(&id)? else { continue };
        if dst.len(&id)? != Some(len) {
            absent.push(id);
        }
    }
    Ok(absent)
}
