//! Group commit: writers that committed wait on a shared epoch while one leader makes the
//! database durable for all of them; and the keys whose writers have not yet seen their
//! change made durable, so a reader of such a key can wait for the same sync.
//!
//! A sync that *starts* after a writer's commit covers that writer. A writer arriving while a
//! sync is running therefore waits for the next one; the first waiter to find no sync running
//! leads it. Mutex + Condvar, no busy waiting.
//!
//! A committed change is visible to readers before it is durable. An answer that rests on
//! such a read (a re-sent instance reported `duplicate`) must not come before the change is
//! durable, or a crash could lose what was acknowledged: [`PendingKeys`] names the keys being
//! written, from before the transaction until after its sync, and a reader that finds one of
//! them waits for a sync that starts after its read ([`GroupCommit::wait_durable`]).

use std::collections::HashMap;
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
    /// Test builds: callers waiting for a sync another one runs.
    #[cfg(test)]
    waiting: usize,
}

/// Shared state of the group commit.
#[derive(Default)]
pub(crate) struct GroupCommit {
    epochs: Mutex<Epochs>,
    done: Condvar,
    /// Test builds: runs at the start of every sync, before the sync itself.
    #[cfg(test)]
    before_sync: Mutex<Option<std::sync::Arc<dyn Fn() + Send + Sync>>>,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit")
            .field("epochs", &self.epochs)
            .finish_non_exhaustive()
    }
}

impl GroupCommit {
    /// How many syncs have run (each covering every writer that committed before it began).
    pub(crate) fn syncs(&self) -> u64 {
        self.lock().finished
    }

    /// How many callers are waiting for a sync someone else runs.
    #[cfg(test)]
    pub(crate) fn waiting(&self) -> usize {
        self.lock().waiting
    }

    /// Test builds: `hook` runs at the start of every later sync (to hold one, say).
    #[cfg(test)]
    pub(crate) fn set_before_sync(&self, hook: impl Fn() + Send + Sync + 'static) {
        *self
            .before_sync
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(std::sync::Arc::new(hook));
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
                #[cfg(test)]
                {
                    e.waiting += 1;
                }
                e = self.done.wait(e).unwrap_or_else(PoisonError::into_inner);
                #[cfg(test)]
                {
                    e.waiting -= 1;
                }
                continue;
            }
            e.running = true;
            e.started += 1;
            let epoch = e.started;
            drop(e);
            #[cfg(test)]
            {
                let hook = self
                    .before_sync
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
                if let Some(hook) = hook {
                    hook();
                }
            }
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

/// Keys written by transactions whose change is not yet durable, with how many writers hold
/// each (a writer holds its keys from before its transaction until its sync has finished).
#[derive(Debug, Default)]
pub(crate) struct PendingKeys {
    keys: Mutex<HashMap<Vec<u8>, usize>>,
}

/// Holds a key in [`PendingKeys`] until dropped.
#[derive(Debug)]
pub(crate) struct PendingKey<'a> {
    set: &'a PendingKeys,
    key: Vec<u8>,
}

impl PendingKeys {
    fn lock(&self) -> MutexGuard<'_, HashMap<Vec<u8>, usize>> {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks `key` as being written until the guard drops: take it before the transaction
    /// and drop it after the transaction's sync.
    pub(crate) fn hold(&self, key: Vec<u8>) -> PendingKey<'_> {
        *self.lock().entry(key.clone()).or_default() += 1;
        PendingKey { set: self, key }
    }

    /// Whether a writer of `key` may have committed a change that is not yet durable. Ask
    /// after reading: a value read from a writer that still holds the key is answered only
    /// after a sync that starts after the read.
    pub(crate) fn contains(&self, key: &[u8]) -> bool {
        self.lock().contains_key(key)
    }
}

impl Drop for PendingKey<'_> {
    fn drop(&mut self) {
        let mut keys = self.set.lock();
        if let Some(n) = keys.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                keys.remove(&self.key);
            }
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
    fn pending_keys_are_held_until_every_writer_drops_them() {
        let pending = PendingKeys::default();
        let a = pending.hold(b"k".to_vec());
        let b = pending.hold(b"k".to_vec());
        assert!(pending.contains(b"k") && !pending.contains(b"j"));
        drop(a);
        assert!(pending.contains(b"k"), "a second writer still holds it");
        drop(b);
        assert!(!pending.contains(b"k"));
    }

    #[test]
    fn a_failed_sync_fails_its_waiters_and_later_ones_recover() {
        let gc = GroupCommit::default();
        assert!(gc.wait_durable(|| Err(MetaError::SyncFailed)).is_err());
        assert!(gc.wait_durable(|| Ok(())).is_ok());
    }
}
