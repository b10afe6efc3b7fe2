//! spawn_app: the real application on port 0 with a fresh database (SQLite in a temp dir, or a
//! PostgreSQL database created for the test and dropped after), the captured logs, and what
//! tests need from outside (PostgreSQL, an SMTP server, Chromium) or else skip.
//!
//! The submodules hold the tests' other shared steps, one subject each.

pub mod browser;
pub mod cli;
pub mod files;
pub mod hostile;
pub mod mail;
pub mod reports;
pub mod sites;
pub mod staff;
pub mod storage;

pub use staff::Staff;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{NaiveDateTime, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::json;
use tipoff::config::{Profile, Settings};
use tipoff::services::cases::{Caller, CaseCommand, Viewer};
use tipoff::services::deadlines;
use tipoff::startup::Application;
use tipoff::web::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Every log line any test's server wrote, at the most verbose level, for leak checks.
#[derive(Clone, Default)]
pub struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn logs() -> &'static LogBuffer {
    static LOGS: OnceLock<LogBuffer> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = LogBuffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("trace"))
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
        buffer
    })
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub data_dir: tempfile::TempDir,
    pub backend: Backend,
    pub state: actix_web::web::Data<AppState>,
    /// Seconds added to the real clock: tests move time forward instead of sleeping.
    pub clock_offset: Arc<AtomicI64>,
    pg_database: Option<PgDatabase>,
}

/// The project's config directory, whatever the test's working directory.
pub fn config_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config")
}

pub fn test_settings() -> Settings {
    let mut settings =
        Settings::load_from(&config_dir(), Profile::Test).expect("test settings load");
    // The service runs inside this test binary: its file workers are the real tipoff.
    settings.attachments.worker_program = Some(PathBuf::from(env!("CARGO_BIN_EXE_tipoff")));
    settings
}

/// The test settings with the key file and a SQLite database in `dir`, for tests that build
/// the application themselves (to see it refuse to start, say).
pub fn settings_in(dir: &Path) -> Settings {
    let mut settings = test_settings();
    settings.keys.file = Some(dir.join("keys.toml"));
    settings.database.url = format!("sqlite://{}?mode=rwc", dir.join("t.db").display());
    settings
}

/// The value of `var`, which names something outside (a server, a driver) that `what` tests
/// need; without it they are skipped, saying so, and under CI that is a failure.
pub fn configured(var: &str, what: &str, hint: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(value) if !value.is_empty() => Some(value),
        _ => {
            assert!(
                std::env::var("CI").is_err(),
                "CI must set {var}: {what} tests may not be skipped"
            );
            eprintln!("skipped: {what} test ({hint})");
            None
        }
    }
}

/// Whether Debian's aiosmtpd (`python3-aiosmtpd`, run by `/usr/bin/python3`) is here to
/// play the SMTP server. Under CI, or with TIPOFF_TEST_SMTP=1, a missing one is a failure.
pub fn smtp_server_available() -> bool {
    let present = std::process::Command::new("/usr/bin/python3")
        .args(["-c", "import aiosmtpd"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if present {
        return true;
    }
    assert!(
        std::env::var("CI").is_err() && std::env::var("TIPOFF_TEST_SMTP").is_err(),
        "the SMTP tests may not be skipped: install python3-aiosmtpd (/usr/bin/python3 -m aiosmtpd)"
    );
    eprintln!("skipped: SMTP test (install python3-aiosmtpd to run it)");
    false
}

/// The PostgreSQL server to test against, if any. Under CI a missing one is a failure.
pub fn postgres_url() -> Option<String> {
    configured(
        "TIPOFF_TEST_POSTGRES_URL",
        "PostgreSQL",
        "set TIPOFF_TEST_POSTGRES_URL to run it",
    )
}

/// A port nobody listens on right now (the OS picks it; the caller's server binds it next).
pub fn free_port() -> u16 {
    // A port is handed out before anything listens on it (mail written while SMTP is down),
    // so the kernel may offer it again to a test running beside this one: never hand out the
    // same port twice in one run.
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

struct PgDatabase {
    admin_url: String,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime; a runtime of our own on another thread can block.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                if let Ok(admin) = Database::connect(&admin_url).await {
                    let _ = admin
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        ))
                        .await;
                    let _ = admin.close().await;
                }
            });
        })
        .join();
    }
}

/// Replaces the database name (the last path segment) of a postgres:// URL.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let prefix = base.rsplit_once('/').map_or(base, |(p, _)| p);
    match query {
        Some(q) => format!("{prefix}/{name}?{q}"),
        None => format!("{prefix}/{name}"),
    }
}

/// The application on port 0 with a fresh database; `None` when the backend is not
/// available here (PostgreSQL without TIPOFF_TEST_POSTGRES_URL).
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |_| {}).await
}

/// The application on SQLite, which is always here.
pub async fn sqlite_app() -> TestApp {
    sqlite_app_with(|_| {}).await
}

/// `sqlite_app` with settings changed first.
pub async fn sqlite_app_with(customise: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_with(Backend::Sqlite, customise)
        .await
        .expect("SQLite is always available")
}

pub async fn spawn_app_with(
    backend: Backend,
    customise: impl FnOnce(&mut Settings),
) -> Option<TestApp> {
    logs();
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut settings = test_settings();
    settings.keys.file = Some(data_dir.path().join("keys.toml"));
    settings.mail.file_dir = data_dir.path().join("mail");
    let mut pg_database = None;
    match backend {
        Backend::Sqlite => {
            settings.database.url = format!(
                "sqlite://{}?mode=rwc",
                data_dir.path().join("tipoff.db").display()
            );
        }
        Backend::Postgres => {
            let admin_url = postgres_url()?;
            let name = format!("tipoff_test_{}", uuid::Uuid::new_v4().simple());
            let admin = Database::connect(&admin_url)
                .await
                .expect("connect to PostgreSQL");
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("create test database");
            admin.close().await.expect("close admin connection");
            settings.database.url = with_database(&admin_url, &name);
            pg_database = Some(PgDatabase { admin_url, name });
        }
    }
    customise(&mut settings);
    let clock_offset = Arc::new(AtomicI64::new(0));
    let offset = clock_offset.clone();
    let clock: tipoff::web::Clock = Arc::new(move || {
        chrono::Utc::now() + chrono::Duration::seconds(offset.load(Ordering::SeqCst))
    });
    let app = Application::build_with_clock(settings, clock)
        .await
        .expect("application builds");
    let port = app.port();
    let state = app.state();
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    Some(TestApp {
        address: format!("http://127.0.0.1:{port}"),
        client,
        data_dir,
        backend,
        state,
        clock_offset,
        pg_database,
    })
}

impl TestApp {
    pub fn db(&self) -> &DatabaseConnection {
        &self.state.db
    }

    /// A call into the staff services as `viewer`, made at `now`.
    pub fn caller<'a>(&'a self, viewer: &'a Viewer, now: chrono::DateTime<Utc>) -> Caller<'a> {
        Caller {
            db: self.db(),
            keyring: &self.state.keyring,
            viewer,
            now,
        }
    }

    /// A command on case `id` as `viewer`, given at `now`, for the case services.
    pub fn on_case<'a>(
        &'a self,
        viewer: &'a Viewer,
        id: uuid::Uuid,
        now: chrono::DateTime<Utc>,
    ) -> CaseCommand<'a> {
        self.caller(viewer, now).on_case(id)
    }

    /// The look-ups' direct reads of the SQLite file (inert on PostgreSQL).
    pub fn reads(&self) -> &tipoff::sqlite_reads::SqliteReads {
        &self.state.reads
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    /// A GET with one request header set, e.g. the language a browser asks for.
    pub async fn get_with(&self, path: &str, header: &str, value: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .header(header, value)
            .send()
            .await
            .expect("GET")
    }

    /// The report form as a resident would load it, returning its signed token.
    pub async fn form_token(&self) -> String {
        let html = self.get("/report").await.text().await.unwrap();
        let start = html
            .find("name=\"form_token\" value=\"")
            .expect("token field")
            + 25;
        let end = html[start..].find('"').unwrap() + start;
        html[start..end].to_string()
    }

    /// Posts the public report form, from `client_ip` (sent through the trusted proxy header).
    pub async fn post_form(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        client_ip: &str,
    ) -> reqwest::Response {
        let body = serde_urlencoded_pairs(fields);
        self.client
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-forwarded-for", client_ip)
            .body(body)
            .send()
            .await
            .expect("POST form")
    }

    pub async fn post_json(
        &self,
        path: &str,
        body: &serde_json::Value,
        client_ip: &str,
    ) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("x-forwarded-for", client_ip)
            .json(body)
            .send()
            .await
            .expect("POST json")
    }

    /// Looks a tracking code up through the JSON API, from `client_ip`.
    pub async fn post_track(&self, code: &str, client_ip: &str) -> reqwest::Response {
        self.post_json("/api/v1/track", &json!({"tracking_code": code}), client_ip)
            .await
    }

    /// Submits a valid report through the form and returns the receipt page.
    pub async fn submit_form(&self, extra: &[(&str, &str)], client_ip: &str) -> reqwest::Response {
        let token = self.form_token().await;
        let fields = reports::report_form(&token, "村主任的亲戚开着小车还在吃低保", extra);
        self.post_form("/report", &fields, client_ip).await
    }

    /// Moves the application's clock forward.
    pub fn advance(&self, seconds: i64) {
        self.clock_offset.fetch_add(seconds, Ordering::SeqCst);
    }

    /// Moves the application's clock to a wall-clock time in Shanghai ("2024-10-03 10:00").
    pub fn set_clock(&self, shanghai: &str) {
        let local = NaiveDateTime::parse_from_str(shanghai, "%Y-%m-%d %H:%M").unwrap();
        let target = Shanghai
            .from_local_datetime(&local)
            .single()
            .unwrap()
            .with_timezone(&Utc);
        self.advance((target - self.now()).num_seconds());
        assert_eq!(deadlines::today(self.now()), local.date());
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.state.now()
    }

    pub fn has_postgres(&self) -> bool {
        self.pg_database.is_some()
    }
}

/// The value of a hidden input on a page.
pub fn hidden_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field"))
        + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_string()
}

/// Form encoding without another dependency: reqwest's `form` feature is off.
pub fn serde_urlencoded_pairs(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The body of an answer that came with `status` (asserted first).
pub async fn body_with(response: reqwest::Response, status: u16) -> String {
    assert_eq!(response.status(), status);
    response.text().await.unwrap()
}

/// The JSON body of an answer that came with `status` (asserted first).
pub async fn json_with(response: reqwest::Response, status: u16) -> serde_json::Value {
    assert_eq!(response.status(), status);
    response.json().await.unwrap()
}

/// The value of a header the answer must carry, as text.
pub fn header<'r>(response: &'r reqwest::Response, name: &str) -> &'r str {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("{name} header"))
        .to_str()
        .unwrap_or_else(|_| panic!("{name} is text"))
}

/// The tracking code shown on a receipt page, as printed (grouped).
pub fn code_in(html: &str) -> String {
    let start = html
        .find("id=\"tracking-code\">")
        .expect("receipt shows a code")
        + 19;
    let end = html[start..].find('<').unwrap() + start;
    html[start..end].trim().to_string()
}

/// The digit a slip of the finger puts in place of `digit` (the next one, 9 becoming 0).
pub fn mistyped_digit(digit: u8) -> u8 {
    if digit == b'9' { b'0' } else { digit + 1 }
}

/// Runs a test body against SQLite always and against PostgreSQL when it is configured.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::helpers::spawn_app($crate::helpers::Backend::Sqlite)
                    .await
                    .expect("SQLite is always available");
                super::$name(app).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = $crate::helpers::spawn_app($crate::helpers::Backend::Postgres).await {
                    super::$name(app).await;
                }
            }
        }
    )*};
}

/// Runs a test that starts its application itself (`async fn(Backend)`, to change settings
/// first) on SQLite and on PostgreSQL; without PostgreSQL configured, spawning it says so.
/// `worker_threads = N;` first gives each runtime more threads than the usual two.
#[macro_export]
macro_rules! on_each_backend {
    (worker_threads = $threads:tt; $($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = $threads)]
            async fn sqlite() {
                super::$name($crate::helpers::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = $threads)]
            async fn postgres() {
                super::$name($crate::helpers::Backend::Postgres).await;
            }
        }
    )*};
    ($($name:ident),* $(,)?) => {
        $crate::on_each_backend!(worker_threads = 2; $($name),*);
    };
}
