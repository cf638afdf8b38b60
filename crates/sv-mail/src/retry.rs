//! When to try a message again after a transient failure, and when to give up.
//!
//! Invariants: pure arithmetic on the times it is given (no clock, no IO), saturating, so no
//! policy value can overflow or panic.

use std::time::{Duration, SystemTime};

/// Exponential backoff with a cap, and a limit on attempts and on total time.
///
/// After the n-th failed attempt the next one waits `first * factor^(n-1)`, at most
/// `max_delay`. A message is given up when `max_attempts` attempts have failed, or when an
/// attempt fails at or after `queued + give_up_after`; the last retry is moved forward to that
/// deadline rather than scheduled past it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The wait after the first failure.
    pub first: Duration,
    /// Each further wait is this many times the last (1 keeps it constant; 0 counts as 1).
    pub factor: u32,
    /// The longest wait.
    pub max_delay: Duration,
    /// How long after queueing a message may still be tried.
    pub give_up_after: Duration,
    /// The most attempts in all, the first one included.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    /// 30 s, doubling, at most 1 h apart, for 3 days (79 attempts) or 100 attempts.
    fn default() -> Self {
        RetryPolicy {
            first: Duration::from_secs(30),
            factor: 2,
            max_delay: Duration::from_secs(3600),
            give_up_after: Duration::from_secs(3 * 24 * 3600),
            max_attempts: 100,
        }
    }
}

impl RetryPolicy {
    /// The wait after `failed_attempts` failures (1 or more).
    pub fn delay(&self, failed_attempts: u32) -> Duration {
        let factor = self.factor.max(1);
        let mut delay = self.first;
        if factor > 1 && !delay.is_zero() {
            // At most ~64 rounds: the delay at least doubles until it passes the cap or
            // saturates.
            for _ in 1..failed_attempts {
                if delay >= self.max_delay {
                    break;
                }
                delay = delay.checked_mul(factor).unwrap_or(Duration::MAX);
            }
        }
        delay.min(self.max_delay)
    }

    /// When to try again a message queued at `queued` whose `failed_attempts`-th attempt just
    /// failed at `now`; `None` to give up.
    pub fn next_attempt(
        &self,
        failed_attempts: u32,
        queued: SystemTime,
        now: SystemTime,
    ) -> Option<SystemTime> {
        if failed_attempts >= self.max_attempts {
            return None;
        }
        // A deadline too far to represent never comes.
        let deadline = queued.checked_add(self.give_up_after);
        if deadline.is_some_and(|deadline| now >= deadline) {
            return None;
        }
        let next = now.checked_add(self.delay(failed_attempts));
        match (next, deadline) {
            (Some(next), Some(deadline)) => Some(next.min(deadline)),
            (Some(next), None) => Some(next),
            (None, deadline) => deadline,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn delays_double_from_30_s_to_the_1_h_cap() {
        let p = RetryPolicy::default();
        let delays: Vec<u64> = (1..=9).map(|n| p.delay(n).as_secs()).collect();
        assert_eq!(delays, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(p.delay(0), S(30));
        assert_eq!(p.delay(u32::MAX), S(3600));
    }

    #[test]
    fn odd_factors_do_not_overflow_or_stall() {
        let p = RetryPolicy {
            factor: 0,
            ..RetryPolicy::default()
        };
        assert_eq!(p.delay(5), S(30));
        let p = RetryPolicy {
            factor: u32::MAX,
            max_delay: Duration::MAX,
            ..RetryPolicy::default()
        };
        assert_eq!(p.delay(2), S(30) * u32::MAX);
        assert_eq!(p.delay(3), Duration::MAX);
    }

    #[test]
    fn next_attempt_is_now_plus_delay() {
        let p = RetryPolicy::default();
        let queued = SystemTime::UNIX_EPOCH + S(1_000_000);
        let now = queued + S(100);
        assert_eq!(p.next_attempt(1, queued, now), Some(now + S(30)));
        assert_eq!(p.next_attempt(3, queued, now), Some(now + S(120)));
    }

    #[test]
    fn gives_up_after_three_days() {
        let p = RetryPolicy::default();
        let queued = SystemTime::UNIX_EPOCH + S(1_000_000);
        let deadline = queued + S(3 * 24 * 3600);
        // The last retry is pulled forward to the deadline, then a failure there gives up.
        assert_eq!(p.next_attempt(20, queued, deadline - S(10)), Some(deadline));
        assert_eq!(p.next_attempt(21, queued, deadline), None);
        assert_eq!(p.next_attempt(21, queued, deadline + S(1)), None);
    }

    #[test]
    fn three_days_of_failures_take_79_attempts() {
        let p = RetryPolicy::default();
        let queued = SystemTime::UNIX_EPOCH;
        let (mut now, mut attempts) = (queued, 1);
        while let Some(next) = p.next_attempt(attempts, queued, now) {
            now = next;
            attempts += 1;
        }
        assert_eq!(now, queued + S(3 * 24 * 3600));
        assert_eq!(attempts, 79);
    }

    #[test]
    fn gives_up_after_max_attempts() {
        let p = RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        };
        let t = SystemTime::UNIX_EPOCH;
        assert!(p.next_attempt(2, t, t).is_some());
        assert_eq!(p.next_attempt(3, t, t), None);
    }
}
