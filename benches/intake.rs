//! Intake performance, each figure beside its baseline from the same run:
//! - durable submissions at concurrency 32 and 64 (errors counted) next to bare single-row
//!   inserts with the same durability — on SQLite (WAL, synchronous=FULL), and on PostgreSQL
//!   when `TIPOFF_TEST_POSTGRES_URL` is set;
//! - tracking look-ups of known and of unknown codes (their latency distributions side by
//!   side: timing must not tell them apart) next to a trivial JSON route;
//! - fairness: one client flooding submissions while 16 others submit at a person's pace,
//!   next to the same 16 with no flood;
//! - the `tipoff` binary started on the existing database: time to healthy, idle RSS, and
//!   peak RSS under the submit load.
//!
//! `cargo bench --bench intake` (release); `BENCH_SECONDS=N` sets each phase's length.
//! `.ci/run` runs `BENCH_SECONDS=1 cargo test --bench intake` so the bench cannot rot; no
//! figure is asserted there. The last line is a summary for scripts.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sea_orm::sqlx;
use sea_orm::sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use serde_json::json;
use tipoff::config::{Profile, Settings};
use tipoff::startup::Application;

struct Outcome {
    name: String,
    ok: usize,
    errors: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Outcome {
    fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        sorted
            .get(((sorted.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or_default()
    }

    fn ms(&self, p: f64) -> f64 {
        self.percentile(p).as_secs_f64() * 1000.0
    }

    fn success(&self) -> f64 {
        self.ok as f64 * 100.0 / (self.ok + self.errors).max(1) as f64
    }
}

/// Runs `op` from `concurrency` tasks for `seconds`, each task waiting `pace` between its
/// operations (zero: as fast as it can). Successes are timed; failures counted.
async fn phase<F, Fut>(
    name: String,
    seconds: f64,
    concurrency: usize,
    pace: Duration,
    op: F,
) -> Outcome
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send,
{
    let op = Arc::new(op);
    let counter = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (op, counter) = (op.clone(), counter.clone());
        tasks.push(tokio::spawn(async move {
            let (mut latencies, mut errors) = (Vec::new(), 0);
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let began = Instant::now();
                if op(n).await {
                    latencies.push(began.elapsed());
                } else {
                    errors += 1;
                }
                if !pace.is_zero() {
                    tokio::time::sleep(pace).await;
                }
            }
            (latencies, errors)
        }));
    }
    let (mut latencies, mut errors) = (Vec::new(), 0);
    for task in tasks {
        let (l, e) = task.await.expect("bench task");
        latencies.extend(l);
        errors += e;
    }
    Outcome {
        name,
        ok: latencies.len(),
        errors,
        elapsed: start.elapsed(),
        latencies,
    }
}

fn report_body(n: usize) -> serde_json::Value {
    json!({
        "category": "connection",
        "village": "dalu-community",
        "subject": "王某，村委会主任",
        "description": format!("第{n}份：村主任的亲戚开着小车还在吃低保，已经三年了。"),
        "anonymous": n.is_multiple_of(2),
        "reporter": if n.is_multiple_of(2) { serde_json::Value::Null } else { json!({"name": "张三", "phone": "13800001234"}) },
    })
}

/// Durable submissions to `base`: success is a 201 (sent only after the commit). Each
/// submission comes from an address of its own unless `from` is given.
async fn submit(
    client: &reqwest::Client,
    base: &str,
    n: usize,
    from: Option<&str>,
    codes: Option<&std::sync::Mutex<Vec<String>>>,
) -> bool {
    let source = from.map_or_else(
        || format!("10.{}.{}.{}", n >> 16 & 255, n >> 8 & 255, n & 255),
        str::to_string,
    );
    let Ok(response) = client
        .post(format!("{base}/api/v1/reports"))
        .header("x-forwarded-for", source)
        .json(&report_body(n))
        .send()
        .await
    else {
        return false;
    };
    if response.status() != 201 {
        return false;
    }
    let Ok(answer) = response.json::<serde_json::Value>().await else {
        return false;
    };
    if let (Some(codes), Some(code)) = (codes, answer["tracking_code"].as_str()) {
        codes.lock().expect("codes").push(code.to_string());
    }
    true
}

fn settings_for(dir: &Path, url: String, unlimited: bool) -> Settings {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut settings = Settings::load_from(&config, Profile::Test).expect("settings");
    settings.attachments.worker_program = Some(env!("CARGO_BIN_EXE_tipoff").into());
    settings.keys.file = Some(dir.join("keys.toml"));
    settings.mail.file_dir = dir.join("mail");
    settings.database.url = url;
    settings.server.workers = 0;
    if unlimited {
        // The limits guard residents from floods; these phases measure the path itself.
        settings.limits.submit_per_minute = u32::MAX / 2;
        settings.limits.submit_burst = u32::MAX / 2;
        settings.limits.track_per_minute = u32::MAX / 2;
        settings.limits.track_burst = u32::MAX / 2;
        settings.limits.flood_per_minute = u32::MAX / 2;
    }
    settings
}

async fn start(settings: Settings) -> String {
    let app = Application::build(settings).await.expect("app");
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    base
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(128)
        .build()
        .expect("client")
}

/// Submission phases at concurrency 32 and 64 against `base`, keeping the codes issued.
async fn submissions(
    backend: &str,
    base: &str,
    seconds: f64,
    codes: Arc<std::sync::Mutex<Vec<String>>>,
) -> Vec<Outcome> {
    let mut out = Vec::new();
    for concurrency in [32, 64] {
        let (c, b, sink) = (client(), base.to_string(), codes.clone());
        out.push(
            phase(
                format!("{backend}: POST /api/v1/reports, c={concurrency}"),
                seconds,
                concurrency,
                Duration::ZERO,
                move |n| {
                    let (c, b, sink) = (c.clone(), b.clone(), sink.clone());
                    async move { submit(&c, &b, n + concurrency * 1_000_000, None, Some(&sink)).await }
                },
            )
            .await,
        );
    }
    out
}

async fn sqlite_baseline(dir: &Path, seconds: f64) -> Outcome {
    let bare = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(
            SqliteConnectOptions::new()
                .filename(dir.join("bare.db"))
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(30)),
        )
        .await
        .expect("bare sqlite");
    sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)")
        .execute(&bare)
        .await
        .expect("create");
    phase(
        "baseline: bare SQLite insert (WAL, FULL), c=32".into(),
        seconds,
        32,
        Duration::ZERO,
        move |n| {
            let pool = bare.clone();
            async move {
                sqlx::query("INSERT INTO t (v) VALUES (?)")
                    .bind(vec![n as u8; 600])
                    .execute(&pool)
                    .await
                    .is_ok()
            }
        },
    )
    .await
}

/// A fresh PostgreSQL database beside the one `admin_url` names, and its URL.
async fn postgres_database(admin_url: &str) -> String {
    let name = format!("tipoff_bench_{}", std::process::id());
    let admin = sqlx::PgPool::connect(admin_url).await.expect("postgres");
    // The name is ours (a fixed prefix and the process id): nothing to inject.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\""
    )))
    .execute(&admin)
    .await
    .expect("drop");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&admin)
        .await
        .expect("create database");
    let cut = admin_url.rfind('/').expect("a database in the URL");
    format!("{}/{name}", &admin_url[..cut])
}

async fn postgres_baseline(url: &str, seconds: f64) -> Outcome {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(8)
        .connect(url)
        .await
        .expect("bare postgres");
    sqlx::query("CREATE TABLE bare (id BIGSERIAL PRIMARY KEY, v BYTEA NOT NULL)")
        .execute(&pool)
        .await
        .expect("create");
    phase(
        "baseline: bare PostgreSQL insert, c=32".into(),
        seconds,
        32,
        Duration::ZERO,
        move |n| {
            let pool = pool.clone();
            async move {
                sqlx::query("INSERT INTO bare (v) VALUES ($1)")
                    .bind(vec![n as u8; 600])
                    .execute(&pool)
                    .await
                    .is_ok()
            }
        },
    )
    .await
}

async fn lookups(base: &str, seconds: f64, codes: Arc<Vec<String>>) -> Vec<Outcome> {
    let mut out = Vec::new();
    let (c, b) = (client(), base.to_string());
    out.push(
        phase(
            "baseline: GET /api/v1/version, c=32".into(),
            seconds,
            32,
            Duration::ZERO,
            move |_| {
                let (c, url) = (c.clone(), format!("{b}/api/v1/version"));
                async move { c.get(url).send().await.is_ok_and(|r| r.status() == 200) }
            },
        )
        .await,
    );
    for known in [true, false] {
        let (c, b, codes) = (client(), base.to_string(), codes.clone());
        let name = if known { "known" } else { "unknown" };
        out.push(
            phase(
                format!("POST /api/v1/track, {name} codes, c=32"),
                seconds,
                32,
                Duration::ZERO,
                move |n| {
                    let (c, url, codes) = (c.clone(), format!("{b}/api/v1/track"), codes.clone());
                    async move {
                        let code = if known {
                            codes[n % codes.len()].clone()
                        } else {
                            tipoff::crypto::new_tracking_code().digits().to_string()
                        };
                        let want = if known { 200 } else { 404 };
                        // Each look-up from an address of its own: the guess guard is not
                        // what is measured.
                        let from =
                            format!("10.{}.{}.{}", 128 + (n >> 16 & 127), n >> 8 & 255, n & 255);
                        c.post(url)
                            .header("x-forwarded-for", from)
                            .json(&json!({"tracking_code": code}))
                            .send()
                            .await
                            .is_ok_and(|r| r.status() == want)
                    }
                },
            )
            .await,
        );
    }
    out
}

/// Each client's submission burst in the fairness phases.
const FAIR_BURST: u32 = 10;

/// Sixteen residents at a person's pace (and sixteen more checking their codes), alone and
/// then beside one client flooding submissions as fast as it can; the server keeps its real
/// per-client limits. Returns (submitting alone, beside, checking alone, beside, flood).
async fn fairness(dir: &Path, seconds: f64) -> [Outcome; 5] {
    let mut settings = settings_for(
        dir,
        format!("sqlite://{}?mode=rwc", dir.join("fair.db").display()),
        false,
    );
    // A person's pace: one report every 2 s, within their own budget.
    settings.limits.submit_per_minute = 60;
    settings.limits.submit_burst = FAIR_BURST;
    // Refusals pause as deployed (the test profile turns the pause off: its tests move the
    // clock instead).
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    settings.limits.refusal_pause_ms = Settings::load_from(&config, Profile::Development)
        .expect("settings")
        .limits
        .refusal_pause_ms;
    let base = start(settings).await;
    let codes = std::sync::Mutex::new(Vec::new());
    for n in 0..16 {
        submit(&client(), &base, n, None, Some(&codes)).await;
    }
    let codes = Arc::new(codes.into_inner().expect("codes"));
    let pace = Duration::from_secs(2);
    // A p99 wants samples: at a person's pace sixteen residents give eight a second, so these
    // phases run four times as long as the others (160 samples each at the default 5 s,
    // where the p99 is the third slowest rather than the slowest).
    let length = (4.0 * seconds).clamp(8.0, 30.0);
    let residents = |label: &'static str| {
        let (c, b) = (client(), base.clone());
        phase(
            format!("fairness: 16 residents submitting, {label}"),
            length,
            16,
            pace,
            move |n| {
                let (c, b) = (c.clone(), b.clone());
                let from = format!("198.51.100.{}", n % 16 + 1);
                async move { submit(&c, &b, n, Some(&from), None).await }
            },
        )
    };
    let checkers = |label: &'static str| {
        let (c, b, codes) = (client(), base.clone(), codes.clone());
        phase(
            format!("fairness: 16 residents checking codes, {label}"),
            length,
            16,
            // Within a person's look-up budget too (the test profile's: 60 a minute).
            Duration::from_secs(2),
            move |n| {
                let (c, url, code) = (
                    c.clone(),
                    format!("{b}/api/v1/track"),
                    codes[n % 16].clone(),
                );
                let from = format!("192.0.2.{}", n % 16 + 1);
                async move {
                    c.post(url)
                        .header("x-forwarded-for", from)
                        .json(&json!({"tracking_code": code}))
                        .send()
                        .await
                        .is_ok_and(|r| r.status() == 200)
                }
            },
        )
    };
    let (alone, checking_alone) = tokio::join!(residents("no flood"), checkers("no flood"));
    let stop = Arc::new(AtomicBool::new(false));
    let flood_count = Arc::new(AtomicU64::new(0));
    let flooder = {
        let (c, b, stop, count) = (client(), base.clone(), stop.clone(), flood_count.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            let mut latencies = Vec::new();
            let mut tasks = Vec::new();
            for _ in 0..8 {
                let (c, b, stop, count) = (c.clone(), b.clone(), stop.clone(), count.clone());
                tasks.push(tokio::spawn(async move {
                    let mut seen = Vec::new();
                    while !stop.load(Ordering::Relaxed) {
                        let n = count.fetch_add(1, Ordering::Relaxed) as usize;
                        let began = Instant::now();
                        submit(&c, &b, n, Some("203.0.113.250"), None).await;
                        seen.push(began.elapsed());
                    }
                    seen
                }));
            }
            for task in tasks {
                latencies.extend(task.await.expect("flood task"));
            }
            Outcome {
                name: "fairness: the flooder (answered, mostly 429)".into(),
                ok: latencies.len(),
                errors: 0,
                elapsed: started.elapsed(),
                latencies,
            }
        })
    };
    // Measured beside the flood as it goes on, not beside its start: the flooder's first
    // reports are within its budget and stored, and only then is it refused (after the
    // pause). Each of its eight connections has been refused once before the others begin.
    while flood_count.load(Ordering::Relaxed) < u64::from(FAIR_BURST) + 16 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (beside, checking_beside) = tokio::join!(
        residents("beside one flooding client"),
        checkers("beside one flooding client")
    );
    stop.store(true, Ordering::Relaxed);
    let flood = flooder.await.expect("flooder");
    [alone, beside, checking_alone, checking_beside, flood]
}

fn rss_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse().ok())
        })
        .unwrap_or(0)
}

/// The binary started on the existing database (`dir/tipoff.db`): time to healthy, idle
/// RSS, then peak RSS while it takes submissions at concurrency 32.
async fn binary(dir: &Path, seconds: f64) -> (Duration, u64, u64, Outcome) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let started = Instant::now();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tipoff"))
        .arg("serve")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("TIPOFF_PROFILE", "test")
        .env("TIPOFF__SERVER__PORT", port.to_string())
        .env("TIPOFF__KEYS__FILE", dir.join("keys.toml"))
        .env("TIPOFF__MAIL__FILE_DIR", dir.join("mail"))
        .env("TIPOFF__LOG__LEVEL", "warn")
        .env("TIPOFF__LIMITS__SUBMIT_PER_MINUTE", "1000000000")
        .env("TIPOFF__LIMITS__SUBMIT_BURST", "1000000000")
        .env("TIPOFF__LIMITS__FLOOD_PER_MINUTE", "1000000000")
        .env(
            "TIPOFF__DATABASE__URL",
            format!("sqlite://{}?mode=rwc", dir.join("tipoff.db").display()),
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start tipoff serve");
    let base = format!("http://127.0.0.1:{port}");
    let c = client();
    while !c
        .get(format!("{base}/healthz"))
        .send()
        .await
        .is_ok_and(|r| r.status() == 200)
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the binary became healthy"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let healthy = started.elapsed();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idle = rss_kib(child.id(), "VmRSS:");
    let b = base.clone();
    let load = phase(
        "binary: POST /api/v1/reports, c=32".into(),
        seconds,
        32,
        Duration::ZERO,
        move |n| {
            let (c, b) = (c.clone(), b.clone());
            async move { submit(&c, &b, n + 9_000_000, None, None).await }
        },
    )
    .await;
    let peak = rss_kib(child.id(), "VmHWM:");
    let _ = child.kill();
    let _ = child.wait();
    (healthy, idle, peak, load)
}

fn print_row(o: &Outcome, baseline: Option<&Outcome>) {
    let beside = baseline.map_or(String::new(), |b| {
        format!("{:>6.0}%", o.rate() / b.rate() * 100.0)
    });
    println!(
        "{:<58} {:>7} {:>6} {:>9.1} {:>8.2} {:>8.2} {beside}",
        o.name,
        o.ok,
        o.errors,
        o.rate(),
        o.ms(0.5),
        o.ms(0.99)
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let seconds: f64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5.0);
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("tipoff.db").display()
    );
    let base = start(settings_for(dir.path(), url, true)).await;
    let codes = Arc::new(std::sync::Mutex::new(Vec::new()));

    let sqlite_bare = sqlite_baseline(dir.path(), seconds).await;
    let sqlite = submissions("SQLite", &base, seconds, codes.clone()).await;
    let issued: Arc<Vec<String>> = Arc::new(codes.lock().expect("codes").clone());
    let looked = lookups(&base, seconds, issued).await;

    let postgres = match std::env::var("TIPOFF_TEST_POSTGRES_URL") {
        Ok(admin) if !admin.is_empty() => {
            let url = postgres_database(&admin).await;
            let bare = postgres_baseline(&url, seconds).await;
            let pg_dir = tempfile::tempdir().expect("temp dir");
            let pg_base = start(settings_for(pg_dir.path(), url.clone(), true)).await;
            let mut runs = submissions(
                "PostgreSQL",
                &pg_base,
                seconds,
                Arc::new(std::sync::Mutex::new(Vec::new())),
            )
            .await;
            // The same without group commit: does PostgreSQL's own commit grouping suffice?
            let alone_dir = tempfile::tempdir().expect("temp dir");
            let mut alone = settings_for(alone_dir.path(), url, true);
            alone.database.group_commit_max = 1;
            let alone_base = start(alone).await;
            runs.extend(
                submissions(
                    "PostgreSQL, a transaction per report",
                    &alone_base,
                    seconds,
                    Arc::new(std::sync::Mutex::new(Vec::new())),
                )
                .await,
            );
            Some((bare, runs, (pg_dir, alone_dir)))
        }
        _ => {
            println!("PostgreSQL phases skipped: TIPOFF_TEST_POSTGRES_URL is not set");
            None
        }
    };
    let [alone, beside, checking_alone, checking_beside, flood] =
        fairness(dir.path(), seconds).await;
    let (healthy, idle_kib, peak_kib, binary_load) = binary(dir.path(), seconds).await;

    println!(
        "\nintake bench: {seconds} s per phase, {} cores, {} build\n",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    println!(
        "{:<58} {:>7} {:>6} {:>9} {:>8} {:>8} {:>7}",
        "phase", "ok", "errors", "ops/s", "p50 ms", "p99 ms", "of base"
    );
    print_row(&sqlite_bare, None);
    for o in &sqlite {
        print_row(o, Some(&sqlite_bare));
    }
    if let Some((bare, runs, _)) = &postgres {
        print_row(bare, None);
        for o in runs {
            print_row(o, Some(bare));
        }
    }
    print_row(&looked[0], None);
    print_row(&looked[1], Some(&looked[0]));
    print_row(&looked[2], Some(&looked[0]));
    print_row(&alone, None);
    print_row(&beside, Some(&alone));
    print_row(&checking_alone, None);
    print_row(&checking_beside, Some(&checking_alone));
    print_row(&flood, None);
    print_row(&binary_load, Some(&sqlite_bare));
    println!();
    println!(
        "look-up latency, known vs unknown codes: p50 {:.2} vs {:.2} ms, p90 {:.2} vs {:.2} ms, p99 {:.2} vs {:.2} ms",
        looked[1].ms(0.5),
        looked[2].ms(0.5),
        looked[1].ms(0.9),
        looked[2].ms(0.9),
        looked[1].ms(0.99),
        looked[2].ms(0.99)
    );
    println!(
        "fairness: residents' success {:.1}% beside the flood ({:.1}% alone); p99 {:.2} ms beside it, {:.2} ms alone ({:.2}x)",
        beside.success(),
        alone.success(),
        beside.ms(0.99),
        alone.ms(0.99),
        beside.ms(0.99) / alone.ms(0.99).max(0.001)
    );
    println!(
        "fairness: look-ups' success {:.1}% beside the flood ({:.1}% alone); p99 {:.2} ms beside it, {:.2} ms alone ({:.2}x)",
        checking_beside.success(),
        checking_alone.success(),
        checking_beside.ms(0.99),
        checking_alone.ms(0.99),
        checking_beside.ms(0.99) / checking_alone.ms(0.99).max(0.001)
    );
    println!(
        "binary: healthy {:.0} ms after start on a database of {} reports; RSS idle {:.1} MiB, peak under c=32 submissions {:.1} MiB",
        healthy.as_secs_f64() * 1000.0,
        codes.lock().expect("codes").len(),
        idle_kib as f64 / 1024.0,
        peak_kib as f64 / 1024.0
    );
    let errors: usize = sqlite.iter().map(|o| o.errors).sum::<usize>()
        + postgres
            .as_ref()
            .map_or(0, |(_, runs, _)| runs.iter().map(|o| o.errors).sum());
    println!("errors in the submission phases: {errors}");
    println!();
    println!(
        "submissions: {:.0}% of bare SQLite inserts; lookups: {:.0}% of the trivial JSON route",
        sqlite[0].rate() / sqlite_bare.rate() * 100.0,
        looked[1].rate() / looked[0].rate() * 100.0
    );
}
