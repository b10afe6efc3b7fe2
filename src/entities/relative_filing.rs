//! A close relative filed by a staff member (近亲属备案), sealed.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "relative_filings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: Vec<u8>,
    pub relation: Option<Vec<u8>>,
    pub dek_id: Uuid,
    pub dek_kek_id: String,
    pub dek_wrapped: Vec<u8>,
    pub created_at: DateTimeUtc,
}

super::standalone_table!();
