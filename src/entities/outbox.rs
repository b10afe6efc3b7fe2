//! A notification waiting to be sent, being sent, sent or failed: one recipient per row.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The case it is about, if any; the mail itself carries no report content.
    pub report_id: Option<Uuid>,
    /// What the mail is: new case, escalation, digest…
    pub kind: String,
    /// The routing group it was sent for.
    pub recipient_group: String,
    /// One address per row.
    pub recipient: String,
    /// The Message-ID header, fixed when the row is written, so a resend is the same mail.
    pub message_id: String,
    /// Content-free subject and bodies: a case number and a link, never what was reported.
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    /// `pending`, `claimed`, `sent` or `failed`.
    pub state: String,
    /// Sends tried so far; the worker backs off until `next_attempt_at`.
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    /// Which worker holds the row, and since when, so a crashed worker's claim expires.
    pub claimed_at: Option<DateTimeUtc>,
    pub claimed_by: Option<String>,
    /// The SMTP error of the last failed attempt.
    pub last_error: Option<String>,
    /// When it was queued; a new report's mail is queued at the start of its day, so no
    /// outbox time tells when a reporter acted.
    pub created_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
}

super::standalone_table!();
