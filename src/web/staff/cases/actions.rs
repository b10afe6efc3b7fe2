//! What an inspector does on a case page. Each action is a form and the one service call it
//! makes; `act` is the handler of them all: the case from the path, the call, then back to
//! the case page or the page again with the refusal's reason.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::page::{MOVES, Typed, case_page};
use crate::domain::{ResultKind, Yuan, local_day};
use crate::error::AppError;
use crate::i18n::Catalog;
use crate::services::cases::{
    self, CaseCommand, CaseEvent, Happened, NewMeasure, NewResult, Outcome, Transition, Viewer,
};
use crate::services::{ServiceError, recusal, staff};
use crate::web::AppState;
use crate::web::pages::see_other;
use crate::web::staff::confirm::{self, Ask, Confirmation};
use crate::web::staff::{Desk, path_id};

/// An action on a case: the form it is posted as, and its service call.
pub trait CaseAction: DeserializeOwned + Serialize {
    async fn run(self, cmd: CaseCommand<'_>, state: &AppState) -> Result<(), ServiceError>;

    /// For an action that cannot be undone: what the confirmation page asks, checked first
    /// as far as it can be (a refusal is shown at once, not after confirming). `None` for
    /// the others.
    async fn confirmation(
        &self,
        _cmd: CaseCommand<'_>,
        _t: &'static Catalog,
    ) -> Result<Option<Confirm>, ServiceError> {
        Ok(None)
    }

    /// The name of the action's form on the case page, whose fields a refusal shows again
    /// as typed; `None` for a form with nothing to show again.
    const FORM: Option<&'static str> = None;

    /// What was typed into the action's form, shown again when it is refused.
    fn typed(&self) -> Typed {
        Self::FORM.map_or_else(Typed::default, |form| typed(form, self))
    }

    /// The catalog key of the label of the text the action requires, which a refusal for
    /// leaving it blank names.
    fn required(&self) -> Option<&'static str> {
        None
    }

    /// Whether, done, the action puts the case out of the inspector's sight (they stepped
    /// aside), so that they go back to the list rather than to the case.
    fn leaves_case(&self, _viewer: &Viewer) -> bool {
        false
    }
}

/// What a confirmation page says and the fields it posts again.
pub struct Confirm {
    pub question: String,
    pub consequence: String,
    pub button: String,
    pub fields: Vec<(&'static str, String)>,
}

/// An action's form with the confirmation page's own field.
#[derive(Deserialize)]
pub struct Posted<A> {
    #[serde(flatten)]
    action: A,
    #[serde(flatten)]
    confirmation: Confirmation,
}

/// `POST /staff/cases/{id}/…` for every action.
pub async fn act<A: CaseAction>(
    desk: Desk,
    id: web::Path<String>,
    form: web::Form<Posted<A>>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&id)?;
    let Posted {
        action,
        confirmation,
    } = form.into_inner();
    let cmd = desk.caller().on_case(id);
    if !confirmation.given() {
        match action.confirmation(cmd, desk.t()).await {
            Ok(None) => {}
            Ok(Some(confirm)) => {
                let lang = desk.lang.code();
                let ask = Ask {
                    question: confirm.question,
                    consequence: confirm.consequence,
                    action: format!("{}?lang={lang}", desk.req().path()),
                    fields: confirm.fields,
                    button: confirm.button,
                    back: format!("/staff/cases/{id}?lang={lang}"),
                };
                return confirm::ask(&desk, ask);
            }
            Err(refused) => return after(&desk, id, Err(refused), as_typed(&action)).await,
        }
    }
    let leaves = action.leaves_case(desk.viewer());
    let typed = as_typed(&action);
    let result = action.run(cmd, &desk.state).await;
    if leaves && result.is_ok() {
        return Ok(see_other("/staff/cases"));
    }
    after(&desk, id, result, typed).await
}

/// The form as typed, with the label a blank refusal names.
fn as_typed(action: &impl CaseAction) -> Typed {
    Typed {
        required: action.required(),
        ..action.typed()
    }
}

/// After an action: back to the case page (POST-redirect-GET), or the page again with the
/// refusal's reason.
async fn after(
    desk: &Desk,
    id: Uuid,
    result: Result<(), ServiceError>,
    typed: Typed,
) -> Result<HttpResponse, AppError> {
    let t = desk.t();
    let problem = match result {
        Ok(()) => {
            let lang = desk.lang.code();
            return Ok(see_other(&format!("/staff/cases/{id}?lang={lang}")));
        }
        Err(ServiceError::IllegalTransition { from, to }) => t
            .t("staff.case.illegal")
            .replace("{from}", t.label("status", from.code()))
            .replace("{to}", t.label("status", to.code())),
        Err(ServiceError::Invalid("error.required")) if typed.required.is_some() => {
            let label = typed.required.map(|key| t.t(key)).unwrap_or_default();
            t.t("error.required_field").replace("{field}", label)
        }
        Err(ServiceError::Invalid(key)) => t.t(key).to_string(),
        Err(e) => return Err(e.into()),
    };
    case_page(
        desk,
        id,
        Some(problem),
        typed,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

/// The fields of an action's form as typed (those it was posted with), for
/// `CaseAction::typed`: `form` is the form's name on the case page.
fn typed(form: &'static str, action: &impl Serialize) -> Typed {
    let fields = match serde_json::to_value(action) {
        Ok(serde_json::Value::Object(fields)) => fields
            .into_iter()
            .filter_map(|(name, value)| match value {
                serde_json::Value::String(value) => Some((name, value)),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    Typed {
        form,
        fields,
        required: None,
    }
}

/// A move in the workflow, with what it needs: a reason, a finding, the case merged into.
#[derive(Debug, Deserialize, Serialize)]
pub struct ChangeStatus {
    transition: Option<String>,
    text: Option<String>,
    outcome: Option<String>,
    into: Option<String>,
}

impl ChangeStatus {
    fn transition(self) -> Result<Transition, ServiceError> {
        let text = self.text.unwrap_or_default();
        match self.transition.as_deref() {
            Some("accept") => Ok(Transition::Accept),
            Some("not_accept") => Ok(Transition::NotAccept { reason: text }),
            Some("start_verifying") => Ok(Transition::StartVerifying),
            Some("conclude") => match self.outcome.as_deref().and_then(Outcome::parse) {
                Some(outcome) => Ok(Transition::Conclude {
                    outcome,
                    finding: text,
                }),
                None => Err(ServiceError::Invalid("staff.case.choose_outcome")),
            },
            Some("close") => Ok(Transition::Close { feedback: text }),
            Some("merge") => Ok(Transition::Merge {
                into_case_number: self.into.unwrap_or_default().trim().to_string(),
            }),
            _ => Err(ServiceError::Invalid("staff.case.choose_move")),
        }
    }
}

impl CaseAction for ChangeStatus {
    async fn run(self, cmd: CaseCommand<'_>, _: &AppState) -> Result<(), ServiceError> {
        let transition = self.transition()?;
        cases::change_status(cmd, transition).await
    }

    fn required(&self) -> Option<&'static str> {
        match self.transition.as_deref() {
            Some("not_accept") => Some("staff.move.reason"),
            Some("conclude") => Some("staff.move.finding"),
            Some("close") => Some("staff.move.feedback"),
            Some("merge") => Some("staff.move.into"),
            _ => None,
        }
    }

    fn typed(&self) -> Typed {
        // The form it came from, named as the page names it.
        let form = MOVES
            .into_iter()
            .map(|(code, _)| code)
            .find(|code| self.transition.as_deref() == Some(*code))
            .unwrap_or("");
        typed(form, self)
    }

    /// A merge is asked about: the case then stops being worked on its own.
    async fn confirmation(
        &self,
        cmd: CaseCommand<'_>,
        t: &'static Catalog,
    ) -> Result<Option<Confirm>, ServiceError> {
        if self.transition.as_deref() != Some("merge") {
            return Ok(None);
        }
        let typed = self.into.as_deref().unwrap_or_default();
        let into = cases::merge_preview(cmd.caller.db, cmd.caller.viewer, cmd.id, typed).await?;
        Ok(Some(Confirm {
            question: t.t("staff.case.merge_ask").replace("{into}", &into),
            consequence: t.t("staff.case.merge_consequence").to_string(),
            button: t.t("staff.case.merge_confirm").to_string(),
            fields: vec![("transition", "merge".into()), ("into", into)],
        }))
    }
}

/// Gives the case to an inspector, or to nobody.
#[derive(Debug, Deserialize, Serialize)]
pub struct AssignCase {
    assignee: Option<String>,
}

impl CaseAction for AssignCase {
    async fn run(self, cmd: CaseCommand<'_>, _: &AppState) -> Result<(), ServiceError> {
        let assignee = self.assignee.and_then(|a| Uuid::parse_str(&a).ok());
        cases::assign(cmd, assignee).await
    }
}

/// Text an inspector writes on a case: a note for the inspectors only (`AddNote`), or a
/// question the reporter reads on the status page (`AskReporter`).
#[derive(Debug, Deserialize, Serialize)]
pub struct Written<const TO_REPORTER: bool> {
    text: Option<String>,
}

pub type AddNote = Written<false>;
pub type AskReporter = Written<true>;

impl<const TO_REPORTER: bool> CaseAction for Written<TO_REPORTER> {
    fn required(&self) -> Option<&'static str> {
        Some(if TO_REPORTER {
            "staff.case.question"
        } else {
            "staff.case.notes"
        })
    }

    const FORM: Option<&'static str> = Some(if TO_REPORTER { "question" } else { "note" });

    async fn run(self, cmd: CaseCommand<'_>, _: &AppState) -> Result<(), ServiceError> {
        let text = self.text.unwrap_or_default();
        if TO_REPORTER {
            cases::ask_reporter(cmd, &text).await?;
        } else {
            cases::add_note(cmd, &text).await?;
        }
        Ok(())
    }
}

/// The remark of the office a case was sent to: the bureau's instruction, a verifier's
/// finding.
#[derive(Debug, Deserialize, Serialize)]
pub struct Instruct {
    text: Option<String>,
}

impl CaseAction for Instruct {
    async fn run(self, cmd: CaseCommand<'_>, _: &AppState) -> Result<(), ServiceError> {
        let text = self.text.unwrap_or_default();
        cases::record_remark(cmd, &text).await
    }

    const FORM: Option<&'static str> = Some("instruction");

    fn required(&self) -> Option<&'static str> {
        Some("staff.case.remark")
    }
}

/// Something done about the case outside this service, on the day it happened (today
/// when left empty), with an optional note.
#[derive(Debug, Deserialize, Serialize)]
pub struct RecordEvent {
    event: Option<String>,
    on: Option<String>,
    text: Option<String>,
}

impl CaseAction for RecordEvent {
    const FORM: Option<&'static str> = Some("event");

    async fn run(self, cmd: CaseCommand<'_>, _: &AppState) -> Result<(), ServiceError> {
        let event = match self.event.as_deref() {
            Some("transferred_discipline") => CaseEvent::TransferredToDisciplinePost,
            Some("reported_bureau") => CaseEvent::ReportedToDistrictBureau,
            _ => return Err(ServiceError::Invalid("staff.case.choose_event")),
        };
        let day = day_or_today(self.on.as_deref(), cmd.caller.now)?;
        let note = self.text.filter(|t| !t.trim().is_empty());
        let happened = Happened {
            event,
            on: day,
            note,
        };
        cases::record_event(cmd, happened).await
    }
}

/// An inspector recuses a colleague, or themselves, by hand and says why.
#[derive(Debug, Deserialize, Serialize)]
pub struct Recuse {
    user: Option<String>,
    reason: Option<String>,
}

impl Recuse {
    fn target(&self) -> Option<Uuid> {
        self.user.as_deref().and_then(|u| Uuid::parse_str(u).ok())
    }
}

impl CaseAction for Recuse {
    const FORM: Option<&'static str> = Some("recuse");

    fn required(&self) -> Option<&'static str> {
        Some("staff.case.recuse_reason")
    }

    async fn run(self, cmd: CaseCommand<'_>, _: &AppState) -> Result<(), ServiceError> {
        let (me, id) = (cmd.caller.viewer.user_id, cmd.id);
        // Only someone who may see the case may act on it.
        if recusal::is_recused(cmd.caller.db, id, me).await?
            || !cases::case_exists(cmd.caller.db, id).await?
        {
            return Err(ServiceError::NotFound);
        }
        let target = self
            .target()
            .ok_or(ServiceError::Invalid("staff.case.choose_person"))?;
        let reason = self.reason.as_deref().unwrap_or("");
        recusal::recuse_manually(
            cmd.caller.db,
            cmd.caller.keyring,
            id,
            target,
            me,
            reason,
            cmd.caller.now,
        )
        .await
        .map(drop)
    }

    /// Having stepped aside, the inspector no longer sees the case.
    fn leaves_case(&self, viewer: &Viewer) -> bool {
        self.target() == Some(viewer.user_id)
    }

    /// A recusal is asked about: it cannot be undone.
    async fn confirmation(
        &self,
        cmd: CaseCommand<'_>,
        t: &'static Catalog,
    ) -> Result<Option<Confirm>, ServiceError> {
        let target = self
            .target()
            .ok_or(ServiceError::Invalid("staff.case.choose_person"))?;
        let reason = self.reason.clone().unwrap_or_default();
        if reason.trim().is_empty() {
            return Err(ServiceError::Invalid("error.required"));
        }
        let names = staff::display_names(cmd.caller.db, [target]).await?;
        let name = names
            .get(&target)
            .ok_or(ServiceError::Invalid("staff.case.choose_person"))?;
        let question = if target == cmd.caller.viewer.user_id {
            t.t("staff.case.recuse_self_ask").to_string()
        } else {
            t.t("staff.case.recuse_ask").replace("{name}", name)
        };
        Ok(Some(Confirm {
            question,
            consequence: t.t("staff.case.recuse_consequence").to_string(),
            button: t.t("staff.case.recuse_confirm").to_string(),
            fields: vec![("user", target.to_string()), ("reason", reason)],
        }))
    }
}

/// Sends the case on to another group.
#[derive(Debug, Deserialize, Serialize)]
pub struct EscalateCase {
    group: Option<String>,
}

impl CaseAction for EscalateCase {
    async fn run(self, cmd: CaseCommand<'_>, s: &AppState) -> Result<(), ServiceError> {
        let group = self.group.unwrap_or_default();
        cases::escalate(cmd, &s.routing, &s.deadlines, group.trim()).await
    }
}

/// A day as a date field posts it, `YYYY-MM-DD`: today when left empty.
fn day_or_today(typed: Option<&str>, now: DateTime<Utc>) -> Result<NaiveDate, ServiceError> {
    match typed.map(str::trim).filter(|d| !d.is_empty()) {
        None => Ok(local_day(now)),
        Some(typed) => parse_day(typed),
    }
}

fn parse_day(typed: &str) -> Result<NaiveDate, ServiceError> {
    NaiveDate::parse_from_str(typed.trim(), "%Y-%m-%d")
        .map_err(|_| ServiceError::Invalid("error.date"))
}

/// The measure a rectification form names, by its number within the case.
fn measure_seq(typed: Option<&str>) -> Result<i32, ServiceError> {
    typed
        .and_then(|m| m.trim().parse().ok())
        .ok_or(ServiceError::Invalid("staff.rectify.choose_measure"))
}

/// A rectification measure on a substantiated case: what, who is responsible, by when.
#[derive(Debug, Deserialize, Serialize)]
pub struct AddMeasure {
    measure: Option<String>,
    responsible: Option<String>,
    due: Option<String>,
}

impl CaseAction for AddMeasure {
    const FORM: Option<&'static str> = Some("measure");

    fn required(&self) -> Option<&'static str> {
        let blank = |v: &Option<String>| v.as_deref().is_none_or(|v| v.trim().is_empty());
        Some(if blank(&self.measure) {
            "staff.rectify.measure"
        } else if blank(&self.responsible) {
            "staff.rectify.responsible"
        } else {
            "staff.rectify.due"
        })
    }

    async fn run(self, cmd: CaseCommand<'_>, _: &AppState) -> Result<(), ServiceError> {
        let due_on = match self.due.as_deref().map(str::trim) {
            None | Some("") => return Err(ServiceError::Invalid("error.required")),
            Some(typed) => parse_day(typed)?,
        };
        let new = NewMeasure {
            measure: self.measure.unwrap_or_default(),
            responsible: self.responsible.unwrap_or_default(),
            due_on,
        };
        cases::add_measure(cmd, new).await.map(drop)
    }
}

/// What a measure came to, on the day it happened.
#[derive(Debug, Deserialize, Serialize)]
pub struct RecordResult {
    measure: Option<String>,
    kind: Option<String>,
    on: Option<String>,
    count: Option<String>,
    amount: Option<String>,
    detail: Option<String>,
}

impl CaseAction for RecordResult {
    const FORM: Option<&'static str> = Some("result");

    fn required(&self) -> Option<&'static str> {
        Some("staff.rectify.amount")
    }

    async fn run(self, cmd: CaseCommand<'_>, _: &AppState) -> Result<(), ServiceError> {
        let seq = measure_seq(self.measure.as_deref())?;
        let kind = self
            .kind
            .as_deref()
            .and_then(ResultKind::parse)
            .ok_or(ServiceError::Invalid("staff.rectify.choose_kind"))?;
        let count = match self.count.as_deref().map(str::trim) {
            None | Some("") => 1,
            Some(typed) => typed
                .parse()
                .map_err(|_| ServiceError::Invalid("error.count"))?,
        };
        let amount = match self.amount.as_deref().map(str::trim) {
            Some(typed) if kind.is_money() && !typed.is_empty() => {
                Some(Yuan::parse(typed).map_err(ServiceError::Invalid)?)
            }
            _ => None,
        };
        let new = NewResult {
            seq,
            kind,
            on: day_or_today(self.on.as_deref(), cmd.caller.now)?,
            count,
            amount,
            detail: self.detail,
        };
        cases::record_result(cmd, new).await
    }
}

/// A measure done, on the day it was.
#[derive(Debug, Deserialize, Serialize)]
pub struct CompleteMeasure {
    measure: Option<String>,
    on: Option<String>,
}

impl CaseAction for CompleteMeasure {
    const FORM: Option<&'static str> = Some("done");

    async fn run(self, cmd: CaseCommand<'_>, _: &AppState) -> Result<(), ServiceError> {
        let seq = measure_seq(self.measure.as_deref())?;
        let done_on = day_or_today(self.on.as_deref(), cmd.caller.now)?;
        cases::complete_measure(cmd, seq, done_on).await
    }
}
