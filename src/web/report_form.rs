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
    pub label: &'static str,
    pub message: &'static str,
}

/// What a report form page answers its template about the fields that were refused.
pub trait FieldErrors {
    fn shown_errors(&self) -> &[ShownError];

    fn has_error(&self, field: &str) -> bool {
        self.shown_errors().iter().any(|e| e.field == field)
    }

    fn error_for(&self, field: &str) -> Option<&'static str> {
        self.shown_errors()
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message)
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

impl FilesBlock {
    pub fn new(
        state: &AppState,
        t: &Catalog,
        keep_metadata: bool,
        choose_again: bool,
        problems: Vec<String>,
    ) -> FilesBlock {
        FilesBlock {
            hint: upload::limits_text(t, &multipart::Limits::new(&state.settings)),
            keep_metadata,
            choose_again,
            problems,
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
