//! Schema migrations, shared by SQLite and PostgreSQL; run at `tipoff serve` start and by `tipoff migrate`.

pub use sea_orm_migration::prelude::*;

mod m20261128_000001_create_reports;
mod m20261128_000002_create_staff;
mod m20261128_000004_outbox;
mod m20261128_000005_sites;
mod m20261128_000006_abuse;
mod m20261128_000007_attachments;
mod m20261128_000008_staff_email;
mod m20261202_000020_day_only;
mod m20261202_000021_enrolments;
mod m20261202_000030_purged;
mod m20261203_000040_event_dates;
mod m20261204_000050_rectification;
mod m20261204_000060_milestones;
mod m20261204_000070_summaries;
mod m20261207_000080_relative_register;
mod m20261207_000090_lookup_indexes;
mod m20261207_000100_outbox_message_id;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_create_reports::Migration),
            Box::new(m20261128_000002_create_staff::Migration),
            Box::new(m20261128_000004_outbox::Migration),
            Box::new(m20261128_000005_sites::Migration),
            Box::new(m20261128_000006_abuse::Migration),
            Box::new(m20261128_000007_attachments::Migration),
            Box::new(m20261128_000008_staff_email::Migration),
            Box::new(m20261202_000020_day_only::Migration),
            Box::new(m20261202_000021_enrolments::Migration),
            Box::new(m20261202_000030_purged::Migration),
            Box::new(m20261203_000040_event_dates::Migration),
            Box::new(m20261204_000050_rectification::Migration),
            Box::new(m20261204_000060_milestones::Migration),
            Box::new(m20261204_000070_summaries::Migration),
            Box::new(m20261207_000080_relative_register::Migration),
            Box::new(m20261207_000090_lookup_indexes::Migration),
            Box::new(m20261207_000100_outbox_message_id::Migration),
        ]
    }
}
