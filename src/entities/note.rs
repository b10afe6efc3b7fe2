//! An inspector's internal note on a case, sealed with the report's DEK.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "notes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub report_id: Uuid,
    pub author_id: Uuid,
    pub at: DateTimeUtc,
    pub body: Vec<u8>,
}

super::standalone_table!();
