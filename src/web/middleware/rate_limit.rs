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
    /// How refusals are held back before they are sent.
    pub pause: RefusalPause,
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
            pause: RefusalPause::new(Duration::from_millis(limits.refusal_pause_ms)),
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

/// The most refusals held back at once; past it they are sent at once, so a crowd of
/// connections cannot make the server hold more than this many answers.
const HELD_MAX: usize = 1024;

/// A refusal (429) is sent after a short pause. A client that sends again as soon as it is
/// refused (a script in a loop) then waits on its own connection instead of spending the
/// processor time the other residents' reports and look-ups need; a person who was refused
/// hardly notices. Holding an answer costs a timer, nothing else.
pub struct RefusalPause {
    pause: Duration,
    held: tokio::sync::Semaphore,
}

impl RefusalPause {
    pub fn new(pause: Duration) -> RefusalPause {
        RefusalPause {
            pause,
            held: tokio::sync::Semaphore::new(HELD_MAX),
        }
    }

    /// Waits out the pause before a refusal is sent, unless `HELD_MAX` refusals already
    /// wait. Returns whether it waited.
    pub async fn hold(&self) -> bool {
        if self.pause.is_zero() {
            return false;
        }
        let Ok(_held) = self.held.try_acquire() else {
            return false;
        };
        tokio::time::sleep(self.pause).await;
        true
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use tokio::time::Instant;

    use super::*;

    const PAUSE: Duration = Duration::from_millis(500);

    #[tokio::test(start_paused = true)]
    async fn a_refusal_waits_out_the_pause() {
        let pause = RefusalPause::new(PAUSE);
        let began = Instant::now();
        assert!(pause.hold().await);
        assert_eq!(began.elapsed(), PAUSE);
    }

    #[tokio::test(start_paused = true)]
    async fn past_the_most_held_a_refusal_is_sent_at_once() {
        let pause = Arc::new(RefusalPause::new(PAUSE));
        let mut held = Vec::new();
        for _ in 0..HELD_MAX {
            let pause = pause.clone();
            held.push(tokio::spawn(async move { pause.hold().await }));
        }
        // Every one of them has taken its place before the next refusal comes.
        while pause.held.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        let began = Instant::now();
        assert!(!pause.hold().await, "no place left: sent at once");
        assert_eq!(began.elapsed(), Duration::ZERO);
        for waited in held {
            assert!(waited.await.unwrap());
        }
        assert!(pause.hold().await, "the places are free again");
    }

    #[tokio::test(start_paused = true)]
    async fn no_pause_configured_sends_at_once() {
        let began = Instant::now();
        assert!(!RefusalPause::new(Duration::ZERO).hold().await);
        assert_eq!(began.elapsed(), Duration::ZERO);
    }
}
