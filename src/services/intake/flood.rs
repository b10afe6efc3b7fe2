//! The flood gauge: beyond a rate of public reports (all clients together), reports still go
//! in but wait in quarantine — a flood is slowed, never turned away. Shares per source keep a
//! flood from a few sources from putting everyone else's reports aside with its own.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use crate::config::LimitSettings;
use crate::domain::ClientKey;

/// Reports a source may send in a minute of flood before the rest of its reports wait in
/// quarantine. One: a resident sends one report; a flood from up to `per_minute - 1` such
/// sources cannot crowd the others out, since each counts once.
const SHARE: u32 = 1;
/// Submissions remembered per minute, as a multiple of the threshold: enough to keep every
/// flooding source's count, bounded however large the flood.
const MEMORY: usize = 16;

/// Counts public submissions over the last minute, across all clients and per source (an
/// IPv4 address or an IPv6 /56, in memory only: no source is ever stored or logged).
pub struct FloodGauge {
    window: Mutex<Window>,
    per_minute: usize,
}

#[derive(Default)]
struct Window {
    /// Every submission of the last minute, oldest first, with its source.
    recent: VecDeque<(DateTime<Utc>, ClientKey)>,
    /// Submissions per source in `recent`.
    counts: HashMap<ClientKey, u32>,
    /// The submissions within their source's share: `Σ min(count, SHARE)`.
    within_share: usize,
}

impl Window {
    fn push(&mut self, at: DateTime<Utc>, source: ClientKey) {
        let count = self.counts.entry(source).or_insert(0);
        if *count < SHARE {
            self.within_share += 1;
        }
        *count += 1;
        self.recent.push_back((at, source));
    }

    fn pop_oldest(&mut self) {
        let Some((_, source)) = self.recent.pop_front() else {
            return;
        };
        if let Some(count) = self.counts.get_mut(&source) {
            if *count <= SHARE {
                self.within_share -= 1;
            }
            *count -= 1;
            if *count == 0 {
                self.counts.remove(&source);
            }
        }
    }
}

impl FloodGauge {
    pub fn new(limits: &LimitSettings) -> FloodGauge {
        FloodGauge {
            window: Mutex::new(Window::default()),
            per_minute: limits.flood_per_minute as usize,
        }
    }

    /// Records one submission from `source`; true when it should be quarantined rather than
    /// go straight to the inspectors. Below the threshold nothing is. Beyond it, a source
    /// past its share is; so is everyone when the reports within their shares alone reach
    /// the threshold (a flood from so many sources that none stands out).
    pub fn record(&self, source: ClientKey, now: DateTime<Utc>) -> bool {
        let source = source.site();
        let mut window = self.window.lock().unwrap_or_else(|e| e.into_inner());
        while window
            .recent
            .front()
            .is_some_and(|(t, _)| now - *t >= Duration::minutes(1))
        {
            window.pop_oldest();
        }
        let flooding = window.recent.len() >= self.per_minute;
        let seen = window.counts.get(&source).copied().unwrap_or(0);
        let quarantine = flooding && (seen >= SHARE || window.within_share >= self.per_minute);
        if window.recent.len() >= self.per_minute.max(64) * MEMORY {
            window.pop_oldest();
        }
        window.push(now, source);
        quarantine
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::client_key_of as source;

    /// A gauge that holds reports past 20 a minute.
    fn gauge_of_20_a_minute() -> FloodGauge {
        let mut limits = LimitSettings::tiny();
        limits.flood_per_minute = 20;
        FloodGauge::new(&limits)
    }

    #[test]
    fn a_burst_beyond_the_threshold_is_flagged_and_the_flag_passes() {
        let gauge = FloodGauge::new(&LimitSettings::tiny());
        let t0 = Utc::now();
        for n in 1..=3 {
            assert!(!gauge.record(source(&format!("203.0.113.{n}")), t0));
        }
        assert!(gauge.record(source("203.0.113.4"), t0 + Duration::seconds(10)));
        assert!(
            !gauge.record(source("203.0.113.5"), t0 + Duration::seconds(75)),
            "a quiet minute later all is normal"
        );
    }

    #[test]
    fn a_flood_from_few_sources_spares_everyone_else() {
        let gauge = gauge_of_20_a_minute();
        let t0 = Utc::now();
        let flooders: Vec<ClientKey> = (1..=16)
            .map(|n| source(&format!("203.0.113.{n}")))
            .collect();
        let mut held = 0;
        for round in 0..5 {
            for flooder in &flooders {
                held += usize::from(gauge.record(*flooder, t0 + Duration::seconds(round)));
            }
        }
        assert_eq!(
            held,
            80 - 20,
            "past the threshold, a flooder's reports wait"
        );
        assert!(!gauge.record(source("198.51.100.7"), t0 + Duration::seconds(6)));
        assert!(!gauge.record(source("2001:db8:9::1"), t0 + Duration::seconds(6)));
        assert!(gauge.record(source("198.51.100.7"), t0 + Duration::seconds(7)));
    }

    #[test]
    fn one_slash_56_is_one_source_however_many_64s_it_uses() {
        let gauge = gauge_of_20_a_minute();
        let t0 = Utc::now();
        for n in 0..100u16 {
            let addr = std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 0xab00 + n, 0, 0, 0, 1);
            gauge.record(ClientKey::of(Some(addr.into())), t0);
        }
        assert!(!gauge.record(source("2001:db8:0:cd00::1"), t0));
    }

    #[test]
    fn a_flood_from_more_sources_than_the_threshold_holds_everything() {
        let gauge = FloodGauge::new(&LimitSettings::tiny());
        let t0 = Utc::now();
        let held: Vec<bool> = (1..=6)
            .map(|n| gauge.record(source(&format!("203.0.113.{n}")), t0))
            .collect();
        assert_eq!(held, [false, false, false, true, true, true]);
    }

    #[test]
    fn memory_stays_bounded() {
        let gauge = FloodGauge::new(&LimitSettings::tiny());
        let t0 = Utc::now();
        for _ in 0..10_000 {
            gauge.record(source("203.0.113.1"), t0);
        }
        let window = gauge.window.lock().unwrap();
        assert_eq!(window.recent.len(), 64 * MEMORY);
        assert_eq!(window.counts.len(), 1);
        assert_eq!(window.within_share, 1);
    }
}
