//! Group commit: writers that committed wait on a shared epoch while one leader makes the
//! database durable for all of them.
//!
//! A sync that *starts* after a writer's commit covers that writer. A writer arriving while a
//! sync is running therefore waits for the next one; the first waiter to find no sync running
//! leads it. Mutex + Condvar, no busy waiting.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use crate::MetaError;

#[derive(Debug, Default)]
struct Epochs {
    /// Number of syncs started; equals `finished` when none is running.
    started: u64,
    finished: u64,
    running: bool,
    /// The latest epoch whose sync failed (0: none).
    failed: u64,
}

/// Shared state of the group commit.
#[derive(Debug, Default)]
pub(crate) struct GroupCommit {
    epochs: Mutex<Epochs>,
    done: Condvar,
}

impl GroupCommit {
    /// How many syncs have run (each covering every writer that committed before it began).
    pub(crate) fn syncs(&self) -> u64 {
        self.lock().finished
    }

    fn lock(&self) -> MutexGuard<'_, Epochs> {
        // The state stays consistent even if a leader panicked mid-sync: it is only changed
        // under the lock, so a poisoned lock is still usable.
        self.epochs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Returns once a `sync` that started after this call has finished; runs it if nobody
    /// else is. Call after the transaction committed.
    pub(crate) fn wait_durable(
        &self,
        sync: impl FnOnce() -> Result<(), MetaError>,
    ) -> Result<(), MetaError> {
        let mut sync = Some(sync);
        let mut e = self.lock();
        let target = if e.running {
            e.started + 1
        } else {
            e.finished + 1
        };
        loop {
            if e.finished >= target {
                return if e.failed >= target {
                    Err(MetaError::SyncFailed)
                } else {
                    Ok(())
                };
            }
            if e.running {
                e = self.done.wait(e).unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            e.running = true;
            e.started += 1;
            let epoch = e.started;
            drop(e);
            let run = sync.take().expect("a writer leads at most one sync");
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run))
                .unwrap_or(Err(MetaError::SyncFailed));
            e = self.lock();
            e.running = false;
            e.finished = epoch;
            if result.is_err() {
                e.failed = epoch;
            }
            self.done.notify_all();
            // epoch >= target: this sync covers the leader itself.
            return result;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn concurrent_writers_share_syncs() {
        let gc = Arc::new(GroupCommit::default());
        let syncs = Arc::new(AtomicU64::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (gc, syncs) = (gc.clone(), syncs.clone());
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        gc.wait_durable(|| {
                            syncs.fetch_add(1, Ordering::SeqCst);
                            std::thread::sleep(std::time::Duration::from_micros(200));
                            Ok(())
                        })
                        .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let n = syncs.load(Ordering::SeqCst);
        assert!((1..=400).contains(&n), "{n} syncs");
    }

    #[test]
    fn a_failed_sync_fails_its_waiters_and_later_ones_recover() {
        let gc = GroupCommit::default();
        assert!(gc.wait_durable(|| Err(MetaError::SyncFailed)).is_err());
        assert!(gc.wait_durable(|| Ok(())).is_ok());
    }
}
