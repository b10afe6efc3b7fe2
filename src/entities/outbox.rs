//! A notification waiting to be sent, being sent, sent or failed: one recipient per row.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub report_id: Option<Uuid>,
    pub kind: String,
    pub recipient_group: String,
    pub recipient: String,
    /// The Message-ID header, fixed when the row is written, so a resend is the same mail.
    pub message_id: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    /// `pending`, `claimed`, `sent` or `failed`.
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub claimed_at: Option<DateTimeUtc>,
    pub claimed_by: Option<String>,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
}

super::standalone_table!();
