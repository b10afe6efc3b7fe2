//! Something that happened to a case: a status change, transfer, escalation…

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "report_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The case, whose DEK seals `detail`.
    pub report_id: Uuid,
    pub at: DateTimeUtc,
    /// The staff member who did it; none for the system or the reporter.
    pub actor_id: Option<Uuid>,
    /// What happened: `status`, `assigned`, `escalated`, an event code…
    pub kind: String,
    /// For a status change, the two statuses.
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    /// Sealed: the reason, finding, feedback or free text of the event.
    pub detail: Option<Vec<u8>>,
    /// For a transfer or a report to the bureau: the day it happened, as the inspector gives
    /// it (`at` is when it was recorded).
    pub happened_on: Option<Date>,
}

super::standalone_table!();
