//! Blind index of a name a staff member is known by (display, alias, relative).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "staff_names")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub source: String,
    pub filing_id: Option<Uuid>,
    pub index_key_id: String,
    pub name_index: Vec<u8>,
}

super::standalone_table!();
