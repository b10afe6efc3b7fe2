//! The guard around tracking codes, shared by the status page and the API: the per-client
//! budget, the growing wait after failed lookups, and recording what each lookup came to.

use std::net::IpAddr;
use std::time::Duration;

use actix_web::HttpRequest;

use super::middleware::rate_limit::RouteClass;
use super::{AppState, client_addr};
use crate::error::{AppError, ErrorKind};
use crate::services::tracking::{self, Lookup, Replied};

/// Looks a code up for this client.
pub async fn look_up(req: &HttpRequest, state: &AppState, typed: &str) -> Result<Lookup, AppError> {
    let client = guard(req, state)?;
    let lookup = tracking::look_up(&state.db, &state.keyring, typed).await?;
    match lookup {
        Lookup::Found(_) => state.lookups.succeeded(client),
        Lookup::NotFound => state.lookups.failed(client, state.now()),
        // A typo caught by the check digit reveals nothing about other codes.
        Lookup::CheckDigit => {}
    }
    Ok(lookup)
}

/// Stores this client's answer to the inspectors.
pub async fn reply(
    req: &HttpRequest,
    state: &AppState,
    typed: &str,
    text: &str,
) -> Result<Replied, AppError> {
    let client = guard(req, state)?;
    let replied = tracking::reply(&state.db, &state.keyring, typed, text, state.now()).await?;
    if let Replied::NotFound = replied {
        state.lookups.failed(client, state.now());
    }
    Ok(replied)
}

/// The per-client budget and the growing wait after failed lookups.
fn guard(req: &HttpRequest, state: &AppState) -> Result<Option<IpAddr>, AppError> {
    let client = client_addr(req, &state.settings.server.trusted_proxies);
    if let Err(wait) = state.limiters.check(RouteClass::Track, client) {
        return Err(AppError::bare(ErrorKind::RateLimited(wait)));
    }
    let wait = state.lookups.wait(client, state.now());
    if wait > 0 {
        let wait = Duration::from_secs(wait.unsigned_abs());
        return Err(AppError::bare(ErrorKind::RateLimited(wait)));
    }
    Ok(client)
}
