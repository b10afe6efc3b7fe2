//! The case page: the case, its history and conversation, and the forms of its actions.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{due_text, village_name};
use crate::domain::{ResultKind, Role, Status, conversation_open, is_finished, local_day};
use crate::error::{AppError, ErrorKind};
use crate::i18n::Catalog;
use crate::services::cases::{self, CaseFile, CaseView, MeasureView, Outcome, ResultView};
use crate::services::recusal::{Recused, Why};
use crate::web::pages::{Choice, clock_time, local_time, shown_time};
use crate::web::staff::{Desk, StaffPage, path_id, staff_template};
use crate::web::upload::size_text;

staff_template!(CasePage);

/// One entry of the case's history as the page shows it: an event, a note or a message,
/// all in the order they happened.
pub struct Entry {
    when: DateTime<Utc>,
    pub at: String,
    /// The entry's class: `event`, `note`, `instruction`, `from-inspector` or
    /// `from-reporter` (with ` unread` while no inspector has read it).
    pub class: String,
    /// What kind of entry it is, in words.
    pub kind: String,
    pub who: String,
    /// What happened (a status change, an event and its day); empty for plain text.
    pub what: String,
    pub text: String,
    pub unread: bool,
}

/// A group the case went to, for the routing record.
pub struct ShownRoute {
    pub group: String,
    pub reason: String,
    pub escalated: bool,
    pub actor: String,
    pub at: String,
}

/// What was typed into the form a refusal re-shows: the form's name and its fields.
#[derive(Debug, Default)]
pub struct Typed {
    pub form: &'static str,
    pub fields: Vec<(String, String)>,
    /// The catalog key of the label of the form's required text, which a refusal for
    /// leaving it blank names.
    pub required: Option<&'static str>,
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
    timeline: Vec<Entry>,
    reads: Vec<(String, String)>,
    inspectors: Vec<Choice>,
    /// Who may be recused by hand.
    recusable: Vec<Choice>,
    /// The status changes legal now, by form name.
    moves: Vec<&'static str>,
    /// Whether the viewer works the case (an inspector) or only reads and remarks on it.
    may_work: bool,
    /// The kind of remark the viewer records (the bureau's instructions, a verifier's
    /// findings), if any.
    remark: Option<&'static str>,
    /// Still being worked: not closed nor merged.
    open: bool,
    /// The reporter can still be asked questions.
    talking: bool,
    typed: Typed,
    outcomes: Vec<Choice>,
    routes: Vec<ShownRoute>,
    /// The groups the case has not gone to yet.
    escalate_to: Vec<Choice>,
    problem: Option<String>,
    attachments: Vec<ShownAttachment>,
    /// Today in Shanghai, YYYY-MM-DD: the default and the latest day of a recorded event.
    today: String,
    /// The viewer may record rectification: an inspector, on a case found (partly)
    /// substantiated.
    rectifiable: bool,
    result_kinds: Vec<Choice>,
}

impl CasePage {
    fn offers(&self, code: &str) -> bool {
        self.moves.contains(&code)
    }

    /// What was typed into `field` of `form` before a refusal; empty otherwise.
    fn typed(&self, form: &str, field: &str) -> &str {
        self.typed_or(form, field, "")
    }

    fn typed_or<'s>(&'s self, form: &str, field: &str, default: &'s str) -> &'s str {
        if self.typed.form != form {
            return default;
        }
        self.typed
            .fields
            .iter()
            .find(|(name, _)| name == field)
            .map_or(default, |(_, value)| value.as_str())
    }

    /// A result of a measure in words: its kind, how many, how much, when, and particulars.
    fn result_text(&self, r: &ResultView) -> String {
        let t = self.t;
        let count_key = if r.kind.is_sanction() {
            "staff.rectify.people"
        } else {
            "staff.rectify.households"
        };
        let mut text = format!("{} {}", r.on, t.label("staff.result", r.kind.code()));
        if !r.kind.is_money() {
            text.push(' ');
            text.push_str(&t.t(count_key).replace("{count}", &r.count.to_string()));
        }
        if let Some(amount) = r.amount {
            text.push('，');
            text.push_str(
                &t.t("staff.rectify.yuan")
                    .replace("{amount}", &amount.to_string()),
            );
        }
        if let Some(detail) = &r.detail {
            text.push('：');
            text.push_str(detail);
        }
        text
    }

    fn any_open_measure(&self) -> bool {
        self.case.rectification.iter().any(|m| m.done_on.is_none())
    }

    /// Done (and when), overdue, or in progress.
    fn measure_state(&self, m: &MeasureView) -> String {
        let t = self.t;
        match m.done_on {
            Some(on) => t
                .t("staff.rectify.done_on")
                .replace("{on}", &on.to_string()),
            None if m.overdue => t.t("staff.rectify.overdue").to_string(),
            None => t.t("staff.rectify.in_progress").to_string(),
        }
    }

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

/// The status changes a case page has a form for, by form name, in the order offered, with
/// the status each leads to.
pub(super) const MOVES: [(&str, Status); 6] = [
    ("accept", Status::Accepted),
    ("start_verifying", Status::Verifying),
    ("conclude", Status::Concluded),
    ("close", Status::Closed),
    ("not_accept", Status::NotAccepted),
    ("merge", Status::Merged),
];

/// The status changes offered on a case page, by form name: only legal ones are shown.
fn moves(status: Status) -> Vec<&'static str> {
    MOVES
        .into_iter()
        .filter(|(_, to)| cases::is_legal(status, *to))
        .map(|(code, _)| code)
        .collect()
}

/// Whether a history kind is an office's remark (instruction, finding).
fn is_remark(kind: &str) -> bool {
    Role::ALL.iter().any(|r| r.remark() == Some(kind))
}

/// The case's events, notes and messages as one history, in the order they happened.
fn timeline(t: &Catalog, case: &CaseView) -> Vec<Entry> {
    let events = case.events.iter().map(|e| {
        let (class, kind) = match (e.from, e.to) {
            (Some(_), Some(_)) => ("event", "staff.timeline.status"),
            _ if is_remark(&e.kind) => ("remark", "staff.timeline.remark"),
            _ => ("event", "staff.timeline.event"),
        };
        let what = match (e.from, e.to) {
            (Some(from), Some(to)) => format!(
                "{} → {}",
                t.label("status", from.code()),
                t.label("status", to.code())
            ),
            _ if is_remark(&e.kind) => t.label("staff.event", &e.kind).to_string(),
            _ => match e.happened_on {
                Some(on) => t
                    .t("staff.case.event_on")
                    .replace("{event}", t.label("staff.event", &e.kind))
                    .replace("{on}", &on.to_string()),
                None => t.label("staff.event", &e.kind).to_string(),
            },
        };
        Entry {
            when: e.at,
            at: local_time(e.at),
            class: class.to_string(),
            kind: t.t(kind).to_string(),
            who: e.actor.clone().unwrap_or_default(),
            what,
            text: e.detail.as_ref().map(|d| d.to_string()).unwrap_or_default(),
            unread: false,
        }
    });
    let notes = case.notes.iter().map(|n| Entry {
        when: n.at,
        at: local_time(n.at),
        class: "note".to_string(),
        kind: t.t("staff.timeline.note").to_string(),
        who: n.author.clone().unwrap_or_default(),
        what: String::new(),
        text: n.text.to_string(),
        unread: false,
    });
    let messages = case.messages.iter().map(|m| {
        let (class, kind, who) = if m.from_inspector {
            let who = m.author.clone().unwrap_or_default();
            ("from-inspector", "staff.timeline.question", who)
        } else {
            let who = t.t("staff.case.reporter").to_string();
            ("from-reporter", "staff.timeline.reply", who)
        };
        Entry {
            when: m.at,
            at: shown_time(m.at, m.day_only),
            class: if m.unread {
                format!("{class} unread")
            } else {
                class.to_string()
            },
            kind: t.t(kind).to_string(),
            who,
            what: String::new(),
            text: m.text.to_string(),
            unread: m.unread,
        }
    });
    let mut entries: Vec<Entry> = events.chain(notes).chain(messages).collect();
    entries.sort_by_key(|e| e.when);
    entries
}

/// The case page, with `problem` (why an action was refused) above it when there is one.
pub(super) async fn case_page(
    desk: &Desk,
    id: Uuid,
    problem: Option<String>,
    typed: Typed,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let frame = desk.page();
    let viewer = desk.viewer();
    let may_work = viewer.is_inspector();
    let t = frame.t;
    let state = &desk.state;
    let file = cases::case_file(desk.caller(), &state.routing, id, &state.deadlines).await?;
    let Some(CaseFile {
        case,
        reads,
        assignable,
        recusable,
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
        timeline: timeline(t, &case),
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
        recusable: recusable
            .iter()
            .map(|(user, name)| Choice::new(&user.to_string(), name, None))
            .collect(),
        moves: if may_work {
            moves(case.status)
        } else {
            Vec::new()
        },
        may_work,
        remark: viewer.remark(),
        open: !is_finished(case.status),
        talking: conversation_open(case.status),
        typed,
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
        rectifiable: may_work
            && case.status != Status::Merged
            && matches!(
                case.outcome,
                Some(Outcome::Substantiated | Outcome::PartlySubstantiated)
            ),
        result_kinds: Choice::labelled(t, "staff.result", ResultKind::ALL.map(|k| k.code()), None),
        case,
    };
    desk.render(&page, status)
}

pub async fn show_case(desk: Desk, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    let id = path_id(&id)?;
    case_page(&desk, id, None, Typed::default(), StatusCode::OK).await
}
