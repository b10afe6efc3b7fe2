//! A staff member kept away from a case.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "recusals")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub report_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    pub source: String,
    pub reason: Option<Vec<u8>>,
    pub by_user: Option<Uuid>,
    pub at: DateTimeUtc,
}

super::standalone_table!();
