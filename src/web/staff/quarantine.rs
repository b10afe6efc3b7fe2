//! The quarantine review: inspectors keep or discard flood reports in bulk.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use uuid::Uuid;

use super::{Desk, StaffPage, staff_template};
use crate::error::AppError;
use crate::services::quarantine;
use crate::web::pages::see_other;

staff_template!(QuarantinePage);

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
    frame: StaffPage,
    rows: Vec<ShownQuarantined>,
    /// "Reports 101–200 of 734", when anything waits.
    showing: String,
    previous: Option<u64>,
    next: Option<u64>,
    page: u64,
}

#[derive(Deserialize)]
pub struct ReviewQuery {
    page: Option<u64>,
}

pub async fn review(desk: Desk, query: web::Query<ReviewQuery>) -> Result<HttpResponse, AppError> {
    let t = desk.t();
    let review = quarantine::review_list(desk.caller(), query.page.unwrap_or(1)).await?;
    let pages = review.pages();
    let page = review.page;
    let first = (page - 1) * quarantine::PER_PAGE + 1;
    let showing = if review.rows.is_empty() {
        String::new()
    } else {
        t.t("staff.quarantine.showing")
            .replace("{first}", &first.to_string())
            .replace(
                "{last}",
                &(first + review.rows.len() as u64 - 1).to_string(),
            )
            .replace("{total}", &review.total.to_string())
    };
    let rows = review
        .rows
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
    let page = QuarantinePage {
        frame: desk.page(),
        rows,
        showing,
        previous: (page > 1).then(|| (page - 1).min(pages)),
        next: (page < pages).then_some(page + 1),
        page,
    };
    desk.render(&page, StatusCode::OK)
}

/// Takes `decision.<report id>=keep|discard` pairs; anything else is left for later.
pub async fn decide(
    desk: Desk,
    page: web::Query<ReviewQuery>,
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
        desk.caller(),
        &state.routing,
        &state.deadlines,
        &keep,
        &discard,
    )
    .await?;
    // Back to the page the decisions were made on; what was decided has left it.
    Ok(see_other(&format!(
        "/staff/quarantine?page={}",
        page.page.unwrap_or(1).max(1)
    )))
}
