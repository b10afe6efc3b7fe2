//! What a reporter can do with their tracking code: read their report's progress and the
//! inspectors' questions, and answer them. Unknown and malformed codes cost the same work.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{DatabaseConnection, EntityTrait};

use super::ServiceError;
use super::access::{Tracked, find_nothing, find_with_messages, status_of, tracked_dek};
use super::cases::{self, ReplyOutcome};
use crate::crypto::{Dek, Keyring};
use crate::domain::{Status, TrackingCode, TrackingCodeError, local_day};
use crate::entities::report;
use crate::sqlite_reads::SqliteReads;

/// What a reporter may learn about their report with its tracking code.
#[derive(Debug, Clone)]
pub struct Progress {
    pub status: Status,
    pub updated_on: NaiveDate,
    /// The inspectors' questions and the reporter's answers, oldest first.
    pub messages: Vec<ProgressMessage>,
    /// Whether the reporter may answer now: once asked, while the case is being worked.
    pub can_reply: bool,
    /// What the inspectors told the reporter when they closed the case.
    pub feedback: Option<String>,
    /// Why the report was not accepted (不予受理), once it was not.
    pub not_accepted_reason: Option<String>,
    /// For a report merged into another case: that case's progress. The feedback and the
    /// reason are then that case's: the reporter learns how the matter ended.
    pub merged_case: Option<CaseProgress>,
}

/// Where the case a report was merged into stands (nothing of its own conversation).
#[derive(Debug, Clone, Copy)]
pub struct CaseProgress {
    pub status: Status,
    pub updated_on: NaiveDate,
}

#[derive(Debug, Clone)]
pub struct ProgressMessage {
    pub from_inspector: bool,
    pub text: String,
    pub at: NaiveDate,
}

/// What a lookup came to.
pub enum Lookup {
    Found(Progress),
    /// Unknown, or not 16 digits: the same answer either way.
    NotFound,
    /// A typo caught by the check digit: it reveals nothing about other codes.
    CheckDigit,
}

/// Looks up a code as the reporter typed it.
pub async fn look_up(
    db: &DatabaseConnection,
    reads: &SqliteReads,
    keyring: &Keyring,
    typed: &str,
) -> Result<Lookup, ServiceError> {
    Ok(match TrackingCode::parse(typed) {
        Ok(code) => track(db, reads, keyring, &code)
            .await?
            .map_or(Lookup::NotFound, Lookup::Found),
        Err(TrackingCodeError::CheckDigit) => Lookup::CheckDigit,
        Err(TrackingCodeError::Malformed) => {
            find_nothing(db, reads, keyring).await?;
            Lookup::NotFound
        }
    })
}

/// What became of a reporter's answer; but for an unknown code, with the progress to show.
pub enum Replied {
    Stored(Progress),
    NotFound,
    CheckDigit,
    /// Nobody has asked anything yet, or the case is no longer being worked.
    NotAllowed(Progress),
    /// The text is empty or too long: the catalog key of the reason.
    Invalid(&'static str, Progress),
}

/// The reporter answers the inspectors, with the code as typed.
pub async fn reply(
    db: &DatabaseConnection,
    reads: &SqliteReads,
    keyring: &Keyring,
    typed: &str,
    text: &str,
    now: DateTime<Utc>,
) -> Result<Replied, ServiceError> {
    let code = match TrackingCode::parse(typed) {
        Ok(code) => code,
        Err(TrackingCodeError::CheckDigit) => return Ok(Replied::CheckDigit),
        Err(TrackingCodeError::Malformed) => {
            find_nothing(db, reads, keyring).await?;
            return Ok(Replied::NotFound);
        }
    };
    let outcome = cases::reporter_reply(db, keyring, &code, text, now).await?;
    let progress = track(db, reads, keyring, &code).await?;
    Ok(match (outcome, progress) {
        (_, None) | (ReplyOutcome::NotFound, _) => Replied::NotFound,
        (ReplyOutcome::Stored, Some(p)) => Replied::Stored(p),
        (ReplyOutcome::NotAllowed, Some(p)) => Replied::NotAllowed(p),
        (ReplyOutcome::Invalid(key), Some(p)) => Replied::Invalid(key, p),
    })
}

/// Looks a report up by its tracking code.
pub async fn track(
    db: &DatabaseConnection,
    reads: &SqliteReads,
    keyring: &Keyring,
    code: &TrackingCode,
) -> Result<Option<Progress>, ServiceError> {
    let Some((found, messages)) = find_with_messages(db, reads, keyring, code).await? else {
        return Ok(None);
    };
    let status = status_of(&found.status);
    let merged = match status {
        Status::Merged => case_merged_into(db, &found).await?.map(Tracked::from),
        _ => None,
    };
    let merged_case = merged.as_ref().map(|case| CaseProgress {
        status: status_of(&case.status),
        updated_on: updated_on(case),
    });
    let decided_case = merged.as_ref().unwrap_or(&found);
    let decided_status = status_of(&decided_case.status);
    // The data key opens messages, the reason and the feedback: with none of them, the
    // answer needs no key at all.
    if messages.is_empty() && !has_decision(decided_status) {
        return Ok(Some(Progress {
            status,
            updated_on: updated_on(&found),
            messages: Vec::new(),
            can_reply: false,
            feedback: None,
            not_accepted_reason: None,
            merged_case,
        }));
    }
    let dek = tracked_dek(keyring, &found)?;
    let conversation = cases::open_conversation(&dek, found.anonymous, messages)?;
    let can_reply = cases::reply_allowed(status, &conversation);
    let messages = conversation
        .into_iter()
        .map(|m| ProgressMessage {
            from_inspector: m.from_inspector,
            text: m.text.to_string(),
            at: local_day(m.at),
        })
        .collect();
    let (feedback, not_accepted_reason) = match &merged {
        _ if !has_decision(decided_status) => (None, None),
        Some(case) => decision(db, &tracked_dek(keyring, case)?, case).await?,
        None => decision(db, &dek, &found).await?,
    };
    Ok(Some(Progress {
        status,
        updated_on: updated_on(&found),
        messages,
        can_reply,
        feedback,
        not_accepted_reason,
        merged_case,
    }))
}

/// The day a case last changed status, or arrived.
fn updated_on(case: &Tracked) -> NaiveDate {
    case.status_changed_at
        .map(local_day)
        .unwrap_or(case.received_on)
}

/// Whether the inspectors have told the reporter something sealed: the reason a report was
/// not accepted, or the closing feedback (a case not accepted and then closed has both).
fn has_decision(status: Status) -> bool {
    matches!(status, Status::NotAccepted | Status::Closed)
}

/// The closing feedback and the reason for not accepting, opened with the case's key.
async fn decision(
    db: &DatabaseConnection,
    dek: &Dek,
    case: &Tracked,
) -> Result<(Option<String>, Option<String>), ServiceError> {
    let said = async |when: Status| -> Result<Option<String>, ServiceError> {
        let text = cases::status_detail(db, dek, case.id, when).await?;
        Ok(text.map(|text| text.to_string()))
    };
    let feedback = match status_of(&case.status) {
        Status::Closed => said(Status::Closed).await?,
        _ => None,
    };
    Ok((feedback, said(Status::NotAccepted).await?))
}

/// The case a merged report ended up in, following a merged case's own merge (a few steps
/// at most: a merge never targets a merged case, but the target may be merged later).
async fn case_merged_into(
    db: &DatabaseConnection,
    report: &Tracked,
) -> Result<Option<report::Model>, ServiceError> {
    let mut next = report.merged_into;
    let mut found = None;
    for _ in 0..8 {
        let Some(id) = next else { break };
        let Some(case) = report::Entity::find_by_id(id).one(db).await? else {
            break;
        };
        next = case.merged_into;
        found = Some(case);
    }
    Ok(found)
}
