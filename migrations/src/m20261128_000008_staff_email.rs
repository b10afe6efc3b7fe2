//! Staff mail addresses (for the daily digest) and the record of which days' digests have
//! been written to the outbox.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(string_len_null(Users::Email, 254))
                    .to_owned(),
            )
            .await?;
        // One row per Asia/Shanghai day: the primary key is what lets only one of several
        // instances write that day's digests.
        manager
            .create_table(
                Table::create()
                    .table(Digests::Table)
                    .col(date(Digests::Day).primary_key())
                    .col(timestamp_with_time_zone(Digests::EnqueuedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Digests::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(Users::Email)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Email,
}

#[derive(DeriveIden)]
enum Digests {
    Table,
    Day,
    EnqueuedAt,
}
