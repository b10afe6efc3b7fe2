//! The triage desk: the case list, the case page, the workflow and the conversation with the
//! reporter.

mod conversation;
mod list;
mod page;
mod rectification;
mod workflow;

pub use conversation::{ReplyOutcome, ask_reporter, reporter_reply};
pub(crate) use conversation::{open_conversation, reply_allowed, status_detail};
pub use list::{CaseFilter, CaseList, CaseRow, Order, all_cases, list_cases};
pub use page::{
    CaseFile, CaseView, EventView, MessageView, NoteView, ReadView, RelatedCase, RouteView,
    case_file, open_case,
};
pub use rectification::{
    MeasureView, NewMeasure, NewResult, OverdueMeasure, RESPONSIBLE_MAX, Rectified, ResultView,
    add_measure, complete_measure, overdue_measures, record_result, rectification_of,
};
pub use workflow::{
    CaseCommand, Happened, add_note, assign, change_status, escalate, merge_preview, record_event,
    record_remark,
};

pub use super::access::{Caller, Viewer, case_exists};
pub use crate::domain::{CaseEvent, Outcome, TEXT_MAX, Transition, is_legal};

use uuid::Uuid;

use super::access::Sealer;
use crate::crypto::Dek;

/// Where a case's history, notes and messages are sealed.
const EVENTS: &str = "report_events";
const NOTES: &str = "notes";
const MESSAGES: &str = "messages";

fn event_detail(dek: &Dek, event: Uuid) -> Sealer<'_> {
    Sealer::new(dek, EVENTS, event)
}

fn note_body(dek: &Dek, note: Uuid) -> Sealer<'_> {
    Sealer::new(dek, NOTES, note)
}

fn message_body(dek: &Dek, message: Uuid) -> Sealer<'_> {
    Sealer::new(dek, MESSAGES, message)
}
