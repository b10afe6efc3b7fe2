//! The quarantine review: inspectors keep or discard flood reports in bulk.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use uuid::Uuid;

use super::{Desk, Nav, StaffPage};
use crate::error::AppError;
use crate::i18n::{Catalog, Lang};
use crate::services::quarantine;
use crate::web::pages::see_other;

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

pub async fn review(desk: Desk) -> Result<HttpResponse, AppError> {
    let StaffPage { t, lang, nav } = desk.page();
    let state = &desk.state;
    let rows = quarantine::review_list(&state.db, &state.keyring, &desk.viewer(), state.now())
        .await?
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
    desk.render(&QuarantinePage { t, lang, nav, rows }, StatusCode::OK)
}

/// Takes `decision.<report id>=keep|discard` pairs; anything else is left for later.
pub async fn decide(
    desk: Desk,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
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
    let state = &desk.state;
    quarantine::decide(
        &state.db,
        &state.keyring,
        &desk.viewer(),
        &state.routing,
        &state.deadlines,
        &keep,
        &discard,
        state.now(),
    )
    .await?;
    Ok(see_other("/staff/quarantine"))
}
