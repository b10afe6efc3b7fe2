//! Intake: the one pipeline every report goes through, whichever way it came (the public
//! form, the JSON API, an operator typing a call or a letter). Admission under a flood, the
//! metadata rule for evidence files, file preparation, then one transaction that stores the
//! report with everything it brings (recusals, routing, outbox rows, files, the spent token).

mod batch;
mod flood;
mod store;

pub use batch::{CHECKPOINT_EVERY, GroupCommit};
pub use flood::FloodGauge;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    TransactionTrait,
};
use uuid::Uuid;

use super::ServiceError;
use super::deadlines::Deadlines;
use super::recusal::StaffNames;
use super::routing::Routing;
use crate::config::LimitSettings;
use crate::crypto::Keyring;
use crate::domain::attachment::{Kind, Upload};
use crate::domain::{Channel, ClientKey, ReportDraft, TrackingCode, local_day};
use crate::entities::{report, used_form_token};
use crate::media::NotPrepared;
use batch::{Entered, Job};
use store::CaseNumbers;

/// The token of this form was already used: a replay, or the same form sent twice.
pub const TOKEN_USED: &str = "form.token_used";

/// How long a refused submission is told to wait while quarantine is full: inspectors clear
/// it in bulk, and a few minutes is a fair guess.
const BUSY_WAIT: std::time::Duration = std::time::Duration::from_secs(600);

/// What intake needs of the running service.
#[derive(Clone, Copy)]
pub struct Intake<'a> {
    pub db: &'a DatabaseConnection,
    pub keyring: &'a Keyring,
    pub routing: &'a Routing,
    pub deadlines: &'a Deadlines,
    pub flood: &'a FloodGauge,
    pub limits: &'a LimitSettings,
    pub media: &'a crate::media::Workers,
    pub commits: &'a GroupCommit,
}

/// How a report came in: the channel, the operator who typed it for a caller or letter, the
/// public form's token (spent in the same transaction), and whether a flood put it aside.
#[derive(Debug, Clone, Copy)]
pub struct Origin {
    pub channel: Channel,
    pub operator: Option<Uuid>,
    pub form_token: Option<SpentToken>,
    pub quarantined: bool,
    /// Who sent a public report, for the flood shares only (kept in memory, never stored).
    pub source: Option<ClientKey>,
}

impl Origin {
    pub fn public(channel: Channel) -> Origin {
        Origin {
            channel,
            operator: None,
            form_token: None,
            quarantined: false,
            source: None,
        }
    }

    /// Typed in by staff: never held back by the public flood control.
    pub fn operator(channel: Channel, operator: Uuid) -> Origin {
        Origin {
            operator: Some(operator),
            ..Origin::public(channel)
        }
    }
}

/// A public form token to mark used: its random nonce, and when it would expire anyway.
#[derive(Debug, Clone, Copy)]
pub struct SpentToken {
    pub nonce: [u8; 16],
    pub expires_at: DateTime<Utc>,
}

/// A report as it arrives: parsed, with the files as uploaded.
pub struct Submission {
    pub draft: ReportDraft,
    pub files: Vec<Upload>,
    /// The reporter asked to keep the files' details as evidence.
    pub keep_metadata: bool,
    pub origin: Origin,
}

/// What the reporter is shown once, right after the commit.
#[derive(Debug)]
pub struct Receipt {
    pub tracking_code: TrackingCode,
    pub received_on: NaiveDate,
    pub anonymous: bool,
    pub files: Vec<StoredFile>,
    /// Whether the files lost their details (always for an anonymous report); false
    /// without files.
    pub files_stripped: bool,
}

/// An evidence file as stored with the report.
#[derive(Debug, Clone)]
pub struct StoredFile {
    pub name: String,
    pub kind: Kind,
    pub size: usize,
    pub stripped: bool,
}

impl Intake<'_> {
    /// The whole pipeline: prepares the files (stripped unless a real-name reporter asked to
    /// keep their details), admits a public report (a flood goes to quarantine; a full
    /// quarantine refuses with `Busy`), then stores it. Refused files come back as `Files`
    /// with each file's reason, before anything is written.
    pub async fn submit(
        &self,
        submission: Submission,
        now: DateTime<Utc>,
    ) -> Result<Receipt, ServiceError> {
        let Submission {
            draft,
            files,
            keep_metadata,
            mut origin,
        } = submission;
        // Anonymous reports always lose file metadata; real-name ones unless the reporter
        // asked to keep it as evidence.
        let strip = draft.is_anonymous() || !keep_metadata;
        let attachments = crate::media::prepare(self.media, files, strip)
            .await
            .map_err(|refused| match refused {
                NotPrepared::Files(problems) => ServiceError::Files(problems),
                NotPrepared::Busy(wait) => ServiceError::Busy(wait),
            })?;
        let draft = draft.with_attachments(attachments);
        if origin.operator.is_none() {
            let source = origin.source.unwrap_or(ClientKey::of(None));
            origin.quarantined = self.admit(source, now).await?;
        }
        self.store(draft, origin, now).await
    }

    /// Whether a public report goes to quarantine (a flood), or `Busy` when quarantine
    /// itself is full.
    async fn admit(&self, source: ClientKey, now: DateTime<Utc>) -> Result<bool, ServiceError> {
        if !self.flood.record(source, now) {
            return Ok(false);
        }
        if quarantined_count(self.db).await? >= self.limits.quarantine_ceiling {
            return Err(ServiceError::Busy(BUSY_WAIT));
        }
        Ok(true)
    }

    /// Stores a report whose files are prepared, and returns its receipt only after the
    /// transaction holding it has committed, so an acknowledged report is durable. With
    /// group commit, that transaction holds the reports that arrived meanwhile as well.
    pub async fn store(
        &self,
        draft: ReportDraft,
        origin: Origin,
        now: DateTime<Utc>,
    ) -> Result<Receipt, ServiceError> {
        let job = Job { draft, origin, now };
        if !self.commits.batches() {
            let (mut results, committed) = self.write_batch(vec![job]).await;
            if committed {
                self.commits.committed(1);
            }
            return results.remove(0);
        }
        let own = match self.commits.enter(job).await {
            Entered::Done(result) => return result,
            Entered::Lead(job) => *job,
        };
        // Handed over when this returns, or if this request is dropped half-way.
        let _leading = self.commits.lead();
        let (jobs, followers): (Vec<Job>, Vec<_>) = self.commits.followers().into_iter().unzip();
        let (mut results, committed) = self
            .write_batch(std::iter::once(own).chain(jobs).collect())
            .await;
        if committed {
            self.commits.committed(results.len());
        }
        let own = results.remove(0);
        for (follower, result) in followers.into_iter().zip(results) {
            follower.answer(result);
        }
        own
    }

    /// Writes the jobs: the answer of each, in order, once the transaction holding it has
    /// committed (or the error that stopped it), and whether the batch went through (false
    /// when a transaction as a whole failed).
    ///
    /// Several reports are first written together, each kind of row in one statement, in
    /// one transaction of their own. If anything there is refused (a form token spent twice,
    /// a tracking code drawn twice), that transaction is rolled back and the reports are
    /// written again in a new one, each in a savepoint of its own, so one refusal fails
    /// alone. The common case pays for no savepoint, which SQLite would journal page by page.
    async fn write_batch(&self, jobs: Vec<Job>) -> (Vec<Result<Receipt, ServiceError>>, bool) {
        let all_failed = |e: &dyn std::fmt::Display, n: usize| {
            let failed = (0..n)
                .map(|_| {
                    Err(ServiceError::Db(sea_orm::DbErr::Custom(format!(
                        "batch: {e}"
                    ))))
                })
                .collect();
            (failed, false)
        };
        if jobs.len() > 1 {
            match self.write_together(&jobs).await {
                Ok(Some(receipts)) => return (receipts.into_iter().map(Ok).collect(), true),
                Ok(None) => {}
                Err(e) => return all_failed(&e, jobs.len()),
            }
        }
        match self.write_each(&jobs).await {
            Ok(results) => (results, true),
            Err(e) => all_failed(&e, jobs.len()),
        }
    }

    /// Opens a batch's transaction: it first reserves the case numbers (its first write,
    /// which takes the write lock) and loads the staff's names for the recusal matcher, once
    /// for all its reports.
    async fn begin_batch(
        &self,
        jobs: &[Job],
    ) -> Result<(DatabaseTransaction, CaseNumbers, StaffNames), ServiceError> {
        let txn = self.commits.writer(self.db).begin().await?;
        let numbers = CaseNumbers::reserve(&txn, jobs.iter().map(|job| local_day(job.now))).await?;
        // Loaded inside the write lock: a change of names commits before or after the
        // whole batch, and its own re-match sees the reports of a batch before it.
        let staff = StaffNames::load(&txn, self.keyring).await?;
        Ok((txn, numbers, staff))
    }

    /// Writes all the jobs in one transaction, each kind of row in one statement: their
    /// receipts once committed, or `None` when something was refused and nothing was kept.
    async fn write_together(&self, jobs: &[Job]) -> Result<Option<Vec<Receipt>>, ServiceError> {
        let (txn, mut numbers, staff) = self.begin_batch(jobs).await?;
        let written = async {
            let mut prepared = Vec::with_capacity(jobs.len());
            for job in jobs {
                let day = local_day(job.now);
                let number = numbers.next(day)?;
                prepared.push(self.prepare(&txn, &staff, job, number).await?);
                numbers.taken(day)?;
            }
            store::write_together(&txn, prepared).await
        }
        .await;
        match written {
            Ok(receipts) => {
                txn.commit().await?;
                Ok(Some(receipts))
            }
            Err(_) => {
                txn.rollback().await?;
                Ok(None)
            }
        }
    }

    /// Writes the jobs one by one in one transaction, each in a savepoint of its own (a lone
    /// job directly in it): the answer of each once committed.
    async fn write_each(
        &self,
        jobs: &[Job],
    ) -> Result<Vec<Result<Receipt, ServiceError>>, ServiceError> {
        let (txn, mut numbers, staff) = self.begin_batch(jobs).await?;
        if let [job] = jobs {
            // Alone in its transaction: a refusal rolls the whole transaction back, as it
            // would have in a savepoint.
            let receipt = match self.write_one(&txn, &staff, &mut numbers, job).await {
                Ok(receipt) => receipt,
                Err(refused) => return Ok(vec![Err(refused)]),
            };
            txn.commit().await?;
            return Ok(vec![Ok(receipt)]);
        }
        let mut results = Vec::with_capacity(jobs.len());
        for job in jobs {
            results.push(
                self.write_in_savepoint(&txn, &staff, &mut numbers, job)
                    .await,
            );
        }
        numbers.settle(&txn).await?;
        txn.commit().await?;
        Ok(results)
    }

    async fn write_in_savepoint(
        &self,
        txn: &DatabaseTransaction,
        staff: &StaffNames,
        numbers: &mut CaseNumbers,
        job: &Job,
    ) -> Result<Receipt, ServiceError> {
        let savepoint = txn.begin().await?;
        match self.write_one(&savepoint, staff, numbers, job).await {
            Ok(receipt) => {
                savepoint.commit().await?;
                numbers.taken(local_day(job.now))?;
                Ok(receipt)
            }
            // Its case number goes to the next report.
            Err(refused) => {
                savepoint.rollback().await?;
                Err(refused)
            }
        }
    }

    /// Writes one report with everything it brings, inside `txn`, under the next case
    /// number (which the caller marks taken once the report is kept).
    async fn write_one(
        &self,
        txn: &DatabaseTransaction,
        staff: &StaffNames,
        numbers: &mut CaseNumbers,
        job: &Job,
    ) -> Result<Receipt, ServiceError> {
        let number = numbers.next(local_day(job.now))?;
        self.prepare(txn, staff, job, number)
            .await?
            .write(txn, self.keyring)
            .await
    }
}

/// How many reports wait in quarantine (the ceiling on a flood).
async fn quarantined_count(db: &DatabaseConnection) -> Result<u64, ServiceError> {
    Ok(report::Entity::find()
        .filter(report::Column::Quarantined.eq(true))
        .count(db)
        .await?)
}

/// Forgets spent form tokens that would have expired anyway.
pub async fn forget_spent_tokens(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
) -> Result<u64, ServiceError> {
    Ok(used_form_token::Entity::delete_many()
        .filter(used_form_token::Column::ExpiresAt.lt(now))
        .exec(db)
        .await?
        .rows_affected)
}
