//! `tipoff key rotate|rewrap|retire|status`: the keyring file changed atomically, and the
//! stored rows moved onto the active keys in resumable batches.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use sea_orm::DatabaseConnection;
use tipoff::config::Settings;
use tipoff::crypto::{KeyPurpose, Keyring, change_key_file};
use tipoff::services::keys;

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Write a new keyring (mode 0600) to FILE; refuses to overwrite.
    Generate {
        #[arg(long)]
        out: PathBuf,
    },
    /// Add a new key of a kind and make it the active one for new data; the old file is kept
    /// beside it as a dated backup (mode 0600). Restart the service afterwards.
    Rotate {
        /// kek, lookup, blind (the blind index; also `index`), form or audit.
        #[arg(long)]
        kind: String,
    },
    /// Move every wrapped data key and blind index still under a retired key onto the active
    /// ones, in batches of one transaction each; safe to stop and run again.
    Rewrap {
        /// Rows per batch (per transaction).
        #[arg(long, default_value_t = 500)]
        batch_size: u64,
        /// Milliseconds to rest between batches, to leave the database to the service.
        #[arg(long, default_value_t = 0)]
        pause_ms: u64,
    },
    /// Remove a retired key from the keyring; refused while any row still uses it.
    Retire {
        #[arg(allow_hyphen_values = true)]
        id: String,
    },
    /// List each key with its kind, the day it was made and how many rows use it.
    Status,
}

pub async fn run(command: KeyCommand) -> anyhow::Result<()> {
    if let KeyCommand::Generate { out } = command {
        Keyring::generate().write_new(&out)?;
        println!(
            "wrote a new keyring to {} (mode 0600): back it up offline",
            out.display()
        );
        return Ok(());
    }
    let mut settings = Settings::load()?;
    // A keyring made up on the spot would hold none of the keys the data is under.
    settings.keys.create_if_missing = false;
    let keyring = tipoff::startup::load_keyring(&settings)?;
    let path = settings
        .keys
        .file
        .clone()
        .ok_or_else(|| anyhow::anyhow!("no key file configured (keys.file)"))?;
    match command {
        KeyCommand::Generate { .. } => unreachable!("handled above"),
        KeyCommand::Rotate { kind } => rotate(&path, &kind),
        KeyCommand::Rewrap {
            batch_size,
            pause_ms,
        } => {
            let db = connect(&settings).await?;
            rewrap(&db, &keyring, batch_size, Duration::from_millis(pause_ms)).await
        }
        KeyCommand::Retire { id } => {
            let db = connect(&settings).await?;
            retire(&db, &keyring, &path, &id).await
        }
        KeyCommand::Status => {
            let db = connect(&settings).await?;
            status(&db, &keyring).await
        }
    }
}

async fn connect(settings: &Settings) -> anyhow::Result<DatabaseConnection> {
    let db = tipoff::db::connect(&settings.database).await?;
    tipoff::db::migrate(&db).await?;
    Ok(db)
}

fn rotate(path: &Path, kind: &str) -> anyhow::Result<()> {
    let purpose = KeyPurpose::parse(kind).ok_or_else(|| {
        anyhow::anyhow!("unknown kind '{kind}': kek, lookup, blind, form or audit")
    })?;
    let (id, backup) = change_key_file(path, chrono::Utc::now(), |ring| {
        Ok(ring.rotate(purpose).to_owned())
    })?;
    println!("added {id}, now the active {} key", purpose.as_str());
    println!(
        "the previous keyring is kept as {} (mode 0600)",
        backup.display()
    );
    match purpose {
        KeyPurpose::Kek | KeyPurpose::Index => {
            println!("restart the service so new data uses it, then run `tipoff key rewrap`")
        }
        _ => println!("restart the service so new data uses it"),
    }
    Ok(())
}

async fn rewrap(
    db: &DatabaseConnection,
    keyring: &Keyring,
    batch_size: u64,
    pause: Duration,
) -> anyhow::Result<()> {
    let total = keys::pending(db, keyring).await?;
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(total);
        if let Ok(style) =
            ProgressStyle::with_template("{bar:40} {pos}/{len} {msg} ({elapsed}, ~{eta} left)")
        {
            bar.set_style(style);
        }
        bar
    });
    let (mut done, mut batches) = (0u64, 0u64);
    while let Some(moved) = keys::rewrap_batch(db, keyring, batch_size).await? {
        batches += 1;
        done += moved.count();
        match &bar {
            Some(bar) => {
                bar.set_message(moved.what());
                bar.inc(moved.count());
            }
            None => println!(
                "batch {batches}: {} {}, {done} of {total} done",
                moved.count(),
                moved.what()
            ),
        }
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let detail = format!(
        "rewrap: {done} rows moved onto {} and {}",
        keyring.active_kek_id(),
        keyring.active_id(KeyPurpose::Index)
    );
    if done > 0 {
        keys::record(db, keyring, &detail, chrono::Utc::now()).await?;
    }
    println!("{detail}; every wrapped key and blind index is under the active keys");
    Ok(())
}

async fn retire(
    db: &DatabaseConnection,
    keyring: &Keyring,
    path: &Path,
    id: &str,
) -> anyhow::Result<()> {
    let key = keyring
        .key_infos()
        .into_iter()
        .find(|k| k.id == id)
        .ok_or_else(|| anyhow::anyhow!("no key '{id}' in the keyring"))?;
    if key.active {
        anyhow::bail!(
            "key '{id}' is the active {} key: rotate first",
            key.purpose.as_str()
        );
    }
    keys::check_retirable(db, key.purpose, id).await??;
    let (_, backup) = change_key_file(path, chrono::Utc::now(), |ring| ring.retire(id))?;
    keys::record(
        db,
        keyring,
        &format!("retired key {id}"),
        chrono::Utc::now(),
    )
    .await?;
    println!(
        "retired {id}; the previous keyring is kept as {}",
        backup.display()
    );
    println!("restart the service so it forgets the key");
    Ok(())
}

async fn status(db: &DatabaseConnection, keyring: &Keyring) -> anyhow::Result<()> {
    println!("id\tkind\tstate\tcreated\trows");
    for usage in keys::key_usage(db, keyring).await? {
        let key = usage.key;
        println!(
            "{}\t{}\t{}\t{}\t{}",
            key.id,
            key.purpose.as_str(),
            if key.active { "active" } else { "retired" },
            key.created
                .map_or_else(|| "-".to_owned(), |d| d.format("%Y-%m-%d").to_string()),
            usage.rows
        );
    }
    Ok(())
}
