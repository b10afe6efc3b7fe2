//! The report form and its submission.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{no_store, render};
use crate::domain::{Category, Channel, FieldError, RawReport, ReportDraft, SubjectRole};
use crate::error::{AppError, ErrorKind, Surface};
use crate::i18n::{Catalog, Lang};
use crate::services;
use crate::web::middleware::rate_limit::RouteClass;
use crate::web::{AppState, client_addr, lang_of};

/// The form as posted. Every field is optional here so that a missing one becomes a
/// reason on the re-shown form, not a bare 400.
#[derive(Debug, Default, Deserialize)]
pub struct ReportForm {
    category: Option<String>,
    village: Option<String>,
    subject: Option<String>,
    subject_role: Option<String>,
    description: Option<String>,
    occurred: Option<String>,
    anonymous: Option<String>,
    reporter_name: Option<String>,
    reporter_phone: Option<String>,
    site: Option<String>,
    form_token: Option<String>,
}

impl ReportForm {
    fn into_parts(self) -> (RawReport, Option<String>) {
        let anonymous = match self.anonymous.as_deref() {
            Some("true") => Some(true),
            Some("false") => Some(false),
            _ => None,
        };
        let raw = RawReport {
            category: self.category,
            village: self.village,
            subject: self.subject,
            subject_role: self.subject_role,
            description: self.description,
            occurred: self.occurred,
            anonymous,
            reporter_name: self.reporter_name,
            reporter_phone: self.reporter_phone,
            site: self.site,
        };
        (raw, self.form_token)
    }
}

pub struct Choice {
    pub code: String,
    pub label: String,
    pub selected: bool,
}

pub struct ShownError {
    pub field: &'static str,
    pub label: &'static str,
    pub message: &'static str,
}

#[derive(Template)]
#[template(path = "public/report_form.html")]
struct ReportFormPage {
    t: &'static Catalog,
    lang: Lang,
    action: String,
    form_token: String,
    values: RawReport,
    errors: Vec<ShownError>,
    notice: Option<String>,
    categories: Vec<Choice>,
    villages: Vec<Choice>,
    roles: Vec<Choice>,
}

impl ReportFormPage {
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

fn choice(code: &str, label: &str, current: &Option<String>) -> Choice {
    Choice {
        code: code.to_string(),
        label: label.to_string(),
        selected: current.as_deref() == Some(code),
    }
}

/// The category, village and role lists of a report form, with what was chosen selected.
pub fn choices(
    state: &AppState,
    lang: Lang,
    values: &RawReport,
) -> (Vec<Choice>, Vec<Choice>, Vec<Choice>) {
    let t = lang.catalog();
    let categories = Category::ALL
        .iter()
        .map(|c| choice(c.code(), t.label("category", c.code()), &values.category))
        .collect();
    let villages = state
        .villages
        .all()
        .iter()
        .map(|v| {
            let label = match lang {
                Lang::Zh => v.zh.as_str(),
                Lang::En => v.en.as_str(),
            };
            choice(&v.id, label, &values.village)
        })
        .collect();
    let roles = SubjectRole::ALL
        .iter()
        .map(|r| choice(r.code(), t.label("role", r.code()), &values.subject_role))
        .collect();
    (categories, villages, roles)
}

/// Field errors in the reader's language, each linked to its field.
pub fn shown_errors(t: &'static Catalog, errors: &[FieldError]) -> Vec<ShownError> {
    errors
        .iter()
        .map(|e| ShownError {
            field: e.field,
            label: t.label("error.field", e.field),
            message: t.label("error", e.reason),
        })
        .collect()
}

/// Renders the form with what was typed, the reasons it was refused, and a fresh token.
fn form_page(
    state: &AppState,
    lang: Lang,
    values: RawReport,
    errors: &[FieldError],
    notice: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let t = lang.catalog();
    let (categories, villages, roles) = choices(state, lang, &values);
    let page = ReportFormPage {
        t,
        lang,
        action: format!("/report?lang={}", lang.code()),
        form_token: state.keyring.issue_form_token(state.now().timestamp()),
        categories,
        villages,
        roles,
        errors: shown_errors(t, errors),
        values,
        notice,
    };
    render(&page, status, Surface::Page(lang))
}

pub async fn report_form(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    form_page(
        &state,
        lang_of(&req),
        RawReport::default(),
        &[],
        None,
        StatusCode::OK,
    )
}

/// The form reached from a posted notice's QR code. An unknown token still opens the form:
/// a resident is never turned away.
pub async fn report_form_for_site(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let values = RawReport {
        site: Some(token.into_inner()).filter(|t| t.len() <= crate::domain::SITE_MAX),
        ..RawReport::default()
    };
    form_page(&state, lang_of(&req), values, &[], None, StatusCode::OK)
}

pub async fn submit_report(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<ReportForm>,
) -> Result<HttpResponse, AppError> {
    let lang = lang_of(&req);
    let surface = Surface::Page(lang);
    let t = lang.catalog();
    let (raw, token) = form.into_inner().into_parts();

    // A refused submission re-shows the form with everything typed, so nothing is lost.
    if let Err(wait) = state.limiters.check(
        RouteClass::Submit,
        client_addr(&req, &state.settings.server.trusted_proxies),
    ) {
        let minutes = wait.as_secs().div_ceil(60).max(1);
        let notice = t
            .t("page.rate_limited")
            .replace("{minutes}", &minutes.to_string());
        let mut response = form_page(
            &state,
            lang,
            raw,
            &[],
            Some(notice),
            StatusCode::TOO_MANY_REQUESTS,
        )?;
        response.headers_mut().insert(
            actix_web::http::header::RETRY_AFTER,
            actix_web::http::header::HeaderValue::from(wait.as_secs().max(1)),
        );
        return Ok(response);
    }

    let now = state.now();
    let token_ok = token.as_deref().is_some_and(|token| {
        state
            .keyring
            .verify_form_token(
                token,
                now.timestamp(),
                state.settings.limits.form_token_max_age,
            )
            .is_ok()
    });
    if !token_ok {
        let notice = Some(t.t("form.token_expired").to_string());
        return form_page(
            &state,
            lang,
            raw,
            &[],
            notice,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }

    let draft = match ReportDraft::parse(raw.clone(), &state.villages) {
        Ok(draft) => draft,
        Err(errors) => {
            return form_page(
                &state,
                lang,
                raw,
                &errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let receipt = services::reports::submit(
        &state.db,
        &state.keyring,
        &state.routing,
        draft,
        services::reports::Origin::public(Channel::Web),
        now,
    )
    .await
    .map_err(|e| AppError::internal(e, surface))?;
    let page = ReceiptPage {
        t,
        lang,
        code: receipt.tracking_code.grouped(),
        received_on: receipt.received_on.to_string(),
        anonymous: receipt.anonymous,
    };
    render(&page, StatusCode::OK, surface).map(no_store)
}

#[derive(Template)]
#[template(path = "public/receipt.html")]
struct ReceiptPage {
    t: &'static Catalog,
    lang: Lang,
    code: String,
    received_on: String,
    anonymous: bool,
}

/// Turns a form body the server could not read at all into a page in the user's language.
pub fn form_error(err: actix_web::error::UrlencodedError, req: &HttpRequest) -> actix_web::Error {
    let kind = match err {
        actix_web::error::UrlencodedError::Overflow { .. } => ErrorKind::TooLarge,
        _ => ErrorKind::Malformed,
    };
    AppError::new(kind, Surface::Page(lang_of(req))).into()
}
