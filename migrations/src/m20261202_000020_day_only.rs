//! Reports keep their receiving date only, real-name ones too: the time of day a real-name
//! report arrived would bracket the anonymous ones between it by case number. Spent outbox
//! rows forget their claim.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Reports::Table)
                    .drop_column(Reports::ReceivedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::update()
                    .table(Outbox::Table)
                    .value(Outbox::ClaimedAt, Keyword::Null)
                    .and_where(Expr::col(Outbox::State).is_in(["sent", "failed"]))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The times dropped are gone; the column comes back empty.
        manager
            .alter_table(
                Table::alter()
                    .table(Reports::Table)
                    .add_column(timestamp_with_time_zone_null(Reports::ReceivedAt))
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Reports {
    Table,
    ReceivedAt,
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    State,
    ClaimedAt,
}
