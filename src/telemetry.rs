//! Logging setup. Request lines carry method, route pattern, status and latency only; the SQL
//! driver's statement log is off at the connection, and its crates are capped here as well.

use tracing_subscriber::EnvFilter;

/// The filter used by the service: the configured level, with the SQL layers held to
/// warnings so no statement or parameter can reach a log whatever level is asked for.
pub fn filter(level: &str) -> EnvFilter {
    EnvFilter::try_new(format!(
        "{level},sqlx=warn,sea_orm=warn,sea_orm_migration=warn"
    ))
    .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn"))
}

pub fn init(level: &str) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter(level))
        .with_target(false)
        .try_init();
}
