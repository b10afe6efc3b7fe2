//! What an inspector does on a case page. Each action reads its form and makes its one
//! service call; `act` does the rest: the case from the path, then back to the page.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use uuid::Uuid;

use super::page::case_page;
use crate::error::AppError;
use crate::services::cases::{self, CaseEvent, Outcome, Transition, Viewer};
use crate::services::{ServiceError, recusal};
use crate::web::AppState;
use crate::web::pages::see_other;
use crate::web::staff::{Desk, path_id};

/// Runs one action on the case named by the path and answers with `after`.
async fn act<T>(
    desk: &Desk,
    raw_id: &str,
    action: impl AsyncFnOnce(&AppState, &Viewer, Uuid) -> Result<T, ServiceError>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(raw_id)?;
    let result = action(&desk.state, &desk.viewer(), id).await;
    after(desk, id, result.map(drop)).await
}

/// After an action: back to the case page (POST-redirect-GET), or the page again with the
/// refusal's reason.
async fn after(
    desk: &Desk,
    id: Uuid,
    result: Result<(), ServiceError>,
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
        Err(ServiceError::Invalid(key)) => t.t(key).to_string(),
        Err(e) => return Err(e.into()),
    };
    case_page(desk, id, Some(problem), StatusCode::UNPROCESSABLE_ENTITY).await
}

#[derive(Debug, Deserialize)]
pub struct StatusForm {
    transition: Option<String>,
    text: Option<String>,
    outcome: Option<String>,
    into: Option<String>,
}

impl StatusForm {
    /// The move chosen, with what it needs: a reason, a finding, the case merged into.
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

pub async fn change_status(
    desk: Desk,
    id: web::Path<String>,
    form: web::Form<StatusForm>,
) -> Result<HttpResponse, AppError> {
    let transition = form.into_inner().transition();
    act(&desk, &id, async |s, viewer, id| {
        cases::change_status(&s.db, &s.keyring, viewer, id, transition?, s.now()).await
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct AssignForm {
    assignee: Option<String>,
}

pub async fn assign_case(
    desk: Desk,
    id: web::Path<String>,
    form: web::Form<AssignForm>,
) -> Result<HttpResponse, AppError> {
    let assignee = form
        .into_inner()
        .assignee
        .and_then(|a| Uuid::parse_str(&a).ok());
    act(&desk, &id, async |s, viewer, id| {
        cases::assign(&s.db, &s.keyring, viewer, id, assignee, s.now()).await
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct TextForm {
    text: Option<String>,
}

pub async fn add_note(
    desk: Desk,
    id: web::Path<String>,
    form: web::Form<TextForm>,
) -> Result<HttpResponse, AppError> {
    let text = form.into_inner().text.unwrap_or_default();
    act(&desk, &id, async |s, viewer, id| {
        cases::add_note(&s.db, &s.keyring, viewer, id, &text, s.now()).await
    })
    .await
}

pub async fn ask_reporter(
    desk: Desk,
    id: web::Path<String>,
    form: web::Form<TextForm>,
) -> Result<HttpResponse, AppError> {
    let text = form.into_inner().text.unwrap_or_default();
    act(&desk, &id, async |s, viewer, id| {
        cases::ask_reporter(&s.db, &s.keyring, viewer, id, &text, s.now()).await
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct EventForm {
    event: Option<String>,
    text: Option<String>,
}

pub async fn record_event(
    desk: Desk,
    id: web::Path<String>,
    form: web::Form<EventForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let event = match form.event.as_deref() {
        Some("transferred_discipline") => Ok(CaseEvent::TransferredToDisciplinePost),
        Some("reported_bureau") => Ok(CaseEvent::ReportedToDistrictBureau),
        _ => Err(ServiceError::Invalid("staff.case.choose_event")),
    };
    let note = form.text.filter(|t| !t.trim().is_empty());
    act(&desk, &id, async |s, viewer, id| {
        cases::record_event(&s.db, &s.keyring, viewer, id, event?, note, s.now()).await
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct RecuseForm {
    user: Option<String>,
    reason: Option<String>,
}

/// An inspector recuses a colleague, or themselves, by hand and says why.
pub async fn recuse(
    desk: Desk,
    id: web::Path<String>,
    form: web::Form<RecuseForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let target = form.user.as_deref().and_then(|u| Uuid::parse_str(u).ok());
    let me = desk.user.user_id;
    let mut stepped_aside = false;
    let response = act(&desk, &id, async |s, _, id| {
        // Only someone who may see the case may act on it.
        if recusal::is_recused(&s.db, id, me).await? || !cases::case_exists(&s.db, id).await? {
            return Err(ServiceError::NotFound);
        }
        let target = target.ok_or(ServiceError::Invalid("staff.case.choose_person"))?;
        let reason = form.reason.as_deref().unwrap_or("");
        recusal::recuse_manually(&s.db, &s.keyring, id, target, me, reason, s.now()).await?;
        stepped_aside = target == me;
        Ok(())
    })
    .await?;
    // Having stepped aside, the inspector no longer sees the case.
    Ok(if stepped_aside {
        see_other("/staff/cases")
    } else {
        response
    })
}

#[derive(Debug, Deserialize)]
pub struct EscalateForm {
    group: Option<String>,
}

/// An inspector sends the case on to another group; a refusal re-shows the page with why.
pub async fn escalate_case(
    desk: Desk,
    id: web::Path<String>,
    form: web::Form<EscalateForm>,
) -> Result<HttpResponse, AppError> {
    let group = form.into_inner().group.unwrap_or_default();
    act(&desk, &id, async |s, viewer, id| {
        let (routing, deadlines) = (&s.routing, &s.deadlines);
        let group = group.trim();
        cases::escalate(
            &s.db,
            &s.keyring,
            routing,
            deadlines,
            viewer,
            id,
            group,
            s.now(),
        )
        .await
    })
    .await
}
