//! The guard on tracking-code guessing: growing waits per client, a count, and an alarm.

use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Duration, Utc};

use super::backoff::{Backoff, client_key};
use crate::config::LimitSettings;

/// Growing waits for clients that keep looking up codes that do not exist, a counter for
/// the metrics, and an alarm in the log when failures suddenly rise (no codes, no addresses).
pub struct LookupGuard {
    backoff: Backoff<IpAddr>,
    failed_total: AtomicU64,
    window: Mutex<(DateTime<Utc>, u64, bool)>,
    alarm_per_minute: u64,
}

impl LookupGuard {
    pub fn new(limits: &LimitSettings) -> LookupGuard {
        LookupGuard {
            // A resident mistyping twice is normal; guessing thousands is not.
            backoff: Backoff::new(limits.lookup_free_failures, 2, 600),
            failed_total: AtomicU64::new(0),
            window: Mutex::new((DateTime::<Utc>::MIN_UTC, 0, false)),
            alarm_per_minute: u64::from(limits.lookup_alarm_per_minute),
        }
    }

    pub fn wait(&self, client: Option<IpAddr>, now: DateTime<Utc>) -> i64 {
        self.backoff.wait(&client_key(client), now)
    }

    pub fn failed(&self, client: Option<IpAddr>, now: DateTime<Utc>) {
        self.backoff.failed(client_key(client), now);
        self.failed_total.fetch_add(1, Ordering::Relaxed);
        let mut window = self.window.lock().unwrap_or_else(|e| e.into_inner());
        if now - window.0 >= Duration::minutes(1) {
            *window = (now, 0, false);
        }
        window.1 += 1;
        if window.1 >= self.alarm_per_minute && !window.2 {
            window.2 = true;
            tracing::warn!(
                failures_this_minute = window.1,
                "alarm: failed tracking-code lookups are rising (possible code guessing)"
            );
        }
    }

    /// Failed lookups since start, for the metrics endpoint.
    pub fn failed_total(&self) -> u64 {
        self.failed_total.load(Ordering::Relaxed)
    }

    pub fn forget_idle(&self, now: DateTime<Utc>) {
        self.backoff.forget_idle(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guessing_codes_slows_down_and_counts() {
        let guard = LookupGuard::new(&LimitSettings::tiny());
        let client = Some(IpAddr::from([203, 0, 113, 9]));
        let t0 = Utc::now();
        guard.failed(client, t0);
        guard.failed(client, t0);
        assert_eq!(guard.wait(client, t0), 2);
        guard.failed(client, t0);
        assert_eq!(guard.wait(client, t0), 4);
        assert_eq!(guard.wait(Some(IpAddr::from([203, 0, 113, 10])), t0), 0);
        assert_eq!(guard.failed_total(), 3);
    }

    #[test]
    fn only_time_forgets_failures() {
        let guard = LookupGuard::new(&LimitSettings::tiny());
        let client = Some(IpAddr::from([203, 0, 113, 9]));
        let t0 = Utc::now();
        for _ in 0..3 {
            guard.failed(client, t0);
        }
        assert_eq!(guard.wait(client, t0), 4);
        // An hour on, the old failures are gone, swept or not.
        let later = t0 + Duration::hours(1);
        guard.failed(client, later);
        assert_eq!(guard.wait(client, later), 0);
        guard.forget_idle(later + Duration::hours(1));
        assert_eq!(guard.wait(client, later), 0);
    }

    #[test]
    fn one_ipv6_64_is_one_client() {
        let guard = LookupGuard::new(&LimitSettings::tiny());
        let t0 = Utc::now();
        for host in 1..=3u16 {
            let addr = std::net::Ipv6Addr::new(0x2001, 0xdb8, 5, 6, 0, 0, 0, host);
            guard.failed(Some(IpAddr::V6(addr)), t0);
        }
        let same_64 = std::net::Ipv6Addr::new(0x2001, 0xdb8, 5, 6, 9, 9, 9, 9);
        assert_eq!(guard.wait(Some(IpAddr::V6(same_64)), t0), 4);
    }
}
