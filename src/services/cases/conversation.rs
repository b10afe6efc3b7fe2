//! The conversation with the reporter: inspectors ask, the reporter answers with their
//! tracking code, and both read it back.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::workflow::{CaseCommand, Workable};
use super::{event_detail, message_body};
use crate::crypto::{Dek, Keyring};
use crate::domain::{
    Status, TrackingCode, conversation_open, local_day, required_text, start_of_day,
};
use crate::entities::{message, report, report_event};
use crate::services::ServiceError;
use crate::services::access::{find_by_code, report_dek, status_of};
use crate::services::audit::{self, AuditAction, AuditRecord};

/// What the reporter's answer came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyOutcome {
    Stored,
    /// No report has this code.
    NotFound,
    /// Nobody has asked anything yet, or the case is closed or merged.
    NotAllowed,
    /// The text is empty or too long; the catalog key of the reason.
    Invalid(&'static str),
}

/// Asks the reporter something; they read it with their tracking code and may then answer.
/// Returns the message's id.
pub async fn ask_reporter(cmd: CaseCommand<'_>, text: &str) -> Result<Uuid, ServiceError> {
    let workable = Workable::find(cmd).await?;
    let before = &workable.before;
    let text = required_text(text).map_err(ServiceError::Invalid)?;
    if !conversation_open(status_of(&before.status)) {
        return Err(ServiceError::Invalid("error.case_closed"));
    }
    let detail = format!("case {}: message to the reporter", before.case_number);
    let work = workable.begin(AuditAction::Message, &detail).await?;
    if !conversation_open(status_of(&work.case.status)) {
        return Err(ServiceError::Invalid("error.case_closed"));
    }
    let message_id = insert_message(
        &work.txn,
        &work.dek,
        cmd.id,
        Some(cmd.caller.viewer.user_id),
        cmd.caller.now,
        text,
    )
    .await?;
    work.commit().await?;
    Ok(message_id)
}

/// Stores a message of the conversation, sealed with the report's key: an inspector's
/// (`author`) or the reporter's (none). Returns its id.
async fn insert_message<C: ConnectionTrait>(
    txn: &C,
    dek: &Dek,
    report_id: Uuid,
    author: Option<Uuid>,
    at: DateTime<Utc>,
    text: &str,
) -> Result<Uuid, ServiceError> {
    let id = Uuid::new_v4();
    message::ActiveModel {
        id: Set(id),
        report_id: Set(report_id),
        from_inspector: Set(author.is_some()),
        author_id: Set(author),
        at: Set(at),
        body: Set(message_body(dek, id).seal("body", text)?),
        read_at: Set(None),
    }
    .insert(txn)
    .await?;
    Ok(id)
}

/// A message of the conversation with the reporter, decrypted.
pub(crate) struct ConversationMessage {
    pub from_inspector: bool,
    pub at: DateTime<Utc>,
    pub text: Zeroizing<String>,
}

/// Opens a report's messages, read already (with the report, by a tracking-code lookup),
/// in the order the conversation shows them.
pub(crate) fn open_conversation(
    dek: &Dek,
    anonymous: bool,
    mut messages: Vec<message::Model>,
) -> Result<Vec<ConversationMessage>, ServiceError> {
    sort_messages(anonymous, &mut messages);
    messages
        .into_iter()
        .map(|m| {
            Ok(ConversationMessage {
                text: message_body(dek, m.id).open("body", &m.body)?,
                from_inspector: m.from_inspector,
                at: m.at,
            })
        })
        .collect()
}

/// The reporter may answer once an inspector has asked something, until the case is closed
/// or merged.
pub(crate) fn reply_allowed(status: Status, conversation: &[ConversationMessage]) -> bool {
    conversation_open(status) && conversation.iter().any(|m| m.from_inspector)
}

/// What the inspectors wrote when the case last entered `status`: the closing feedback for
/// `Closed`, the reason for `NotAccepted`.
pub(crate) async fn status_detail<C: ConnectionTrait>(
    db: &C,
    dek: &Dek,
    report_id: Uuid,
    status: Status,
) -> Result<Option<Zeroizing<String>>, ServiceError> {
    let entered = report_event::Entity::find()
        .filter(report_event::Column::ReportId.eq(report_id))
        .filter(report_event::Column::Kind.eq("status"))
        .filter(report_event::Column::ToStatus.eq(status.code()))
        .order_by_desc(report_event::Column::At)
        .one(db)
        .await?;
    entered
        .and_then(|e| e.detail.map(|d| (e.id, d)))
        .map(|(event_id, d)| event_detail(dek, event_id).open("detail", &d))
        .transpose()
}

/// The reporter answers the inspectors with their tracking code. An anonymous reporter's
/// answer is stored with its date only, like the report itself.
pub async fn reporter_reply(
    db: &DatabaseConnection,
    keyring: &Keyring,
    code: &TrackingCode,
    text: &str,
    now: DateTime<Utc>,
) -> Result<ReplyOutcome, ServiceError> {
    let Some(before) = find_by_code(db, keyring, code).await? else {
        return Ok(ReplyOutcome::NotFound);
    };
    let text = match required_text(text) {
        Ok(text) => text,
        Err(key) => return Ok(ReplyOutcome::Invalid(key)),
    };
    if !may_reply(db, &before).await? {
        return Ok(ReplyOutcome::NotAllowed);
    }
    let detail = format!("reporter replied on case {}", before.case_number);
    // A reporter's own action keeps its date only, in the audit log as everywhere.
    let record = AuditRecord::new(None, AuditAction::Message, Some(before.id), &detail);
    let txn = audit::begin(db, keyring, record, start_of_day(now)).await?;
    let Some(current) = report::Entity::find_by_id(before.id).one(&txn).await? else {
        return Ok(ReplyOutcome::NotFound);
    };
    if !may_reply(&txn, &current).await? {
        return Ok(ReplyOutcome::NotAllowed);
    }
    let dek = report_dek(keyring, &current)?;
    let at = if current.anonymous {
        start_of_day(now)
    } else {
        now
    };
    insert_message(&txn, &dek, current.id, None, at, text).await?;
    txn.commit().await?;
    Ok(ReplyOutcome::Stored)
}

/// The reply rule of `reply_allowed`, without decrypting the conversation.
async fn may_reply<C: ConnectionTrait>(
    db: &C,
    found: &report::Model,
) -> Result<bool, ServiceError> {
    if !conversation_open(status_of(&found.status)) {
        return Ok(false);
    }
    Ok(message::Entity::find()
        .select_only()
        .column(message::Column::Id)
        .filter(message::Column::ReportId.eq(found.id))
        .filter(message::Column::FromInspector.eq(true))
        .into_tuple::<Uuid>()
        .one(db)
        .await?
        .is_some())
}

/// A report's messages in the order they were written. An anonymous reporter's answer is
/// stored at midnight of its day, so it sorts after the inspectors' messages of that day
/// (an answer always follows a question).
pub(super) async fn sorted_messages<C: ConnectionTrait>(
    db: &C,
    report: &report::Model,
) -> Result<Vec<message::Model>, ServiceError> {
    let mut messages = message::Entity::find()
        .filter(message::Column::ReportId.eq(report.id))
        .order_by_asc(message::Column::At)
        .all(db)
        .await?;
    sort_messages(report.anonymous, &mut messages);
    Ok(messages)
}

/// By day; within a day an anonymous reporter's answers (kept at the day only) after the
/// inspectors' questions.
fn sort_messages(anonymous: bool, messages: &mut [message::Model]) {
    let day_only = |m: &message::Model| anonymous && !m.from_inspector;
    messages.sort_by_key(|m| (local_day(m.at), day_only(m), m.at));
}
