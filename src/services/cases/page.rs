//! The case page: everything about a case, decrypted for an inspector, its opening audited,
//! and what the page shows around it.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DerivePartialModel, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::crypto::Keyring;

use super::conversation::sorted_messages;
use super::rectification::{MeasureView, measures_of};
use super::{event_detail, message_body, note_body};
use crate::domain::{Category, Outcome, Role, Status, SubjectRole, local_day};
use crate::entities::{message, note, report, report_event, report_name};
use crate::services::ServiceError;
use crate::services::access::{
    Caller, Viewer, open_fields, readable, report_dek, reports_having, status_of, visible_report,
};
use crate::services::attachments::{self, AttachmentSummary};
use crate::services::audit::{self, AuditAction};
use crate::services::deadlines::{self, CaseDates, Deadlines, Stage};
use crate::services::routing::{self, CaseRoute, Routing};
use crate::services::{recusal, staff};

/// The case page: everything about a case, decrypted for an inspector.
pub struct CaseView {
    pub id: Uuid,
    pub case_number: String,
    pub category: Category,
    pub village: Option<String>,
    pub channel: String,
    pub status: Status,
    pub received_on: NaiveDate,
    pub anonymous: bool,
    pub assignee_id: Option<Uuid>,
    pub assignee_name: Option<String>,
    pub outcome: Option<Outcome>,
    /// The current stage and its last day, while anything is due.
    pub due: Option<(Stage, NaiveDate)>,
    /// Past the due date on the day the case was opened.
    pub overdue: bool,
    /// The case this one was merged into (id, number), named to those who may see it.
    pub merged_into: Option<(Uuid, String)>,
    /// The cases merged into this one (id, number) that the viewer may see, oldest first.
    pub merged_from: Vec<(Uuid, String)>,
    pub description: Zeroizing<String>,
    pub subject: Option<Zeroizing<String>>,
    pub subject_role: Option<SubjectRole>,
    pub occurred: Option<Zeroizing<String>>,
    pub reporter_name: Option<Zeroizing<String>>,
    pub reporter_phone: Option<Zeroizing<String>>,
    pub events: Vec<EventView>,
    pub notes: Vec<NoteView>,
    pub messages: Vec<MessageView>,
    pub related: Vec<RelatedCase>,
    /// The staff recused from this case, and why.
    pub recused: Vec<recusal::Recused>,
    /// The evidence files, without their content.
    pub attachments: Vec<AttachmentSummary>,
    /// The rectification measures, with what each came to.
    pub rectification: Vec<MeasureView>,
}

pub struct EventView {
    pub at: DateTime<Utc>,
    pub actor: Option<String>,
    /// `status`, `assigned`, `transferred_discipline`, `reported_bureau`, `escalated`.
    pub kind: String,
    pub from: Option<Status>,
    pub to: Option<Status>,
    /// The reason, finding or feedback of a status change, the note on a recorded event, or
    /// the assignee's name.
    pub detail: Option<Zeroizing<String>>,
    /// For a transfer or a report to the bureau: the day it happened.
    pub happened_on: Option<NaiveDate>,
}

pub struct NoteView {
    pub at: DateTime<Utc>,
    pub author: Option<String>,
    pub text: Zeroizing<String>,
}

pub struct MessageView {
    pub at: DateTime<Utc>,
    /// An anonymous reporter's answer keeps only its date: show `at` as a date.
    pub day_only: bool,
    pub from_inspector: bool,
    pub author: Option<String>,
    pub text: Zeroizing<String>,
    /// A reporter answer no inspector had opened before this view.
    pub unread: bool,
}

/// Another case naming the same person in the same village.
#[derive(Debug, Clone)]
pub struct RelatedCase {
    pub id: Uuid,
    pub case_number: String,
    pub status: Status,
    pub received_on: NaiveDate,
}

/// The case page for an inspector, with its due date as of the day of `now` in Asia/Shanghai.
/// Opening is audited, and the reporter's answers shown here count as read from now on.
/// Operators and admins who are not inspectors, and recused inspectors, get `None`, as for a
/// case that does not exist.
pub async fn open_case(
    caller: Caller<'_>,
    id: Uuid,
    deadlines: &Deadlines,
) -> Result<Option<CaseView>, ServiceError> {
    // Read once before the transaction for the audit detail, so the audit append can be the
    // transaction's first statement; everything shown is read again inside it.
    let Some(before) = readable(caller.db, caller.viewer, id).await? else {
        return Ok(None);
    };
    let detail = format!("opened case {}", before.case_number);
    let txn = caller
        .begin(AuditAction::OpenCase, Some(id), &detail)
        .await?;
    // Recused in the meantime: dropping the transaction takes the audit entry back too.
    let Some(found) = visible_report(&txn, caller.viewer, id).await? else {
        return Ok(None);
    };
    let view = read_case(
        &txn,
        caller.keyring,
        caller.viewer,
        found,
        deadlines,
        deadlines::today(caller.now),
    )
    .await?;
    // Replies are read when an inspector, who answers them, has seen them; not the bureau.
    if caller.viewer.is_inspector() {
        message::Entity::update_many()
            .col_expr(message::Column::ReadAt, Expr::value(caller.now))
            .filter(message::Column::ReportId.eq(id))
            .filter(message::Column::FromInspector.eq(false))
            .filter(message::Column::ReadAt.is_null())
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(Some(view))
}

/// A case as its page shows it: the case itself, who has read it, who may be given it and
/// where it has been sent.
pub struct CaseFile {
    pub case: CaseView,
    /// Every opening of the case, newest first.
    pub reads: Vec<ReadView>,
    /// Enabled inspectors not recused from the case: (account, display name).
    pub assignable: Vec<(Uuid, String)>,
    /// Who may be recused by hand: everyone not yet recused who could read the case.
    pub recusable: Vec<(Uuid, String)>,
    /// The groups the case went to, oldest first.
    pub routes: Vec<RouteView>,
    /// The configured groups it has not gone to yet: (group, name).
    pub unrouted: Vec<(String, String)>,
}

/// One person's reads of a case on one day (the audit log keeps every one).
pub struct ReadView {
    pub day: NaiveDate,
    pub reader: Option<String>,
    /// The first and the last read of that day.
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
    pub times: usize,
}

/// Reads (newest first) folded into one line per reader and local day, newest day first.
fn reads_by_day(
    reads: Vec<audit::CaseRead>,
    name_of: impl Fn(Option<Uuid>) -> Option<String>,
) -> Vec<ReadView> {
    let mut days: Vec<(Option<Uuid>, ReadView)> = Vec::new();
    for read in reads {
        let day = local_day(read.at);
        match days
            .iter_mut()
            .find(|(actor, view)| *actor == read.actor && view.day == day)
        {
            Some((_, view)) => {
                view.first = view.first.min(read.at);
                view.last = view.last.max(read.at);
                view.times += 1;
            }
            None => days.push((
                read.actor,
                ReadView {
                    day,
                    reader: name_of(read.actor),
                    first: read.at,
                    last: read.at,
                    times: 1,
                },
            )),
        }
    }
    days.into_iter().map(|(_, view)| view).collect()
}

/// A group the case went to, and who sent it there.
pub struct RouteView {
    pub route: CaseRoute,
    pub escalated: bool,
    pub actor: Option<String>,
    /// An anonymous report's routing by rule happened at intake and keeps its day only: show
    /// `route.at` as a date. An escalation is an inspector's act and keeps its time.
    pub day_only: bool,
}

/// The case page for an inspector: `open_case` (audited, replies marked read) and what the
/// page shows around it. `None` exactly when `open_case` gives `None`.
pub async fn case_file(
    caller: Caller<'_>,
    routing: &Routing,
    id: Uuid,
    deadlines: &Deadlines,
) -> Result<Option<CaseFile>, ServiceError> {
    let Some(case) = open_case(caller, id, deadlines).await? else {
        return Ok(None);
    };
    let reads = audit::reads_of_case(caller.db, id).await?;
    let recused = recusal::recused_users(caller.db, id).await?;
    let readers: Vec<_> = staff::list_users(caller.db)
        .await?
        .into_iter()
        .filter(|u| !u.disabled && !recused.contains(&u.id))
        .collect();
    let of_role = |role: Role| -> Vec<(Uuid, String)> {
        readers
            .iter()
            .filter(|u| u.roles.contains(&role))
            .map(|u| (u.id, u.display_name.clone()))
            .collect()
    };
    let assignable = of_role(Role::Inspector);
    // Recusal applies to everyone who reads case files: inspectors, verifiers, the bureau.
    let recusable = [
        assignable.clone(),
        of_role(Role::Verifier),
        of_role(Role::Bureau),
    ]
    .concat();
    let record = routing::routes_of_case(caller.db, routing, id).await?;
    let names = staff::display_names(
        caller.db,
        reads
            .iter()
            .filter_map(|r| r.actor)
            .chain(record.iter().filter_map(|r| r.actor)),
    )
    .await?;
    let name_of = |id: Option<Uuid>| id.and_then(|id| names.get(&id).cloned());
    let unrouted = routing
        .groups()
        .filter(|(group, _)| !record.iter().any(|r| r.group == *group))
        .filter(|(group, _)| routing::may_escalate_to(group, case.subject_role))
        .map(|(group, name)| (group.to_string(), name.to_string()))
        .collect();
    let routes = record
        .into_iter()
        .map(|route| {
            let escalated = route.reason == routing::BY_ESCALATION;
            RouteView {
                day_only: case.anonymous && !escalated,
                escalated,
                actor: name_of(route.actor),
                route,
            }
        })
        .collect();
    Ok(Some(CaseFile {
        reads: reads_by_day(reads, name_of),
        case,
        assignable,
        recusable,
        routes,
        unrouted,
    }))
}

async fn read_case(
    txn: &DatabaseTransaction,
    keyring: &Keyring,
    viewer: &Viewer,
    found: report::Model,
    deadlines: &Deadlines,
    today: NaiveDate,
) -> Result<CaseView, ServiceError> {
    let id = found.id;
    let dek = report_dek(keyring, &found)?;
    let opened = open_fields(&dek, &found)?;

    let events = report_event::Entity::find()
        .filter(report_event::Column::ReportId.eq(id))
        .order_by_asc(report_event::Column::At)
        .all(txn)
        .await?;
    let notes = note::Entity::find()
        .filter(note::Column::ReportId.eq(id))
        .order_by_asc(note::Column::At)
        .all(txn)
        .await?;
    let messages = sorted_messages(txn, &found).await?;
    let recused = recusal::recused_users(txn, id).await?;
    let names = staff::display_names(
        txn,
        events
            .iter()
            .filter_map(|e| e.actor_id)
            .chain(notes.iter().map(|n| n.author_id))
            .chain(messages.iter().filter_map(|m| m.author_id))
            .chain(found.assignee_id)
            .chain(recused.iter().copied()),
    )
    .await?;
    let name_of = |id: Option<Uuid>| id.and_then(|id| names.get(&id).cloned());
    let status = status_of(&found.status);
    let due = deadlines.due(&CaseDates {
        status,
        received_on: found.received_on,
        accepted_on: deadlines::acceptance_day(&events),
    });

    let events = open_all(events, |e| {
        Ok(EventView {
            happened_on: e.happened_on,
            detail: e
                .detail
                .as_deref()
                .map(|d| event_detail(&dek, e.id).open("detail", d))
                .transpose()?,
            at: e.at,
            actor: name_of(e.actor_id),
            from: e.from_status.as_deref().and_then(Status::parse),
            to: e.to_status.as_deref().and_then(Status::parse),
            kind: e.kind,
        })
    })?;
    let notes = open_all(notes, |n| {
        Ok(NoteView {
            text: note_body(&dek, n.id).open("body", &n.body)?,
            at: n.at,
            author: name_of(Some(n.author_id)),
        })
    })?;
    let messages = open_all(messages, |m| {
        Ok(MessageView {
            text: message_body(&dek, m.id).open("body", &m.body)?,
            at: m.at,
            day_only: found.anonymous && !m.from_inspector,
            from_inspector: m.from_inspector,
            author: name_of(m.author_id),
            unread: !m.from_inspector && m.read_at.is_none(),
        })
    })?;

    // The case it went into is named only to those who may see that case.
    let (merged_into, merged_from) = match viewer.visible() {
        Some(visible) => {
            let into = match found.merged_into {
                Some(target) => {
                    report::Entity::find_by_id(target)
                        .filter(visible.clone())
                        .select_only()
                        .columns([report::Column::Id, report::Column::CaseNumber])
                        .into_tuple::<(Uuid, String)>()
                        .one(txn)
                        .await?
                }
                None => None,
            };
            let from = report::Entity::find()
                .filter(report::Column::MergedInto.eq(id))
                .filter(visible)
                .select_only()
                .columns([report::Column::Id, report::Column::CaseNumber])
                .order_by_asc(report::Column::CaseNumber)
                .into_tuple::<(Uuid, String)>()
                .all(txn)
                .await?;
            (into, from)
        }
        None => (None, Vec::new()),
    };
    let related = related_cases(txn, viewer, id).await?;
    let attachments = attachments::summaries(txn, &dek, id).await?;
    let rectification = measures_of(txn, &dek, id, today).await?;
    let recused = recusal::explain(
        txn,
        keyring,
        &dek,
        id,
        opened.subject.as_deref().map(String::as_str),
        &opened.description,
    )
    .await?;

    Ok(CaseView {
        id,
        case_number: found.case_number,
        category: Category::parse(&found.category).unwrap_or(Category::Other),
        village: found.village,
        channel: found.channel,
        status,
        received_on: found.received_on,
        anonymous: found.anonymous,
        assignee_name: name_of(found.assignee_id),
        assignee_id: found.assignee_id,
        outcome: found.outcome.as_deref().and_then(Outcome::parse),
        overdue: due.is_some_and(|(_, day)| day < today),
        due,
        merged_into,
        merged_from,
        description: opened.description,
        subject: opened.subject,
        subject_role: found.subject_role.as_deref().and_then(SubjectRole::parse),
        occurred: opened.occurred,
        reporter_name: opened.reporter_name,
        reporter_phone: opened.reporter_phone,
        events,
        notes,
        messages,
        related,
        recused,
        attachments,
        rectification,
    })
}

/// Other visible cases naming the same person in the same village, matched on the blind
/// indexes alone: nothing is decrypted to find them.
async fn related_cases<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    id: Uuid,
) -> Result<Vec<RelatedCase>, ServiceError> {
    let Some(visible) = viewer.visible() else {
        return Ok(Vec::new());
    };
    let places: Vec<Vec<u8>> = report_name::Entity::find()
        .select_only()
        .column(report_name::Column::PlaceIndex)
        .filter(report_name::Column::ReportId.eq(id))
        .into_tuple::<Vec<u8>>()
        .all(db)
        .await?;
    if places.is_empty() {
        return Ok(Vec::new());
    }
    let found = report::Entity::find()
        .filter(report::Column::Id.in_subquery(reports_having(
            report_name::Column::ReportId,
            report_name::Column::PlaceIndex.is_in(places),
        )))
        .filter(report::Column::Id.ne(id))
        .filter(visible)
        .order_by_desc(report::Column::ReceivedOn)
        .order_by_desc(report::Column::CaseNumber)
        .into_partial_model::<Related>()
        .all(db)
        .await?;
    Ok(found
        .into_iter()
        .map(|row| RelatedCase {
            id: row.id,
            case_number: row.case_number,
            status: status_of(&row.status),
            received_on: row.received_on,
        })
        .collect())
}

/// What the related-cases list reads of another report.
#[derive(DerivePartialModel)]
#[sea_orm(entity = "report::Entity")]
struct Related {
    id: Uuid,
    case_number: String,
    status: String,
    received_on: NaiveDate,
}

/// Each stored row opened into what the page shows; the first that cannot be opened fails
/// the whole page.
fn open_all<R, V>(
    rows: Vec<R>,
    open: impl FnMut(R) -> Result<V, ServiceError>,
) -> Result<Vec<V>, ServiceError> {
    rows.into_iter().map(open).collect()
}
