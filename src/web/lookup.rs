//! The guard around tracking codes, shared by the status page and the API: the per-client
//! budget, the growing wait after failed lookups (counted across hits, forgotten only with
//! time), and recording what each lookup came to.

use std::net::IpAddr;
use std::time::Duration;

use super::Visit;
use super::middleware::rate_limit::RouteClass;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{AppError, ErrorKind};
use crate::i18n::Catalog;
use crate::services::tracking::{self, Lookup, Progress, Replied};

/// Looks a code up for this client.
pub async fn look_up(visit: &Visit, typed: &str) -> Result<Lookup, AppError> {
    let (client, state) = (guard(visit)?, &visit.state);
    let lookup = tracking::look_up(&state.db, &state.reads, &state.keyring, typed).await?;
    // A hit forgives nothing: a guesser holding one real code of their own could otherwise
    // look it up between guesses and never meet a wait. Only time forgets failures.
    // A typo caught by the check digit reveals nothing about other codes.
    if let Lookup::NotFound = lookup {
        state.lookups.failed(client, state.now());
    }
    Ok(lookup)
}

/// Stores this client's answer to the inspectors.
pub async fn reply(visit: &Visit, typed: &str, text: &str) -> Result<Replied, AppError> {
    let (client, state) = (guard(visit)?, &visit.state);
    let replied = tracking::reply(
        &state.db,
        &state.reads,
        &state.keyring,
        typed,
        text,
        state.now(),
    )
    .await?;
    if let Replied::NotFound = replied {
        state.lookups.failed(client, state.now());
    }
    Ok(replied)
}

/// The per-client budget and the growing wait after failed lookups.
fn guard(visit: &Visit) -> Result<Option<IpAddr>, AppError> {
    let (client, state) = (visit.client(), &visit.state);
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

/// A report's progress as the reporter sees it: the API's answer, and what the status page
/// shows.
#[derive(Serialize, ToSchema)]
pub struct TrackAnswer {
    /// received | accepted | not_accepted | verifying | concluded | closed | merged
    pub status: &'static str,
    /// The status in the request's language.
    pub status_text: &'static str,
    /// The date of the last change (Asia/Shanghai), YYYY-MM-DD.
    pub updated_at: String,
    pub messages: Vec<TrackMessage>,
    pub can_reply: bool,
    /// Once the case is closed: what the inspectors tell the reporter about its outcome.
    /// Null until then.
    pub feedback: Option<String>,
    /// Once the report was not accepted (不予受理): the reason the inspectors gave. Null
    /// otherwise.
    pub not_accepted_reason: Option<String>,
    /// Once the report was merged into another case handling the same matter: where that
    /// case stands. `feedback` and `not_accepted_reason` are then that case's. Null
    /// otherwise.
    pub merged_case: Option<MergedCase>,
}

#[derive(Serialize, ToSchema)]
pub struct MergedCase {
    /// received | accepted | not_accepted | verifying | concluded | closed
    pub status: &'static str,
    /// The status in the request's language.
    pub status_text: &'static str,
    /// The date of its last change (Asia/Shanghai), YYYY-MM-DD.
    pub updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct TrackMessage {
    /// inspector | reporter
    pub from: &'static str,
    pub text: String,
    pub at: String,
}

impl TrackAnswer {
    pub fn new(progress: Progress, t: &'static Catalog) -> TrackAnswer {
        TrackAnswer {
            status: progress.status.code(),
            status_text: t.label("status", progress.status.code()),
            updated_at: progress.updated_on.to_string(),
            messages: progress
                .messages
                .into_iter()
                .map(|m| TrackMessage {
                    from: if m.from_inspector {
                        "inspector"
                    } else {
                        "reporter"
                    },
                    text: m.text,
                    at: m.at.to_string(),
                })
                .collect(),
            can_reply: progress.can_reply,
            feedback: progress.feedback,
            not_accepted_reason: progress.not_accepted_reason,
            merged_case: progress.merged_case.map(|case| MergedCase {
                status: case.status.code(),
                status_text: t.label("status", case.status.code()),
                updated_at: case.updated_on.to_string(),
            }),
        }
    }
}
