//! The `tipoff` command: serve (default), migrate, key generate, audit verify.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tipoff::config::Settings;
use tipoff::crypto::Keyring;
use tipoff::domain::Role;
use tipoff::services::staff::{self, NewUser};
use tipoff::startup::Application;
use zeroize::Zeroizing;

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
    /// Manage staff accounts. Passwords are read from a prompt (or stdin), never from argv.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account.
    Add {
        #[arg(long)]
        username: String,
        /// operator, inspector or admin; repeat for several.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        #[arg(long)]
        display_name: String,
        /// Another name the person is known by (e.g. 王书记); repeat for several.
        #[arg(long = "alias")]
        aliases: Vec<String>,
    },
    /// Disable an account and end its sessions.
    Disable { username: String },
    /// Set a new password (prompted) and end the account's sessions.
    ResetPassword { username: String },
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

/// A password from the terminal without echo, or the first line of stdin when piped.
fn read_password(prompt: &str) -> anyhow::Result<Zeroizing<String>> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        return Ok(Zeroizing::new(rpassword::prompt_password(prompt)?));
    }
    let mut line = Zeroizing::new(String::new());
    std::io::stdin().read_line(&mut line)?;
    Ok(Zeroizing::new(
        line.trim_end_matches(['\r', '\n']).to_string(),
    ))
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
        Command::User { command } => {
            let settings = Settings::load()?;
            let keyring = tipoff::startup::load_keyring(&settings)?;
            let db = tipoff::db::connect(&settings.database).await?;
            tipoff::db::migrate(&db).await?;
            let now = chrono::Utc::now();
            match command {
                UserCommand::Add {
                    username,
                    roles,
                    display_name,
                    aliases,
                } => {
                    let roles = roles
                        .iter()
                        .map(|r| {
                            Role::parse(r).ok_or_else(|| {
                                anyhow::anyhow!("unknown role '{r}': operator, inspector or admin")
                            })
                        })
                        .collect::<anyhow::Result<Vec<_>>>()?;
                    let password = read_password(&format!("password for {username}: "))?;
                    let new = NewUser {
                        username: username.clone(),
                        display_name,
                        roles,
                        aliases,
                        password,
                    };
                    staff::create_user(&db, &keyring, new, None, now).await?;
                    println!("created account {username}");
                }
                UserCommand::Disable { username } => {
                    staff::disable_user(&db, &keyring, &username, None, now).await?;
                    println!("disabled account {username}");
                }
                UserCommand::ResetPassword { username } => {
                    let password = read_password(&format!("new password for {username}: "))?;
                    staff::reset_password(&db, &keyring, &username, &password, None, now).await?;
                    println!("password of {username} reset; its sessions are ended");
                }
            }
            Ok(())
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
