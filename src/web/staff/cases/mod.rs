//! The inspectors' triage desk: the case list, the case page and its actions.

mod actions;
mod list;
mod page;

pub use actions::{
    AddMeasure, AddNote, AskReporter, AssignCase, ChangeStatus, CompleteMeasure, EscalateCase,
    Instruct, RecordEvent, RecordResult, Recuse, act,
};
pub use list::{ListQuery, list_cases};
pub use page::show_case;

use crate::i18n::{Catalog, Lang};
use crate::services::deadlines::Stage;
use crate::web::{AppState, pages};

/// A village's name in the page's language; empty when the case names none the configuration
/// knows.
pub(super) fn village_name(state: &AppState, lang: Lang, id: Option<&str>) -> String {
    id.and_then(|id| pages::village_name(&state.villages, lang, id))
        .unwrap_or_default()
        .to_string()
}

/// "Accept by 2024-10-10", empty when nothing is due.
pub(super) fn due_text(t: &Catalog, due: Option<(Stage, chrono::NaiveDate)>) -> String {
    due.map(|(stage, date)| {
        t.t("staff.due")
            .replace("{stage}", t.label("staff.stage", stage.code()))
            .replace("{date}", &date.to_string())
    })
    .unwrap_or_default()
}
