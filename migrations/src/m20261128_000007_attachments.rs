//! Evidence files: each sealed with its report's DEK (content and name), removed with it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Attachments::Table)
                    .col(uuid(Attachments::Id).primary_key())
                    .col(uuid(Attachments::ReportId))
                    // 1, 2, … within the report: what the case page and download links use.
                    .col(integer(Attachments::Seq))
                    // The sniffed kind (jpeg, pdf, m4a…), never what the sender declared.
                    .col(string_len(Attachments::Kind, 16))
                    .col(big_integer(Attachments::Size))
                    .col(blob(Attachments::Name))
                    .col(blob(Attachments::Content))
                    .col(boolean(Attachments::Stripped))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Attachments::Table, Attachments::ReportId)
                            .to(Reports::Table, Reports::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_attachments_report_seq")
                    .table(Attachments::Table)
                    .col(Attachments::ReportId)
                    .col(Attachments::Seq)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Attachments::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Attachments {
    Table,
    Id,
    ReportId,
    Seq,
    Kind,
    Size,
    Name,
    Content,
    Stripped,
}

#[derive(DeriveIden)]
enum Reports {
    Table,
    Id,
}
