//! An evidence file of a report: kind, size and whether it was stripped in clear; its name and
//! content sealed with the report's DEK.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "attachments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The report it belongs to, whose DEK seals `name` and `content`.
    pub report_id: Uuid,
    /// Its position among the report's files.
    pub seq: i32,
    /// What the sniffer found it to be (jpeg, png, pdf…), never what the client claimed.
    pub kind: String,
    /// Bytes of the clean content.
    pub size: i64,
    /// Sealed: the file name as uploaded.
    pub name: Vec<u8>,
    pub content: Vec<u8>,
    /// Whether its metadata was removed (false only where the reporter asked to keep it).
    pub stripped: bool,
}

super::standalone_table!();
