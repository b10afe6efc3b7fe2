//! sea-orm entities, one file per table.

/// What sea-orm asks of every table here besides its `Model`: no declared relations (joins
/// are written in the queries that need them) and no hooks on save.
macro_rules! standalone_table {
    () => {
        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    };
}
use standalone_table;

use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, IdenStatic, Iterable, PrimaryKeyToColumn,
};

/// Writes `row` whole: inserts it, or, where a row with its primary key exists already,
/// overwrites every other column of that row with its values.
pub async fn upsert<A, C>(db: &C, row: A) -> Result<(), DbErr>
where
    A: ActiveModelTrait,
    C: ConnectionTrait,
{
    let keys: Vec<_> = <A::Entity as EntityTrait>::PrimaryKey::iter()
        .map(|key| key.into_column())
        .collect();
    let others = <A::Entity as EntityTrait>::Column::iter()
        .filter(|column| keys.iter().all(|key| key.as_str() != column.as_str()));
    let conflict = OnConflict::columns(keys.clone())
        .update_columns(others)
        .to_owned();
    A::Entity::insert(row)
        .on_conflict(conflict)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

pub mod attachment;
pub mod audit_entry;
pub mod audit_head;
pub mod campaign_milestone;
pub mod case_counter;
pub mod case_route;
pub mod digest;
pub mod enrolment;
pub mod message;
pub mod note;
pub mod outbox;
pub mod rectification_measure;
pub mod rectification_result;
pub mod recusal;
pub mod relative_filing;
pub mod relative_visit;
pub mod report;
pub mod report_event;
pub mod report_name;
pub mod session;
pub mod site;
pub mod staff_name;
pub mod summary;
pub mod used_form_token;
pub mod user;
pub mod user_alias;
pub mod user_role;
