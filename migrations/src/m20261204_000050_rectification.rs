//! Rectification (整改) of a substantiated case: its measures, and what each came to. The
//! texts are sealed with the report's DEK (and blanked when the case is purged); the counts,
//! amounts and days stay in clear, because the statistics and the summary add them up.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RectificationMeasures::Table)
                    .col(uuid(RectificationMeasures::Id).primary_key())
                    .col(uuid(RectificationMeasures::ReportId))
                    .col(integer(RectificationMeasures::Seq))
                    .col(uuid(RectificationMeasures::CreatedBy))
                    .col(timestamp_with_time_zone(RectificationMeasures::CreatedAt))
                    .col(blob_null(RectificationMeasures::Measure))
                    .col(blob_null(RectificationMeasures::Responsible))
                    .col(date(RectificationMeasures::DueOn))
                    .col(date_null(RectificationMeasures::DoneOn))
                    .foreign_key(
                        ForeignKey::create()
                            .from(
                                RectificationMeasures::Table,
                                RectificationMeasures::ReportId,
                            )
                            .to(Reports::Table, Reports::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_rectification_measures_case")
                    .table(RectificationMeasures::Table)
                    .col(RectificationMeasures::ReportId)
                    .col(RectificationMeasures::Seq)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RectificationResults::Table)
                    .col(uuid(RectificationResults::Id).primary_key())
                    .col(uuid(RectificationResults::MeasureId))
                    .col(uuid(RectificationResults::ReportId))
                    .col(string(RectificationResults::Kind))
                    .col(date(RectificationResults::HappenedOn))
                    .col(integer(RectificationResults::Count))
                    .col(big_integer_null(RectificationResults::AmountFen))
                    .col(blob_null(RectificationResults::Detail))
                    .col(uuid(RectificationResults::RecordedBy))
                    .col(timestamp_with_time_zone(RectificationResults::RecordedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(RectificationResults::Table, RectificationResults::MeasureId)
                            .to(RectificationMeasures::Table, RectificationMeasures::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_rectification_results_case")
                    .table(RectificationResults::Table)
                    .col(RectificationResults::ReportId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RectificationResults::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(RectificationMeasures::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Reports {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum RectificationMeasures {
    Table,
    Id,
    ReportId,
    /// 1, 2, … within the case, as the page and the ledger number them.
    Seq,
    CreatedBy,
    CreatedAt,
    Measure,
    Responsible,
    DueOn,
    DoneOn,
}

#[derive(DeriveIden)]
enum RectificationResults {
    Table,
    Id,
    MeasureId,
    ReportId,
    Kind,
    HappenedOn,
    /// Households (support) or people (dealt with).
    Count,
    AmountFen,
    Detail,
    RecordedBy,
    RecordedAt,
}
