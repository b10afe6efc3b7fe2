//! The report form and its submission.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::domain::{Channel, RawReport, ReportDraft};
use crate::error::{AppError, ErrorKind, Surface};
use crate::i18n::{Catalog, Lang};
use crate::services::ServiceError;
use crate::services::intake::{Origin, SpentToken, Submission, TOKEN_USED};
use crate::web::middleware::rate_limit::RouteClass;
use crate::web::middleware::{Counted, counted};
use crate::web::pages::{Choice, no_store, render};
use crate::web::report_form::{
    Feedback, FieldErrors, FilesBlock, ShownError, TypedReport, Typist, busy_notice, choices,
    files_note, problem_texts, shown_errors, ticked, with_retry_after,
};
use crate::web::{AppState, Visit, lang_of};
use crate::web::{multipart, upload};
use chrono::DateTime;

/// The form as posted: the report's fields and the public form's own.
#[derive(Debug, Default, Deserialize)]
pub struct ReportForm {
    #[serde(flatten)]
    report: TypedReport,
    site: Option<String>,
    form_token: Option<String>,
    /// The hidden field people never see: bots fill it.
    website: Option<String>,
    /// Present on the confirmation step: proves the person saw that page.
    confirm: Option<String>,
    /// "Keep file details as evidence": honoured for real-name reports only.
    keep_metadata: Option<String>,
}

impl ReportForm {
    pub(crate) fn from_fields(fields: Vec<(String, String)>) -> Option<ReportForm> {
        multipart::form_from_fields(fields)
    }

    fn keeps_metadata(&self) -> bool {
        ticked(&self.keep_metadata)
    }

    /// The report as typed, and the form token; public so the fuzz target reads a body
    /// exactly as this handler does.
    pub fn into_parts(self) -> (RawReport, Option<String>) {
        (self.report.into_raw(self.site), self.form_token)
    }
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
    /// On the confirmation step: the value that proves this page was seen.
    confirm: Option<String>,
    categories: Vec<Choice>,
    villages: Vec<Choice>,
    roles: Vec<Choice>,
    files: FilesBlock,
}

impl FieldErrors for ReportFormPage {
    fn shown_errors(&self) -> &[ShownError] {
        &self.errors
    }
}

/// Renders the form with what was typed, the reasons it was refused, and a fresh token.
fn form_page(
    state: &AppState,
    lang: Lang,
    values: RawReport,
    feedback: Feedback<'_>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let t = lang.catalog();
    let (categories, villages, roles) = choices(state, lang, &values);
    let form_token = state.keyring.issue_form_token(state.now().timestamp());
    let files = feedback.files(state, t);
    let page = ReportFormPage {
        t,
        lang,
        action: format!("/report?lang={}", lang.code()),
        confirm: feedback
            .confirm
            .then(|| state.keyring.csrf_token(&form_token)),
        form_token,
        categories,
        villages,
        roles,
        errors: shown_errors(t, Typist::Reporter, feedback.errors),
        values,
        notice: feedback.notice,
        files,
    };
    render(&page, status, Surface::Page(lang))
}

pub async fn report_form(visit: Visit) -> Result<HttpResponse, AppError> {
    fresh_form(&visit, RawReport::default())
}

/// The form reached from a posted notice's QR code. An unknown token still opens the form:
/// a resident is never turned away.
pub async fn report_form_for_site(
    visit: Visit,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let values = RawReport {
        site: Some(token.into_inner()).filter(|t| t.len() <= crate::domain::SITE_MAX),
        ..RawReport::default()
    };
    fresh_form(&visit, values)
}

/// The form as it first opens: nothing refused yet.
fn fresh_form(visit: &Visit, values: RawReport) -> Result<HttpResponse, AppError> {
    let feedback = Feedback::default();
    form_page(&visit.state, visit.lang, values, feedback, StatusCode::OK)
}

/// The public submission limit for this client: `Err(wait)` when it is used up.
fn submit_allowed(visit: &Visit) -> Result<(), std::time::Duration> {
    visit
        .state
        .limiters
        .check(RouteClass::Submit, visit.client())
}

/// A url-encoded report form (no files).
pub async fn submit_report(
    visit: Visit,
    form: web::Form<ReportForm>,
) -> Result<HttpResponse, AppError> {
    let limited = submit_allowed(&visit);
    accept_report(&visit, form.into_inner(), Vec::new(), 0, limited).await
}

/// A multipart report form with evidence files, read as it streams in. A limit passed while
/// reading answers 413 at once with the form and what was typed before the files.
pub async fn submit_report_with_files(
    visit: Visit,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let (lang, state) = (visit.lang, &visit.state);
    let limited = submit_allowed(&visit);
    let limits = multipart::Limits::new(&state.settings);
    // A client over its limit still has its text shown again, but its files are only counted.
    match multipart::read(&visit.req, payload.into_inner(), &limits, limited.is_ok()).await {
        Ok(received) => {
            let form = ReportForm::from_fields(received.fields)
                .ok_or_else(|| AppError::new(ErrorKind::Malformed, visit.page()))?;
            let (files, sent) = (received.files, received.sent_files);
            accept_report(&visit, form, files, sent, limited).await
        }
        Err(refused) => {
            let form = ReportForm::from_fields(refused.received.fields).unwrap_or_default();
            let keep_metadata = form.keeps_metadata();
            let (raw, _) = form.into_parts();
            let status = if refused.cutoff.is_too_large() {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::BAD_REQUEST
            };
            let notice = upload::cutoff_text(lang.catalog(), &refused.cutoff, &limits);
            let feedback = Feedback {
                notice: Some(notice),
                keep_metadata,
                files_dropped: true,
                ..Feedback::default()
            };
            form_page(state, lang, raw, feedback, status)
        }
    }
}

/// Everything after the body is read, for both kinds of form: the client's limit, the signed
/// token, the confirmation step, the checks, the files, flood admission, then the one
/// transaction that stores the report with its files.
async fn accept_report(
    visit: &Visit,
    form: ReportForm,
    files: Vec<crate::domain::attachment::Upload>,
    sent_files: usize,
    limited: Result<(), std::time::Duration>,
) -> Result<HttpResponse, AppError> {
    let (lang, surface, t, state) = (visit.lang, visit.page(), visit.t(), &*visit.state);
    let honeypot_filled = form
        .website
        .as_deref()
        .is_some_and(|w| !w.trim().is_empty());
    let confirm = form.confirm.clone();
    let keep_metadata = form.keeps_metadata();
    let (raw, token) = form.into_parts();
    // Every refusal below re-shows the form with everything typed, so nothing is lost; files
    // cannot be carried back, and the page says so.
    let again = |raw, feedback: Feedback<'_>, status| {
        let feedback = Feedback {
            keep_metadata,
            files_dropped: sent_files > 0,
            ..feedback
        };
        form_page(state, lang, raw, feedback, status)
    };
    let with_notice = |notice: String| Feedback {
        notice: Some(notice),
        ..Feedback::default()
    };

    if let Err(wait) = limited {
        return again(
            raw,
            with_notice(busy_notice(t, wait)),
            StatusCode::TOO_MANY_REQUESTS,
        )
        .map(|r| with_retry_after(r, wait));
    }

    let now = state.now();
    let limits = &state.settings.limits;
    let Some((token, issued)) = token.as_deref().and_then(|token| {
        let issued = state
            .keyring
            .verify_form_token(token, now.timestamp(), limits.form_token_max_age)
            .ok()?;
        Some((token.to_string(), issued))
    }) else {
        let notice = t.t("form.token_expired").to_string();
        return again(raw, with_notice(notice), StatusCode::UNPROCESSABLE_ENTITY);
    };

    // Too fast for a person, or the hidden field a person never sees filled: ask once more
    // rather than discard — a genuine report must never be lost to a guess about bots.
    let confirmed = confirm.is_some_and(|c| state.keyring.csrf_matches(&token, &c));
    let too_fast = now.timestamp() - issued.issued_at < limits.min_fill_seconds;
    if !confirmed && (too_fast || honeypot_filled) {
        let feedback = Feedback {
            confirm: true,
            ..with_notice(t.t("form.confirm").to_string())
        };
        return again(raw, feedback, StatusCode::OK);
    }

    let draft = match ReportDraft::parse(raw.clone(), &state.villages) {
        Ok(draft) => draft,
        Err(errors) => {
            let feedback = Feedback {
                errors: &errors,
                ..Feedback::default()
            };
            return again(raw, feedback, StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    let origin = Origin {
        form_token: Some(SpentToken {
            nonce: issued.nonce,
            expires_at: DateTime::from_timestamp(issued.issued_at + limits.form_token_max_age, 0)
                .unwrap_or(now),
        }),
        source: Some(visit.source()),
        ..Origin::public(Channel::Web)
    };
    let submission = Submission {
        draft,
        files,
        keep_metadata,
        origin,
    };
    let receipt = match state.intake().submit(submission, now).await {
        Ok(receipt) => receipt,
        Err(ServiceError::Files(problems)) => {
            let feedback = Feedback {
                file_problems: problem_texts(t, &problems),
                ..Feedback::default()
            };
            return again(raw, feedback, StatusCode::UNPROCESSABLE_ENTITY);
        }
        Err(ServiceError::Busy(wait)) => {
            return again(
                raw,
                with_notice(busy_notice(t, wait)),
                StatusCode::TOO_MANY_REQUESTS,
            )
            .map(|r| with_retry_after(r, wait));
        }
        Err(ServiceError::Invalid(TOKEN_USED)) => {
            let notice = t.t(TOKEN_USED).to_string();
            return again(raw, with_notice(notice), StatusCode::CONFLICT);
        }
        Err(e) => return Err(e.into()),
    };
    let page = ReceiptPage {
        t,
        lang,
        code: receipt.tracking_code.grouped(),
        received_on: receipt.received_on.to_string(),
        anonymous: receipt.anonymous,
        files: files_note(t, receipt.files.len(), receipt.files_stripped),
    };
    render(&page, StatusCode::OK, surface)
        .map(|r| counted(no_store(r, surface), Counted::Submission))
}

#[derive(Template)]
#[template(path = "public/receipt.html")]
struct ReceiptPage {
    t: &'static Catalog,
    lang: Lang,
    code: String,
    received_on: String,
    anonymous: bool,
    /// What happened to the evidence files (empty without files).
    files: String,
}

/// Turns a form body the server could not read at all into a page in the user's language.
pub fn form_error(err: actix_web::error::UrlencodedError, req: &HttpRequest) -> actix_web::Error {
    let kind = match err {
        actix_web::error::UrlencodedError::Overflow { .. } => ErrorKind::TooLarge,
        _ => ErrorKind::Malformed,
    };
    AppError::new(kind, Surface::Page(lang_of(req))).into()
}
