//! What the store said of a secret (a token, a share link), remembered by the secret's hash so
//! that the hot read paths authenticate from memory.
//!
//! Correctness rests on eviction, never on expiry: every change of a remembered value on this
//! node evicts it before the change is acknowledged, and a fill that began before an eviction
//! is dropped (the store read may predate the change). Another node's change evicts when a
//! shared store tells of it (`MetaStore::on_invalidation`), and entries live at most `ttl`,
//! which bounds how long such a change can go unseen should the store fail to tell. Judging
//! the value (expired, revoked) is the caller's, on every hit.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sv_model::SecretHash;

/// Values remembered; the map is emptied when full (only real secrets enter, so this is rare).
const CAPACITY: usize = 4096;

pub(crate) struct SecretCache<V> {
    state: Mutex<State<V>>,
    ttl: Duration,
}

struct State<V> {
    values: HashMap<SecretHash, (V, Instant)>,
    /// Bumped by every eviction: a fill that began under an older generation is dropped.
    generation: u64,
}

impl<V: Clone> SecretCache<V> {
    pub(crate) fn new(ttl: Duration) -> Self {
        SecretCache {
            state: Mutex::new(State {
                values: HashMap::new(),
                generation: 0,
            }),
            ttl,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<V>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn get(&self, hash: &SecretHash) -> Option<V> {
        let state = self.lock();
        let (value, filled) = state.values.get(hash)?;
        (filled.elapsed() < self.ttl).then(|| value.clone())
    }

    /// Read before the store lookup whose result is then passed to [`SecretCache::fill`].
    pub(crate) fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Remembers `value`, unless something was evicted since `generation` was read.
    pub(crate) fn fill(&self, generation: u64, hash: SecretHash, value: V) {
        let mut state = self.lock();
        if state.generation != generation {
            return;
        }
        if state.values.len() >= CAPACITY && !state.values.contains_key(&hash) {
            state.values.clear();
        }
        state.values.insert(hash, (value, Instant::now()));
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().values.len()
    }

    /// Forgets every value `gone` picks.
    pub(crate) fn evict(&self, gone: impl Fn(&V) -> bool) {
        let mut state = self.lock();
        state.generation += 1;
        state.values.retain(|_, (v, _)| !gone(v));
    }
}

impl<V> std::fmt::Debug for SecretCache<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f.debug_struct("SecretCache")
            .field("values", &state.values.len())
            .field("generation", &state.generation)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fill_that_began_before_an_eviction_is_dropped() {
        let cache = SecretCache::new(Duration::from_secs(60));
        let hash = SecretHash::of(b"link");
        let before = cache.generation();
        cache.evict(|_: &u32| true);
        cache.fill(before, hash, 1);
        assert_eq!(cache.get(&hash), None);
        cache.fill(cache.generation(), hash, 2);
        assert_eq!(cache.get(&hash), Some(2));
        cache.evict(|v| *v == 2);
        assert_eq!(cache.get(&hash), None);
    }

    #[test]
    fn the_cache_is_bounded() {
        let cache = SecretCache::new(Duration::from_secs(60));
        for n in 0..CAPACITY + 10 {
            cache.fill(
                cache.generation(),
                SecretHash::of(n.to_string().as_bytes()),
                n,
            );
        }
        assert!(cache.len() <= CAPACITY);
    }

    #[test]
    fn values_live_at_most_the_ttl() {
        let cache = SecretCache::new(Duration::ZERO);
        let hash = SecretHash::of(b"link");
        cache.fill(cache.generation(), hash, 1);
        assert_eq!(cache.get(&hash), None);
    }
}
