//! The parts of a report form that the public form and operator entry share: the select
//! lists, the reasons a form is shown again, the evidence-file block and what the receipt says
//! about files.

use std::time::Duration;

use actix_web::HttpResponse;
use actix_web::http::header::{self, HeaderValue};
use serde::Deserialize;

use super::AppState;
use super::multipart;
use super::pages::{Choice, village_choices};
use super::upload;
use crate::domain::{Category, FieldError, RawReport, SubjectRole};
use crate::i18n::{Catalog, Lang};
use crate::media::FileProblem;

/// A report's own fields as a form posts them, shared by the public form and operator entry.
/// Every field is optional here so that a missing one becomes a reason on the re-shown
/// form, not a bare 400.
#[derive(Debug, Default, Deserialize)]
pub struct TypedReport {
    category: Option<String>,
    village: Option<String>,
    subject: Option<String>,
    subject_role: Option<String>,
    description: Option<String>,
    occurred: Option<String>,
    /// `true` or `false` from the radio buttons; anything else is "not chosen".
    anonymous: Option<String>,
    reporter_name: Option<String>,
    reporter_phone: Option<String>,
}

impl TypedReport {
    /// The report as typed, through the posting site it came from (if any).
    pub fn into_raw(self, site: Option<String>) -> RawReport {
        RawReport {
            category: self.category,
            village: self.village,
            subject: self.subject,
            subject_role: self.subject_role,
            description: self.description,
            occurred: self.occurred,
            anonymous: match self.anonymous.as_deref() {
                Some("true") => Some(true),
                Some("false") => Some(false),
                _ => None,
            },
            reporter_name: self.reporter_name,
            reporter_phone: self.reporter_phone,
            site,
        }
    }
}

/// A ticked checkbox: present and not empty.
pub fn ticked(flag: &Option<String>) -> bool {
    flag.as_deref().is_some_and(|v| !v.is_empty())
}

pub struct ShownError {
    pub field: &'static str,
    /// The reason beside the field. A missing answer names the field ("请填写：事情经过").
    pub message: String,
    /// The line in the list above the form: the field's name, then the reason.
    pub summary: String,
}

/// Who types into a report form: the resident themself, or an operator for a caller (whose
/// name is then "the reporter's name", not "your name").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Typist {
    Reporter,
    Operator,
}

/// The fields an operator's form words for the caller.
const ABOUT_THE_CALLER: [&str; 2] = ["reporter_name", "reporter_phone"];

/// Fields answered by choosing, not typing: "请选择", not "请填写".
const CHOSEN: [&str; 5] = [
    "category",
    "village",
    "subject_role",
    "anonymous",
    "channel",
];

impl Typist {
    /// A field's label on this form.
    pub fn label(self, t: &'static Catalog, field: &'static str) -> &'static str {
        match self {
            Typist::Operator if ABOUT_THE_CALLER.contains(&field) => t.label("staff.intake", field),
            _ => t.label("form", field),
        }
    }

    /// A field's name as reasons quote it (shorter than some labels).
    pub fn field_name(self, t: &'static Catalog, field: &'static str) -> &'static str {
        match self {
            Typist::Operator if ABOUT_THE_CALLER.contains(&field) => t.label("staff.intake", field),
            _ => t.label("error.field", field),
        }
    }
}

/// Why a field was refused, in the reader's language; a missing answer names the field, so
/// the reason says what to do wherever it is read (beside the field, in a list, in JSON).
pub fn reason_text(t: &Catalog, field: &str, name: &str, reason: &str) -> String {
    match reason {
        "required" if CHOSEN.contains(&field) => {
            t.t("error.required_choice").replace("{field}", name)
        }
        "required" => t.t("error.required_field").replace("{field}", name),
        other => t.label("error", other).to_string(),
    }
}

/// What a report form page answers its template about the fields that were refused.
pub trait FieldErrors {
    fn shown_errors(&self) -> &[ShownError];

    /// Who types into this form.
    fn typist(&self) -> Typist {
        Typist::Reporter
    }

    fn has_error(&self, field: &str) -> bool {
        self.shown_errors().iter().any(|e| e.field == field)
    }

    fn error_for(&self, field: &str) -> Option<&str> {
        self.shown_errors()
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
}

/// The evidence-file part of a report form: limits, what happens to metadata, and why files
/// sent before are not there any more.
pub struct FilesBlock {
    pub hint: String,
    pub keep_metadata: bool,
    /// Files were sent but a form is shown again: they must be chosen again.
    pub choose_again: bool,
    /// Which files were refused and why.
    pub problems: Vec<String>,
}

/// What a re-shown report form says besides the typed values: field reasons, a notice, the
/// confirmation step (the public form's), and the evidence files' fate.
#[derive(Default)]
pub struct Feedback<'a> {
    pub errors: &'a [FieldError],
    pub notice: Option<String>,
    pub confirm: bool,
    pub keep_metadata: bool,
    /// Files had been sent with the form now shown again.
    pub files_dropped: bool,
    pub file_problems: Vec<String>,
}

impl Feedback<'_> {
    /// The form's evidence-file part, under the configured limits.
    pub fn files(&self, state: &AppState, t: &Catalog) -> FilesBlock {
        FilesBlock {
            hint: upload::limits_text(t, &multipart::Limits::new(&state.settings)),
            keep_metadata: self.keep_metadata,
            choose_again: self.files_dropped,
            problems: self.file_problems.clone(),
        }
    }
}

/// The category, village and role lists of a report form, with what was chosen selected.
pub fn choices(
    state: &AppState,
    lang: Lang,
    values: &RawReport,
) -> (Vec<Choice>, Vec<Choice>, Vec<Choice>) {
    let t = lang.catalog();
    let categories = Choice::labelled(
        t,
        "category",
        Category::ALL.iter().map(|c| c.code()),
        values.category.as_deref(),
    );
    let villages = village_choices(&state.villages, lang, values.village.as_deref());
    let roles = Choice::labelled(
        t,
        "role",
        SubjectRole::ALL.iter().map(|r| r.code()),
        values.subject_role.as_deref(),
    );
    (categories, villages, roles)
}

/// Field errors in the reader's language, each linked to its field, worded for who types.
pub fn shown_errors(t: &'static Catalog, typist: Typist, errors: &[FieldError]) -> Vec<ShownError> {
    errors
        .iter()
        .map(|e| {
            let name = typist.field_name(t, e.field);
            let message = reason_text(t, e.field, name, e.reason);
            ShownError {
                field: e.field,
                summary: if e.reason == "required" {
                    message.clone()
                } else {
                    format!("{name}：{message}")
                },
                message,
            }
        })
        .collect()
}

/// Each refused file with its reason, in the reader's language.
pub fn problem_texts(t: &Catalog, problems: &[FileProblem]) -> Vec<String> {
    problems
        .iter()
        .map(|p| upload::problem_text(t, p))
        .collect()
}

/// What the receipt says happened to the files: empty when there were none.
pub fn files_note(t: &Catalog, count: usize, stripped: bool) -> String {
    if count == 0 {
        return String::new();
    }
    let key = if stripped {
        "receipt.files_stripped"
    } else {
        "receipt.files_kept"
    };
    t.t(key).replace("{n}", &count.to_string())
}

pub fn busy_notice(t: &Catalog, wait: Duration) -> String {
    let minutes = wait.as_secs().div_ceil(60).max(1);
    t.t("page.rate_limited")
        .replace("{minutes}", &minutes.to_string())
}

pub fn with_retry_after(mut response: HttpResponse, wait: Duration) -> HttpResponse {
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(wait.as_secs().max(1)),
    );
    response
}
