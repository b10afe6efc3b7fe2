//! A tracking-code look-up reads the report through its hash and its messages and status
//! events through their report: indexes for the last two, so a look-up reads one report's
//! rows and not every report's.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("ix_messages_report")
                    .table(Messages::Table)
                    .col(Messages::ReportId)
                    .col(Messages::At)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_report_events_report")
                    .table(ReportEvents::Table)
                    .col(ReportEvents::ReportId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_report_events_report")
                    .table(ReportEvents::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("ix_messages_report")
                    .table(Messages::Table)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Messages {
    Table,
    ReportId,
    At,
}

#[derive(DeriveIden)]
enum ReportEvents {
    Table,
    ReportId,
}
