//! The triage desk: case lists, the case page, the workflow, notes and messages.

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use sea_orm::sea_query::{Expr, Func, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait,
    DatabaseConnection, DatabaseTransaction, EntityTrait, FromQueryResult, Order as SqlOrder,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::ServiceError;
use super::audit::{self, AuditAction, AuditRecord};
use super::deadlines::{self, CaseDates, Deadlines, Stage};
use super::recusal;
use super::reports::{find_by_code, open_fields, report_dek};
use crate::crypto::{Dek, Keyring, SealContext};
use crate::domain::{Category, Role, Status, SubjectRole, TrackingCode};
use crate::entities::{message, note, report, report_event, report_name, user, user_role};

/// The longest reason, finding, feedback, note or message accepted, in characters.
pub const TEXT_MAX: usize = 5000;

const EVENTS: &str = "report_events";
const NOTES: &str = "notes";
const MESSAGES: &str = "messages";

/// Who is looking: the signed-in account and the roles it holds.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub user_id: Uuid,
    pub roles: Vec<Role>,
}

impl Viewer {
    pub fn is_inspector(&self) -> bool {
        self.roles.contains(&Role::Inspector)
    }

    pub fn is_operator(&self) -> bool {
        self.roles.contains(&Role::Operator)
    }

    /// The reports this account may know exist, or `None` when it may know of none.
    /// Inspectors see every case they are not recused from; operators only the ones they
    /// entered; an admin who is neither sees nothing.
    fn visible(&self) -> Option<Condition> {
        let not_recused = recusal::not_recused_condition(self.user_id);
        if self.is_inspector() {
            Some(not_recused)
        } else if self.is_operator() {
            Some(
                Condition::all()
                    .add(report::Column::OperatorId.eq(self.user_id))
                    .add(not_recused),
            )
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    #[default]
    NewestFirst,
    OldestFirst,
}

/// What the triage list is narrowed to. The default is every visible case, newest first.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub status: Option<Status>,
    pub category: Option<Category>,
    pub village: Option<String>,
    pub channel: Option<String>,
    /// The posting site whose QR code the report came through.
    pub site: Option<Uuid>,
    pub assigned_to_me: bool,
    /// Only cases whose current stage is past its due date.
    pub overdue: bool,
    pub order: Order,
}

/// One line of the triage list: metadata only, nothing decrypted.
#[derive(Debug, Clone)]
pub struct CaseRow {
    pub id: Uuid,
    pub case_number: String,
    pub category: Category,
    pub village: Option<String>,
    pub channel: String,
    pub status: Status,
    pub received_on: NaiveDate,
    pub anonymous: bool,
    /// The assignee's display name.
    pub assignee: Option<String>,
    /// Reporter answers no inspector has opened the case to read yet.
    pub unread_replies: u64,
    /// The current stage and its last day, while anything is due.
    pub due: Option<(Stage, NaiveDate)>,
    /// Past the due date on the day the list was asked for.
    pub overdue: bool,
}

#[derive(Debug, Clone)]
pub struct CaseList {
    pub rows: Vec<CaseRow>,
    /// Cases per status (every status, in workflow order) under the same visibility and
    /// filters as the list, except the status filter: what the status tabs show.
    pub counts: Vec<(Status, u64)>,
    /// How many cases match the filter, over all pages.
    pub total: u64,
    /// Pages count from 1.
    pub page: u64,
    pub per_page: u64,
}

/// How verification came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Substantiated,
    PartlySubstantiated,
    Unsubstantiated,
}

impl Outcome {
    pub const ALL: [Outcome; 3] = [
        Outcome::Substantiated,
        Outcome::PartlySubstantiated,
        Outcome::Unsubstantiated,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Outcome::Substantiated => "substantiated",
            Outcome::PartlySubstantiated => "partly_substantiated",
            Outcome::Unsubstantiated => "unsubstantiated",
        }
    }

    pub fn parse(code: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.code() == code)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A step in the workflow, with what that step requires.
#[derive(Debug, Clone)]
pub enum Transition {
    Accept,
    NotAccept {
        reason: String,
    },
    StartVerifying,
    Conclude {
        outcome: Outcome,
        finding: String,
    },
    /// The feedback is what the reporter reads with their tracking code.
    Close {
        feedback: String,
    },
    Merge {
        into_case_number: String,
    },
}

impl Transition {
    pub fn target(&self) -> Status {
        match self {
            Transition::Accept => Status::Accepted,
            Transition::NotAccept { .. } => Status::NotAccepted,
            Transition::StartVerifying => Status::Verifying,
            Transition::Conclude { .. } => Status::Concluded,
            Transition::Close { .. } => Status::Closed,
            Transition::Merge { .. } => Status::Merged,
        }
    }
}

/// Whether the workflow allows going straight from `from` to `to`.
pub fn is_legal(from: Status, to: Status) -> bool {
    use Status::*;
    matches!(
        (from, to),
        (Received, Accepted | NotAccepted | Merged)
            | (Accepted, Verifying | Merged)
            | (Verifying, Concluded)
            | (Concluded, Closed)
            | (NotAccepted, Closed)
    )
}

/// Things done on a case that are recorded without changing its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseEvent {
    /// Handed to the discipline-inspection post (纪检监察工作站).
    TransferredToDisciplinePost,
    /// Reported up to the district civil-affairs bureau.
    ReportedToDistrictBureau,
}

impl CaseEvent {
    pub fn code(self) -> &'static str {
        match self {
            CaseEvent::TransferredToDisciplinePost => "transferred_discipline",
            CaseEvent::ReportedToDistrictBureau => "reported_bureau",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            CaseEvent::TransferredToDisciplinePost => "transferred to the discipline post",
            CaseEvent::ReportedToDistrictBureau => "reported to the district bureau",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// Missing, or hidden from this account (recused, or not theirs): the same answer.
    #[error("no such case")]
    NotFound,
    #[error("this account's roles do not allow that")]
    Forbidden,
    #[error("a case that is {} cannot become {}", .from.code(), .to.code())]
    IllegalTransition { from: Status, to: Status },
    /// The catalog key of the reason, e.g. `error.required`.
    #[error("{}", invalid_reason(.0))]
    Invalid(&'static str),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<sea_orm::DbErr> for CaseError {
    fn from(e: sea_orm::DbErr) -> CaseError {
        CaseError::Service(e.into())
    }
}

/// The English reason behind an `Invalid` catalog key; the web layer shows the catalog's.
fn invalid_reason(key: &str) -> &'static str {
    match key {
        "error.required" => "a text is required",
        "error.too_long" => "the text is too long",
        "error.merge_target" => "there is no case with that number to merge into",
        "error.merge_into_itself" => "a case cannot be merged into itself",
        "error.assignee" => "the assignee must be an enabled inspector not recused from the case",
        "error.case_closed" => "the case is closed",
        "error.unknown_group" => "there is no such recipient group",
        "error.already_routed" => "the case already went to that group",
        "error.excluded_group" => "a case about civil-affairs staff never goes to their own post",
        _ => "invalid input",
    }
}

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

/// The case page: everything about a case, decrypted for an inspector.
pub struct CaseView {
    pub id: Uuid,
    pub case_number: String,
    pub category: Category,
    pub village: Option<String>,
    pub channel: String,
    pub status: Status,
    pub received_on: NaiveDate,
    /// Kept for real-name reports only: an anonymous one has no time of day.
    pub received_at: Option<DateTime<Utc>>,
    pub anonymous: bool,
    pub assignee_id: Option<Uuid>,
    pub assignee_name: Option<String>,
    pub outcome: Option<Outcome>,
    /// The current stage and its last day, while anything is due.
    pub due: Option<(Stage, NaiveDate)>,
    /// Past the due date on the day the case was opened.
    pub overdue: bool,
    /// The case number this one was merged into.
    pub merged_into: Option<String>,
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
    /// Display names of the staff recused from this case.
    pub recused: Vec<String>,
    /// The evidence files, without their content.
    pub attachments: Vec<super::attachments::AttachmentSummary>,
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

/// The clear columns a list needs; the sealed ones are never loaded.
#[derive(Debug, FromQueryResult)]
struct Metadata {
    id: Uuid,
    case_number: String,
    category: String,
    village: Option<String>,
    channel: String,
    status: String,
    received_on: NaiveDate,
    anonymous: bool,
    assignee_id: Option<Uuid>,
}

const METADATA: [report::Column; 9] = [
    report::Column::Id,
    report::Column::CaseNumber,
    report::Column::Category,
    report::Column::Village,
    report::Column::Channel,
    report::Column::Status,
    report::Column::ReceivedOn,
    report::Column::Anonymous,
    report::Column::AssigneeId,
];

fn status_of(code: &str) -> Status {
    Status::parse(code).unwrap_or(Status::Received)
}

/// The triage list: one page of the cases the viewer may see, with counts per status and each
/// case's due date as of `today` (in Asia/Shanghai). Reads metadata only and decrypts nothing;
/// names, unread counts and acceptance dates come in one query each.
pub async fn list_cases(
    db: &DatabaseConnection,
    viewer: &Viewer,
    filter: &CaseFilter,
    page: u64,
    per_page: u64,
    deadlines: &Deadlines,
    today: NaiveDate,
) -> Result<CaseList, ServiceError> {
    let page = page.max(1);
    let per_page = per_page.clamp(1, 500);
    let Some(visible) = viewer.visible() else {
        return Ok(CaseList {
            rows: Vec::new(),
            counts: Status::ALL.into_iter().map(|s| (s, 0)).collect(),
            total: 0,
            page,
            per_page,
        });
    };
    // Flood reports wait in quarantine until an inspector keeps them.
    let mut narrowed = Condition::all()
        .add(visible)
        .add(report::Column::Quarantined.eq(false));
    if let Some(category) = filter.category {
        narrowed = narrowed.add(report::Column::Category.eq(category.code()));
    }
    if let Some(village) = &filter.village {
        narrowed = narrowed.add(report::Column::Village.eq(village.as_str()));
    }
    if let Some(channel) = &filter.channel {
        narrowed = narrowed.add(report::Column::Channel.eq(channel.as_str()));
    }
    if let Some(site) = filter.site {
        narrowed = narrowed.add(report::Column::SiteId.eq(site));
    }
    if filter.assigned_to_me {
        narrowed = narrowed.add(report::Column::AssigneeId.eq(viewer.user_id));
    }
    if filter.overdue {
        narrowed = narrowed.add(deadlines.due_before(today));
    }

    let per_status: HashMap<String, i64> = report::Entity::find()
        .select_only()
        .column(report::Column::Status)
        .column_as(Expr::expr(Func::count(Expr::col(report::Column::Id))), "n")
        .filter(narrowed.clone())
        .group_by(report::Column::Status)
        .into_tuple::<(String, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let counts: Vec<(Status, u64)> = Status::ALL
        .into_iter()
        .map(|s| {
            let n = per_status.get(s.code()).copied().unwrap_or(0);
            (s, u64::try_from(n).unwrap_or(0))
        })
        .collect();
    let total = match filter.status {
        Some(status) => counts
            .iter()
            .find(|(s, _)| *s == status)
            .map_or(0, |(_, n)| *n),
        None => counts.iter().map(|(_, n)| n).sum(),
    };

    if let Some(status) = filter.status {
        narrowed = narrowed.add(report::Column::Status.eq(status.code()));
    }
    let direction = match filter.order {
        Order::NewestFirst => SqlOrder::Desc,
        Order::OldestFirst => SqlOrder::Asc,
    };
    let found: Vec<Metadata> = report::Entity::find()
        .select_only()
        .columns(METADATA)
        .filter(narrowed)
        .order_by(report::Column::ReceivedOn, direction.clone())
        .order_by(report::Column::CaseNumber, direction)
        .offset((page - 1).saturating_mul(per_page))
        .limit(per_page)
        .into_model::<Metadata>()
        .all(db)
        .await?;

    let names = display_names(db, found.iter().filter_map(|r| r.assignee_id)).await?;
    let unread = unread_replies(db, found.iter().map(|r| r.id).collect()).await?;
    let accepted = deadlines::acceptance_days(db, found.iter().map(|r| r.id).collect()).await?;
    let rows = found
        .into_iter()
        .map(|r| {
            let dates = CaseDates {
                status: status_of(&r.status),
                received_on: r.received_on,
                accepted_on: accepted.get(&r.id).copied(),
            };
            let due = deadlines.due(&dates);
            CaseRow {
                assignee: r.assignee_id.and_then(|a| names.get(&a).cloned()),
                unread_replies: unread.get(&r.id).copied().unwrap_or(0),
                id: r.id,
                case_number: r.case_number,
                category: Category::parse(&r.category).unwrap_or(Category::Other),
                village: r.village,
                channel: r.channel,
                status: dates.status,
                received_on: r.received_on,
                anonymous: r.anonymous,
                overdue: due.is_some_and(|(_, day)| day < today),
                due,
            }
        })
        .collect();
    Ok(CaseList {
        rows,
        counts,
        total,
        page,
        per_page,
    })
}

/// Unread reporter answers per report, for the given reports only.
async fn unread_replies<C: ConnectionTrait>(
    db: &C,
    reports: Vec<Uuid>,
) -> Result<HashMap<Uuid, u64>, ServiceError> {
    if reports.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(message::Entity::find()
        .select_only()
        .column(message::Column::ReportId)
        .column_as(Expr::expr(Func::count(Expr::col(message::Column::Id))), "n")
        .filter(message::Column::ReportId.is_in(reports))
        .filter(message::Column::FromInspector.eq(false))
        .filter(message::Column::ReadAt.is_null())
        .group_by(message::Column::ReportId)
        .into_tuple::<(Uuid, i64)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(id, n)| (id, u64::try_from(n).unwrap_or(0)))
        .collect())
}

/// Display names by account id, in one query.
async fn display_names<C: ConnectionTrait>(
    db: &C,
    ids: impl IntoIterator<Item = Uuid>,
) -> Result<HashMap<Uuid, String>, ServiceError> {
    let mut ids: Vec<Uuid> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::DisplayName)
        .filter(user::Column::Id.is_in(ids))
        .into_tuple::<(Uuid, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// The report if the viewer may see it; hidden and missing look the same.
pub(crate) async fn visible_report<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    id: Uuid,
) -> Result<Option<report::Model>, ServiceError> {
    let Some(visible) = viewer.visible() else {
        return Ok(None);
    };
    Ok(report::Entity::find_by_id(id)
        .filter(visible)
        .one(db)
        .await?)
}

/// The case page for an inspector, with its due date as of the day of `now` in Asia/Shanghai.
/// Opening is audited, and the reporter's answers shown here count as read from now on.
/// Operators and admins who are not inspectors, and recused inspectors, get `None`, as for a
/// case that does not exist.
pub async fn open_case(
    db: &DatabaseConnection,
    keyring: &Keyring,
    viewer: &Viewer,
    id: Uuid,
    deadlines: &Deadlines,
    now: DateTime<Utc>,
) -> Result<Option<CaseView>, ServiceError> {
    if !viewer.is_inspector() {
        return Ok(None);
    }
    // Read once before the transaction for the audit detail, so the audit append can be the
    // transaction's first statement; everything shown is read again inside it.
    let Some(before) = visible_report(db, viewer, id).await? else {
        return Ok(None);
    };
    let txn = db.begin().await?;
    let detail = format!("opened case {}", before.case_number);
    audit::append(
        &txn,
        keyring,
        AuditRecord {
            actor: Some(viewer.user_id),
            action: AuditAction::OpenCase,
            report: Some(id),
            detail: &detail,
        },
        now,
    )
    .await?;
    // Recused in the meantime: dropping the transaction takes the audit entry back too.
    let Some(found) = visible_report(&txn, viewer, id).await? else {
        return Ok(None);
    };
    let view = read_case(
        &txn,
        keyring,
        viewer,
        found,
        deadlines,
        deadlines::today(now),
    )
    .await?;
    message::Entity::update_many()
        .col_expr(message::Column::ReadAt, Expr::value(now))
        .filter(message::Column::ReportId.eq(id))
        .filter(message::Column::FromInspector.eq(false))
        .filter(message::Column::ReadAt.is_null())
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(Some(view))
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
    let names = display_names(
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

    let events = events
        .into_iter()
        .map(|e| {
            Ok(EventView {
                detail: e
                    .detail
                    .as_deref()
                    .map(|d| open_on(&dek, EVENTS, e.id, "detail", d))
                    .transpose()?,
                at: e.at,
                actor: name_of(e.actor_id),
                from: e.from_status.as_deref().and_then(Status::parse),
                to: e.to_status.as_deref().and_then(Status::parse),
                kind: e.kind,
            })
        })
        .collect::<Result<Vec<_>, ServiceError>>()?;
    let notes = notes
        .into_iter()
        .map(|n| {
            Ok(NoteView {
                text: open_on(&dek, NOTES, n.id, "body", &n.body)?,
                at: n.at,
                author: name_of(Some(n.author_id)),
            })
        })
        .collect::<Result<Vec<_>, ServiceError>>()?;
    let messages = messages
        .into_iter()
        .map(|m| {
            Ok(MessageView {
                text: open_on(&dek, MESSAGES, m.id, "body", &m.body)?,
                at: m.at,
                day_only: found.anonymous && !m.from_inspector,
                from_inspector: m.from_inspector,
                author: name_of(m.author_id),
                unread: !m.from_inspector && m.read_at.is_none(),
            })
        })
        .collect::<Result<Vec<_>, ServiceError>>()?;

    let merged_into = match found.merged_into {
        Some(target) => {
            report::Entity::find_by_id(target)
                .select_only()
                .column(report::Column::CaseNumber)
                .into_tuple::<String>()
                .one(txn)
                .await?
        }
        None => None,
    };
    let related = related_cases(txn, viewer, id).await?;
    let attachments = super::attachments::summaries(txn, &dek, id).await?;
    let mut recused: Vec<String> = recused.iter().filter_map(|u| name_of(Some(*u))).collect();
    recused.sort();

    Ok(CaseView {
        id,
        case_number: found.case_number,
        category: Category::parse(&found.category).unwrap_or(Category::Other),
        village: found.village,
        channel: found.channel,
        status,
        received_on: found.received_on,
        received_at: found.received_at,
        anonymous: found.anonymous,
        assignee_name: name_of(found.assignee_id),
        assignee_id: found.assignee_id,
        outcome: found.outcome.as_deref().and_then(Outcome::parse),
        overdue: due.is_some_and(|(_, day)| day < today),
        due,
        merged_into,
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
    let found: Vec<(Uuid, String, String, NaiveDate)> = report::Entity::find()
        .select_only()
        .columns([
            report::Column::Id,
            report::Column::CaseNumber,
            report::Column::Status,
            report::Column::ReceivedOn,
        ])
        .filter(
            report::Column::Id.in_subquery(
                Query::select()
                    .column(report_name::Column::ReportId)
                    .from(report_name::Entity)
                    .and_where(report_name::Column::PlaceIndex.is_in(places))
                    .to_owned(),
            ),
        )
        .filter(report::Column::Id.ne(id))
        .filter(visible)
        .order_by_desc(report::Column::ReceivedOn)
        .order_by_desc(report::Column::CaseNumber)
        .into_tuple()
        .all(db)
        .await?;
    Ok(found
        .into_iter()
        .map(|(id, case_number, status, received_on)| RelatedCase {
            id,
            case_number,
            status: status_of(&status),
            received_on,
        })
        .collect())
}

/// A report's messages in the order they were written. An anonymous reporter's answer is
/// stored at midnight of its day, so it sorts after the inspectors' messages of that day
/// (an answer always follows a question).
async fn sorted_messages<C: ConnectionTrait>(
    db: &C,
    report: &report::Model,
) -> Result<Vec<message::Model>, ServiceError> {
    let mut messages = message::Entity::find()
        .filter(message::Column::ReportId.eq(report.id))
        .order_by_asc(message::Column::At)
        .all(db)
        .await?;
    let day_only = |m: &message::Model| report.anonymous && !m.from_inspector;
    messages.sort_by_key(|m| (shanghai_day(m.at), day_only(m), m.at));
    Ok(messages)
}

fn shanghai_day(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&Shanghai).date_naive()
}

/// Midnight in Asia/Shanghai of the day `now` falls on, as an instant.
fn start_of_day(now: DateTime<Utc>) -> DateTime<Utc> {
    let midnight = shanghai_day(now).and_time(NaiveTime::MIN);
    Shanghai
        .from_local_datetime(&midnight)
        .earliest()
        .map_or(now, |at| at.with_timezone(&Utc))
}

fn seal_on(
    dek: &Dek,
    table: &str,
    row: Uuid,
    field: &str,
    text: &str,
) -> Result<Vec<u8>, ServiceError> {
    let row = row.to_string();
    Ok(dek.seal_str(
        &SealContext {
            table,
            row: &row,
            field,
        },
        text,
    )?)
}

fn open_on(
    dek: &Dek,
    table: &str,
    row: Uuid,
    field: &str,
    stored: &[u8],
) -> Result<Zeroizing<String>, ServiceError> {
    let row = row.to_string();
    Ok(dek.open_string(
        &SealContext {
            table,
            row: &row,
            field,
        },
        stored,
    )?)
}

/// A required free text: trimmed, not empty, at most `TEXT_MAX` characters.
fn required_text(text: &str) -> Result<&str, &'static str> {
    let text = text.trim();
    if text.is_empty() {
        Err("error.required")
    } else if text.chars().count() > TEXT_MAX {
        Err("error.too_long")
    } else {
        Ok(text)
    }
}

/// An optional free text: blank is none.
fn optional_text(text: Option<&str>) -> Result<Option<&str>, &'static str> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => required_text(text).map(Some),
    }
}

/// Starts a write on a case the viewer may work: the audit entry is the transaction's first
/// statement (it takes the write lock), then the case is read again inside the transaction.
pub(crate) async fn begin_work(
    db: &DatabaseConnection,
    keyring: &Keyring,
    viewer: &Viewer,
    action: AuditAction,
    before: &report::Model,
    detail: &str,
    now: DateTime<Utc>,
) -> Result<(DatabaseTransaction, report::Model), CaseError> {
    let txn = db.begin().await?;
    audit::append(
        &txn,
        keyring,
        AuditRecord {
            actor: Some(viewer.user_id),
            action,
            report: Some(before.id),
            detail,
        },
        now,
    )
    .await?;
    let current = visible_report(&txn, viewer, before.id)
        .await?
        .ok_or(CaseError::NotFound)?;
    Ok((txn, current))
}

/// The case as an inspector about to work on it sees it.
pub(crate) async fn workable(
    db: &DatabaseConnection,
    viewer: &Viewer,
    id: Uuid,
) -> Result<report::Model, CaseError> {
    if !viewer.is_inspector() {
        return Err(CaseError::Forbidden);
    }
    visible_report(db, viewer, id)
        .await?
        .ok_or(CaseError::NotFound)
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert_event(
    txn: &DatabaseTransaction,
    dek: &Dek,
    report_id: Uuid,
    actor: Uuid,
    kind: &str,
    change: Option<(Status, Status)>,
    detail: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let id = Uuid::new_v4();
    report_event::ActiveModel {
        id: Set(id),
        report_id: Set(report_id),
        at: Set(now),
        actor_id: Set(Some(actor)),
        kind: Set(kind.to_string()),
        from_status: Set(change.map(|(from, _)| from.code().to_string())),
        to_status: Set(change.map(|(_, to)| to.code().to_string())),
        detail: Set(detail
            .map(|d| seal_on(dek, EVENTS, id, "detail", d))
            .transpose()?),
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// Moves a case along the workflow. The reason, finding or feedback is sealed with the
/// report's key in the case's history; the audit entry names only the two statuses.
pub async fn change_status(
    db: &DatabaseConnection,
    keyring: &Keyring,
    viewer: &Viewer,
    id: Uuid,
    transition: Transition,
    now: DateTime<Utc>,
) -> Result<(), CaseError> {
    let before = workable(db, viewer, id).await?;
    let from = status_of(&before.status);
    let to = transition.target();
    if !is_legal(from, to) {
        return Err(CaseError::IllegalTransition { from, to });
    }
    let (detail, outcome, merge_target) = match &transition {
        Transition::Accept | Transition::StartVerifying => (None, None, None),
        Transition::NotAccept { reason } => (Some(required_text(reason)), None, None),
        Transition::Conclude { outcome, finding } => {
            (Some(required_text(finding)), Some(*outcome), None)
        }
        Transition::Close { feedback } => (Some(required_text(feedback)), None, None),
        Transition::Merge { into_case_number } => {
            let target = merge_target(db, viewer, &before, into_case_number).await?;
            (None, None, Some(target))
        }
    };
    let detail = detail.transpose().map_err(CaseError::Invalid)?;

    let mut audit_detail = format!(
        "case {}: {} → {}",
        before.case_number,
        from.code(),
        to.code()
    );
    if let Some((_, number)) = &merge_target {
        audit_detail.push_str(&format!(" (into {number})"));
    }
    let (txn, current) = begin_work(
        db,
        keyring,
        viewer,
        AuditAction::StatusChange,
        &before,
        &audit_detail,
        now,
    )
    .await?;
    let mut active = report::ActiveModel {
        status: Set(to.code().to_string()),
        status_changed_at: Set(Some(now)),
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
        .filter(report::Column::Id.eq(id))
        .filter(report::Column::Status.eq(from.code()))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(CaseError::IllegalTransition {
            from: status_of(&current.status),
            to,
        });
    }
    let dek = report_dek(keyring, &current)?;
    insert_event(
        &txn,
        &dek,
        id,
        viewer.user_id,
        "status",
        Some((from, to)),
        detail,
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// The case a merge goes into: one the viewer may see, not this one, not itself merged.
async fn merge_target(
    db: &DatabaseConnection,
    viewer: &Viewer,
    case: &report::Model,
    into_case_number: &str,
) -> Result<(Uuid, String), CaseError> {
    let number = into_case_number.trim();
    if number.is_empty() {
        return Err(CaseError::Invalid("error.required"));
    }
    let Some(visible) = viewer.visible() else {
        return Err(CaseError::Forbidden);
    };
    let target = report::Entity::find()
        .select_only()
        .columns([report::Column::Id, report::Column::Status])
        .filter(report::Column::CaseNumber.eq(number))
        .filter(visible)
        .into_tuple::<(Uuid, String)>()
        .one(db)
        .await?;
    match target {
        Some((target, _)) if target == case.id => {
            Err(CaseError::Invalid("error.merge_into_itself"))
        }
        Some((target, status)) if status_of(&status) != Status::Merged => {
            Ok((target, number.to_string()))
        }
        _ => Err(CaseError::Invalid("error.merge_target")),
    }
}

/// Records a transfer or an escalation in the case's history, with an optional note.
pub async fn record_event(
    db: &DatabaseConnection,
    keyring: &Keyring,
    viewer: &Viewer,
    id: Uuid,
    event: CaseEvent,
    note: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), CaseError> {
    let before = workable(db, viewer, id).await?;
    let note = optional_text(note.as_deref()).map_err(CaseError::Invalid)?;
    let detail = format!("case {}: {}", before.case_number, event.describe());
    let (txn, current) = begin_work(
        db,
        keyring,
        viewer,
        AuditAction::CaseEvent,
        &before,
        &detail,
        now,
    )
    .await?;
    let dek = report_dek(keyring, &current)?;
    insert_event(
        &txn,
        &dek,
        id,
        viewer.user_id,
        event.code(),
        None,
        note,
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Gives the case to an inspector, or takes it back with `None`. Only an enabled inspector
/// who is not recused from the case can be given it.
pub async fn assign(
    db: &DatabaseConnection,
    keyring: &Keyring,
    viewer: &Viewer,
    id: Uuid,
    assignee: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<(), CaseError> {
    let before = workable(db, viewer, id).await?;
    let assignee_account = match assignee {
        Some(user_id) => Some(
            user::Entity::find_by_id(user_id)
                .filter(user::Column::Disabled.eq(false))
                .one(db)
                .await?
                .ok_or(CaseError::Invalid("error.assignee"))?,
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
    let (txn, current) = begin_work(
        db,
        keyring,
        viewer,
        AuditAction::Assign,
        &before,
        &detail,
        now,
    )
    .await?;
    if let Some(account) = &assignee_account {
        let inspector = user_role::Entity::find_by_id((account.id, Role::Inspector.code().into()))
            .one(&txn)
            .await?
            .is_some();
        if !inspector || recusal::is_recused(&txn, id, account.id).await? {
            return Err(CaseError::Invalid("error.assignee"));
        }
    }
    report::ActiveModel {
        id: Set(id),
        assignee_id: Set(assignee),
        ..Default::default()
    }
    .update(&txn)
    .await?;
    let dek = report_dek(keyring, &current)?;
    let name = assignee_account.map(|a| a.display_name);
    insert_event(
        &txn,
        &dek,
        id,
        viewer.user_id,
        "assigned",
        None,
        name.as_deref(),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Adds an internal note, sealed with the report's key. Returns the note's id.
pub async fn add_note(
    db: &DatabaseConnection,
    keyring: &Keyring,
    viewer: &Viewer,
    id: Uuid,
    text: &str,
    now: DateTime<Utc>,
) -> Result<Uuid, CaseError> {
    let before = workable(db, viewer, id).await?;
    let text = required_text(text).map_err(CaseError::Invalid)?;
    let detail = format!("case {}: note added", before.case_number);
    let (txn, current) = begin_work(
        db,
        keyring,
        viewer,
        AuditAction::Note,
        &before,
        &detail,
        now,
    )
    .await?;
    let dek = report_dek(keyring, &current)?;
    let note_id = Uuid::new_v4();
    note::ActiveModel {
        id: Set(note_id),
        report_id: Set(id),
        author_id: Set(viewer.user_id),
        at: Set(now),
        body: Set(seal_on(&dek, NOTES, note_id, "body", text)?),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(note_id)
}

/// Asks the reporter something; they read it with their tracking code and may then answer.
/// Returns the message's id.
pub async fn ask_reporter(
    db: &DatabaseConnection,
    keyring: &Keyring,
    viewer: &Viewer,
    id: Uuid,
    text: &str,
    now: DateTime<Utc>,
) -> Result<Uuid, CaseError> {
    let before = workable(db, viewer, id).await?;
    let text = required_text(text).map_err(CaseError::Invalid)?;
    if is_finished(status_of(&before.status)) {
        return Err(CaseError::Invalid("error.case_closed"));
    }
    let detail = format!("case {}: message to the reporter", before.case_number);
    let (txn, current) = begin_work(
        db,
        keyring,
        viewer,
        AuditAction::Message,
        &before,
        &detail,
        now,
    )
    .await?;
    if is_finished(status_of(&current.status)) {
        return Err(CaseError::Invalid("error.case_closed"));
    }
    let dek = report_dek(keyring, &current)?;
    let message_id = Uuid::new_v4();
    message::ActiveModel {
        id: Set(message_id),
        report_id: Set(id),
        from_inspector: Set(true),
        author_id: Set(Some(viewer.user_id)),
        at: Set(now),
        body: Set(seal_on(&dek, MESSAGES, message_id, "body", text)?),
        read_at: Set(None),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(message_id)
}

/// No more conversation once a case is closed or merged into another.
fn is_finished(status: Status) -> bool {
    matches!(status, Status::Closed | Status::Merged)
}

/// A message of the conversation with the reporter, decrypted.
pub(crate) struct ConversationMessage {
    pub from_inspector: bool,
    pub at: DateTime<Utc>,
    pub text: Zeroizing<String>,
}

/// The conversation with the reporter, oldest first.
pub(crate) async fn conversation<C: ConnectionTrait>(
    db: &C,
    dek: &Dek,
    report: &report::Model,
) -> Result<Vec<ConversationMessage>, ServiceError> {
    sorted_messages(db, report)
        .await?
        .into_iter()
        .map(|m| {
            Ok(ConversationMessage {
                text: open_on(dek, MESSAGES, m.id, "body", &m.body)?,
                from_inspector: m.from_inspector,
                at: m.at,
            })
        })
        .collect()
}

/// The reporter may answer once an inspector has asked something, until the case is closed
/// or merged.
pub(crate) fn reply_allowed(status: Status, conversation: &[ConversationMessage]) -> bool {
    !is_finished(status) && conversation.iter().any(|m| m.from_inspector)
}

/// The feedback given when the case was closed.
pub(crate) async fn closing_feedback<C: ConnectionTrait>(
    db: &C,
    dek: &Dek,
    report_id: Uuid,
) -> Result<Option<Zeroizing<String>>, ServiceError> {
    let closing = report_event::Entity::find()
        .filter(report_event::Column::ReportId.eq(report_id))
        .filter(report_event::Column::Kind.eq("status"))
        .filter(report_event::Column::ToStatus.eq(Status::Closed.code()))
        .order_by_desc(report_event::Column::At)
        .one(db)
        .await?;
    closing
        .and_then(|e| e.detail.map(|d| (e.id, d)))
        .map(|(event_id, d)| open_on(dek, EVENTS, event_id, "detail", &d))
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
    let txn = db.begin().await?;
    let detail = format!("reporter replied on case {}", before.case_number);
    audit::append(
        &txn,
        keyring,
        AuditRecord {
            actor: None,
            action: AuditAction::Message,
            report: Some(before.id),
            detail: &detail,
        },
        now,
    )
    .await?;
    let Some(current) = report::Entity::find_by_id(before.id).one(&txn).await? else {
        return Ok(ReplyOutcome::NotFound);
    };
    if !may_reply(&txn, &current).await? {
        return Ok(ReplyOutcome::NotAllowed);
    }
    let dek = report_dek(keyring, &current)?;
    let message_id = Uuid::new_v4();
    message::ActiveModel {
        id: Set(message_id),
        report_id: Set(current.id),
        from_inspector: Set(false),
        author_id: Set(None),
        at: Set(if current.anonymous {
            start_of_day(now)
        } else {
            now
        }),
        body: Set(seal_on(&dek, MESSAGES, message_id, "body", text)?),
        read_at: Set(None),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(ReplyOutcome::Stored)
}

/// The reply rule of `reply_allowed`, without decrypting the conversation.
async fn may_reply<C: ConnectionTrait>(
    db: &C,
    found: &report::Model,
) -> Result<bool, ServiceError> {
    if is_finished(status_of(&found.status)) {
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

/// Whether a report with this id exists at all (visibility is the caller's to check).
pub async fn case_exists<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<bool, ServiceError> {
    Ok(report::Entity::find_by_id(id)
        .select_only()
        .column(report::Column::Id)
        .into_tuple::<Uuid>()
        .one(db)
        .await?
        .is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workflow_allows_only_the_documented_moves() {
        use Status::*;
        let legal = [
            (Received, Accepted),
            (Received, NotAccepted),
            (Received, Merged),
            (Accepted, Verifying),
            (Accepted, Merged),
            (Verifying, Concluded),
            (Concluded, Closed),
            (NotAccepted, Closed),
        ];
        for from in Status::ALL {
            for to in Status::ALL {
                assert_eq!(
                    is_legal(from, to),
                    legal.contains(&(from, to)),
                    "{} → {}",
                    from.code(),
                    to.code()
                );
            }
        }
    }

    #[test]
    fn texts_are_trimmed_and_bounded() {
        assert_eq!(required_text("  理由  "), Ok("理由"));
        assert_eq!(required_text(" \n "), Err("error.required"));
        assert_eq!(
            required_text(&"字".repeat(TEXT_MAX)).map(str::len),
            Ok(TEXT_MAX * 3)
        );
        assert_eq!(
            required_text(&"字".repeat(TEXT_MAX + 1)),
            Err("error.too_long")
        );
        assert_eq!(optional_text(Some("  ")), Ok(None));
        assert_eq!(optional_text(None), Ok(None));
    }

    #[test]
    fn an_anonymous_answer_keeps_only_its_day_in_shanghai() {
        // 2026-03-02 23:30 in Shanghai is still 15:30 UTC on the same date.
        let now = Utc
            .with_ymd_and_hms(2026, 3, 2, 15, 30, 0)
            .single()
            .unwrap();
        let day = start_of_day(now);
        assert_eq!(
            day,
            Utc.with_ymd_and_hms(2026, 3, 1, 16, 0, 0).single().unwrap()
        );
        assert_eq!(day.with_timezone(&Shanghai).time(), NaiveTime::MIN);
        // 00:30 in Shanghai on the 3rd is the previous day in UTC.
        let early = Utc
            .with_ymd_and_hms(2026, 3, 2, 16, 30, 0)
            .single()
            .unwrap();
        assert_eq!(shanghai_day(start_of_day(early)).to_string(), "2026-03-03");
    }

    #[test]
    fn outcome_codes_round_trip() {
        for outcome in Outcome::ALL {
            assert_eq!(Outcome::parse(outcome.code()), Some(outcome));
        }
        assert_eq!(Outcome::PartlySubstantiated.code(), "partly_substantiated");
    }
}
