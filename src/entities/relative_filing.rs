//! A close relative of a cadre or caseworker (近亲属备案), sealed under a key of its own. The
//! cadre is a staff account (`user_id`, then recused) or a person without one (name and post
//! sealed, village in clear).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "relative_filings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The staff account whose relative this is; `None` for a cadre without an account.
    pub user_id: Option<Uuid>,
    pub name: Vec<u8>,
    pub relation: Option<Vec<u8>>,
    pub dek_id: Uuid,
    pub dek_kek_id: String,
    pub dek_wrapped: Vec<u8>,
    pub created_at: DateTimeUtc,
    /// Sealed: the cadre's name, when they have no account.
    pub cadre_name: Option<Vec<u8>>,
    /// Sealed: the cadre's post, when they have no account.
    pub cadre_post: Option<Vec<u8>>,
    /// The cadre's village or community (a configured id), when they have no account.
    pub cadre_village: Option<String>,
    /// The relative's village or community (a configured id).
    pub village: Option<String>,
    /// The kind of support the relative receives (`SupportKind` code); `None` on filings
    /// made before it was asked.
    pub support: Option<String>,
}

super::standalone_table!();
