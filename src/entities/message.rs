//! A message between an inspector and the reporter, sealed with the report's DEK.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "messages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub report_id: Uuid,
    pub from_inspector: bool,
    pub author_id: Option<Uuid>,
    pub at: DateTimeUtc,
    pub body: Vec<u8>,
    pub read_at: Option<DateTimeUtc>,
}

super::standalone_table!();
