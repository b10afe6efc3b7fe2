//! Settings: config/default.toml, then config/{profile}.toml, then TIPOFF__* environment variables.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde::Deserialize;

use crate::domain::{Category, SubjectRole, Village};

/// Which file in `config/` is layered over the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Development,
    Test,
    Production,
}

impl Profile {
    pub fn from_env() -> Result<Profile, ConfigError> {
        match std::env::var("TIPOFF_PROFILE") {
            Err(_) => Ok(Profile::Development),
            Ok(value) => Profile::parse(&value),
        }
    }

    pub fn parse(value: &str) -> Result<Profile, ConfigError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "development" | "dev" | "" => Ok(Profile::Development),
            "test" => Ok(Profile::Test),
            "production" | "prod" => Ok(Profile::Production),
            other => Err(ConfigError::Invalid(format!(
                "TIPOFF_PROFILE={other}: expected development, test or production"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Development => "development",
            Profile::Test => "test",
            Profile::Production => "production",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("configuration: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(skip, default = "default_profile")]
    pub profile: Profile,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub keys: KeySettings,
    pub limits: LimitSettings,
    pub log: LogSettings,
    pub staff: StaffSettings,
    pub campaign: CampaignSettings,
    pub deadlines: DeadlineSettings,
    pub counts: CountSettings,
    pub attachments: AttachmentSettings,
    pub villages: Vec<Village>,
    pub mail: MailSettings,
    pub routing: RoutingSettings,
    #[serde(default)]
    pub retention: RetentionSettings,
}

/// How long a closed case's content is kept. Unset by default: nothing is destroyed until
/// an office decides.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSettings {
    /// Days after closing after which `tipoff purge` destroys a case's content.
    pub keep_days_after_close: Option<u32>,
    /// Whether the service itself purges once a day (off unless turned on).
    #[serde(default)]
    pub daily_purge: bool,
}

fn default_profile() -> Profile {
    Profile::Development
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    pub base_url: String,
    pub trusted_proxies: Vec<IpAddr>,
    pub body_limit: usize,
    pub hsts: bool,
    pub workers: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: String,
    pub max_connections: u32,
    /// The most reports one group-commit transaction takes (1: none).
    pub group_commit_max: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySettings {
    pub file: Option<PathBuf>,
    pub create_if_missing: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    pub submit_per_minute: u32,
    pub submit_burst: u32,
    pub track_per_minute: u32,
    pub track_burst: u32,
    pub form_token_max_age: i64,
    /// A form sent sooner than this after it was served gets a confirmation step.
    pub min_fill_seconds: i64,
    /// Public submissions per minute (all clients) beyond which reports go to quarantine.
    pub flood_per_minute: u32,
    /// Quarantined reports beyond which public submissions are refused ("busy").
    pub quarantine_ceiling: u64,
    /// Failed tracking-code lookups per client before waits begin.
    pub lookup_free_failures: u32,
    /// Failed lookups per minute (all clients) that raise an alarm in the log.
    pub lookup_alarm_per_minute: u32,
    /// How long a refusal (429) is held back before it is sent, in milliseconds.
    pub refusal_pause_ms: u64,
}

#[cfg(test)]
impl LimitSettings {
    /// Limits small enough for a unit test to pass each of them in a few calls.
    pub(crate) fn tiny() -> LimitSettings {
        LimitSettings {
            submit_per_minute: 1,
            submit_burst: 1,
            track_per_minute: 1,
            track_burst: 1,
            form_token_max_age: 1,
            min_fill_seconds: 3,
            flood_per_minute: 3,
            quarantine_ceiling: 10,
            lookup_free_failures: 2,
            lookup_alarm_per_minute: 3,
            refusal_pause_ms: 0,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffSettings {
    /// A session unused this long ends.
    pub session_idle_minutes: i64,
    /// A session ends this long after sign-in, used or not.
    pub session_absolute_hours: i64,
    /// Inspectors and admins must enrol TOTP before they can do anything else.
    pub require_totp: bool,
    /// Mark the session cookie Secure (HTTPS only). Off only for local HTTP development.
    pub secure_cookie: bool,
    /// Sign-in attempts per client address (all accounts together).
    pub login_per_minute: u32,
    pub login_burst: u32,
    /// The name authenticator apps show for the account.
    pub totp_issuer: String,
    /// How long an account's one-time enrolment link works.
    pub enrolment_link_hours: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub level: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignSettings {
    pub office_zh: String,
    pub office_en: String,
    pub title_zh: String,
    pub title_en: String,
    pub notice_zh: String,
    pub notice_en: String,
    pub hotline: String,
    /// First and last day (Asia/Shanghai) of the campaign: the widest period counts cover.
    pub start: chrono::NaiveDate,
    pub end: chrono::NaiveDate,
    /// The day the notice was issued, printed on it.
    pub issued_on: chrono::NaiveDate,
    /// Where the report boxes stand, printed on the notice.
    pub report_box_zh: String,
    pub report_box_en: String,
    /// The campaign's milestones, in order; inspectors may move their days on the dashboard.
    pub milestones: Vec<MilestoneSettings>,
}

/// A milestone of the campaign: its id (which says what is due for it), its default day and
/// its name.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MilestoneSettings {
    pub id: String,
    pub due: chrono::NaiveDate,
    pub zh: String,
    pub en: String,
}

/// How report counts per posting site, kind and village are shown.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountSettings {
    /// A count below this shows as "fewer than N", so that no count points at one reporter.
    pub min_shown: u32,
}

/// Deadlines per stage of a case, in working days of the holiday calendar (Asia/Shanghai).
/// config/default.toml says from which date each one counts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadlineSettings {
    /// The directory of per-year holiday schedules (`2024.toml`, …).
    pub calendar_dir: PathBuf,
    pub accept_days: u32,
    pub verify_days: u32,
    pub conclude_days: u32,
    /// The daily digest lists cases due within this many working days, and overdue ones.
    pub remind_days: u32,
}

/// Evidence files a report may carry; enforced while the upload streams in.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachmentSettings {
    pub max_files: usize,
    /// Largest single file, in bytes.
    pub max_file_bytes: u64,
    /// Largest sum of a report's files, in bytes.
    pub max_total_bytes: u64,
    /// The program run as a file worker (`PROGRAM media-worker`); the running executable
    /// when unset. Tests, which run the service inside their own binary, point it at tipoff.
    #[serde(default)]
    pub worker_program: Option<PathBuf>,
    /// Each worker's address space, in MiB.
    pub worker_memory_mb: u64,
    /// Each worker's processor time, in seconds.
    pub worker_cpu_seconds: u64,
    /// Each worker's wall-clock time, in seconds.
    pub worker_seconds: u64,
    /// How many files are checked at once; the others wait for a free worker.
    pub worker_parallel: usize,
    /// How long a file waits for a free worker before its report is refused as busy.
    pub worker_queue_seconds: u64,
}

/// The longest deadline accepted: about two years of working days.
const MAX_DEADLINE_DAYS: u32 = 500;

/// The recipient groups every deployment has: the code, not only the config, relies on them.
pub const DISCIPLINE_POST: &str = "discipline_post";
pub const DISTRICT_BUREAU: &str = "district_bureau";
pub const CIVIL_AFFAIRS_POST: &str = "civil_affairs_post";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTransport {
    /// Send through the configured SMTP relay.
    Smtp,
    /// Write each message as an .eml file under `mail.file_dir` (development).
    File,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailSettings {
    pub transport: MailTransport,
    /// The From header, e.g. `大路街道举报受理平台 <noreply@example.invalid>`.
    pub from: String,
    /// Where the file transport writes messages.
    pub file_dir: PathBuf,
    /// Seconds between outbox batches; 0 starts no background worker (tests drive it).
    pub interval_seconds: u64,
    /// Rows one batch claims at most.
    pub batch_size: u64,
    /// Attempts before a row is marked failed (and shown as such, never dropped).
    pub max_attempts: i32,
    /// The wait after the first failed attempt, doubled after each further one up to the cap.
    pub backoff_base_seconds: i64,
    pub backoff_cap_seconds: i64,
    /// A claim older than this is taken to belong to a crashed instance and is claimed again.
    pub claim_timeout_seconds: i64,
    /// The hour (0–23, Asia/Shanghai) from which each day's digest is written to the outbox.
    pub digest_hour: u32,
    pub smtp: SmtpSettings,
    /// Recipient groups by id: `[mail.groups.discipline_post]`.
    pub groups: BTreeMap<String, MailGroup>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS, which is required (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: allowed only to a relay on this machine's loopback address.
    Plain,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub timeout_seconds: u64,
    pub username: Option<String>,
    /// From TIPOFF__MAIL__SMTP__PASSWORD; `password_file` is the alternative.
    pub password: Option<SecretString>,
    pub password_file: Option<PathBuf>,
}

/// An office that receives case mail: a name for the mail and the routing record, and its
/// mailboxes (office mailboxes, not personal ones).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailGroup {
    pub name: String,
    pub addresses: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingSettings {
    pub rules: Vec<RoutingRule>,
}

/// Adds `groups` to the recipients of every report that matches all the conditions given.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingRule {
    pub category: Option<String>,
    pub village: Option<String>,
    pub subject_role: Option<String>,
    pub groups: Vec<String>,
}

fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => bare.eq_ignore_ascii_case("localhost"),
    }
}

/// Settings that are text even when they look like a number, and the variables they come from.
const TEXT_FROM_ENV: &[(&str, &str)] = &[
    ("mail.smtp.password", "TIPOFF__MAIL__SMTP__PASSWORD"),
    ("mail.smtp.username", "TIPOFF__MAIL__SMTP__USERNAME"),
];

impl Settings {
    /// Reads the settings for the profile named by `TIPOFF_PROFILE` from `./config`.
    pub fn load() -> Result<Settings, ConfigError> {
        Settings::load_from(Path::new("config"), Profile::from_env()?)
    }

    pub fn load_from(dir: &Path, profile: Profile) -> Result<Settings, ConfigError> {
        let mut builder = config::Config::builder()
            .add_source(config::File::from(dir.join("default.toml")))
            .add_source(
                config::File::from(dir.join(format!("{}.toml", profile.as_str()))).required(false),
            )
            .add_source(
                config::Environment::with_prefix("TIPOFF")
                    .prefix_separator("__")
                    .separator("__")
                    .list_separator(",")
                    .with_list_parse_key("server.trusted_proxies")
                    .try_parsing(true),
            );
        // Parsing would turn a password of digits into a number (and drop its leading
        // zeros): these are taken from the environment exactly as written.
        for (key, var) in TEXT_FROM_ENV {
            builder = builder.set_override_option(*key, std::env::var(var).ok())?;
        }
        let raw = builder.build()?;
        let mut settings: Settings = raw.try_deserialize()?;
        settings.profile = profile;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks what the types cannot: production rules, names that must exist, limits.
    /// `Application::build` runs it again, so settings changed after loading are checked too.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.profile == Profile::Production {
            if self.keys.file.is_none() {
                return Err(ConfigError::Invalid(
                    "keys.file is not set: production needs a keyring (set TIPOFF__KEYS__FILE; \
                     create one with `tipoff key generate --out FILE`)"
                        .into(),
                ));
            }
            if !self.staff.secure_cookie {
                return Err(ConfigError::Invalid(
                    "staff.secure_cookie must be true in production".into(),
                ));
            }
            if self.keys.create_if_missing {
                return Err(ConfigError::Invalid(
                    "keys.create_if_missing must be false in production".into(),
                ));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for village in &self.villages {
            if !seen.insert(village.id.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "villages: id '{}' appears twice",
                    village.id
                )));
            }
        }
        if self.campaign.start > self.campaign.end {
            return Err(ConfigError::Invalid(format!(
                "campaign.start ({}) is after campaign.end ({})",
                self.campaign.start, self.campaign.end
            )));
        }
        for (name, value) in [
            ("limits.submit_per_minute", self.limits.submit_per_minute),
            ("limits.submit_burst", self.limits.submit_burst),
            ("limits.track_per_minute", self.limits.track_per_minute),
            ("limits.track_burst", self.limits.track_burst),
            ("staff.login_per_minute", self.staff.login_per_minute),
            ("staff.login_burst", self.staff.login_burst),
            (
                "staff.enrolment_link_hours",
                self.staff.enrolment_link_hours,
            ),
            ("counts.min_shown", self.counts.min_shown),
        ] {
            if value == 0 {
                return Err(ConfigError::Invalid(format!("{name} must be at least 1")));
            }
        }
        let deadlines = &self.deadlines;
        for (name, value) in [
            ("deadlines.accept_days", deadlines.accept_days),
            ("deadlines.verify_days", deadlines.verify_days),
            ("deadlines.conclude_days", deadlines.conclude_days),
        ] {
            if value == 0 || value > MAX_DEADLINE_DAYS {
                return Err(ConfigError::Invalid(format!(
                    "{name} must be between 1 and {MAX_DEADLINE_DAYS} working days"
                )));
            }
        }
        let files = &self.attachments;
        if files.max_file_bytes == 0 || files.max_total_bytes < files.max_file_bytes {
            return Err(ConfigError::Invalid(
                "attachments.max_file_bytes must be at least 1 and at most \
                 attachments.max_total_bytes"
                    .into(),
            ));
        }
        if deadlines.verify_days > deadlines.conclude_days {
            return Err(ConfigError::Invalid(
                "deadlines.verify_days must not exceed deadlines.conclude_days: both count from \
                 acceptance, and a case is closed after its verification"
                    .into(),
            ));
        }
        if deadlines.remind_days > MAX_DEADLINE_DAYS {
            return Err(ConfigError::Invalid(format!(
                "deadlines.remind_days must be at most {MAX_DEADLINE_DAYS}"
            )));
        }
        self.validate_mail()?;
        self.validate_routing()?;
        Ok(())
    }

    fn validate_mail(&self) -> Result<(), ConfigError> {
        let mail = &self.mail;
        let invalid = |message: String| Err(ConfigError::Invalid(message));
        if mail.from.parse::<lettre::message::Mailbox>().is_err() {
            return invalid(format!("mail.from '{}' is not a mail address", mail.from));
        }
        for (name, value) in [
            ("mail.batch_size", mail.batch_size as i64),
            ("mail.max_attempts", i64::from(mail.max_attempts)),
            ("mail.backoff_base_seconds", mail.backoff_base_seconds),
            ("mail.backoff_cap_seconds", mail.backoff_cap_seconds),
            (
                "mail.smtp.timeout_seconds",
                mail.smtp.timeout_seconds as i64,
            ),
        ] {
            if value < 1 {
                return invalid(format!("{name} must be at least 1"));
            }
        }
        // A live worker's claim must never expire while it is still sending its batch, or a
        // second instance would send the same rows again.
        let longest_batch = mail
            .batch_size
            .saturating_mul(mail.smtp.timeout_seconds)
            .min(i64::MAX as u64) as i64;
        if mail.claim_timeout_seconds <= longest_batch {
            return invalid(format!(
                "mail.claim_timeout_seconds ({}) must exceed mail.batch_size × \
                 mail.smtp.timeout_seconds ({longest_batch})",
                mail.claim_timeout_seconds
            ));
        }
        if mail.digest_hour > 23 {
            return invalid(format!(
                "mail.digest_hour ({}) must be an hour from 0 to 23 (Asia/Shanghai)",
                mail.digest_hour
            ));
        }
        if mail.transport == MailTransport::Smtp
            && mail.smtp.security == SmtpSecurity::Plain
            && !is_loopback_host(&mail.smtp.host)
        {
            return invalid(format!(
                "mail.smtp.security = \"plain\" sends mail unencrypted: it is allowed only to a \
                 relay on a loopback address, not to '{}' (use \"starttls\" or \"tls\")",
                mail.smtp.host
            ));
        }
        if mail.smtp.password.is_some() && mail.smtp.password_file.is_some() {
            return invalid(
                "mail.smtp.password and mail.smtp.password_file are both set: choose one".into(),
            );
        }
        if self.profile == Profile::Production {
            if mail.transport == MailTransport::File {
                return invalid(
                    "mail.transport = \"file\" is for development: production must send mail"
                        .into(),
                );
            }
            if mail.interval_seconds == 0 {
                return invalid(
                    "mail.interval_seconds must be at least 1 in production: 0 sends nothing"
                        .into(),
                );
            }
        }
        for required in [DISCIPLINE_POST, DISTRICT_BUREAU] {
            if !mail.groups.contains_key(required) {
                return invalid(format!(
                    "mail.groups.{required} is missing: every deployment needs it"
                ));
            }
        }
        for (id, group) in &mail.groups {
            if group.addresses.is_empty() {
                return invalid(format!("mail.groups.{id} has no addresses"));
            }
            for address in &group.addresses {
                if address.parse::<lettre::Address>().is_err() {
                    return invalid(format!(
                        "mail.groups.{id}: '{address}' is not a mail address"
                    ));
                }
            }
        }
        Ok(())
    }

    fn validate_routing(&self) -> Result<(), ConfigError> {
        let invalid = |message: String| Err(ConfigError::Invalid(message));
        for (n, rule) in self.routing.rules.iter().enumerate() {
            let n = n + 1;
            if let Some(category) = &rule.category
                && Category::parse(category).is_none()
            {
                return invalid(format!("routing.rules #{n}: unknown category '{category}'"));
            }
            if let Some(village) = &rule.village
                && !self.villages.iter().any(|v| &v.id == village)
            {
                return invalid(format!(
                    "routing.rules #{n}: unknown village '{village}' (not in [[villages]])"
                ));
            }
            if let Some(role) = &rule.subject_role
                && SubjectRole::parse(role).is_none()
            {
                return invalid(format!("routing.rules #{n}: unknown subject_role '{role}'"));
            }
            if rule.groups.is_empty() {
                return invalid(format!("routing.rules #{n} names no groups"));
            }
            if rule.subject_role.as_deref() == Some(SubjectRole::CivilAffairsStaff.code())
                && rule.groups.iter().any(|g| g == CIVIL_AFFAIRS_POST)
            {
                return invalid(format!(
                    "routing.rules #{n}: a report about civil-affairs staff never goes to \
                     {CIVIL_AFFAIRS_POST}"
                ));
            }
            for group in &rule.groups {
                if !self.mail.groups.contains_key(group) {
                    return invalid(format!(
                        "routing.rules #{n}: unknown recipient group '{group}' (not in [mail.groups])"
                    ));
                }
            }
        }
        Ok(())
    }

    pub fn is_sqlite(&self) -> bool {
        self.database.url.starts_with("sqlite:")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("config")
    }

    #[test]
    fn environment_variables_override_the_files_and_production_needs_keys() {
        // The only test in this binary that touches TIPOFF_* variables.
        let vars = [
            ("TIPOFF__SERVER__PORT", "9099"),
            ("TIPOFF__DATABASE__URL", "postgres://db.invalid/tipoff"),
            ("TIPOFF__SERVER__TRUSTED_PROXIES", "10.0.0.1,10.0.0.2"),
            // A password (and a user name) of digits alone is text, leading zero and all.
            ("TIPOFF__MAIL__SMTP__PASSWORD", "0012345678"),
            ("TIPOFF__MAIL__SMTP__USERNAME", "10086"),
        ];
        for (k, v) in vars {
            // SAFETY: no other test in this binary reads the environment.
            unsafe { std::env::set_var(k, v) };
        }
        let refused = Settings::load_from(&config_dir(), Profile::Production);
        // SAFETY: as above.
        unsafe { std::env::set_var("TIPOFF__KEYS__FILE", "/etc/tipoff/keys.toml") };
        let loaded = Settings::load_from(&config_dir(), Profile::Production);
        for (k, _) in vars.iter().chain([("TIPOFF__KEYS__FILE", "")].iter()) {
            // SAFETY: as above.
            unsafe { std::env::remove_var(k) };
        }
        let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("keys.file") && message.contains("TIPOFF__KEYS__FILE"));
        let settings = loaded.unwrap();
        assert_eq!(settings.server.port, 9099);
        assert_eq!(settings.database.url, "postgres://db.invalid/tipoff");
        assert_eq!(settings.server.trusted_proxies.len(), 2);
        let smtp = &settings.mail.smtp;
        use secrecy::ExposeSecret;
        assert_eq!(
            smtp.password.as_ref().map(|p| p.expose_secret()),
            Some("0012345678")
        );
        assert_eq!(smtp.username.as_deref(), Some("10086"));
        assert!(settings.server.hsts, "production sends HSTS");
        assert_eq!(
            settings.keys.file.as_deref(),
            Some(Path::new("/etc/tipoff/keys.toml"))
        );
    }

    #[test]
    fn profiles_parse() {
        assert_eq!(Profile::parse("production").unwrap(), Profile::Production);
        assert!(Profile::parse("staging").is_err());
    }
}
