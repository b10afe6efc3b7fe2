//! `tipoff purge [--dry-run]`: destroys the content of cases closed longer ago than
//! `retention.keep_days_after_close`, one transaction and one audit entry per case.

use tipoff::config::Settings;
use tipoff::services::retention;

pub async fn purge(dry_run: bool) -> anyhow::Result<()> {
    let mut settings = Settings::load()?;
    settings.keys.create_if_missing = false;
    let Some(keep_days) = settings.retention.keep_days_after_close else {
        anyhow::bail!(
            "retention.keep_days_after_close is not set: nothing is destroyed until the office \
             decides how long closed cases are kept (see the README's operations section)"
        );
    };
    let keyring = tipoff::startup::load_keyring(&settings)?;
    let db = tipoff::db::connect(&settings.database).await?;
    tipoff::db::migrate(&db).await?;
    let now = chrono::Utc::now();
    if dry_run {
        let due = retention::expired(&db, keep_days, now).await?;
        for case in &due {
            println!(
                "would purge {} (closed {})",
                case.case_number, case.closed_on
            );
        }
        println!(
            "{} case(s) closed more than {keep_days} days ago would be purged",
            due.len()
        );
        return Ok(());
    }
    let purged = retention::purge_expired(&db, &keyring, keep_days, now).await?;
    for case in &purged.cases {
        println!("purged {case}");
    }
    println!(
        "{} case(s) closed more than {keep_days} days ago purged",
        purged.cases.len()
    );
    if !purged.checkpointed {
        eprintln!(
            "warning: a reader kept the write-ahead log from being emptied; run `tipoff purge` \
             again when the service is quiet"
        );
    }
    Ok(())
}
