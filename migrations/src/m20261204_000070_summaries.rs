//! The campaign summary (总结) inspectors write: their sections as a draft, until finalised
//! (then frozen). The sections are the office's own report to the district bureau, written
//! to be handed on, so they are kept as written; the page tells inspectors to name no one.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Summaries::Table)
                    .col(string(Summaries::Id).primary_key())
                    .col(text(Summaries::Practices))
                    .col(text(Summaries::Problems))
                    .col(text(Summaries::NextSteps))
                    .col(uuid(Summaries::UpdatedBy))
                    .col(timestamp_with_time_zone(Summaries::UpdatedAt))
                    .col(uuid_null(Summaries::FinalisedBy))
                    .col(timestamp_with_time_zone_null(Summaries::FinalisedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Summaries::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Summaries {
    Table,
    /// Which summary: `campaign`.
    Id,
    Practices,
    Problems,
    NextSteps,
    UpdatedBy,
    UpdatedAt,
    FinalisedBy,
    FinalisedAt,
}
