//! The daily digest: cases due soon or overdue, to the discipline post with the audit log's
//! head, and to each inspector for their own cases; written to the outbox once a day.

use std::collections::HashSet;
use std::fmt::Write as _;

use chrono::{DateTime, Timelike, Utc};
use chrono_tz::Asia::Shanghai;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, TransactionTrait,
};
use uuid::Uuid;

use super::ServiceError;
use super::audit;
use super::cases::{self, OverdueMeasure};
use super::deadlines::{self, Deadlines, DueCase};
use super::outbox::{self, Batch, NewMail, Recipient, Worker};
use super::routing::Routing;
use crate::config::DISCIPLINE_POST;
use crate::domain::Role;
use crate::entities::{digest, user, user_role};
use crate::mail::{AuditMark, DigestCase, DigestFor, DigestMeasure, Rendered};

/// The outbox kind of a daily digest.
pub const KIND_DIGEST: &str = "digest";

/// The recipient group of a digest sent to a staff member's own mailbox.
pub const ASSIGNEE_GROUP: &str = "assignee";

/// What the outbox task does on every tick: today's digests if they are due and not
/// yet written (by any instance), then one batch. A digest that cannot be written is
/// logged and tried again next tick; it never holds up the mail already waiting.
pub async fn tick(
    worker: &Worker,
    db: &DatabaseConnection,
    routing: &Routing,
    deadlines: &Deadlines,
    now: DateTime<Utc>,
) -> Result<Batch, ServiceError> {
    match enqueue_digests(db, routing, deadlines, worker.digest_hour(), now).await {
        Ok(DigestRun::Written(rows)) => tracing::info!(rows, "daily digest written"),
        Ok(DigestRun::TooEarly | DigestRun::AlreadyWritten) => {}
        Err(e) => tracing::error!(error = %e, "daily digest"),
    }
    worker.run_once(db, now).await
}

/// What a tick did about the daily digests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestRun {
    /// Before the digest hour in Shanghai: nothing yet today.
    TooEarly,
    /// Today's digests were already written, by this instance or another.
    AlreadyWritten,
    /// Written now, as this many outbox rows.
    Written(usize),
}

/// Writes today's digests to the outbox unless it is before `digest_hour` (Asia/Shanghai) or
/// they were written already: to the discipline post's mailboxes, every case due soon or
/// overdue with the audit log's newest sequence number and HMAC; to every active inspector
/// with a mail address, their own such cases (recused ones left out), if they have any.
///
/// The day's row in `digests` is inserted first in the same transaction as the mail, so of
/// several instances (or workers) only the one whose insert wins writes the digests; on
/// SQLite that first write also takes the database lock before anything is read.
pub async fn enqueue_digests(
    db: &DatabaseConnection,
    routing: &Routing,
    deadlines: &Deadlines,
    digest_hour: u32,
    now: DateTime<Utc>,
) -> Result<DigestRun, ServiceError> {
    let local = now.with_timezone(&Shanghai);
    if local.hour() < digest_hour {
        return Ok(DigestRun::TooEarly);
    }
    let day = local.date_naive();
    // The cheap check every tick makes; the insert below is what decides.
    if digest::Entity::find_by_id(day).one(db).await?.is_some() {
        return Ok(DigestRun::AlreadyWritten);
    }
    let txn = db.begin().await?;
    let inserted = digest::Entity::insert(digest::ActiveModel {
        day: Set(day),
        enqueued_at: Set(now),
    })
    .on_conflict_do_nothing_on([digest::Column::Day])
    .exec_without_returning(&txn)
    .await?;
    if !matches!(inserted, sea_orm::TryInsertResult::Inserted(1)) {
        return Ok(DigestRun::AlreadyWritten);
    }
    let mut rows = 0;

    let (seq, mac) = audit::head(&txn).await?;
    let mac_hex = mac.as_deref().map(hex).unwrap_or_default();
    let everything = deadlines::due_or_overdue(&txn, deadlines, day, None).await?;
    let late = cases::overdue_measures(&txn, day).await?;
    let post = DigestFor::Post {
        group_name: routing
            .group(DISCIPLINE_POST)
            .map_or(DISCIPLINE_POST, |g| g.name.as_str()),
        audit: AuditMark {
            seq,
            mac_hex: &mac_hex,
        },
    };
    let mail = routing.render_digest(
        day,
        post,
        &digest_cases(&everything),
        &digest_measures(late.iter()),
    )?;
    for recipient in routing.group_recipients(DISCIPLINE_POST) {
        enqueue_digest(&txn, routing, &recipient, &mail, now).await?;
        rows += 1;
    }

    for (user_id, address) in digest_readers(&txn).await? {
        let mine = deadlines::due_or_overdue(&txn, deadlines, day, Some(user_id)).await?;
        let mine_late = digest_measures(late.iter().filter(|m| m.assignee_id == Some(user_id)));
        if mine.is_empty() && mine_late.is_empty() {
            continue;
        }
        let mail =
            routing.render_digest(day, DigestFor::Assignee, &digest_cases(&mine), &mine_late)?;
        let recipient = Recipient {
            group: ASSIGNEE_GROUP.to_string(),
            address,
            user: Some(user_id),
        };
        enqueue_digest(&txn, routing, &recipient, &mail, now).await?;
        rows += 1;
    }
    txn.commit().await?;
    Ok(DigestRun::Written(rows))
}

/// The enabled inspectors with a mail address: who may get a digest of their own.
async fn digest_readers<C: ConnectionTrait>(db: &C) -> Result<Vec<(Uuid, String)>, ServiceError> {
    let inspectors: HashSet<Uuid> = user_role::Entity::find()
        .filter(user_role::Column::Role.eq(Role::Inspector.code()))
        .all(db)
        .await?
        .into_iter()
        .map(|r| r.user_id)
        .collect();
    Ok(user::Entity::find()
        .filter(user::Column::Disabled.eq(false))
        .filter(user::Column::Email.is_not_null())
        .order_by_asc(user::Column::Username)
        .all(db)
        .await?
        .into_iter()
        .filter(|u| inspectors.contains(&u.id))
        .filter_map(|u| u.email.map(|email| (u.id, email)))
        .collect())
}

fn digest_cases(due: &[DueCase]) -> Vec<DigestCase<'_>> {
    due.iter()
        .map(|c| DigestCase {
            report_id: c.id,
            case_number: &c.case_number,
            category: c.category,
            village: c.village.as_deref(),
            stage: c.stage.code(),
            due: c.due,
            overdue: c.overdue,
        })
        .collect()
}

fn digest_measures<'a>(late: impl Iterator<Item = &'a OverdueMeasure>) -> Vec<DigestMeasure<'a>> {
    late.map(|m| DigestMeasure {
        report_id: m.report_id,
        case_number: &m.case_number,
        seq: m.seq,
        due: m.due_on,
    })
    .collect()
}

async fn enqueue_digest<C: ConnectionTrait>(
    db: &C,
    routing: &Routing,
    recipient: &Recipient,
    mail: &Rendered,
    now: DateTime<Utc>,
) -> Result<Uuid, ServiceError> {
    outbox::enqueue(
        db,
        NewMail {
            report_id: None,
            kind: KIND_DIGEST,
            recipient,
            mail,
            message_domain: routing.message_domain(),
        },
        now,
    )
    .await
}

/// Lowercase hex, as the digest shows the audit HMAC.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_macs_are_shown_in_lowercase_hex() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
        assert_eq!(hex(&[]), "");
    }
}
