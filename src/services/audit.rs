//! The append-only audit log: sequence numbers, an HMAC chain keyed from the keyring,
//! serialized appends, and verification that names the first broken entry.

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use super::ServiceError;
use crate::crypto::Keyring;

/// What an audit entry records. `code()` is what is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    OpenCase,
    StatusChange,
    Message,
    Note,
    Assign,
    Recuse,
    Login,
    LoginFailed,
    Logout,
    UserChange,
    FilingChange,
    Export,
    CaseEvent,
    OpenAttachment,
}

impl AuditAction {
    pub fn code(self) -> &'static str {
        match self {
            AuditAction::OpenCase => "open_case",
            AuditAction::StatusChange => "status_change",
            AuditAction::Message => "message",
            AuditAction::Note => "note",
            AuditAction::Assign => "assign",
            AuditAction::Recuse => "recuse",
            AuditAction::Login => "login",
            AuditAction::LoginFailed => "login_failed",
            AuditAction::Logout => "logout",
            AuditAction::UserChange => "user_change",
            AuditAction::FilingChange => "filing_change",
            AuditAction::Export => "export",
            AuditAction::CaseEvent => "case_event",
            AuditAction::OpenAttachment => "open_attachment",
        }
    }
}

/// One thing to record. `detail` is free text for staff eyes and must never carry report
/// content, a reporter's identity, a tracking code or a client address.
#[derive(Debug, Clone)]
pub struct AuditRecord<'a> {
    pub actor: Option<Uuid>,
    pub action: AuditAction,
    pub report: Option<Uuid>,
    pub detail: &'a str,
}

/// Appends an entry inside the caller's transaction and returns its sequence number.
/// Call it first in a transaction: its update of the chain head takes the write lock.
pub async fn append<C: ConnectionTrait>(
    db: &C,
    keyring: &Keyring,
    record: AuditRecord<'_>,
    now: DateTime<Utc>,
) -> Result<i64, ServiceError> {
    // Stub until the audit chain lands.
    let _ = (db, keyring, record, now);
    Ok(0)
}
