//! Growing waits after repeated failures (sign-in, tracking-code lookups), in memory only:
//! a wait, never a lock, so nobody can lock someone else out by failing on purpose.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

pub struct Backoff<K> {
    failures: Mutex<HashMap<K, (u32, DateTime<Utc>)>>,
    /// Failures allowed before any wait.
    free: u32,
    /// The first wait, doubling with each failure after it.
    first_wait_secs: i64,
    max_wait_secs: i64,
}

impl<K: Hash + Eq + Clone> Backoff<K> {
    pub fn new(free: u32, first_wait_secs: i64, max_wait_secs: i64) -> Backoff<K> {
        Backoff {
            failures: Mutex::new(HashMap::new()),
            free,
            first_wait_secs,
            max_wait_secs,
        }
    }

    /// Seconds to wait before `key` may try again (0: go ahead).
    pub fn wait(&self, key: &K, now: DateTime<Utc>) -> i64 {
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        map.get(key).map_or(0, |(count, last)| {
            if *count < self.free {
                return 0;
            }
            let delay =
                (self.first_wait_secs << (count - self.free).min(16)).min(self.max_wait_secs);
            let left = *last + chrono::Duration::seconds(delay) - now;
            (left.num_milliseconds().max(0) + 999) / 1000
        })
    }

    pub fn failed(&self, key: K, now: DateTime<Utc>) {
        // Old entries are dropped by `forget_idle` on the sweeper's tick, never by a scan here
        // under the lock on the request's path.
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let entry = map.entry(key).or_insert((0, now));
        // Time is what forgets failures, whether or not the sweep has run yet.
        if now - entry.1 >= self.horizon() {
            entry.0 = 0;
        }
        entry.0 = entry.0.saturating_add(1);
        entry.1 = now;
    }

    pub fn succeeded(&self, key: &K) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(key);
    }

    /// How many keys are remembered.
    pub fn len(&self) -> usize {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets keys whose last failure is older than the horizon.
    pub fn forget_idle(&self, now: DateTime<Utc>) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let horizon = self.horizon();
        map.retain(|_, (_, last)| now - *last < horizon);
    }

    /// How long failures are remembered: the longest wait, and at least an hour.
    fn horizon(&self) -> chrono::Duration {
        chrono::Duration::seconds(self.max_wait_secs.max(3600))
    }
}

/// The key for a client: the one rule of `ClientKey` (IPv6 per /64, no address shared).
pub fn client_key(client: Option<IpAddr>) -> IpAddr {
    crate::domain::ClientKey::of(client).addr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_grows_with_failures_and_ends() {
        let backoff: Backoff<&str> = Backoff::new(3, 4, 300);
        let t0 = chrono::Utc::now();
        for _ in 0..3 {
            assert_eq!(backoff.wait(&"a", t0), 0);
            backoff.failed("a", t0);
        }
        assert_eq!(backoff.wait(&"a", t0), 4);
        assert_eq!(backoff.wait(&"b", t0), 0, "other keys are not slowed");
        backoff.failed("a", t0);
        assert_eq!(backoff.wait(&"a", t0), 8);
        assert_eq!(
            backoff.wait(&"a", t0 + chrono::Duration::seconds(8)),
            0,
            "never a lock"
        );
        for _ in 0..40 {
            backoff.failed("a", t0);
        }
        assert_eq!(backoff.wait(&"a", t0), 300, "capped");
        backoff.succeeded(&"a");
        assert_eq!(backoff.wait(&"a", t0), 0);
    }
}
