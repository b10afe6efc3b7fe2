//! Keyed governor limiters per route class, keyed by client address in memory only.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::backoff::client_key;
use crate::config::{LimitSettings, StaffSettings};

/// Which budget a request spends. Staff entry (later) has none of these.
#[derive(Debug, Clone, Copy)]
pub enum RouteClass {
    Submit,
    Track,
    /// Staff sign-in attempts, all accounts together.
    Login,
}

pub struct Limiters {
    submit: DefaultKeyedRateLimiter<IpAddr>,
    track: DefaultKeyedRateLimiter<IpAddr>,
    login: DefaultKeyedRateLimiter<IpAddr>,
}

fn quota(per_minute: u32, burst: u32) -> Quota {
    let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::per_minute(per_minute).allow_burst(burst)
}

impl Limiters {
    pub fn new(limits: &LimitSettings, staff: &StaffSettings) -> Limiters {
        Limiters {
            submit: RateLimiter::keyed(quota(limits.submit_per_minute, limits.submit_burst)),
            track: RateLimiter::keyed(quota(limits.track_per_minute, limits.track_burst)),
            login: RateLimiter::keyed(quota(staff.login_per_minute, staff.login_burst)),
        }
    }

    /// `Err(wait)` when the client has spent its budget for this class.
    pub fn check(&self, class: RouteClass, client: Option<IpAddr>) -> Result<(), Duration> {
        // IPv6 per /64; no address (a Unix socket, say) shares one budget rather than none.
        let key = client_key(client);
        let limiter = match class {
            RouteClass::Submit => &self.submit,
            RouteClass::Track => &self.track,
            RouteClass::Login => &self.login,
        };
        limiter
            .check_key(&key)
            // The limiter's own clock: making a new one calibrates it, which cost every
            // refusal more than the rest of its work.
            .map_err(|not_until| not_until.wait_time_from(limiter.clock().now()))
    }

    /// Forgets clients whose budget has refilled, so memory does not grow with visitors.
    pub fn forget_idle(&self) {
        self.submit.retain_recent();
        self.track.retain_recent();
        self.login.retain_recent();
        self.submit.shrink_to_fit();
        self.track.shrink_to_fit();
        self.login.shrink_to_fit();
    }
}
