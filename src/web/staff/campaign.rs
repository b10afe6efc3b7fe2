//! The campaign dashboard (整治进度): each milestone of the plan, its day, what is still due
//! for it and whether it is late; inspectors may move a milestone's day.

use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::NaiveDate;
use serde::Deserialize;

use super::{Desk, Refused, StaffPage, refusal, staff_template};
use crate::error::AppError;
use crate::i18n::{Catalog, Lang};
use crate::services::campaign::{self, MilestoneState};
use crate::web::pages::see_other;

staff_template!(CampaignPage);

/// A milestone as the dashboard shows it.
pub struct ShownMilestone {
    pub id: String,
    pub name: String,
    pub due_on: String,
    /// Met, due in N days, due today, or late by N days.
    pub state: String,
    /// `met`, `due` or `late`: the row's class.
    pub class: &'static str,
    pub due: Vec<String>,
}

#[derive(Template)]
#[template(path = "staff/campaign.html")]
struct CampaignPage {
    frame: StaffPage,
    milestones: Vec<ShownMilestone>,
    period: String,
    problem: Option<&'static str>,
    /// What was typed into the form, shown again when refused.
    typed_id: String,
    typed_on: String,
}

/// The form that moves a milestone.
#[derive(Debug, Default, Deserialize)]
pub struct MoveForm {
    milestone: Option<String>,
    on: Option<String>,
}

fn shown(t: &Catalog, lang: Lang, state: &MilestoneState) -> ShownMilestone {
    let m = &state.milestone;
    let days = state.days_left.unsigned_abs().to_string();
    let (text, class) = match (state.met, state.days_left) {
        (true, _) => (t.t("campaign.met").to_string(), "met"),
        (false, d) if d < 0 => (t.t("campaign.late").replace("{days}", &days), "late"),
        (false, 0) => (t.t("campaign.today").to_string(), "due"),
        (false, _) => (t.t("campaign.due_in").replace("{days}", &days), "due"),
    };
    ShownMilestone {
        id: m.id.clone(),
        name: match lang {
            Lang::Zh => m.zh.clone(),
            Lang::En => m.en.clone(),
        },
        due_on: m.due_on.to_string(),
        state: text,
        class,
        due: state
            .due
            .iter()
            .map(|d| t.t(d.key).replace("{n}", &d.count.to_string()))
            .collect(),
    }
}

async fn campaign_page(
    desk: &Desk,
    typed: MoveForm,
    refused: Option<Refused>,
) -> Result<HttpResponse, AppError> {
    let t = desk.t();
    let state = &desk.state;
    let settings = &state.settings.campaign;
    let states = campaign::dashboard(
        &state.db,
        desk.viewer(),
        &settings.milestones,
        state.today(),
    )
    .await?;
    let page = CampaignPage {
        milestones: states.iter().map(|s| shown(t, desk.lang, s)).collect(),
        period: t
            .t("campaign.period")
            .replace("{start}", &settings.start.to_string())
            .replace("{end}", &settings.end.to_string()),
        problem: refused.map(|r| t.t(r.reason)),
        typed_id: typed.milestone.unwrap_or_default(),
        typed_on: typed.on.unwrap_or_default(),
        frame: desk.page(),
    };
    desk.render_form(&page, refused)
}

/// `GET /staff/campaign`
pub async fn show_campaign(desk: Desk) -> Result<HttpResponse, AppError> {
    campaign_page(&desk, MoveForm::default(), None).await
}

/// `POST /staff/campaign`: moves a milestone to another day.
pub async fn move_milestone(
    desk: Desk,
    form: web::Form<MoveForm>,
) -> Result<HttpResponse, AppError> {
    let typed = form.into_inner();
    let on = typed.on.as_deref().map(str::trim).unwrap_or_default();
    let moved: Result<(), &'static str> = match NaiveDate::parse_from_str(on, "%Y-%m-%d") {
        Err(_) => Err("error.date"),
        Ok(day) => {
            let state = &desk.state;
            let id = typed.milestone.as_deref().unwrap_or_default();
            let done = campaign::move_milestone(
                desk.caller(),
                &state.settings.campaign.milestones,
                id,
                day,
            )
            .await;
            match done {
                Ok(()) => Ok(()),
                Err(e) => Err(refusal(e)?),
            }
        }
    };
    match moved {
        Ok(()) => Ok(see_other(&format!(
            "/staff/campaign?lang={}",
            desk.lang.code()
        ))),
        Err(key) => campaign_page(&desk, typed, Some(Refused::invalid(key))).await,
    }
}
