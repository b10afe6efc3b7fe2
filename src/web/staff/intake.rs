//! Hotline, letter and walk-in reports typed by an operator. Never throttled by the public
//! limits: the phone line must keep working during a flood.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{Nav, StaffPage};
use crate::domain::{Channel, FieldError, RawReport, ReportDraft};
use crate::error::{AppError, Surface};
use crate::i18n::{Catalog, Lang};
use crate::services;
use crate::services::reports::Origin;
use crate::services::staff::SessionUser;
use crate::web::AppState;
use crate::web::public::{Choice, ShownError, choices, no_store, render, shown_errors};

#[derive(Debug, Default, Deserialize)]
pub struct IntakeForm {
    channel: Option<String>,
    category: Option<String>,
    village: Option<String>,
    subject: Option<String>,
    subject_role: Option<String>,
    description: Option<String>,
    occurred: Option<String>,
    anonymous: Option<String>,
    reporter_name: Option<String>,
    reporter_phone: Option<String>,
}

fn parse_channel(code: Option<&str>) -> Option<Channel> {
    match code {
        Some("hotline") => Some(Channel::Hotline),
        Some("letter") => Some(Channel::Letter),
        Some("walk_in") => Some(Channel::WalkIn),
        _ => None,
    }
}

#[derive(Template)]
#[template(path = "staff/intake.html")]
struct IntakePage {
    t: &'static Catalog,
    lang: Lang,
    nav: Nav,
    values: RawReport,
    channels: Vec<Choice>,
    errors: Vec<ShownError>,
    categories: Vec<Choice>,
    villages: Vec<Choice>,
    roles: Vec<Choice>,
}

impl IntakePage {
    fn has_error(&self, field: &str) -> bool {
        self.errors.iter().any(|e| e.field == field)
    }

    fn error_for(&self, field: &str) -> Option<&'static str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message)
    }
}

#[derive(Template)]
#[template(path = "staff/intake_done.html")]
struct IntakeDonePage {
    t: &'static Catalog,
    lang: Lang,
    nav: Nav,
    code: String,
    anonymous: bool,
}

fn intake_page(
    req: &HttpRequest,
    state: &AppState,
    user: &SessionUser,
    values: RawReport,
    channel: Option<Channel>,
    errors: &[FieldError],
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let StaffPage { t, lang, nav } = StaffPage::new(req, user, state);
    let (categories, villages, roles) = choices(state, lang, &values);
    let current = channel.unwrap_or(Channel::Hotline).code().to_string();
    let channels = [Channel::Hotline, Channel::Letter, Channel::WalkIn]
        .iter()
        .map(|c| Choice {
            code: c.code().to_string(),
            label: t.label("channel", c.code()).to_string(),
            selected: c.code() == current,
        })
        .collect();
    let page = IntakePage {
        t,
        lang,
        nav,
        values,
        channels,
        errors: shown_errors(t, errors),
        categories,
        villages,
        roles,
    };
    render(&page, status, Surface::Page(lang)).map(no_store)
}

pub async fn intake_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: web::ReqData<SessionUser>,
) -> Result<HttpResponse, AppError> {
    intake_page(
        &req,
        &state,
        &user,
        RawReport::default(),
        None,
        &[],
        StatusCode::OK,
    )
}

pub async fn submit_intake(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: web::ReqData<SessionUser>,
    form: web::Form<IntakeForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let channel = parse_channel(form.channel.as_deref());
    let raw = RawReport {
        category: form.category,
        village: form.village,
        subject: form.subject,
        subject_role: form.subject_role,
        description: form.description,
        occurred: form.occurred,
        anonymous: match form.anonymous.as_deref() {
            Some("true") => Some(true),
            Some("false") => Some(false),
            _ => None,
        },
        reporter_name: form.reporter_name,
        reporter_phone: form.reporter_phone,
        site: None,
    };
    let parsed = ReportDraft::parse(raw.clone(), &state.villages);
    let (draft, channel) = match (parsed, channel) {
        (Ok(draft), Some(channel)) => (draft, channel),
        (parsed, channel) => {
            let mut errors = parsed.err().unwrap_or_default();
            if channel.is_none() {
                errors.insert(
                    0,
                    FieldError {
                        field: "channel",
                        reason: "unknown_choice",
                    },
                );
            }
            return intake_page(
                &req,
                &state,
                &user,
                raw,
                channel,
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let StaffPage { t, lang, nav } = StaffPage::new(&req, &user, &state);
    let surface = Surface::Page(lang);
    let receipt = services::reports::submit(
        &state.db,
        &state.keyring,
        &state.routing,
        &state.deadlines,
        draft,
        Origin {
            operator: Some(user.user_id),
            ..Origin::public(channel)
        },
        state.now(),
    )
    .await
    .map_err(|e| AppError::internal(e, surface))?;
    let page = IntakeDonePage {
        t,
        lang,
        nav,
        code: receipt.tracking_code.grouped(),
        anonymous: receipt.anonymous,
    };
    render(&page, StatusCode::OK, surface).map(no_store)
}
