//! A message between an inspector and the reporter, sealed with the report's DEK.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "messages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The report whose DEK seals `body`.
    pub report_id: Uuid,
    /// Who wrote it: an inspector (`author_id` set) or the reporter.
    pub from_inspector: bool,
    pub author_id: Option<Uuid>,
    /// For a reporter's message only the start of the local day is kept.
    pub at: DateTimeUtc,
    /// Sealed.
    pub body: Vec<u8>,
    /// Unset while a reporter's message is shown as unread.
    pub read_at: Option<DateTimeUtc>,
}

super::standalone_table!();
