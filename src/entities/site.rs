//! A posting site: one kind of place where the notice hangs, with the token its QR code carries.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "sites")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: String,
    pub name: String,
    pub village: Option<String>,
    #[sea_orm(unique)]
    pub token: String,
    pub enabled: bool,
    /// The village while this is an enabled household site, else `None` (unique index).
    pub household_village: Option<String>,
    pub created_at: DateTimeUtc,
}

super::standalone_table!();
