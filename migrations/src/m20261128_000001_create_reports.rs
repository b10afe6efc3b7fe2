//! Reports (metadata in clear, content sealed) and the per-year case-number counter.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CaseCounters::Table)
                    .col(integer(CaseCounters::Year).primary_key())
                    .col(integer(CaseCounters::Last))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Reports::Table)
                    .col(uuid(Reports::Id).primary_key())
                    .col(string_len_uniq(Reports::CaseNumber, 16))
                    .col(string_len(Reports::Channel, 16))
                    .col(string_len(Reports::Category, 32))
                    .col(string_len_null(Reports::Village, 64))
                    .col(string_len_null(Reports::SubjectRole, 32))
                    .col(boolean(Reports::Anonymous))
                    .col(string_len(Reports::Status, 16))
                    // Anonymous reports keep only the date: a timestamp could be matched
                    // against someone's network logs.
                    .col(date(Reports::ReceivedOn))
                    .col(timestamp_with_time_zone_null(Reports::ReceivedAt))
                    .col(timestamp_with_time_zone_null(Reports::StatusChangedAt))
                    .col(uuid(Reports::DekId))
                    .col(string_len(Reports::DekKekId, 64))
                    .col(blob(Reports::DekWrapped))
                    .col(string_len(Reports::TrackingKeyId, 64))
                    .col(blob(Reports::TrackingHash))
                    .col(blob(Reports::Description))
                    .col(blob_null(Reports::Subject))
                    .col(blob_null(Reports::Occurred))
                    .col(blob_null(Reports::ReporterName))
                    .col(blob_null(Reports::ReporterPhone))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_reports_tracking_hash")
                    .table(Reports::Table)
                    .col(Reports::TrackingHash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_reports_status")
                    .table(Reports::Table)
                    .col(Reports::Status)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Reports::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(CaseCounters::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum CaseCounters {
    Table,
    Year,
    Last,
}

#[derive(DeriveIden)]
enum Reports {
    Table,
    Id,
    CaseNumber,
    Channel,
    Category,
    Village,
    SubjectRole,
    Anonymous,
    Status,
    ReceivedOn,
    ReceivedAt,
    StatusChangedAt,
    DekId,
    DekKekId,
    DekWrapped,
    TrackingKeyId,
    TrackingHash,
    Description,
    Subject,
    Occurred,
    ReporterName,
    ReporterPhone,
}
