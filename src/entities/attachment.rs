//! An evidence file of a report: kind, size and whether it was stripped in clear; its name and
//! content sealed with the report's DEK.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "attachments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub report_id: Uuid,
    pub seq: i32,
    pub kind: String,
    pub size: i64,
    pub name: Vec<u8>,
    pub content: Vec<u8>,
    pub stripped: bool,
}

super::standalone_table!();
