//! Building the application from settings: keys, database, migrations, and the one route table.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::{Compress, from_fn};
use actix_web::{App, HttpServer, web};

use crate::config::Settings;
use crate::crypto::Keyring;
use crate::domain::Villages;
use crate::services::deadlines::{self, Deadlines};
use crate::services::intake::{FloodGauge, GroupCommit};
use crate::services::outbox;
use crate::services::routing::Routing;
use crate::web::middleware::abuse::LookupGuard;
use crate::web::middleware::rate_limit::Limiters;
use crate::web::middleware::{log_request, pause_refusals, security_headers, surface_errors};
use crate::web::{AppState, Clock, api, multipart, public};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Keys(#[from] crate::crypto::CryptoError),
    #[error("keys.file is not set (TIPOFF__KEYS__FILE)")]
    NoKeyFile,
    #[error(
        "key file {0} does not exist; create one with `tipoff key generate --out {0}` \
         (only the development profile creates keys by itself)"
    )]
    MissingKeyFile(String),
    /// A holiday schedule that cannot be trusted: the message names the file and date.
    #[error(transparent)]
    Calendar(#[from] crate::domain::CalendarError),
    #[error(
        "key file {path} can be read by group or others (mode {mode:o}): run `chmod 600 {path}` \
         (production refuses keys that others on the machine could read)"
    )]
    KeyFileReadable { path: String, mode: u32 },
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("mail: {0}")]
    Mail(#[from] crate::mail::MailError),
    #[error("cannot find the program that checks uploaded files: {0}")]
    MediaWorker(std::io::Error),
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: String,
        source: std::io::Error,
    },
}

pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
}

/// Loads the keyring, creating development keys on first run when the profile allows it.
pub fn load_keyring(settings: &Settings) -> Result<Keyring, StartupError> {
    let path = settings.keys.file.as_ref().ok_or(StartupError::NoKeyFile)?;
    if !path.exists() {
        if !settings.keys.create_if_missing {
            return Err(StartupError::MissingKeyFile(path.display().to_string()));
        }
        Keyring::generate().write_new(path)?;
        let banner = format!(
            "\n!!! DEVELOPMENT KEYS CREATED at {}\n!!! Reports sealed with them are only as safe as this file.\n\
             !!! Never use development keys for real reports: run with TIPOFF_PROFILE=production and a keyring \
             made by `tipoff key generate`.\n",
            path.display()
        );
        tracing::warn!(path = %path.display(), "development keys created");
        eprintln!("{banner}");
    }
    check_key_file_mode(settings, path)?;
    Ok(Keyring::load(path)?)
}

/// Production refuses a keyring that group or others may read; elsewhere it is a warning.
fn check_key_file_mode(settings: &Settings, path: &std::path::Path) -> Result<(), StartupError> {
    use std::os::unix::fs::PermissionsExt;
    let Ok(metadata) = std::fs::metadata(path) else {
        // Keyring::load names the file and why it cannot be read.
        return Ok(());
    };
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 == 0 {
        return Ok(());
    }
    let path = path.display().to_string();
    if settings.profile == crate::config::Profile::Production {
        return Err(StartupError::KeyFileReadable { path, mode });
    }
    tracing::warn!(%path, mode = format!("{mode:o}"), "key file can be read by group or others");
    Ok(())
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Application, StartupError> {
        let clock: Clock = Arc::new(chrono::Utc::now);
        Application::build_with_clock(settings, clock).await
    }

    /// As `build`, with "now" supplied by the caller (tests pin the date).
    pub async fn build_with_clock(
        settings: Settings,
        clock: Clock,
    ) -> Result<Application, StartupError> {
        // Settings may have been changed since they were loaded (tests, embedders).
        settings.validate()?;
        let routing = Routing::new(&settings);
        let outbox = outbox::Worker::from_settings(&settings.mail)?;
        let keyring = load_keyring(&settings)?;
        let deadlines = Deadlines::load(&settings.deadlines)?;
        let media =
            crate::media::Workers::new(&settings.attachments).map_err(StartupError::MediaWorker)?;
        let missing = deadlines::missing_years(&deadlines.calendar, deadlines::today(clock()));
        if !missing.is_empty() {
            let years: Vec<String> = missing.iter().map(i32::to_string).collect();
            tracing::warn!(
                "no holiday calendar for {} in {}: deadlines count Monday to Friday as working \
                 days and ignore public holidays; add the State Council's schedule as {}.toml",
                years.join(" and "),
                settings.deadlines.calendar_dir.display(),
                missing[0],
            );
        }
        let db = crate::db::connect(&settings.database).await?;
        crate::db::migrate(&db).await?;

        let address = format!("{}:{}", settings.server.host, settings.server.port);
        let listener = TcpListener::bind(&address).map_err(|source| StartupError::Bind {
            address: address.clone(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind { address, source })?
            .port();

        let commits = GroupCommit::new(settings.database.group_commit_max)
            .with_writer(crate::db::connect_writer(&settings.database).await?);
        let state = web::Data::new(AppState {
            db,
            reads: crate::sqlite_reads::SqliteReads::new(&settings.database.url),
            commits,
            keyring,
            villages: Villages::new(settings.villages.clone()),
            limiters: Limiters::new(&settings.limits, &settings.staff),
            login_throttle: crate::web::staff::LoginThrottle::default(),
            flood: FloodGauge::new(&settings.limits),
            lookups: LookupGuard::new(&settings.limits),
            deadlines,
            settings,
            clock,
            routing,
            outbox,
            media,
            public_counts: Default::default(),
        });
        let server = run(listener, state.clone())?;
        Ok(Application {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let state = self.state.clone();
        // Rate-limit memory holds client addresses: forget them as soon as they refill.
        let sweeper = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            let mut purged_on = None;
            loop {
                tick.tick().await;
                state.forget_idle();
                daily_purge(&state, &mut purged_on).await;
                if let Err(e) =
                    crate::services::intake::forget_spent_tokens(&state.db, state.now()).await
                {
                    tracing::warn!(error = %e, "could not forget spent form tokens");
                }
                if let Err(e) =
                    crate::services::enrolment::forget_expired(&state.db, state.now()).await
                {
                    tracing::warn!(error = %e, "could not forget expired enrolment links");
                }
            }
        });
        let checkpointer = self.start_checkpointer();
        let mailer = self.start_outbox_worker();
        let result = self.server.await;
        sweeper.abort();
        if let Some(checkpointer) = checkpointer {
            checkpointer.abort();
        }
        if let Some((stop, task)) = mailer {
            // Let the batch in flight finish, so its rows are marked sent rather than left
            // claimed (which would send them again after the claim timeout).
            let _ = stop.send(true);
            let _ = tokio::time::timeout(Duration::from_secs(60), task).await;
        }
        result
    }

    /// Copies into the database file, beside the group-commit writer (which never
    /// checkpoints), the log its batches wrote. None without such a writer (PostgreSQL, an
    /// in-memory database): nothing to copy.
    fn start_checkpointer(&self) -> Option<tokio::task::JoinHandle<()>> {
        if !self.state.commits.has_writer() {
            return None;
        }
        let state = self.state.clone();
        Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(crate::services::intake::CHECKPOINT_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut seen = 0;
            loop {
                tick.tick().await;
                if let Err(e) = state.commits.checkpoint(&state.db, &mut seen).await {
                    tracing::warn!(error = %e, "could not checkpoint the write-ahead log");
                }
            }
        }))
    }

    /// Starts the outbox worker: a tick (the daily digest when due, then a batch) every
    /// `mail.interval_seconds`, none when it is 0.
    fn start_outbox_worker(
        &self,
    ) -> Option<(
        tokio::sync::watch::Sender<bool>,
        tokio::task::JoinHandle<()>,
    )> {
        let seconds = self.state.settings.mail.interval_seconds;
        if seconds == 0 {
            return None;
        }
        let state = self.state.clone();
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(seconds));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        let batch = crate::services::digest::tick(
                            &state.outbox,
                            &state.db,
                            &state.routing,
                            &state.deadlines,
                            state.now(),
                        )
                        .await;
                        match batch {
                            Ok(batch) if batch.claimed() > 0 => tracing::info!(
                                sent = batch.sent,
                                retrying = batch.retrying,
                                failed = batch.failed,
                                "outbox batch"
                            ),
                            Ok(_) => {}
                            Err(e) => tracing::error!(error = %e, "outbox batch"),
                        }
                    }
                    _ = stopped.changed() => break,
                }
            }
        });
        Some((stop, task))
    }
}

/// The retention purge, once a day, when `retention.daily_purge` is on and a retention
/// period is set.
async fn daily_purge(state: &AppState, last: &mut Option<chrono::NaiveDate>) {
    let retention = &state.settings.retention;
    let (true, Some(keep_days)) = (retention.daily_purge, retention.keep_days_after_close) else {
        return;
    };
    let now = state.now();
    let today = crate::domain::local_day(now);
    if *last == Some(today) {
        return;
    }
    match crate::services::retention::purge_expired(&state.db, &state.keyring, keep_days, now).await
    {
        Ok(purged) => {
            *last = Some(today);
            tracing::info!(cases = purged.cases.len(), "daily retention purge");
        }
        Err(e) => tracing::error!(error = %e, "daily retention purge"),
    }
}

fn run(listener: TcpListener, state: web::Data<AppState>) -> Result<Server, StartupError> {
    let settings = &state.settings;
    let body_limit = settings.server.body_limit;
    let hsts = settings.server.hsts;
    let workers = settings.server.workers;
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(
                web::FormConfig::default()
                    .limit(body_limit)
                    .error_handler(public::form_error),
            )
            .app_data(
                web::JsonConfig::default()
                    .limit(body_limit)
                    .error_handler(api::json_error),
            )
            .app_data(web::PayloadConfig::new(body_limit))
            .wrap(from_fn(surface_errors))
            .wrap(from_fn(pause_refusals))
            .wrap(Compress::default())
            .wrap(security_headers(hsts))
            .wrap(from_fn(log_request))
            .configure(routes)
    });
    if workers > 0 {
        server = server.workers(workers);
    }
    let server = server
        .listen(listener)
        .map_err(|source| StartupError::Bind {
            address: "listener".into(),
            source,
        })?
        .run();
    Ok(server)
}

/// The one route table.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(public::home))
        .route("/report", web::get().to(public::report_form))
        // Multipart (with files) is streamed under the attachment limits; a plain form is
        // read whole under server.body_limit.
        .route(
            "/report",
            web::post()
                .guard(actix_web::guard::fn_guard(multipart::multipart_guard))
                .to(public::submit_report_with_files),
        )
        .route("/report", web::post().to(public::submit_report))
        .route("/r/{token}", web::get().to(public::report_form_for_site))
        .route("/results", web::get().to(public::show_results))
        .route("/track", web::get().to(public::track_form))
        .route("/track", web::post().to(public::track_report))
        .route("/track/reply", web::post().to(public::reply_report))
        .route("/static/{file}", web::get().to(public::static_file))
        .route("/healthz", web::get().to(crate::web::health))
        .route("/metrics", web::get().to(crate::web::metrics))
        .configure(crate::web::staff::register)
        .service(
            web::scope("/api/v1")
                .service(
                    api::resource("/reports", "POST")
                        .route(
                            web::post()
                                .guard(actix_web::guard::fn_guard(multipart::multipart_guard))
                                .to(api::submit_report_with_files),
                        )
                        .route(web::post().to(api::submit_report)),
                )
                .service(api::resource("/track", "POST").route(web::post().to(api::track_report)))
                .service(
                    api::resource("/track/reply", "POST").route(web::post().to(api::reply_report)),
                )
                .service(api::resource("/version", "GET").route(web::get().to(api::version)))
                .service(api::resource("/openapi.json", "GET").route(web::get().to(api::openapi))),
        )
        .default_service(web::to(public::not_found));
}
