//! Blind indexes of a person named in a report: name alone, and name with village.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "report_names")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub report_id: Uuid,
    pub index_key_id: String,
    pub name_index: Vec<u8>,
    pub place_index: Vec<u8>,
}

super::standalone_table!();
