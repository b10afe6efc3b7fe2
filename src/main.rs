//! The `tipoff` command: serve (default), migrate, keys, audit verify, users and sites.

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use cli::keys::KeyCommand;
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
    /// Destroy the content of cases closed longer ago than retention.keep_days_after_close.
    Purge {
        /// List what would be destroyed, and destroy nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Write a consistent copy of the (SQLite) database to FILE while the service runs, with
    /// a manifest beside it; the keyring is never in it.
    Backup {
        #[arg(long)]
        out: PathBuf,
    },
    /// Make a backup (checked against its manifest) the database, in an empty data directory.
    Restore {
        #[arg(long)]
        from: PathBuf,
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
    /// Manage posting sites (where a notice with a QR code hangs).
    Site {
        #[command(subcommand)]
        command: SiteCommand,
    },
    /// Check one uploaded file, under the limits given, from stdin to stdout (run by the
    /// service itself for every file; not for people).
    #[command(name = "media-worker", hide = true)]
    MediaWorker {
        #[arg(long)]
        memory_mb: u64,
        #[arg(long)]
        cpu_seconds: u64,
        #[arg(long)]
        input_max: u64,
    },
}

#[derive(Subcommand)]
enum SiteCommand {
    /// Add a site and print the address its QR code leads to.
    Add {
        /// subdistrict_board, village_board, group_board, station_market, building_courtyard,
        /// household, office_counter or website.
        #[arg(long)]
        kind: String,
        #[arg(long)]
        name: String,
        /// A village/community id from the configuration (required for household).
        #[arg(long)]
        village: Option<String>,
    },
    /// List every site with its address.
    List,
    /// Disable a site: its code still opens the form, but reports are no longer attributed.
    Disable {
        /// A site token may begin with `-` (URL-safe base64): it is still the site.
        #[arg(allow_hyphen_values = true)]
        token_or_id: String,
    },
    /// Write `<kind>-<slug or id>.svg` and `.png` QR codes for every enabled site into DIR.
    Qr {
        #[arg(long)]
        out: PathBuf,
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
        /// The account's own mail address, where the daily digest of its due cases goes.
        #[arg(long)]
        email: Option<String>,
    },
    /// Disable an account and end its sessions.
    Disable {
        /// Usernames may begin with `-`.
        #[arg(allow_hyphen_values = true)]
        username: String,
    },
    /// Set a new password (prompted) and end the account's sessions.
    ResetPassword {
        #[arg(allow_hyphen_values = true)]
        username: String,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recompute the audit chain and name the first altered, missing or inserted entry;
    /// exits non-zero if it finds one.
    Verify,
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
    // A file worker starts no runtime, reads no settings and opens nothing: it sets its
    // limits and parses one file.
    if let Some(Command::MediaWorker {
        memory_mb,
        cpu_seconds,
        input_max,
    }) = cli.command
    {
        return tipoff::media::worker::serve(tipoff::media::worker::Limits {
            memory_mb,
            cpu_seconds,
            input_max,
        });
    }
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
        Command::Key { command } => cli::keys::run(command).await,
        Command::Purge { dry_run } => cli::retention::purge(dry_run).await,
        Command::Backup { out } => cli::backup::backup(&out).await,
        Command::Restore { from } => cli::backup::restore(&from).await,
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
                    email,
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
                        email,
                    };
                    staff::create_user(&db, &keyring, new, &password, None, now).await?;
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
        Command::Site { command } => {
            let settings = Settings::load()?;
            let keyring = tipoff::startup::load_keyring(&settings)?;
            let db = tipoff::db::connect(&settings.database).await?;
            tipoff::db::migrate(&db).await?;
            site_command(command, &settings, &keyring, &db).await
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
        Command::MediaWorker { .. } => unreachable!("a file worker starts no runtime"),
    }
}

async fn site_command(
    command: SiteCommand,
    settings: &Settings,
    keyring: &Keyring,
    db: &sea_orm::DatabaseConnection,
) -> anyhow::Result<()> {
    use tipoff::services::sites::{self, NewSite};
    let base_url = settings.server.base_url.as_str();
    match command {
        SiteCommand::Add {
            kind,
            name,
            village,
        } => {
            let kind = tipoff::domain::SiteKind::parse(&kind).ok_or_else(|| {
                anyhow::anyhow!(
                    "unknown kind '{kind}': subdistrict_board, village_board, group_board, \
                     station_market, building_courtyard, household, office_counter or website"
                )
            })?;
            let villages = tipoff::domain::Villages::new(settings.villages.clone());
            let new = NewSite {
                kind,
                name,
                village,
            };
            let site =
                sites::create_site(db, keyring, &villages, new, None, chrono::Utc::now()).await?;
            println!("added site {} ({})", site.id, site.kind.code());
            println!("{}", site.url(base_url));
        }
        SiteCommand::List => {
            for site in sites::list_sites(db).await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    site.id,
                    site.kind.code(),
                    site.village.as_deref().unwrap_or("-"),
                    if site.enabled { "enabled" } else { "disabled" },
                    site.name,
                    site.url(base_url)
                );
            }
        }
        SiteCommand::Disable { token_or_id } => {
            let site = sites::find_by_token_or_id(db, &token_or_id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no site with that token or id"))?;
            sites::disable_site(db, keyring, site.id, None, chrono::Utc::now()).await?;
            println!("disabled site {} ({})", site.id, site.name);
        }
        SiteCommand::Qr { out } => {
            std::fs::create_dir_all(&out)?;
            let mut written = std::collections::HashSet::new();
            for site in sites::list_sites(db)
                .await?
                .into_iter()
                .filter(|s| s.enabled)
            {
                let mut stem = site.file_stem();
                // Two sites whose names make the same slug must not overwrite each other.
                if !written.insert(stem.clone()) {
                    stem = format!("{}-{}", site.kind.code(), site.id);
                    written.insert(stem.clone());
                }
                let url = site.url(base_url);
                std::fs::write(out.join(format!("{stem}.svg")), tipoff::qr::svg(&url)?)?;
                std::fs::write(out.join(format!("{stem}.png")), tipoff::qr::png(&url)?)?;
                println!("{stem}\t{url}");
            }
        }
    }
    Ok(())
}
