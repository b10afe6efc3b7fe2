//! The case page: the case, its history and conversation, and the forms of its actions.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use uuid::Uuid;

use super::{due_text, village_name};
use crate::domain::Status;
use crate::domain::local_day;
use crate::error::{AppError, ErrorKind};
use crate::i18n::Catalog;
use crate::services::cases::{self, CaseFile, CaseView, Outcome};
use crate::services::recusal::{Recused, Why};
use crate::web::pages::{Choice, clock_time, local_time, shown_time};
use crate::web::staff::{Desk, StaffPage, path_id, staff_template};
use crate::web::upload::size_text;

staff_template!(CasePage);

pub struct ShownEvent {
    pub at: String,
    pub actor: String,
    pub what: String,
    pub detail: String,
}

/// A group the case went to, for the routing record.
pub struct ShownRoute {
    pub group: String,
    pub reason: String,
    pub escalated: bool,
    pub actor: String,
    pub at: String,
}

pub struct ShownMessage {
    pub at: String,
    pub from_inspector: bool,
    pub author: String,
    pub text: String,
    pub unread: bool,
}

/// An evidence file as the case page lists it.
pub struct ShownAttachment {
    pub seq: i32,
    pub name: String,
    pub kind: String,
    pub size: String,
    pub stripped: bool,
    pub image: bool,
}

#[derive(Template)]
#[template(path = "staff/case.html")]
struct CasePage {
    frame: StaffPage,
    id: Uuid,
    case: CaseView,
    category: String,
    village: String,
    channel: String,
    status: String,
    subject_role: String,
    outcome: String,
    due: String,
    events: Vec<ShownEvent>,
    notes: Vec<(String, String, String)>,
    messages: Vec<ShownMessage>,
    reads: Vec<(String, String)>,
    inspectors: Vec<Choice>,
    moves: Vec<(&'static str, String)>,
    outcomes: Vec<Choice>,
    routes: Vec<ShownRoute>,
    /// The groups the case has not gone to yet.
    escalate_to: Vec<Choice>,
    problem: Option<String>,
    attachments: Vec<ShownAttachment>,
    /// Today in Shanghai, YYYY-MM-DD: the default and the latest day of a recorded event.
    today: String,
}

impl CasePage {
    /// Why a person is recused, in words: the ground is often itself a lead.
    fn why_recused(&self, recused: &Recused) -> String {
        let t = self.t;
        match &recused.why {
            Why::Named { written, alias } => {
                let key = if *alias {
                    "staff.case.recused_alias"
                } else {
                    "staff.case.recused_named"
                };
                t.t(key).replace("{name}", written)
            }
            Why::Relative { relative, relation } => t
                .t("staff.case.recused_relative")
                .replace("{name}", relative)
                .replace("{relation}", relation.as_deref().map_or("", |r| r.as_str())),
            Why::ByHand { by, reason } => t
                .t("staff.case.recused_by_hand")
                .replace("{by}", by.as_deref().unwrap_or("—"))
                .replace("{reason}", reason.as_deref().map_or("", |r| r.as_str())),
            Why::NoLongerOnFile => t.t("staff.case.recused_no_longer").to_string(),
        }
    }
}

/// The status changes offered on a case page: only legal ones are shown.
fn moves(t: &Catalog, status: Status) -> Vec<(&'static str, String)> {
    [
        ("accept", Status::Accepted),
        ("not_accept", Status::NotAccepted),
        ("start_verifying", Status::Verifying),
        ("conclude", Status::Concluded),
        ("close", Status::Closed),
        ("merge", Status::Merged),
    ]
    .into_iter()
    .filter(|(_, to)| cases::is_legal(status, *to))
    .map(|(code, to)| (code, t.label("status", to.code()).to_string()))
    .collect()
}

/// The case page, with `problem` (why an action was refused) above it when there is one.
pub(super) async fn case_page(
    desk: &Desk,
    id: Uuid,
    problem: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let frame = desk.page();
    let t = frame.t;
    let state = &desk.state;
    let file = cases::case_file(
        &state.db,
        &state.keyring,
        &state.routing,
        &desk.viewer(),
        id,
        &state.deadlines,
        state.now(),
    )
    .await?;
    let Some(CaseFile {
        case,
        reads,
        assignable,
        routes,
        unrouted,
    }) = file
    else {
        return Err(AppError::bare(ErrorKind::NotFound));
    };
    let assignee = case.assignee_id.map(|a| a.to_string());
    let page = CasePage {
        frame,
        id,
        category: t.label("category", case.category.code()).to_string(),
        village: village_name(state, desk.lang, case.village.as_deref()),
        channel: t.label("channel", &case.channel).to_string(),
        status: t.label("status", case.status.code()).to_string(),
        subject_role: case
            .subject_role
            .map(|r| t.label("role", r.code()).to_string())
            .unwrap_or_default(),
        outcome: case
            .outcome
            .map(|o| t.label("staff.outcome", o.code()).to_string())
            .unwrap_or_default(),
        due: due_text(t, case.due),
        events: case
            .events
            .iter()
            .map(|e| ShownEvent {
                at: local_time(e.at),
                actor: e.actor.clone().unwrap_or_default(),
                what: match (e.from, e.to) {
                    (Some(from), Some(to)) => format!(
                        "{} → {}",
                        t.label("status", from.code()),
                        t.label("status", to.code())
                    ),
                    _ => match e.happened_on {
                        Some(on) => t
                            .t("staff.case.event_on")
                            .replace("{event}", t.label("staff.event", &e.kind))
                            .replace("{on}", &on.to_string()),
                        None => t.label("staff.event", &e.kind).to_string(),
                    },
                },
                detail: e.detail.as_ref().map(|d| d.to_string()).unwrap_or_default(),
            })
            .collect(),
        notes: case
            .notes
            .iter()
            .map(|n| {
                let author = n.author.clone().unwrap_or_default();
                (local_time(n.at), author, n.text.to_string())
            })
            .collect(),
        messages: case
            .messages
            .iter()
            .map(|m| ShownMessage {
                at: shown_time(m.at, m.day_only),
                from_inspector: m.from_inspector,
                author: m.author.clone().unwrap_or_default(),
                text: m.text.to_string(),
                unread: m.unread,
            })
            .collect(),
        reads: reads
            .into_iter()
            .map(|r| {
                let span = if r.times == 1 {
                    local_time(r.first)
                } else {
                    t.t("staff.case.read_span")
                        .replace("{first}", &local_time(r.first))
                        .replace("{last}", &clock_time(r.last))
                        .replace("{times}", &r.times.to_string())
                };
                (r.reader.unwrap_or_default(), span)
            })
            .collect(),
        inspectors: assignable
            .iter()
            .map(|(user, name)| Choice::new(&user.to_string(), name, assignee.as_deref()))
            .collect(),
        moves: moves(t, case.status),
        outcomes: Choice::labelled(
            t,
            "staff.outcome",
            Outcome::ALL.iter().map(|o| o.code()),
            None,
        ),
        routes: routes
            .into_iter()
            .map(|r| ShownRoute {
                reason: t.label("staff.route", &r.route.reason).to_string(),
                actor: r.actor.unwrap_or_default(),
                at: shown_time(r.route.at, r.day_only),
                group: r.route.group_name,
                escalated: r.escalated,
            })
            .collect(),
        escalate_to: unrouted
            .iter()
            .map(|(group, name)| Choice::new(group, name, None))
            .collect(),
        problem,
        attachments: case
            .attachments
            .iter()
            .map(|a| ShownAttachment {
                seq: a.seq,
                name: a.name.to_string(),
                kind: t.label("attach.kind", a.kind.code()).to_string(),
                size: size_text(a.size),
                stripped: a.stripped,
                image: a.kind.is_image(),
            })
            .collect(),
        today: local_day(state.now()).to_string(),
        case,
    };
    desk.render(&page, status)
}

pub async fn show_case(desk: Desk, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    case_page(&desk, path_id(&id)?, None, StatusCode::OK).await
}
