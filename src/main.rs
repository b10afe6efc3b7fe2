//! The `tipoff` command: serve (default), migrate, key generate, audit verify.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tipoff::config::Settings;
use tipoff::crypto::Keyring;
use tipoff::startup::Application;

#[derive(Parser)]
#[command(
    name = "tipoff",
    version,
    about = "Tip-off intake for favoritism in social assistance"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Apply migrations and serve HTTP (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage the keyring.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Check the audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recompute the audit chain and name the first altered, missing or inserted entry;
    /// exits non-zero if it finds one.
    Verify,
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Write a new keyring (mode 0600) to FILE; refuses to overwrite.
    Generate {
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("tipoff: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tipoff: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Key {
            command: KeyCommand::Generate { out },
        } => {
            Keyring::generate().write_new(&out)?;
            println!(
                "wrote a new keyring to {} (mode 0600): back it up offline",
                out.display()
            );
            Ok(())
        }
        Command::Audit {
            command: AuditCommand::Verify,
        } => {
            let mut settings = Settings::load()?;
            // A keyring made up on the spot could only fail every entry and hide the real
            // mistake (the wrong key file).
            settings.keys.create_if_missing = false;
            let keyring = tipoff::startup::load_keyring(&settings)?;
            // No migration: verifying must not change the database it inspects.
            let db = tipoff::db::connect(&settings.database).await?;
            let outcome = tipoff::services::audit::verify(&db, &keyring).await?;
            match outcome.problem {
                None => {
                    println!(
                        "audit log intact: {} entries, last seq {}",
                        outcome.entries, outcome.last_seq
                    );
                    Ok(())
                }
                Some(problem) => anyhow::bail!(
                    "audit log broken: {problem} ({} entries before it chain correctly)",
                    outcome.entries
                ),
            }
        }
        Command::Migrate => {
            let settings = Settings::load()?;
            tipoff::telemetry::init(&settings.log.level);
            let db = tipoff::db::connect(&settings.database).await?;
            tipoff::db::migrate(&db).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Serve => {
            let settings = Settings::load()?;
            tipoff::telemetry::init(&settings.log.level);
            let profile = settings.profile.as_str();
            let app = Application::build(settings).await?;
            tracing::info!(port = app.port(), profile, "tipoff listening");
            app.run_until_stopped().await?;
            Ok(())
        }
    }
}
