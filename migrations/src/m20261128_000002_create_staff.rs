//! Staff accounts and sessions, the case workflow (events, notes, messages), recusals, the
//! name blind indexes, and the audit chain.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(uuid(Users::Id).primary_key())
                    .col(string_len_uniq(Users::Username, 64))
                    .col(string_len(Users::DisplayName, 100))
                    .col(boolean(Users::Disabled))
                    .col(string_len(Users::PasswordHash, 255))
                    // The TOTP secret is sealed under a DEK of its own.
                    .col(blob_null(Users::TotpSecret))
                    .col(uuid_null(Users::TotpDekId))
                    .col(string_len_null(Users::TotpKekId, 64))
                    .col(blob_null(Users::TotpDekWrapped))
                    .col(big_integer_null(Users::TotpLastStep))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UserRoles::Table)
                    .col(uuid(UserRoles::UserId))
                    .col(string_len(UserRoles::Role, 16))
                    .primary_key(Index::create().col(UserRoles::UserId).col(UserRoles::Role))
                    .foreign_key(
                        ForeignKey::create()
                            .from(UserRoles::Table, UserRoles::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UserAliases::Table)
                    .col(uuid(UserAliases::Id).primary_key())
                    .col(uuid(UserAliases::UserId))
                    .col(string_len(UserAliases::Alias, 100))
                    .foreign_key(
                        ForeignKey::create()
                            .from(UserAliases::Table, UserAliases::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RelativeFilings::Table)
                    .col(uuid(RelativeFilings::Id).primary_key())
                    .col(uuid(RelativeFilings::UserId))
                    .col(blob(RelativeFilings::Name))
                    .col(blob_null(RelativeFilings::Relation))
                    .col(uuid(RelativeFilings::DekId))
                    .col(string_len(RelativeFilings::DekKekId, 64))
                    .col(blob(RelativeFilings::DekWrapped))
                    .col(timestamp_with_time_zone(RelativeFilings::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(RelativeFilings::Table, RelativeFilings::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Blind indexes of every name a staff member is known by: display name, aliases and
        // filed close relatives. Recusal joins these against report_names.
        manager
            .create_table(
                Table::create()
                    .table(StaffNames::Table)
                    .col(uuid(StaffNames::Id).primary_key())
                    .col(uuid(StaffNames::UserId))
                    .col(string_len(StaffNames::Source, 16))
                    .col(uuid_null(StaffNames::FilingId))
                    .col(string_len(StaffNames::IndexKeyId, 64))
                    .col(blob(StaffNames::NameIndex))
                    .foreign_key(
                        ForeignKey::create()
                            .from(StaffNames::Table, StaffNames::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_staff_names_index")
                    .table(StaffNames::Table)
                    .col(StaffNames::NameIndex)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(blob(Sessions::IdHash).primary_key())
                    .col(uuid(Sessions::UserId))
                    .col(timestamp_with_time_zone(Sessions::CreatedAt))
                    .col(timestamp_with_time_zone(Sessions::LastSeenAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Sessions::Table, Sessions::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        for column in [
            ColumnDef::new(Reports::OperatorId).uuid().null().to_owned(),
            ColumnDef::new(Reports::AssigneeId).uuid().null().to_owned(),
            ColumnDef::new(Reports::MergedInto).uuid().null().to_owned(),
            ColumnDef::new(Reports::Outcome)
                .string_len(32)
                .null()
                .to_owned(),
        ] {
            // One column per statement: SQLite alters one thing at a time.
            manager
                .alter_table(
                    Table::alter()
                        .table(Reports::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(ReportNames::Table)
                    .col(uuid(ReportNames::Id).primary_key())
                    .col(uuid(ReportNames::ReportId))
                    .col(string_len(ReportNames::IndexKeyId, 64))
                    .col(blob(ReportNames::NameIndex))
                    .col(blob(ReportNames::PlaceIndex))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ReportNames::Table, ReportNames::ReportId)
                            .to(Reports::Table, Reports::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("ix_report_names_name", ReportNames::NameIndex),
            ("ix_report_names_place", ReportNames::PlaceIndex),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(ReportNames::Table)
                        .col(col)
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(ReportEvents::Table)
                    .col(uuid(ReportEvents::Id).primary_key())
                    .col(uuid(ReportEvents::ReportId))
                    .col(timestamp_with_time_zone(ReportEvents::At))
                    .col(uuid_null(ReportEvents::ActorId))
                    .col(string_len(ReportEvents::Kind, 32))
                    .col(string_len_null(ReportEvents::FromStatus, 16))
                    .col(string_len_null(ReportEvents::ToStatus, 16))
                    .col(blob_null(ReportEvents::Detail))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ReportEvents::Table, ReportEvents::ReportId)
                            .to(Reports::Table, Reports::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Notes::Table)
                    .col(uuid(Notes::Id).primary_key())
                    .col(uuid(Notes::ReportId))
                    .col(uuid(Notes::AuthorId))
                    .col(timestamp_with_time_zone(Notes::At))
                    .col(blob(Notes::Body))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Notes::Table, Notes::ReportId)
                            .to(Reports::Table, Reports::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Messages::Table)
                    .col(uuid(Messages::Id).primary_key())
                    .col(uuid(Messages::ReportId))
                    .col(boolean(Messages::FromInspector))
                    .col(uuid_null(Messages::AuthorId))
                    // For an anonymous reporter's answer only the date is kept.
                    .col(timestamp_with_time_zone(Messages::At))
                    .col(blob(Messages::Body))
                    .col(timestamp_with_time_zone_null(Messages::ReadAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Messages::Table, Messages::ReportId)
                            .to(Reports::Table, Reports::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Recusals::Table)
                    .col(uuid(Recusals::ReportId))
                    .col(uuid(Recusals::UserId))
                    .col(string_len(Recusals::Source, 16))
                    .col(blob_null(Recusals::Reason))
                    .col(uuid_null(Recusals::ByUser))
                    .col(timestamp_with_time_zone(Recusals::At))
                    .primary_key(
                        Index::create()
                            .col(Recusals::ReportId)
                            .col(Recusals::UserId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Recusals::Table, Recusals::ReportId)
                            .to(Reports::Table, Reports::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(big_integer(AuditLog::Seq).primary_key())
                    .col(timestamp_with_time_zone(AuditLog::At))
                    .col(uuid_null(AuditLog::ActorId))
                    .col(string_len(AuditLog::Action, 32))
                    .col(uuid_null(AuditLog::ReportId))
                    .col(text(AuditLog::Detail))
                    .col(string_len(AuditLog::KeyId, 64))
                    .col(blob(AuditLog::Mac))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_audit_log_report")
                    .table(AuditLog::Table)
                    .col(AuditLog::ReportId)
                    .to_owned(),
            )
            .await?;
        // One row that every append updates first: it serializes appends on both engines.
        manager
            .create_table(
                Table::create()
                    .table(AuditHead::Table)
                    .col(integer(AuditHead::Id).primary_key())
                    .col(big_integer(AuditHead::LastSeq))
                    .col(blob_null(AuditHead::LastMac))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(AuditHead::Table)
                    .columns([AuditHead::Id, AuditHead::LastSeq])
                    .values_panic([1.into(), 0i64.into()])
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditHead::Table.into_iden(),
            AuditLog::Table.into_iden(),
            Recusals::Table.into_iden(),
            Messages::Table.into_iden(),
            Notes::Table.into_iden(),
            ReportEvents::Table.into_iden(),
            ReportNames::Table.into_iden(),
            Sessions::Table.into_iden(),
            StaffNames::Table.into_iden(),
            RelativeFilings::Table.into_iden(),
            UserAliases::Table.into_iden(),
            UserRoles::Table.into_iden(),
            Users::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        for column in [
            Reports::OperatorId,
            Reports::AssigneeId,
            Reports::MergedInto,
            Reports::Outcome,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Reports::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Username,
    DisplayName,
    Disabled,
    PasswordHash,
    TotpSecret,
    TotpDekId,
    TotpKekId,
    TotpDekWrapped,
    TotpLastStep,
    CreatedAt,
}

#[derive(DeriveIden)]
enum UserRoles {
    Table,
    UserId,
    Role,
}

#[derive(DeriveIden)]
enum UserAliases {
    Table,
    Id,
    UserId,
    Alias,
}

#[derive(DeriveIden)]
enum RelativeFilings {
    Table,
    Id,
    UserId,
    Name,
    Relation,
    DekId,
    DekKekId,
    DekWrapped,
    CreatedAt,
}

#[derive(DeriveIden)]
enum StaffNames {
    Table,
    Id,
    UserId,
    Source,
    FilingId,
    IndexKeyId,
    NameIndex,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    IdHash,
    UserId,
    CreatedAt,
    LastSeenAt,
}

#[derive(DeriveIden)]
enum Reports {
    Table,
    Id,
    OperatorId,
    AssigneeId,
    MergedInto,
    Outcome,
}

#[derive(DeriveIden)]
enum ReportNames {
    Table,
    Id,
    ReportId,
    IndexKeyId,
    NameIndex,
    PlaceIndex,
}

#[derive(DeriveIden)]
enum ReportEvents {
    Table,
    Id,
    ReportId,
    At,
    ActorId,
    Kind,
    FromStatus,
    ToStatus,
    Detail,
}

#[derive(DeriveIden)]
enum Notes {
    Table,
    Id,
    ReportId,
    AuthorId,
    At,
    Body,
}

#[derive(DeriveIden)]
enum Messages {
    Table,
    Id,
    ReportId,
    FromInspector,
    AuthorId,
    At,
    Body,
    ReadAt,
}

#[derive(DeriveIden)]
enum Recusals {
    Table,
    ReportId,
    UserId,
    Source,
    Reason,
    ByUser,
    At,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Seq,
    At,
    ActorId,
    Action,
    ReportId,
    Detail,
    KeyId,
    Mac,
}

#[derive(DeriveIden)]
enum AuditHead {
    Table,
    Id,
    LastSeq,
    LastMac,
}
