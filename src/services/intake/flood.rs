//! The flood gauge: beyond a rate of public reports (all clients together), reports still go
//! in but wait in quarantine — a flood is slowed, never turned away.

use std::collections::VecDeque;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use crate::config::LimitSettings;

/// Counts public submissions over the last minute, across all clients.
pub struct FloodGauge {
    recent: Mutex<VecDeque<DateTime<Utc>>>,
    per_minute: usize,
}

impl FloodGauge {
    pub fn new(limits: &LimitSettings) -> FloodGauge {
        FloodGauge {
            recent: Mutex::new(VecDeque::new()),
            per_minute: limits.flood_per_minute as usize,
        }
    }

    /// Records one submission; true when it is beyond the flood threshold and should be
    /// quarantined rather than go straight to the inspectors.
    pub fn record(&self, now: DateTime<Utc>) -> bool {
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        while recent
            .front()
            .is_some_and(|t| now - *t >= Duration::minutes(1))
        {
            recent.pop_front();
        }
        let flooding = recent.len() >= self.per_minute;
        // Past the threshold only the count matters; the window need not grow further.
        if !flooding {
            recent.push_back(now);
        } else if let Some(oldest) = recent.pop_front() {
            recent.push_back(oldest.max(now - Duration::seconds(59)));
        }
        flooding
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_beyond_the_threshold_is_flagged_and_the_flag_passes() {
        let gauge = FloodGauge::new(&LimitSettings::tiny());
        let t0 = Utc::now();
        assert!(!gauge.record(t0));
        assert!(!gauge.record(t0));
        assert!(!gauge.record(t0));
        assert!(gauge.record(t0 + Duration::seconds(10)));
        assert!(
            !gauge.record(t0 + Duration::seconds(75)),
            "a quiet minute later all is normal"
        );
    }
}
