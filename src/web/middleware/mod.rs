//! Middleware: security headers, the request log (and the counts kept instead of it for
//! public submissions and answers), the surface of errors, per-client rate limits and the
//! pause before a refusal.

pub mod abuse;
pub mod backoff;
pub mod rate_limit;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::{DefaultHeaders, Next};
use actix_web::{HttpResponse, http::Method, web};

use crate::error::{AppError, Surface};

/// Headers every response carries. The CSP allows nothing from another origin and no
/// inline script; HSTS is sent in production only (development runs on plain HTTP).
pub fn security_headers(hsts: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add((
            "Content-Security-Policy",
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        ))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "no-referrer"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
        .add(("Cross-Origin-Resource-Policy", "same-origin"))
        .add((
            "Permissions-Policy",
            "camera=(), microphone=(), geolocation=(), interest-cohort=()",
        ));
    if hsts {
        headers.add((
            "Strict-Transport-Security",
            "max-age=31536000; includeSubDomains",
        ))
    } else {
        headers
    }
}

/// The public routes (all `POST`) whose requests are counted, never logged one by one: a
/// line with its time for each accepted report would be its time of day (the nth success is
/// the nth case number), and a refusal or a confirmation asked for just before is as telling.
const COUNTED_ROUTES: [&str; 4] = [
    "/report",
    "/api/v1/reports",
    "/track/reply",
    "/api/v1/track/reply",
];

/// What a counted public request achieved, set on its response by the handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// A report was stored.
    Submission,
    /// A reporter's answer was stored.
    Reply,
}

/// Marks a response as the success of a counted public request.
pub fn counted(mut response: HttpResponse, what: Counted) -> HttpResponse {
    response.extensions_mut().insert(what);
    response
}

/// The counts kept instead of request lines for the public submission and answer routes,
/// since the start of this instance (in memory only).
#[derive(Debug, Default)]
pub struct PublicCounts {
    submissions: AtomicU64,
    replies: AtomicU64,
    others: AtomicU64,
}

impl PublicCounts {
    fn record(&self, what: Option<Counted>) {
        let counter = match what {
            Some(Counted::Submission) => &self.submissions,
            Some(Counted::Reply) => &self.replies,
            None => &self.others,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Reports stored.
    pub fn submissions(&self) -> u64 {
        self.submissions.load(Ordering::Relaxed)
    }

    /// Reporters' answers stored.
    pub fn replies(&self) -> u64 {
        self.replies.load(Ordering::Relaxed)
    }

    /// Requests to those routes that stored nothing (refused, or asked to confirm).
    pub fn others(&self) -> u64 {
        self.others.load(Ordering::Relaxed)
    }
}

/// Logs method, route pattern, status and latency — never the path as sent (it may carry a
/// site token), the client address, the user agent or anything from the body. Public
/// submissions and answers are counted instead (`COUNTED_ROUTES`).
pub async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let start = Instant::now();
    let method = req.method().clone();
    let res = next.call(req).await?;
    let route = res.request().match_pattern();
    if method == Method::POST
        && route
            .as_deref()
            .is_some_and(|r| COUNTED_ROUTES.contains(&r))
    {
        if let Some(state) = res.request().app_data::<web::Data<crate::web::AppState>>() {
            let what = res.response().extensions().get::<Counted>().copied();
            state.public_counts.record(what);
        }
        return Ok(res);
    }
    tracing::info!(
        method = %method,
        route = route.as_deref().unwrap_or("(unmatched)"),
        status = res.status().as_u16(),
        latency_ms = start.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    Ok(res)
}

/// Sends every refusal (429) only after the refusal pause (see `rate_limit::RefusalPause`),
/// whichever route or limit refused it: a client flooding one route cannot take the
/// processor from the others.
pub async fn pause_refusals(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let state = req.app_data::<web::Data<crate::web::AppState>>().cloned();
    let res = next.call(req).await?;
    if res.status() == actix_web::http::StatusCode::TOO_MANY_REQUESTS
        && let Some(state) = state
    {
        state.limiters.pause.hold().await;
    }
    Ok(res)
}

/// Gives every error raised without a surface (a service error passed on with `?`) the one
/// its scope answers in: JSON under `/api/`, a page everywhere else, in the request's
/// language. The one place that decides it.
pub async fn surface_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let lang = crate::web::lang_of(req.request());
    let surface = if req.path().starts_with("/api/") {
        Surface::Api(lang)
    } else {
        Surface::Page(lang)
    };
    let res = next.call(req).await?;
    let unset = res
        .response()
        .error()
        .and_then(|e| e.as_error::<AppError>())
        .filter(|e| e.surface.is_none())
        .map(|e| {
            e.log();
            e.respond(surface)
        });
    Ok(match unset {
        Some(answer) => res.into_response(answer).map_into_right_body(),
        None => res.map_into_left_body(),
    })
}
