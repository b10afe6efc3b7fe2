//! Hotline, letter and walk-in reports typed by an operator. Never throttled by the public
//! limits: the phone line must keep working during a flood.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{Desk, StaffPage, staff_template};
use crate::domain::{Channel, FieldError, RawReport, ReportDraft};
use crate::error::{AppError, ErrorKind};
use crate::services::ServiceError;
use crate::services::intake::{Origin, Submission};
use crate::web::pages::Choice;
use crate::web::report_form::{
    Feedback, FieldErrors, FilesBlock, ShownError, TypedReport, Typist, choices, files_note,
    problem_texts, shown_errors, ticked,
};
use crate::web::{multipart, upload};

staff_template!(IntakePage, IntakeDonePage);

/// An operator's form: how the report came in, then the report's fields.
#[derive(Debug, Default, Deserialize)]
pub struct IntakeForm {
    channel: Option<String>,
    #[serde(flatten)]
    report: TypedReport,
    /// "Keep file details as evidence": for real-name reports only.
    keep_metadata: Option<String>,
}

fn parse_channel(code: Option<&str>) -> Option<Channel> {
    code.and_then(Channel::parse)
        .filter(|c| c.entered_by_staff())
}

#[derive(Template)]
#[template(path = "staff/intake.html")]
struct IntakePage {
    frame: StaffPage,
    values: RawReport,
    channels: Vec<Choice>,
    errors: Vec<ShownError>,
    categories: Vec<Choice>,
    villages: Vec<Choice>,
    roles: Vec<Choice>,
    notice: Option<String>,
    files: FilesBlock,
}

impl FieldErrors for IntakePage {
    fn shown_errors(&self) -> &[ShownError] {
        &self.errors
    }

    fn typist(&self) -> Typist {
        Typist::Operator
    }
}

#[derive(Template)]
#[template(path = "staff/intake_done.html")]
struct IntakeDonePage {
    frame: StaffPage,
    code: String,
    anonymous: bool,
    files: String,
}

fn intake_page(
    desk: &Desk,
    values: RawReport,
    channel: Option<Channel>,
    feedback: Feedback<'_>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let t = desk.t();
    let state = &desk.state;
    let (categories, villages, roles) = choices(state, desk.lang, &values);
    let current = channel.unwrap_or(Channel::Hotline).code();
    let channels = Channel::ALL
        .into_iter()
        .filter(|c| c.entered_by_staff())
        .map(Channel::code);
    let channels = Choice::labelled(t, "channel", channels, Some(current));
    let files = feedback.files(state, t);
    let page = IntakePage {
        frame: desk.page(),
        values,
        channels,
        errors: shown_errors(t, Typist::Operator, feedback.errors),
        categories,
        villages,
        roles,
        notice: feedback.notice,
        files,
    };
    desk.render(&page, status)
}

pub async fn intake_form(desk: Desk) -> Result<HttpResponse, AppError> {
    let blank = RawReport::default();
    intake_page(&desk, blank, None, Feedback::default(), StatusCode::OK)
}

/// An operator's report, as a plain form or (with evidence files) as multipart, streamed
/// under the attachment limits. The CSRF field was checked by the staff guard.
pub async fn submit_intake(desk: Desk, payload: web::Payload) -> Result<HttpResponse, AppError> {
    let state = &desk.state;
    let t = desk.t();
    let malformed = || AppError::bare(ErrorKind::Malformed);
    let limits = multipart::Limits::new(&state.settings);
    let (form, files, sent_files) = if multipart::is_multipart(desk.req().headers()) {
        match multipart::read(desk.req(), payload.into_inner(), &limits, true).await {
            Ok(received) => {
                let form: IntakeForm =
                    multipart::form_from_fields(received.fields).ok_or_else(malformed)?;
                (form, received.files, received.sent_files)
            }
            Err(refused) => {
                let form: IntakeForm =
                    multipart::form_from_fields(refused.received.fields).unwrap_or_default();
                let status = if refused.cutoff.is_too_large() {
                    StatusCode::PAYLOAD_TOO_LARGE
                } else {
                    StatusCode::BAD_REQUEST
                };
                let feedback = Feedback {
                    notice: Some(upload::cutoff_text(t, &refused.cutoff, &limits)),
                    keep_metadata: ticked(&form.keep_metadata),
                    files_dropped: true,
                    ..Feedback::default()
                };
                let channel = parse_channel(form.channel.as_deref());
                let (raw, _) = into_raw(form);
                return intake_page(&desk, raw, channel, feedback, status);
            }
        }
    } else {
        let body = multipart::read_small(payload.into_inner(), state.settings.server.body_limit)
            .await
            .map_err(|_| AppError::bare(ErrorKind::TooLarge))?;
        let form: IntakeForm = serde_urlencoded::from_bytes(&body).map_err(|_| malformed())?;
        (form, Vec::new(), 0)
    };
    let channel = parse_channel(form.channel.as_deref());
    let (raw, keep_metadata) = into_raw(form);
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
            let feedback = Feedback {
                errors: &errors,
                keep_metadata,
                files_dropped: sent_files > 0,
                ..Feedback::default()
            };
            return intake_page(
                &desk,
                raw,
                channel,
                feedback,
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let submission = Submission {
        draft,
        files,
        keep_metadata,
        origin: Origin::operator(channel, desk.user.user_id),
    };
    let receipt = match state.intake().submit(submission, state.now()).await {
        Ok(receipt) => receipt,
        Err(ServiceError::Files(problems)) => {
            let feedback = Feedback {
                keep_metadata,
                files_dropped: true,
                file_problems: problem_texts(t, &problems),
                ..Feedback::default()
            };
            return intake_page(
                &desk,
                raw,
                Some(channel),
                feedback,
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
        Err(e) => return Err(e.into()),
    };
    let t = desk.t();
    let page = IntakeDonePage {
        frame: desk.page(),
        code: receipt.tracking_code.grouped(),
        anonymous: receipt.anonymous,
        files: files_note(t, receipt.files.len(), receipt.files_stripped),
    };
    desk.render(&page, StatusCode::OK)
}

/// The report as typed, and whether the operator ticked "keep file details".
fn into_raw(form: IntakeForm) -> (RawReport, bool) {
    (form.report.into_raw(None), ticked(&form.keep_metadata))
}
