//! Intake throughput, measured against two baselines in the same run: durable submissions/s and
//! tracking lookups/s at concurrency 32, next to bare single-row SQLite inserts (WAL,
//! synchronous=FULL) and a trivial JSON route of the same server.
//!
//! `cargo bench --bench intake` (BENCH_SECONDS=N to change each phase's length).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sea_orm::sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use serde_json::json;
use tipoff::config::{Profile, Settings};
use tipoff::startup::Application;

const CONCURRENCY: usize = 32;

struct Outcome {
    name: &'static str,
    ops: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Outcome {
    fn rate(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        sorted
            .get(((sorted.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or_default()
    }
}

/// Runs `op` from CONCURRENCY tasks until the phase's time is up.
async fn phase<F, Fut>(name: &'static str, seconds: u64, op: F) -> Outcome
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let op = Arc::new(op);
    let counter = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let op = op.clone();
        let counter = counter.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let began = Instant::now();
                assert!(op(n).await, "{name}: request failed");
                latencies.push(began.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("bench task"));
    }
    Outcome {
        name,
        ops: latencies.len(),
        elapsed: start.elapsed(),
        latencies,
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let dir = tempfile::tempdir().expect("temp dir");
    let config = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut settings = Settings::load_from(&config, Profile::Test).expect("settings");
    settings.attachments.worker_program = Some(env!("CARGO_BIN_EXE_tipoff").into());
    settings.keys.file = Some(dir.path().join("keys.toml"));
    settings.database.url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("tipoff.db").display()
    );
    settings.server.workers = 0;
    // The limits guard residents from floods; the bench measures the intake path itself.
    settings.limits.submit_per_minute = u32::MAX / 2;
    settings.limits.submit_burst = u32::MAX / 2;
    settings.limits.track_per_minute = u32::MAX / 2;
    settings.limits.track_burst = u32::MAX / 2;
    let app = Application::build(settings).await.expect("app");
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        .build()
        .expect("client");

    let mut outcomes = Vec::new();

    // Baseline 1: bare single-row inserts into SQLite with the same durability settings.
    let bare = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(
            SqliteConnectOptions::new()
                .filename(dir.path().join("bare.db"))
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(30)),
        )
        .await
        .expect("bare sqlite");
    sea_orm::sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)")
        .execute(&bare)
        .await
        .expect("create");
    let pool = bare.clone();
    outcomes.push(
        phase(
            "baseline: bare SQLite insert (WAL, FULL)",
            seconds,
            move |n| {
                let pool = pool.clone();
                async move {
                    sea_orm::sqlx::query("INSERT INTO t (v) VALUES (?)")
                        .bind(vec![n as u8; 600])
                        .execute(&pool)
                        .await
                        .is_ok()
                }
            },
        )
        .await,
    );

    // Baseline 2: a trivial JSON route of the same server.
    let (c, b) = (client.clone(), base.clone());
    outcomes.push(
        phase("baseline: GET /api/v1/version", seconds, move |_| {
            let (c, url) = (c.clone(), format!("{b}/api/v1/version"));
            async move { c.get(url).send().await.is_ok_and(|r| r.status() == 200) }
        })
        .await,
    );

    // Durable submissions: 201 only after the commit.
    let codes = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (c, b, sink) = (client.clone(), base.clone(), codes.clone());
    outcomes.push(
        phase("POST /api/v1/reports (durable)", seconds, move |n| {
            let (c, url, sink) = (c.clone(), format!("{b}/api/v1/reports"), sink.clone());
            async move {
                let body = json!({
                    "category": "connection",
                    "village": "dalu-community",
                    "subject": "王某，村委会主任",
                    "description": format!("第{n}份：村主任的亲戚开着小车还在吃低保，已经三年了。"),
                    "anonymous": n % 2 == 0,
                    "reporter": if n % 2 == 0 { serde_json::Value::Null } else { json!({"name": "张三", "phone": "13800001234"}) },
                });
                let Ok(response) = c.post(url).json(&body).send().await else { return false };
                if response.status() != 201 {
                    return false;
                }
                let Ok(answer) = response.json::<serde_json::Value>().await else { return false };
                if let Some(code) = answer["tracking_code"].as_str() {
                    sink.lock().expect("codes").push(code.to_string());
                }
                true
            }
        })
        .await,
    );

    let codes: Arc<Vec<String>> = Arc::new(codes.lock().expect("codes").clone());
    let (c, b) = (client.clone(), base.clone());
    outcomes.push(
        phase("POST /api/v1/track", seconds, move |n| {
            let (c, url, codes) = (c.clone(), format!("{b}/api/v1/track"), codes.clone());
            async move {
                let code = &codes[n % codes.len()];
                c.post(url)
                    .json(&json!({"tracking_code": code}))
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == 200)
            }
        })
        .await,
    );

    println!(
        "\nintake bench: concurrency {CONCURRENCY}, {seconds} s per phase, {} cores\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "{:<44} {:>8} {:>10} {:>9} {:>9}",
        "phase", "ops", "ops/s", "p50 ms", "p99 ms"
    );
    for o in &outcomes {
        println!(
            "{:<44} {:>8} {:>10.1} {:>9.2} {:>9.2}",
            o.name,
            o.ops,
            o.rate(),
            o.percentile(0.5).as_secs_f64() * 1000.0,
            o.percentile(0.99).as_secs_f64() * 1000.0
        );
    }
    let bare_rate = outcomes[0].rate();
    let json_rate = outcomes[1].rate();
    println!();
    println!(
        "submissions: {:.0}% of bare SQLite inserts; lookups: {:.0}% of the trivial JSON route",
        outcomes[2].rate() / bare_rate * 100.0,
        outcomes[3].rate() / json_rate * 100.0
    );
}
