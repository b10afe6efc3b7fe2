//! The workflow on a case: status changes, merges, recorded events, assignment, notes and
//! escalation to another group. Each is one transaction whose first statement is its audit
//! entry.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, QueryFilter, QuerySelect,
};
use uuid::Uuid;

use super::{event_detail, note_body};
use crate::crypto::Dek;
use crate::domain::{
    CaseEvent, Category, Channel, Role, Status, SubjectRole, Transition, is_legal, local_day,
    optional_text, parse_case_number, required_text,
};
use crate::entities::{note, report, report_event, user, user_role};
use crate::mail::CaseFacts;
use crate::services::ServiceError;
use crate::services::access::{
    Caller, Viewer, readable, report_dek, status_of, visible_report, workable,
};
use crate::services::audit::AuditAction;
use crate::services::deadlines::{self, CaseDates, Deadlines};
use crate::services::recusal;
use crate::services::routing::{self, CaseMeta, Routing};

/// A write on a case under way: the transaction (its audit entry already first), the case
/// as read inside it, and the key its history is sealed with.
pub(crate) struct Work {
    pub txn: DatabaseTransaction,
    pub case: report::Model,
    pub dek: Dek,
    actor: Uuid,
    now: DateTime<Utc>,
}

/// A command on one case: the call it is given in (what it reads and writes with, who gives
/// it, when) and the case. Every workflow, conversation and rectification command takes one.
#[derive(Clone, Copy)]
pub struct CaseCommand<'a> {
    pub caller: Caller<'a>,
    pub id: Uuid,
}

impl<'a> Caller<'a> {
    /// This call as a command on case `id`.
    pub fn on_case(self, id: Uuid) -> CaseCommand<'a> {
        CaseCommand { caller: self, id }
    }
}

/// A case the viewer may work, as read before the write begins: what a command checks and
/// describes before it takes the lock.
pub(crate) struct Workable<'a> {
    cmd: CaseCommand<'a>,
    pub before: report::Model,
}

impl<'a> Workable<'a> {
    /// Reads the case for a viewer who may work it; refused for anyone else.
    pub(crate) async fn find(cmd: CaseCommand<'a>) -> Result<Workable<'a>, ServiceError> {
        let before = workable(cmd.caller.db, cmd.caller.viewer, cmd.id).await?;
        Ok(Workable { cmd, before })
    }

    /// Reads the case for a viewer who may only remark on it (a note, the bureau's
    /// instructions): anyone who may read it.
    pub(crate) async fn find_to_remark(cmd: CaseCommand<'a>) -> Result<Workable<'a>, ServiceError> {
        if !cmd.caller.viewer.reads_cases() {
            return Err(ServiceError::Forbidden);
        }
        let before = readable(cmd.caller.db, cmd.caller.viewer, cmd.id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        Ok(Workable { cmd, before })
    }

    /// Starts the write: the audit entry is the transaction's first statement (it takes the
    /// write lock), then the case is read again inside it.
    pub(crate) async fn begin(
        &self,
        action: AuditAction,
        detail: &str,
    ) -> Result<Work, ServiceError> {
        let cmd = self.cmd;
        let txn = cmd.caller.begin(action, Some(cmd.id), detail).await?;
        let case = visible_report(&txn, cmd.caller.viewer, cmd.id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let dek = report_dek(cmd.caller.keyring, &case)?;
        Ok(Work {
            txn,
            case,
            dek,
            actor: cmd.caller.viewer.user_id,
            now: cmd.caller.now,
        })
    }
}

impl Work {
    /// Adds an entry to the case's history, its detail sealed with the report's key.
    pub(crate) async fn record(
        &self,
        kind: &str,
        change: Option<(Status, Status)>,
        detail: Option<&str>,
    ) -> Result<(), ServiceError> {
        self.record_dated(kind, change, detail, None).await
    }

    /// `record`, with the day the thing happened when it is not the day it is recorded.
    pub(crate) async fn record_dated(
        &self,
        kind: &str,
        change: Option<(Status, Status)>,
        detail: Option<&str>,
        happened_on: Option<NaiveDate>,
    ) -> Result<(), ServiceError> {
        let id = Uuid::new_v4();
        report_event::ActiveModel {
            id: Set(id),
            report_id: Set(self.case.id),
            at: Set(self.now),
            actor_id: Set(Some(self.actor)),
            kind: Set(kind.to_string()),
            from_status: Set(change.map(|(from, _)| from.code().to_string())),
            to_status: Set(change.map(|(_, to)| to.code().to_string())),
            detail: Set(detail
                .map(|d| event_detail(&self.dek, id).seal("detail", d))
                .transpose()?),
            happened_on: Set(happened_on),
        }
        .insert(&self.txn)
        .await?;
        Ok(())
    }

    pub(crate) async fn commit(self) -> Result<(), ServiceError> {
        Ok(self.txn.commit().await?)
    }
}

/// Moves a case along the workflow. The reason, finding or feedback is sealed with the
/// report's key in the case's history; the audit entry names only the two statuses.
pub async fn change_status(
    cmd: CaseCommand<'_>,
    transition: Transition,
) -> Result<(), ServiceError> {
    let workable = Workable::find(cmd).await?;
    let before = &workable.before;
    let from = status_of(&before.status);
    let to = transition.target();
    if !is_legal(from, to) {
        return Err(ServiceError::IllegalTransition { from, to });
    }
    let (detail, outcome, merge_target) = match &transition {
        Transition::Accept | Transition::StartVerifying => (None, None, None),
        Transition::NotAccept { reason } => (Some(required_text(reason)), None, None),
        Transition::Conclude { outcome, finding } => {
            (Some(required_text(finding)), Some(*outcome), None)
        }
        Transition::Close { feedback } => (Some(required_text(feedback)), None, None),
        Transition::Merge { into_case_number } => {
            let target =
                merge_target(cmd.caller.db, cmd.caller.viewer, before, into_case_number).await?;
            (None, None, Some(target))
        }
    };
    let detail = detail.transpose().map_err(ServiceError::Invalid)?;

    let mut audit_detail = format!(
        "case {}: {} → {}",
        before.case_number,
        from.code(),
        to.code()
    );
    if let Some((_, number)) = &merge_target {
        audit_detail.push_str(&format!(" (into {number})"));
    }
    let work = workable
        .begin(AuditAction::StatusChange, &audit_detail)
        .await?;
    let mut active = report::ActiveModel {
        status: Set(to.code().to_string()),
        status_changed_at: Set(Some(cmd.caller.now)),
        ..Default::default()
    };
    if let Some(outcome) = outcome {
        active.outcome = Set(Some(outcome.code().to_string()));
    }
    if let Some((target, _)) = merge_target {
        active.merged_into = Set(Some(target));
    }
    // Only from the status the decision was made on: a concurrent change wins, this one
    // (and its audit entry) is rolled back.
    let updated = report::Entity::update_many()
        .set(active)
        .filter(report::Column::Id.eq(cmd.id))
        .filter(report::Column::Status.eq(from.code()))
        .exec(&work.txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(ServiceError::IllegalTransition {
            from: status_of(&work.case.status),
            to,
        });
    }
    work.record("status", Some((from, to)), detail).await?;
    work.commit().await
}

/// The case a merge goes into: one the viewer may see, not this one, not itself merged.
/// The number of the case a merge would go into, checked as the merge itself checks it (the
/// move legal, the target visible and not merged), so that a confirmation can name it.
pub async fn merge_preview(
    db: &DatabaseConnection,
    viewer: &Viewer,
    id: Uuid,
    into_case_number: &str,
) -> Result<String, ServiceError> {
    let case = workable(db, viewer, id).await?;
    let from = status_of(&case.status);
    if !is_legal(from, Status::Merged) {
        return Err(ServiceError::IllegalTransition {
            from,
            to: Status::Merged,
        });
    }
    Ok(merge_target(db, viewer, &case, into_case_number).await?.1)
}

async fn merge_target(
    db: &DatabaseConnection,
    viewer: &Viewer,
    case: &report::Model,
    into_case_number: &str,
) -> Result<(Uuid, String), ServiceError> {
    if into_case_number.trim().is_empty() {
        return Err(ServiceError::Invalid("error.required"));
    }
    // "0001" means this case's year: the one the inspector is looking at.
    let year = case.received_on.year();
    let Some(number) = parse_case_number(into_case_number, year) else {
        return Err(ServiceError::Invalid("error.merge_target"));
    };
    let Some(visible) = viewer.visible() else {
        return Err(ServiceError::Forbidden);
    };
    let target = report::Entity::find()
        .select_only()
        .columns([report::Column::Id, report::Column::Status])
        .filter(report::Column::CaseNumber.eq(&number))
        .filter(visible)
        .into_tuple::<(Uuid, String)>()
        .one(db)
        .await?;
    match target {
        Some((target, _)) if target == case.id => {
            Err(ServiceError::Invalid("error.merge_into_itself"))
        }
        Some((target, status)) if status_of(&status) != Status::Merged => Ok((target, number)),
        _ => Err(ServiceError::Invalid("error.merge_target")),
    }
}

/// Something done about a case outside this service, on the day it happened (often
/// recorded later), with an optional note.
#[derive(Debug, Clone)]
pub struct Happened {
    pub event: CaseEvent,
    pub on: NaiveDate,
    pub note: Option<String>,
}

/// Records a transfer or a report to the bureau in the case's history. The day may not be
/// in the future nor before the report arrived.
pub async fn record_event(cmd: CaseCommand<'_>, happened: Happened) -> Result<(), ServiceError> {
    let workable = Workable::find(cmd).await?;
    let before = &workable.before;
    let Happened { event, on, note } = happened;
    if on > local_day(cmd.caller.now) {
        return Err(ServiceError::Invalid("error.date_future"));
    }
    if on < before.received_on {
        return Err(ServiceError::Invalid("error.date_before_report"));
    }
    let note = optional_text(note.as_deref()).map_err(ServiceError::Invalid)?;
    let detail = format!("case {}: {} on {on}", before.case_number, event.describe());
    let work = workable.begin(AuditAction::CaseEvent, &detail).await?;
    work.record_dated(event.code(), None, note, Some(on))
        .await?;
    work.commit().await
}

/// Gives the case to an inspector, or takes it back with `None`. Only an enabled inspector
/// who is not recused from the case can be given it.
pub async fn assign(cmd: CaseCommand<'_>, assignee: Option<Uuid>) -> Result<(), ServiceError> {
    let workable = Workable::find(cmd).await?;
    let before = &workable.before;
    let assignee_account = match assignee {
        Some(user_id) => Some(
            user::Entity::find_by_id(user_id)
                .filter(user::Column::Disabled.eq(false))
                .one(cmd.caller.db)
                .await?
                .ok_or(ServiceError::Invalid("error.assignee"))?,
        ),
        None => None,
    };
    let detail = match &assignee_account {
        Some(account) => format!(
            "case {}: assigned to {}",
            before.case_number, account.username
        ),
        None => format!("case {}: unassigned", before.case_number),
    };
    let work = workable.begin(AuditAction::Assign, &detail).await?;
    if let Some(account) = &assignee_account {
        let inspector = user_role::Entity::find_by_id((account.id, Role::Inspector.code().into()))
            .one(&work.txn)
            .await?
            .is_some();
        if !inspector || recusal::is_recused(&work.txn, cmd.id, account.id).await? {
            return Err(ServiceError::Invalid("error.assignee"));
        }
    }
    report::ActiveModel {
        id: Set(cmd.id),
        assignee_id: Set(assignee),
        ..Default::default()
    }
    .update(&work.txn)
    .await?;
    let name = assignee_account.map(|a| a.display_name);
    work.record("assigned", None, name.as_deref()).await?;
    work.commit().await
}

/// A remark of the office a case was sent to — the bureau's instruction, a verifier's
/// finding — in the case's history (sealed like every event's detail). Only those offices
/// write remarks.
pub async fn record_remark(cmd: CaseCommand<'_>, text: &str) -> Result<(), ServiceError> {
    let Some(kind) = cmd.caller.viewer.remark() else {
        return Err(ServiceError::Forbidden);
    };
    let workable = Workable::find_to_remark(cmd).await?;
    let text = required_text(text).map_err(ServiceError::Invalid)?;
    let detail = format!("case {}: {kind} recorded", workable.before.case_number);
    let work = workable.begin(AuditAction::Note, &detail).await?;
    work.record(kind, None, Some(text)).await?;
    work.commit().await
}

/// Adds an internal note, sealed with the report's key. Returns the note's id.
pub async fn add_note(cmd: CaseCommand<'_>, text: &str) -> Result<Uuid, ServiceError> {
    let workable = Workable::find_to_remark(cmd).await?;
    let before = &workable.before;
    let text = required_text(text).map_err(ServiceError::Invalid)?;
    let detail = format!("case {}: note added", before.case_number);
    let work = workable.begin(AuditAction::Note, &detail).await?;
    let note_id = Uuid::new_v4();
    note::ActiveModel {
        id: Set(note_id),
        report_id: Set(cmd.id),
        author_id: Set(cmd.caller.viewer.user_id),
        at: Set(cmd.caller.now),
        body: Set(note_body(&work.dek, note_id).seal("body", text)?),
    }
    .insert(&work.txn)
    .await?;
    work.commit().await?;
    Ok(note_id)
}

/// An inspector sends a case on to another group. The routing record, the case's history,
/// the audit log and the group's mail are written in one transaction, the audit entry first.
/// A group the case already went to, an unknown group, and the civil-affairs post for a
/// case about civil-affairs staff are refused. The mail carries the current stage's due date.
pub async fn escalate(
    cmd: CaseCommand<'_>,
    routing: &Routing,
    deadlines: &Deadlines,
    group: &str,
) -> Result<(), ServiceError> {
    let workable = Workable::find(cmd).await?;
    let before = &workable.before;
    let Some(target) = routing.group(group) else {
        return Err(ServiceError::Invalid("error.unknown_group"));
    };
    let detail = format!("case {}: escalated to {group}", before.case_number);
    let work = workable.begin(AuditAction::CaseEvent, &detail).await?;
    let village = work.case.village.clone();
    let accepted = deadlines::acceptance_days(&work.txn, vec![cmd.id]).await?;
    let due = deadlines
        .due(&CaseDates {
            status: status_of(&work.case.status),
            received_on: work.case.received_on,
            accepted_on: accepted.get(&cmd.id).copied(),
        })
        .map(|(_, due)| due);
    let facts = CaseFacts {
        report_id: cmd.id,
        case_number: &work.case.case_number,
        category: Category::parse(&work.case.category).unwrap_or(Category::Other),
        village: village.as_deref(),
        channel: Channel::parse(&work.case.channel).unwrap_or(Channel::Web),
        due,
    };
    let case = CaseMeta {
        facts,
        subject_role: work
            .case
            .subject_role
            .as_deref()
            .and_then(SubjectRole::parse),
        anonymous: work.case.anonymous,
    };
    let recused = recusal::recused_users(&work.txn, cmd.id).await?;
    routing::route_escalation(
        &work.txn,
        routing,
        &case,
        group,
        cmd.caller.viewer.user_id,
        &recused,
        cmd.caller.now,
    )
    .await?;
    work.record("escalated", None, Some(target.name.as_str()))
        .await?;
    work.commit().await
}
