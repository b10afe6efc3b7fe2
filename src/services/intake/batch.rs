//! Group commit: reports that arrive while a batch is being committed wait for the next
//! batch, which is written in one transaction — one fsync for all of them, and each kind of
//! row in one statement. If that fails, the batch's reports are written again one by one,
//! each inside its own savepoint, so one that fails (a replayed form token) fails alone;
//! nobody hears back before the batch holding their report has committed.
//!
//! There is no writer task: the request that finds no batch in flight leads one at once (a
//! lone report never waits for company), and when its batch is done it hands the lead to the
//! first report that arrived meanwhile, which takes every report then waiting (up to the
//! batch size) into the next batch. The longest wait is one batch in flight plus one's own.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use tokio::sync::oneshot;

use super::{Origin, Receipt};
use crate::domain::ReportDraft;
use crate::services::ServiceError;

/// One report to store, as the pipeline hands it over.
pub(super) struct Job {
    pub draft: ReportDraft,
    pub origin: Origin,
    pub now: DateTime<Utc>,
}

/// What a waiting report hears back: its answer, or that it leads the next batch.
enum Turn {
    Done(Result<Receipt, ServiceError>),
    Lead(Box<Job>),
}

struct Waiting {
    job: Job,
    reply: oneshot::Sender<Turn>,
}

#[derive(Default)]
struct Queue {
    /// A batch is being written; new reports wait for the next.
    leading: bool,
    waiting: VecDeque<Waiting>,
}

/// The reports waiting for the next batch (in memory: they are not yet acknowledged).
pub struct GroupCommit {
    queue: Mutex<Queue>,
    /// The connection batches are written through, when not the main pool (see
    /// `db::connect_writer`).
    writer: Option<DatabaseConnection>,
    /// The most reports one transaction takes; 1 writes each report on its own.
    max_batch: usize,
    /// Batches committed, and the reports they held, since start (for the metrics).
    batches: AtomicU64,
    batched_reports: AtomicU64,
}

/// What entering the queue came to.
pub(super) enum Entered {
    /// Lead a batch now, starting with this job.
    Lead(Box<Job>),
    /// The answer, from the batch that held the report.
    Done(Result<Receipt, ServiceError>),
}

impl GroupCommit {
    pub fn new(max_batch: usize) -> GroupCommit {
        GroupCommit {
            queue: Mutex::new(Queue::default()),
            writer: None,
            max_batch: max_batch.max(1),
            batches: AtomicU64::new(0),
            batched_reports: AtomicU64::new(0),
        }
    }

    /// Writes batches through this connection rather than the main pool.
    pub fn with_writer(mut self, writer: Option<DatabaseConnection>) -> GroupCommit {
        self.writer = writer;
        self
    }

    /// The connection batches are written through, if not `main`.
    pub(super) fn writer<'a>(&'a self, main: &'a DatabaseConnection) -> &'a DatabaseConnection {
        self.writer.as_ref().unwrap_or(main)
    }

    /// Counts a committed batch of `reports`.
    pub(super) fn committed(&self, reports: usize) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.batched_reports
            .fetch_add(reports as u64, Ordering::Relaxed);
    }

    /// Batches committed since start, and the reports they held.
    pub fn written(&self) -> (u64, u64) {
        (
            self.batches.load(Ordering::Relaxed),
            self.batched_reports.load(Ordering::Relaxed),
        )
    }

    /// Whether batches go through a writer of their own (a SQLite file), whose log
    /// `checkpoint` copies beside it.
    pub fn has_writer(&self) -> bool {
        self.writer.is_some()
    }

    /// When batches go through a writer of their own (a SQLite file), copies the log they
    /// wrote into the database file beside it, through `main`, if any batch has committed
    /// since `seen` (which it moves on). Returns whether it did. The startup loop calls it
    /// every `CHECKPOINT_EVERY`: the log then holds a fraction of a second of reports.
    pub async fn checkpoint(
        &self,
        main: &DatabaseConnection,
        seen: &mut u64,
    ) -> Result<bool, sea_orm::DbErr> {
        let (batches, _) = self.written();
        if !self.has_writer() || batches == *seen {
            return Ok(false);
        }
        crate::db::checkpoint_passive(main).await?;
        *seen = batches;
        Ok(true)
    }

    /// Whether reports are batched at all.
    pub fn batches(&self) -> bool {
        self.max_batch > 1
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Leads a batch at once when none is in flight; otherwise waits for the batch that
    /// takes this job, or for the lead of the next one.
    pub(super) async fn enter(&self, job: Job) -> Entered {
        let mut ticket = {
            let mut queue = self.lock();
            if !queue.leading {
                queue.leading = true;
                return Entered::Lead(Box::new(job));
            }
            let (reply, receiver) = oneshot::channel();
            queue.waiting.push_back(Waiting { job, reply });
            Ticket {
                group: self,
                receiver,
                heard: false,
            }
        };
        let turn = (&mut ticket.receiver).await;
        ticket.heard = true;
        match turn {
            Ok(Turn::Done(result)) => Entered::Done(result),
            Ok(Turn::Lead(job)) => Entered::Lead(job),
            // The batch holding this report was abandoned half-way (its leader's request was
            // cancelled): nothing of it was committed, so the reporter may simply send again.
            Err(_) => Entered::Done(Err(ServiceError::Busy(RETRY_ABANDONED))),
        }
    }

    /// The jobs that join a batch led by someone already holding one.
    pub(super) fn followers(&self) -> Vec<(Job, Follower)> {
        let mut queue = self.lock();
        let take = queue.waiting.len().min(self.max_batch - 1);
        queue
            .waiting
            .drain(..take)
            .map(|w| (w.job, Follower(w.reply)))
            .collect()
    }

    /// Ends a batch: the first report that arrived meanwhile leads the next one, or the
    /// queue goes idle. Called when the leader's batch is answered, and when it is dropped
    /// half-way, so the lead is never lost.
    fn hand_over(&self) {
        let mut queue = self.lock();
        while let Some(next) = queue.waiting.pop_front() {
            // A report whose request has gone is dropped unstored: nobody was told it arrived.
            if next.reply.send(Turn::Lead(Box::new(next.job))).is_ok() {
                return;
            }
        }
        queue.leading = false;
    }

    /// Holds the lead until dropped.
    pub(super) fn lead(&self) -> Leading<'_> {
        Leading(self)
    }
}

/// A place in the queue. A request cancelled while it waits drops its ticket; if the lead was
/// handed to it in the meantime, the ticket passes it on, or nobody would write the next batch.
struct Ticket<'a> {
    group: &'a GroupCommit,
    receiver: oneshot::Receiver<Turn>,
    /// Its turn came and was taken.
    heard: bool,
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if self.heard {
            return;
        }
        // Closing first means no lead can arrive after the check below.
        self.receiver.close();
        if let Ok(Turn::Lead(_)) = self.receiver.try_recv() {
            self.group.hand_over();
        }
    }
}

/// How often the log the writer leaves behind is copied into the database file, at most.
pub const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// How long a reporter whose batch was abandoned is told to wait before sending again.
const RETRY_ABANDONED: std::time::Duration = std::time::Duration::from_secs(2);

/// A report in someone else's batch, waiting for its answer.
pub(super) struct Follower(oneshot::Sender<Turn>);

impl Follower {
    pub fn answer(self, result: Result<Receipt, ServiceError>) {
        // A request that has gone hears nothing; its report is stored all the same.
        let _ = self.0.send(Turn::Done(result));
    }
}

/// The lead of a batch: handed over when dropped, whether the batch finished or not.
pub(super) struct Leading<'a>(&'a GroupCommit);

impl Drop for Leading<'_> {
    fn drop(&mut self) {
        self.0.hand_over();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use tokio::task::JoinHandle;

    use super::*;

    fn job() -> Job {
        Job {
            draft: ReportDraft::parse(
                crate::domain::RawReport {
                    category: Some("other".into()),
                    description: Some("村主任的亲戚开着小车还在吃低保".into()),
                    anonymous: Some(true),
                    ..Default::default()
                },
                &crate::fuzzing::report::villages(),
            )
            .unwrap(),
            origin: Origin::public(crate::domain::Channel::Web),
            now: Utc::now(),
        }
    }

    /// A queue of batches of up to `size` whose first report has entered: with nobody
    /// else there, it leads at once.
    async fn led(size: usize) -> Arc<GroupCommit> {
        let group = Arc::new(GroupCommit::new(size));
        let Entered::Lead(_) = group.enter(job()).await else {
            panic!("nobody else: lead at once");
        };
        group
    }

    /// Another report enters, from a task of its own: whether it came to lead a batch.
    fn enters_to_lead(group: &Arc<GroupCommit>) -> JoinHandle<bool> {
        let group = group.clone();
        tokio::spawn(async move { matches!(group.enter(job()).await, Entered::Lead(_)) })
    }

    /// Until `n` reports wait in the queue.
    async fn until_waiting(group: &GroupCommit, n: usize) {
        while group.lock().waiting.len() < n {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn a_lone_report_leads_at_once_and_the_lead_passes_to_who_waited() {
        let group = led(8).await;
        let leading = group.lead();
        let waiter = enters_to_lead(&group);
        until_waiting(&group, 1).await;
        drop(leading);
        assert!(
            waiter.await.unwrap(),
            "the waiting report leads the next batch"
        );
        assert!(group.lock().leading);
        drop(group.lead());
        assert!(
            !group.lock().leading,
            "and with nobody waiting the queue is idle"
        );
    }

    #[tokio::test]
    async fn followers_are_taken_up_to_the_batch_size_and_hear_their_answer() {
        let group = led(3).await;
        let mut waiters = Vec::new();
        for _ in 0..4 {
            let group = group.clone();
            waiters.push(tokio::spawn(async move {
                matches!(
                    group.enter(job()).await,
                    Entered::Done(Err(ServiceError::NotFound))
                )
            }));
        }
        until_waiting(&group, 4).await;
        let taken = group.followers();
        assert_eq!(
            taken.len(),
            2,
            "the leader's own report and two more make three"
        );
        for (_, follower) in taken {
            follower.answer(Err(ServiceError::NotFound));
        }
        assert_eq!(group.lock().waiting.len(), 2);
        assert!(waiters.remove(0).await.unwrap());
        assert!(waiters.remove(0).await.unwrap());
    }

    #[tokio::test]
    async fn a_batch_abandoned_half_way_passes_the_lead_on_and_its_reports_may_retry() {
        let group = led(4).await;
        let leading = group.lead();
        let in_batch = {
            let group = group.clone();
            tokio::spawn(async move { group.enter(job()).await })
        };
        until_waiting(&group, 1).await;
        let taken = group.followers();
        let next = enters_to_lead(&group);
        until_waiting(&group, 1).await;
        // The leader's request is cancelled mid-batch: its followers are dropped unanswered.
        drop(taken);
        drop(leading);
        assert!(matches!(
            in_batch.await.unwrap(),
            Entered::Done(Err(ServiceError::Busy(_)))
        ));
        assert!(next.await.unwrap(), "the lead is not lost");
    }

    #[tokio::test]
    async fn a_request_cancelled_as_it_is_handed_the_lead_passes_it_on() {
        use futures_util::FutureExt;
        let group = led(4).await;
        let leading = group.lead();
        let mut handed = Box::pin(group.enter(job()));
        assert!(handed.as_mut().now_or_never().is_none(), "it waits");
        // The batch ends and hands the lead to the waiting report, whose request is cancelled
        // before it runs again: the lead must not die with it.
        drop(leading);
        drop(handed);
        assert!(
            matches!(group.enter(job()).now_or_never(), Some(Entered::Lead(_))),
            "the next report leads at once instead of waiting for a batch nobody writes"
        );
    }
}
