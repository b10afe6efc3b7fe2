//! HTTP handlers (extract → parse → one service call → render) and the middleware around them.

pub mod api;
pub mod charts;
pub mod lookup;
pub mod middleware;
pub mod multipart;
pub mod pages;
pub mod public;
pub mod report_form;
pub mod staff;
pub mod upload;
pub mod visit;

pub use visit::Visit;

use std::net::IpAddr;
use std::sync::Arc;

use actix_web::HttpRequest;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;

use crate::config::Settings;
use crate::crypto::Keyring;
use crate::domain::Villages;
use crate::error::Surface;
use crate::i18n::Lang;
use crate::services::deadlines::Deadlines;
use middleware::rate_limit::Limiters;

/// Where "now" comes from: the real clock in service, a fixed instant in tests.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// What every handler can reach. Built once in `startup` and shared by all workers.
pub struct AppState {
    pub db: DatabaseConnection,
    /// The SQLite file read on the calling thread, for look-ups.
    pub reads: crate::sqlite_reads::SqliteReads,
    pub keyring: Keyring,
    pub settings: Settings,
    pub villages: Villages,
    pub limiters: Limiters,
    pub login_throttle: staff::LoginThrottle,
    pub flood: crate::services::intake::FloodGauge,
    pub lookups: middleware::abuse::LookupGuard,
    /// The holiday calendar and the deadline settings, loaded and checked at start.
    pub deadlines: Deadlines,
    pub clock: Clock,
    /// Recipient groups and rules, checked at startup.
    pub routing: crate::services::routing::Routing,
    /// This instance's outbox sender.
    pub outbox: crate::services::outbox::Worker,
    /// The worker processes every uploaded file is checked in.
    pub media: crate::media::Workers,
    /// Reports waiting for the next group commit.
    pub commits: crate::services::intake::GroupCommit,
    /// Public submissions and answers, counted instead of logged.
    pub public_counts: middleware::PublicCounts,
}

impl AppState {
    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// What the intake pipeline needs of this service.
    pub fn intake(&self) -> crate::services::intake::Intake<'_> {
        crate::services::intake::Intake {
            db: &self.db,
            keyring: &self.keyring,
            routing: &self.routing,
            deadlines: &self.deadlines,
            flood: &self.flood,
            limits: &self.settings.limits,
            media: &self.media,
            commits: &self.commits,
        }
    }

    /// Forgets the client addresses kept in memory (rate limits, failed look-ups and
    /// sign-ins) once they can no longer change an answer; the sweeper calls it every minute.
    pub fn forget_idle(&self) {
        let now = self.now();
        self.limiters.forget_idle();
        self.lookups.forget_idle(now);
        self.login_throttle.forget_idle(now);
    }

    /// Today in Asia/Shanghai, the day deadlines are measured against.
    pub fn today(&self) -> chrono::NaiveDate {
        crate::services::deadlines::today(self.now())
    }
}

/// The language of this request: `?lang=` first, then Accept-Language, then Chinese.
pub fn lang_of(req: &HttpRequest) -> Lang {
    let query = req
        .query_string()
        .split('&')
        .find_map(|pair| pair.strip_prefix("lang="));
    let accept = req
        .headers()
        .get(actix_web::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    Lang::negotiate(query, accept)
}

pub fn page(req: &HttpRequest) -> Surface {
    Surface::Page(lang_of(req))
}

pub fn api(req: &HttpRequest) -> Surface {
    Surface::Api(lang_of(req))
}

/// The client's address, used only as an in-memory rate-limit key and never stored or
/// logged. X-Forwarded-For is believed only from a configured trusted proxy, and then the
/// rightmost address that is not itself a trusted proxy is the client.
pub fn client_addr(req: &HttpRequest, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    forwarded
        .iter()
        .rev()
        .filter_map(|s| s.parse::<IpAddr>().ok())
        .find(|ip| !trusted.contains(ip))
        .or(Some(peer))
}

/// The client as the flood shares count it, kept in memory only (see `ClientKey`).
pub fn source_of(req: &HttpRequest, state: &AppState) -> crate::domain::ClientKey {
    crate::domain::ClientKey::of(client_addr(req, &state.settings.server.trusted_proxies))
}

/// 200 when the database answers, 503 otherwise.
pub async fn health(state: actix_web::web::Data<AppState>) -> actix_web::HttpResponse {
    match state.db.ping().await {
        Ok(()) => actix_web::HttpResponse::Ok().json(serde_json::json!({"status": "ok"})),
        Err(_) => actix_web::HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({"status": "database unavailable"})),
    }
}

/// Prometheus text for the outbox: failed and unsent row counts, no labels. Answered only
/// to a scraper on this machine that came through no proxy: the pending count moves when a
/// report arrives, and the public must not be able to watch it.
pub async fn metrics(
    req: HttpRequest,
    state: actix_web::web::Data<AppState>,
) -> actix_web::HttpResponse {
    let local = req.peer_addr().is_some_and(|peer| peer.ip().is_loopback());
    let proxied = ["x-forwarded-for", "forwarded", "x-real-ip"]
        .iter()
        .any(|h| req.headers().contains_key(*h));
    if !local || proxied {
        return actix_web::HttpResponse::NotFound().finish();
    }
    let counts = async {
        Ok::<_, crate::services::ServiceError>((
            crate::services::outbox::failed_count(&state.db).await?,
            crate::services::outbox::pending_count(&state.db).await?,
        ))
    };
    match counts.await {
        Ok((failed, pending)) => actix_web::HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(format!(
                "# HELP tipoff_outbox_failed Notifications that gave up after their last attempt.\n\
                 # TYPE tipoff_outbox_failed gauge\n\
                 tipoff_outbox_failed {failed}\n\
                 # HELP tipoff_outbox_pending Notifications waiting to be sent.\n\
                 # TYPE tipoff_outbox_pending gauge\n\
                 tipoff_outbox_pending {pending}\n\
                 # HELP tipoff_track_failed_lookups_total Tracking-code lookups that found nothing.\n\
                 # TYPE tipoff_track_failed_lookups_total counter\n\
                 tipoff_track_failed_lookups_total {failed_lookups}\n\
                 # HELP tipoff_public_submissions_total Reports stored from the public form and API (not logged one by one).\n\
                 # TYPE tipoff_public_submissions_total counter\n\
                 tipoff_public_submissions_total {submissions}\n\
                 # HELP tipoff_public_replies_total Reporters' answers stored (not logged one by one).\n\
                 # TYPE tipoff_public_replies_total counter\n\
                 tipoff_public_replies_total {replies}\n\
                 # HELP tipoff_public_unstored_total Public submissions and answers that stored nothing (refused, or asked to confirm).\n\
                 # TYPE tipoff_public_unstored_total counter\n\
                 tipoff_public_unstored_total {unstored}\n",
                failed_lookups = state.lookups.failed_total(),
                submissions = state.public_counts.submissions(),
                replies = state.public_counts.replies(),
                unstored = state.public_counts.others(),
            )),
        Err(e) => {
            tracing::error!(error = %e, "metrics: database");
            actix_web::HttpResponse::ServiceUnavailable().finish()
        }
    }
}
