//! The mail outbox (content-free notifications sent by the background worker) and the
//! routing record of each case: which groups it went to, by rule or by escalation.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(outbox_table(Outbox::Table, true))
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_outbox_state_next")
                    .table(Outbox::Table)
                    .col(Outbox::State)
                    .col(Outbox::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CaseRoutes::Table)
                    .col(uuid(CaseRoutes::Id).primary_key())
                    .col(uuid(CaseRoutes::ReportId))
                    .col(string_len(CaseRoutes::GroupId, 64))
                    .col(string_len(CaseRoutes::Reason, 16))
                    .col(uuid_null(CaseRoutes::ActorId))
                    .col(timestamp_with_time_zone(CaseRoutes::At))
                    .foreign_key(
                        ForeignKey::create()
                            .from(CaseRoutes::Table, CaseRoutes::ReportId)
                            .to(Reports::Table, Reports::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_case_routes_report")
                    .table(CaseRoutes::Table)
                    .col(CaseRoutes::ReportId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CaseRoutes::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Outbox::Table).to_owned())
            .await
    }
}

/// The outbox table as first made (`unique_message_id`), or as remade without the Message-ID's
/// own unique index (m20261207_000100), under the name `table`.
pub(crate) fn outbox_table(table: impl IntoIden, unique_message_id: bool) -> TableCreateStatement {
    let message_id = match unique_message_id {
        true => string_len_uniq(Outbox::MessageId, 255),
        false => string_len(Outbox::MessageId, 255),
    };
    Table::create()
        .table(table)
        .col(uuid(Outbox::Id).primary_key())
        // No foreign key: a shredded report's mail (content-free) may still go out.
        .col(uuid_null(Outbox::ReportId))
        .col(string_len(Outbox::Kind, 32))
        .col(string_len(Outbox::RecipientGroup, 64))
        .col(string_len(Outbox::Recipient, 254))
        .col(message_id)
        .col(string_len(Outbox::Subject, 255))
        .col(text(Outbox::BodyText))
        .col(text(Outbox::BodyHtml))
        .col(string_len(Outbox::State, 16))
        .col(integer(Outbox::Attempts))
        .col(timestamp_with_time_zone(Outbox::NextAttemptAt))
        .col(timestamp_with_time_zone_null(Outbox::ClaimedAt))
        .col(string_len_null(Outbox::ClaimedBy, 64))
        .col(string_len_null(Outbox::LastError, 500))
        .col(timestamp_with_time_zone(Outbox::CreatedAt))
        .col(timestamp_with_time_zone_null(Outbox::SentAt))
        .to_owned()
}

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    ReportId,
    Kind,
    RecipientGroup,
    Recipient,
    MessageId,
    Subject,
    BodyText,
    BodyHtml,
    State,
    Attempts,
    NextAttemptAt,
    ClaimedAt,
    ClaimedBy,
    LastError,
    CreatedAt,
    SentAt,
}

#[derive(DeriveIden)]
enum CaseRoutes {
    Table,
    Id,
    ReportId,
    GroupId,
    Reason,
    ActorId,
    At,
}

#[derive(DeriveIden)]
enum Reports {
    Table,
    Id,
}
