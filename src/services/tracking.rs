//! What a reporter can do with their tracking code: read their report's progress and the
//! inspectors' questions, and answer them. Unknown and malformed codes cost the same work.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::DatabaseConnection;

use super::ServiceError;
use super::access::{find_nothing, find_with_messages, report_dek, status_of};
use super::cases::{self, ReplyOutcome};
use crate::crypto::Keyring;
use crate::domain::{Status, TrackingCode, TrackingCodeError, local_day};

/// What a reporter may learn about their report with its tracking code.
#[derive(Debug, Clone)]
pub struct Progress {
    pub status: Status,
    pub updated_on: NaiveDate,
    /// The inspectors' questions and the reporter's answers, oldest first.
    pub messages: Vec<ProgressMessage>,
    /// Whether the reporter may answer now: once asked, until the case is closed or merged.
    pub can_reply: bool,
    /// What the inspectors told the reporter when they closed the case.
    pub feedback: Option<String>,
    /// Why the report was not accepted (不予受理), once it was not.
    pub not_accepted_reason: Option<String>,
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
    keyring: &Keyring,
    typed: &str,
) -> Result<Lookup, ServiceError> {
    Ok(match TrackingCode::parse(typed) {
        Ok(code) => track(db, keyring, &code)
            .await?
            .map_or(Lookup::NotFound, Lookup::Found),
        Err(TrackingCodeError::CheckDigit) => Lookup::CheckDigit,
        Err(TrackingCodeError::Malformed) => {
            find_nothing(db, keyring).await?;
            Lookup::NotFound
        }
    })
}

/// What became of a reporter's answer; but for an unknown code, with the progress to show.
pub enum Replied {
    Stored(Progress),
    NotFound,
    CheckDigit,
    /// Nobody has asked anything yet, or the case is closed or merged.
    NotAllowed(Progress),
    /// The text is empty or too long: the catalog key of the reason.
    Invalid(&'static str, Progress),
}

/// The reporter answers the inspectors, with the code as typed.
pub async fn reply(
    db: &DatabaseConnection,
    keyring: &Keyring,
    typed: &str,
    text: &str,
    now: DateTime<Utc>,
) -> Result<Replied, ServiceError> {
    let code = match TrackingCode::parse(typed) {
        Ok(code) => code,
        Err(TrackingCodeError::CheckDigit) => return Ok(Replied::CheckDigit),
        Err(TrackingCodeError::Malformed) => {
            find_nothing(db, keyring).await?;
            return Ok(Replied::NotFound);
        }
    };
    let outcome = cases::reporter_reply(db, keyring, &code, text, now).await?;
    let progress = track(db, keyring, &code).await?;
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
    keyring: &Keyring,
    code: &TrackingCode,
) -> Result<Option<Progress>, ServiceError> {
    let Some((found, messages)) = find_with_messages(db, keyring, code).await? else {
        return Ok(None);
    };
    let status = status_of(&found.status);
    let updated_on = found
        .status_changed_at
        .map(local_day)
        .unwrap_or(found.received_on);
    let closed = status == Status::Closed;
    // A report not accepted and then closed shows both the reason and the feedback.
    let refused = status == Status::NotAccepted || closed;
    // The data key opens messages, the reason and the feedback: with none of them, the
    // answer needs no key at all.
    if messages.is_empty() && !closed && !refused {
        return Ok(Some(Progress {
            status,
            updated_on,
            messages: Vec::new(),
            can_reply: false,
            feedback: None,
            not_accepted_reason: None,
        }));
    }
    let dek = report_dek(keyring, &found)?;
    let conversation = cases::open_conversation(&dek, &found, messages)?;
    let can_reply = cases::reply_allowed(status, &conversation);
    let messages = conversation
        .into_iter()
        .map(|m| ProgressMessage {
            from_inspector: m.from_inspector,
            text: m.text.to_string(),
            at: local_day(m.at),
        })
        .collect();
    let said = async |shown: bool, when: Status| -> Result<Option<String>, ServiceError> {
        if !shown {
            return Ok(None);
        }
        let text = cases::status_detail(db, &dek, found.id, when).await?;
        Ok(text.map(|text| text.to_string()))
    };
    Ok(Some(Progress {
        status,
        updated_on,
        messages,
        can_reply,
        feedback: said(closed, Status::Closed).await?,
        not_accepted_reason: said(refused, Status::NotAccepted).await?,
    }))
}
