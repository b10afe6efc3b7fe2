//! Blind index of a name a staff member is known by (display, alias, relative).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "staff_names")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The staff member recused when a report names this.
    pub user_id: Uuid,
    /// `display`, `alias` or `relative`.
    pub source: String,
    /// The close-relative filing it came from, for `relative`.
    pub filing_id: Option<Uuid>,
    /// HMAC of the normalised name under key `index_key_id`: matching without the name.
    pub index_key_id: String,
    pub name_index: Vec<u8>,
}

super::standalone_table!();
