//! The outbox: notifications written with the change they announce, sent by a worker in
//! batches, at least once, never dropped.
//!
//! A row is claimed before it is sent and marked sent after. A crash between the two leaves
//! a claim that expires (`mail.claim_timeout_seconds`) and the row is sent again with the
//! same Message-ID, so the resend is recognisable as the same mail. On PostgreSQL several
//! instances claim with `FOR UPDATE SKIP LOCKED` and never take the same row; SQLite is
//! single-instance and its one-statement claim is serialized by the database lock.
//!
//! A report keeps no time of day, and neither do its rows once done: the claim (the lease
//! while a row is being sent) is cleared, and the times of a sent or failed row of a report
//! are cut to their day, as is the Date of its mail. On SQLite the claim's page versions are
//! then checkpointed out of the write-ahead log.
//!
//! The daily digests are outbox rows too, written once per Asia/Shanghai day by whichever
//! instance's tick gets there first.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, DatabaseConnection,
    EntityTrait, Order, PaginatorTrait, QueryFilter, QueryOrder, TransactionTrait,
};
use uuid::Uuid;

use super::ServiceError;
use super::access::Caller;
use super::audit::AuditAction;
use crate::config::MailSettings;
use crate::domain::start_of_day;
use crate::entities::outbox;
use crate::mail::{MailError, Mailer, Outgoing, Rendered};

pub const PENDING: &str = "pending";
pub const CLAIMED: &str = "claimed";
pub const SENT: &str = "sent";
pub const FAILED: &str = "failed";

/// Longest error text kept on a row.
const ERROR_MAX: usize = 500;

/// One mailbox a case's mail goes to. Group mailboxes belong to offices (`user` is `None`);
/// mail to a staff member's own mailbox names the account, so recusal can leave it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub group: String,
    pub address: String,
    pub user: Option<Uuid>,
}

/// A notification to write into the outbox.
pub struct NewMail<'a> {
    pub report_id: Option<Uuid>,
    pub kind: &'a str,
    pub recipient: &'a Recipient,
    pub mail: &'a Rendered,
    /// The domain part of the Message-ID.
    pub message_domain: &'a str,
}

/// Writes one row, due at `at`, inside the caller's transaction. Returns its id.
pub async fn enqueue<C: ConnectionTrait>(
    db: &C,
    new: NewMail<'_>,
    at: DateTime<Utc>,
) -> Result<Uuid, ServiceError> {
    let (id, row) = pending_row(new, at);
    outbox::Entity::insert(row)
        .exec_without_returning(db)
        .await?;
    Ok(id)
}

/// The row `enqueue` writes, with its id, for a caller writing several rows at once.
pub fn pending_row(new: NewMail<'_>, at: DateTime<Utc>) -> (Uuid, outbox::ActiveModel) {
    let id = Uuid::new_v4();
    let row = outbox::ActiveModel {
        id: Set(id),
        report_id: Set(new.report_id),
        kind: Set(new.kind.to_string()),
        recipient_group: Set(new.recipient.group.clone()),
        recipient: Set(new.recipient.address.clone()),
        message_id: Set(format!("<{}@{}>", id.simple(), new.message_domain)),
        subject: Set(new.mail.subject.clone()),
        body_text: Set(new.mail.text.clone()),
        body_html: Set(new.mail.html.clone()),
        state: Set(PENDING.to_string()),
        attempts: Set(0),
        next_attempt_at: Set(at),
        claimed_at: Set(None),
        claimed_by: Set(None),
        last_error: Set(None),
        created_at: Set(at),
        sent_at: Set(None),
    };
    (id, row)
}

/// When to try again and when to give up.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: i32,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    pub claim_timeout: Duration,
}

impl RetryPolicy {
    pub fn from_settings(mail: &MailSettings) -> RetryPolicy {
        RetryPolicy {
            max_attempts: mail.max_attempts,
            backoff_base: Duration::seconds(mail.backoff_base_seconds),
            backoff_cap: Duration::seconds(mail.backoff_cap_seconds),
            claim_timeout: Duration::seconds(mail.claim_timeout_seconds),
        }
    }

    /// The wait after the given number of failed attempts: base, 2×base, 4×base… up to the cap.
    pub fn backoff(&self, attempts: i32) -> Duration {
        let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(0);
        let seconds = self
            .backoff_base
            .num_seconds()
            .saturating_mul(1_i64 << doublings);
        Duration::seconds(seconds).min(self.backoff_cap)
    }
}

/// Which rows are due: pending ones whose time has come, and claims old enough to belong
/// to a crashed instance.
fn claimable(now: DateTime<Utc>, claim_timeout: Duration) -> Condition {
    Condition::any()
        .add(
            Condition::all()
                .add(outbox::Column::State.eq(PENDING))
                .add(outbox::Column::NextAttemptAt.lte(now)),
        )
        .add(
            Condition::all()
                .add(outbox::Column::State.eq(CLAIMED))
                .add(outbox::Column::ClaimedAt.lte(now - claim_timeout)),
        )
}

/// Claims up to `limit` due rows for this instance and counts the attempt.
pub async fn claim_batch(
    db: &DatabaseConnection,
    instance_id: &str,
    now: DateTime<Utc>,
    limit: u64,
    claim_timeout: Duration,
) -> Result<Vec<outbox::Model>, ServiceError> {
    let due = claimable(now, claim_timeout);
    let mut pick = Query::select();
    pick.column(outbox::Column::Id)
        .from(outbox::Entity)
        .cond_where(due.clone())
        .order_by(outbox::Column::NextAttemptAt, Order::Asc)
        .order_by(outbox::Column::Id, Order::Asc)
        .limit(limit);
    let backend = db.get_database_backend();
    if backend == DatabaseBackend::Postgres {
        // Rows another instance is claiming right now are skipped, not waited for.
        pick.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let txn = db.begin().await?;
    let claimed = outbox::Entity::update_many()
        .col_expr(outbox::Column::State, Expr::value(CLAIMED))
        .col_expr(outbox::Column::ClaimedAt, Expr::value(now))
        .col_expr(outbox::Column::ClaimedBy, Expr::value(instance_id))
        .col_expr(
            outbox::Column::Attempts,
            Expr::col(outbox::Column::Attempts).add(1),
        )
        .filter(outbox::Column::Id.in_subquery(pick))
        // Checked again on the locked row version.
        .filter(due)
        .exec_with_returning(&txn)
        .await?;
    txn.commit().await?;
    Ok(claimed)
}

/// An instant of a row as it is kept once the row is done: a row of a report keeps the day.
fn kept(row: &outbox::Model, at: DateTime<Utc>) -> DateTime<Utc> {
    if row.report_id.is_some() {
        start_of_day(at)
    } else {
        at
    }
}

/// Marks a claimed row sent and forgets the claim. `false` when this instance no longer
/// holds the claim.
pub async fn mark_sent(
    db: &DatabaseConnection,
    row: &outbox::Model,
    instance_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, ServiceError> {
    let done = outbox::Entity::update_many()
        .col_expr(outbox::Column::State, Expr::value(SENT))
        .col_expr(outbox::Column::SentAt, Expr::value(kept(row, now)))
        .col_expr(
            outbox::Column::ClaimedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            outbox::Column::NextAttemptAt,
            Expr::value(kept(row, row.next_attempt_at)),
        )
        .col_expr(
            outbox::Column::CreatedAt,
            Expr::value(kept(row, row.created_at)),
        )
        .col_expr(
            outbox::Column::LastError,
            Expr::value(Option::<String>::None),
        )
        .filter(outbox::Column::Id.eq(row.id))
        .filter(outbox::Column::State.eq(CLAIMED))
        .filter(outbox::Column::ClaimedBy.eq(instance_id))
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

/// Records a failed attempt: the row waits for its backoff, or becomes `failed` once it
/// has had its attempts. Returns the new state.
pub async fn mark_attempt_failed(
    db: &DatabaseConnection,
    row: &outbox::Model,
    instance_id: &str,
    policy: &RetryPolicy,
    error: &str,
    now: DateTime<Utc>,
) -> Result<&'static str, ServiceError> {
    let (state, next_attempt_at, created_at) = if row.attempts >= policy.max_attempts {
        // Done with: a row of a report keeps its days only.
        (FAILED, kept(row, now), kept(row, row.created_at))
    } else {
        (PENDING, now + policy.backoff(row.attempts), row.created_at)
    };
    outbox::Entity::update_many()
        .col_expr(outbox::Column::State, Expr::value(state))
        .col_expr(outbox::Column::NextAttemptAt, Expr::value(next_attempt_at))
        .col_expr(outbox::Column::CreatedAt, Expr::value(created_at))
        .col_expr(
            outbox::Column::ClaimedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            outbox::Column::ClaimedBy,
            Expr::value(Option::<String>::None),
        )
        .col_expr(outbox::Column::LastError, Expr::value(short_error(error)))
        .filter(outbox::Column::Id.eq(row.id))
        .filter(outbox::Column::State.eq(CLAIMED))
        .filter(outbox::Column::ClaimedBy.eq(instance_id))
        .exec(db)
        .await?;
    Ok(state)
}

fn short_error(error: &str) -> String {
    let mut short: String = error.chars().take(ERROR_MAX).collect();
    while short.len() > ERROR_MAX {
        short.pop();
    }
    short
}

/// What one batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Batch {
    pub sent: usize,
    /// Failed this time, to be tried again after the backoff.
    pub retrying: usize,
    /// Failed for the last time: now visible as failed.
    pub failed: usize,
}

impl Batch {
    pub fn claimed(&self) -> usize {
        self.sent + self.retrying + self.failed
    }
}

/// The sending side of one instance: its transport, its retry policy and its name in claims.
pub struct Worker {
    mailer: Mailer,
    policy: RetryPolicy,
    batch_size: u64,
    digest_hour: u32,
    instance_id: String,
}

impl Worker {
    pub fn from_settings(mail: &MailSettings) -> Result<Worker, MailError> {
        Ok(Worker {
            mailer: Mailer::from_settings(mail)?,
            policy: RetryPolicy::from_settings(mail),
            batch_size: mail.batch_size,
            digest_hour: mail.digest_hour,
            instance_id: format!("tipoff-{}", Uuid::new_v4().simple()),
        })
    }

    /// The hour (Asia/Shanghai) from which the day's digests are due.
    pub fn digest_hour(&self) -> u32 {
        self.digest_hour
    }

    pub fn instance_id(&self) -> &str {
        &self.instance_id
    }

    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// One batch: claim what is due, send each, record the outcome. Every `tick` ends with
    /// one; tests call it directly with the time they choose (and no digest).
    pub async fn run_once(
        &self,
        db: &DatabaseConnection,
        now: DateTime<Utc>,
    ) -> Result<Batch, ServiceError> {
        let rows = claim_batch(
            db,
            &self.instance_id,
            now,
            self.batch_size,
            self.policy.claim_timeout,
        )
        .await?;
        let mut batch = Batch::default();
        let of_reports = rows.iter().any(|r| r.report_id.is_some());
        for row in rows {
            let outgoing = Outgoing {
                to: &row.recipient,
                message_id: &row.message_id,
                subject: &row.subject,
                text: &row.body_text,
                html: &row.body_html,
            };
            // The Date of a report's mail is its day: the hour would place the report.
            match self.mailer.send(&outgoing, kept(&row, now)).await {
                Ok(()) => {
                    mark_sent(db, &row, &self.instance_id, now).await?;
                    batch.sent += 1;
                }
                Err(e) => {
                    let error = e.to_string();
                    let state =
                        mark_attempt_failed(db, &row, &self.instance_id, &self.policy, &error, now)
                            .await?;
                    tracing::warn!(
                        row = %row.id,
                        attempts = row.attempts,
                        state,
                        error = %error,
                        "mail not sent"
                    );
                    if state == FAILED {
                        batch.failed += 1;
                    } else {
                        batch.retrying += 1;
                    }
                }
            }
        }
        if of_reports {
            forget_claims_on_disk(db).await;
        }
        Ok(batch)
    }
}

/// On SQLite, the page versions that held a batch's claim times stay in the write-ahead log
/// until it is reset. Best effort: a reader in the way leaves it to the next batch.
async fn forget_claims_on_disk(db: &DatabaseConnection) {
    if let Err(e) = crate::db::checkpoint_wal(db).await {
        tracing::warn!(error = %e, "outbox: checkpoint of the write-ahead log");
    }
}

/// Rows that gave up: the admin page, the dashboard and the metric show them.
pub async fn failed_count<C: ConnectionTrait>(db: &C) -> Result<u64, ServiceError> {
    Ok(outbox::Entity::find()
        .filter(outbox::Column::State.eq(FAILED))
        .count(db)
        .await?)
}

/// Rows not yet sent and not failed (waiting or being sent).
pub async fn pending_count<C: ConnectionTrait>(db: &C) -> Result<u64, ServiceError> {
    Ok(outbox::Entity::find()
        .filter(outbox::Column::State.is_in([PENDING, CLAIMED]))
        .count(db)
        .await?)
}

/// A row that gave up, as the admin page lists it (no mail body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedMail {
    pub id: Uuid,
    pub report_id: Option<Uuid>,
    pub kind: String,
    pub recipient_group: String,
    pub recipient: String,
    pub subject: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Every failed row, oldest first.
pub async fn failed_rows<C: ConnectionTrait>(db: &C) -> Result<Vec<FailedMail>, ServiceError> {
    Ok(outbox::Entity::find()
        .filter(outbox::Column::State.eq(FAILED))
        .order_by_asc(outbox::Column::CreatedAt)
        .order_by_asc(outbox::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|r| FailedMail {
            id: r.id,
            report_id: r.report_id,
            kind: r.kind,
            recipient_group: r.recipient_group,
            recipient: r.recipient,
            subject: r.subject,
            attempts: r.attempts,
            last_error: r.last_error,
            created_at: r.created_at,
        })
        .collect())
}

/// An admin sends a failed row again: it becomes pending with a fresh set of attempts and
/// goes out with the next batch. Audited; the audit entry is written first.
pub async fn retry(caller: Caller<'_>, id: Uuid) -> Result<(), ServiceError> {
    if !caller.viewer.is_admin() {
        return Err(ServiceError::Forbidden);
    }
    let detail = format!("mail {id}: retry");
    let txn = caller.begin(AuditAction::MailRetry, None, &detail).await?;
    let reset = outbox::Entity::update_many()
        .col_expr(outbox::Column::State, Expr::value(PENDING))
        .col_expr(outbox::Column::Attempts, Expr::value(0))
        .col_expr(outbox::Column::NextAttemptAt, Expr::value(caller.now))
        .filter(outbox::Column::Id.eq(id))
        .filter(outbox::Column::State.eq(FAILED))
        .exec(&txn)
        .await?;
    if reset.rows_affected != 1 {
        return Err(ServiceError::NotFound);
    }
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = RetryPolicy {
            max_attempts: 8,
            backoff_base: Duration::seconds(60),
            backoff_cap: Duration::seconds(600),
            claim_timeout: Duration::seconds(900),
        };
        let waits: Vec<i64> = (1..=6).map(|a| policy.backoff(a).num_seconds()).collect();
        assert_eq!(waits, [60, 120, 240, 480, 600, 600]);
        assert_eq!(policy.backoff(i32::MAX).num_seconds(), 600);
    }

    #[test]
    fn errors_are_kept_short() {
        assert_eq!(short_error("refused"), "refused");
        let long = "错".repeat(1000);
        let short = short_error(&long);
        assert!(short.len() <= ERROR_MAX);
        assert!(long.starts_with(&short));
    }
}
