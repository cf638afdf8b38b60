//! Test builds only: a record of the durable file-system steps the local store takes, in order,
//! and a pause point after a blob is linked or a record appended, so tests can check what a put
//! makes durable.
//!
//! In other builds every function here is an empty inline call.

#[cfg(test)]
pub(crate) use imp::*;

/// One durable step, named by the paths it touched.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) enum Step {
    /// `fdatasync`/`fsync` of a file's bytes.
    SyncFile(std::path::PathBuf),
    /// `fsync` of a directory (its entries).
    SyncDir(std::path::PathBuf),
    /// A record appended to the segment `to`, which now ends at `end`.
    Append { to: std::path::PathBuf, end: u64 },
    /// A sync of segment `path` returned: its first `end` bytes are durable.
    Durable { path: std::path::PathBuf, end: u64 },
    /// A rename or link that makes `to` visible.
    Publish {
        from: std::path::PathBuf,
        to: std::path::PathBuf,
    },
}

#[cfg(test)]
mod imp {
    use std::path::{Path, PathBuf};
    use std::sync::{Arc, Mutex, PoisonError};
    use std::thread::ThreadId;

    use super::Step;

    type Hook = Arc<dyn Fn(&Path) + Send + Sync>;

    static STEPS: Mutex<Vec<(ThreadId, Step)>> = Mutex::new(Vec::new());
    static AFTER_PUBLISH: Mutex<Vec<(PathBuf, Hook)>> = Mutex::new(Vec::new());
    static BEFORE_MOVE: Mutex<Vec<(PathBuf, Hook)>> = Mutex::new(Vec::new());

    pub(crate) fn record(step: impl FnOnce() -> Step) {
        let step = step();
        STEPS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((std::thread::current().id(), step));
    }

    /// Runs the hook registered for a root containing `published` (a blob just linked, or the
    /// segment a record was just appended to).
    pub(crate) fn after_publish(published: &Path) {
        let hooks: Vec<Hook> = AFTER_PUBLISH
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|(root, _)| published.starts_with(root))
            .map(|(_, hook)| hook.clone())
            .collect();
        for hook in hooks {
            hook(published);
        }
    }

    /// Calls `hook` after every blob published under `root` (before its directory fsync) and
    /// after every record appended (before it is synced).
    pub(crate) fn on_publish(root: &Path, hook: impl Fn(&Path) + Send + Sync + 'static) {
        AFTER_PUBLISH
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((root.to_path_buf(), Arc::new(hook)));
    }

    /// Runs the hooks registered for a root containing `segment`: compaction has read a live
    /// record of it and is about to append the copy (outside the log's mutex).
    pub(crate) fn before_move(segment: &Path) {
        let hooks: Vec<Hook> = BEFORE_MOVE
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|(root, _)| segment.starts_with(root))
            .map(|(_, hook)| hook.clone())
            .collect();
        for hook in hooks {
            hook(segment);
        }
    }

    /// Calls `hook` whenever compaction under `root` is about to append a copy of a record.
    pub(crate) fn on_move(root: &Path, hook: impl Fn(&Path) + Send + Sync + 'static) {
        BEFORE_MOVE
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((root.to_path_buf(), Arc::new(hook)));
    }

    fn under(step: &Step, root: &Path) -> bool {
        match step {
            Step::SyncFile(p) | Step::SyncDir(p) | Step::Durable { path: p, .. } => {
                p.starts_with(root)
            }
            Step::Append { to, .. } => to.starts_with(root),
            Step::Publish { to, .. } => to.starts_with(root),
        }
    }

    /// The steps taken under `root` so far, with the thread that took each.
    pub(crate) fn steps_under(root: &Path) -> Vec<(ThreadId, Step)> {
        STEPS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|(_, s)| under(s, root))
            .cloned()
            .collect()
    }
}

#[cfg(not(test))]
#[inline(always)]
pub(crate) fn record(_step: impl FnOnce() -> Step) {}

#[cfg(not(test))]
#[inline(always)]
pub(crate) fn after_publish(_published: &std::path::Path) {}

#[cfg(not(test))]
#[inline(always)]
pub(crate) fn before_move(_segment: &std::path::Path) {}
