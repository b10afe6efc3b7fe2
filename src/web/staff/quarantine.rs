//! The quarantine review: inspectors keep or discard flood reports in bulk.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use uuid::Uuid;

use super::{Nav, StaffPage};
use crate::error::{AppError, Surface};
use crate::i18n::{Catalog, Lang};
use crate::services::cases::Viewer;
use crate::services::quarantine;
use crate::services::staff::SessionUser;
use crate::web::AppState;
use crate::web::pages::render;

pub struct ShownQuarantined {
    pub id: Uuid,
    pub case_number: String,
    pub category: String,
    pub received_on: String,
    pub excerpt: String,
}

#[derive(Template)]
#[template(path = "staff/quarantine.html")]
struct QuarantinePage {
    t: &'static Catalog,
    lang: Lang,
    nav: Nav,
    rows: Vec<ShownQuarantined>,
}

fn viewer(user: &SessionUser) -> Viewer {
    Viewer {
        user_id: user.user_id,
        roles: user.roles.clone(),
    }
}

pub async fn review(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: web::ReqData<SessionUser>,
) -> Result<HttpResponse, AppError> {
    let StaffPage { t, lang, nav } = StaffPage::new(&req, &user, &state);
    let surface = Surface::Page(lang);
    let rows = quarantine::review_list(&state.db, &state.keyring, &viewer(&user), state.now())
        .await
        .map_err(|e| AppError::internal(e, surface))?
        .into_iter()
        .map(|q| ShownQuarantined {
            id: q.id,
            case_number: q.case_number,
            category: q
                .category
                .map(|c| t.label("category", c.code()).to_string())
                .unwrap_or_default(),
            received_on: q.received_on.to_string(),
            excerpt: q.excerpt.to_string(),
        })
        .collect();
    render(
        &QuarantinePage { t, lang, nav, rows },
        StatusCode::OK,
        surface,
    )
}

/// Takes `decision.<report id>=keep|discard` pairs; anything else is left for later.
pub async fn decide(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: web::ReqData<SessionUser>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let surface = crate::web::page(&req);
    let mut keep = Vec::new();
    let mut discard = Vec::new();
    for (key, value) in form.into_inner() {
        let Some(id) = key
            .strip_prefix("decision.")
            .and_then(|id| Uuid::parse_str(id).ok())
        else {
            continue;
        };
        match value.as_str() {
            "keep" => keep.push(id),
            "discard" => discard.push(id),
            _ => {}
        }
    }
    quarantine::decide(
        &state.db,
        &state.keyring,
        &viewer(&user),
        &state.routing,
        &state.deadlines,
        &keep,
        &discard,
        state.now(),
    )
    .await
    .map_err(|e| AppError::internal(e, surface))?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/staff/quarantine"))
        .finish())
}
