//! Mail in tests: a real SMTP server (Debian's aiosmtpd) to deliver to, the outbox as stored,
//! and the addresses of the test profile's mail groups.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration as StdDuration, Instant};

use sea_orm::{DatabaseConnection, EntityTrait, QueryOrder};
use serde_json::Value;
use tipoff::config::{MailTransport, Settings, SmtpSecurity};
use tipoff::entities::outbox;
use tipoff::services::outbox::Batch;

use super::{TestApp, free_port, smtp_server_available};

/// The discipline post, told of every case.
pub const POST: &str = "jijian@example.invalid";
/// The district bureau, told of cases about civil-affairs staff.
pub const BUREAU: &str = "jiuzhu@example.invalid";
pub const CIVIL_AFFAIRS: &str = "minzheng@example.invalid";

/// Saves every message as `.eml` and a `.json` record (envelope, headers, every part
/// decoded by Python's own MIME parser), the record written last and atomically.
const SINK: &str = r#"
import email, json, os
from email import policy

class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) != 1:
            parser.error("Sink takes the directory to save messages in")
        return cls(args[0])

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(self.directory, "%d-%05d" % (os.getpid(), self.count))
        raw = envelope.original_content or envelope.content
        with open(base + ".eml", "wb") as f:
            f.write(raw)
        message = email.message_from_bytes(raw, policy=policy.default)
        parts = [p.get_content() for p in message.walk() if not p.is_multipart()]
        record = {
            "rcpt_tos": envelope.rcpt_tos,
            "to": str(message["To"]),
            "message_id": str(message["Message-ID"]),
            "subject": str(message["Subject"]),
            "parts": parts,
            "eml": base + ".eml",
        }
        with open(base + ".tmp", "w", encoding="utf-8") as f:
            json.dump(record, f, ensure_ascii=False)
        os.rename(base + ".tmp", base + ".json")
        return "250 OK"
"#;

/// A real SMTP server process on 127.0.0.1:`port`, stopped when dropped.
pub struct SmtpSink {
    pub port: u16,
    child: Child,
    dir: tempfile::TempDir,
}

#[derive(Debug, Clone)]
pub struct Received {
    pub rcpt_tos: Vec<String>,
    pub to: String,
    pub message_id: String,
    pub subject: String,
    /// Every part, decoded by Python's MIME parser (text, then HTML).
    pub parts: Vec<String>,
    pub raw: Vec<u8>,
}

impl Received {
    /// A daily digest (每日提醒 to a staff member, 每日汇总 to the post).
    pub fn is_digest(&self) -> bool {
        self.subject.contains("每日提醒") || self.subject.contains("每日汇总")
    }
}

/// An SMTP sink started on a free port; `None` (the test skipped, saying so) without aiosmtpd.
pub fn smtp_sink() -> Option<SmtpSink> {
    smtp_server_available().then(|| SmtpSink::start(free_port()))
}

impl SmtpSink {
    pub fn start(port: u16) -> SmtpSink {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tipoff_smtp_sink.py"), SINK).unwrap();
        std::fs::create_dir(dir.path().join("messages")).unwrap();
        let mut child = Command::new("/usr/bin/python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "tipoff_smtp_sink.Sink"])
            .arg(dir.path().join("messages"))
            .env("PYTHONPATH", dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start aiosmtpd");
        let deadline = Instant::now() + StdDuration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                let mut stderr = String::new();
                use std::io::Read;
                child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut stderr)
                    .ok();
                panic!("aiosmtpd exited ({status}): {stderr}");
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            assert!(Instant::now() < deadline, "aiosmtpd did not start");
            std::thread::sleep(StdDuration::from_millis(50));
        }
        SmtpSink { port, child, dir }
    }

    pub fn messages(&self) -> Vec<Received> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("messages"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        paths.sort();
        paths
            .into_iter()
            .map(|path| {
                let record: Value =
                    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
                let strings = |v: &Value| -> Vec<String> {
                    v.as_array()
                        .unwrap()
                        .iter()
                        .map(|s| s.as_str().unwrap().to_string())
                        .collect()
                };
                Received {
                    rcpt_tos: strings(&record["rcpt_tos"]),
                    to: record["to"].as_str().unwrap().to_string(),
                    message_id: record["message_id"].as_str().unwrap().to_string(),
                    subject: record["subject"].as_str().unwrap().to_string(),
                    parts: strings(&record["parts"]),
                    raw: std::fs::read(record["eml"].as_str().unwrap()).unwrap(),
                }
            })
            .collect()
    }

    /// Waits (polling) until at least `n` messages about cases (no digests) have arrived,
    /// and returns those.
    pub async fn wait_for_case_mail(&self, n: usize, seconds: u64) -> Vec<Received> {
        let deadline = Instant::now() + StdDuration::from_secs(seconds);
        loop {
            let messages: Vec<Received> = self
                .messages()
                .into_iter()
                .filter(|m| !m.is_digest())
                .collect();
            if messages.len() >= n || Instant::now() > deadline {
                return messages;
            }
            tokio::time::sleep(StdDuration::from_millis(100)).await;
        }
    }

    /// Waits (polling) until at least `n` messages have arrived.
    pub async fn wait_for(&self, n: usize, seconds: u64) -> Vec<Received> {
        let deadline = Instant::now() + StdDuration::from_secs(seconds);
        loop {
            let messages = self.messages();
            if messages.len() >= n || Instant::now() > deadline {
                return messages;
            }
            tokio::time::sleep(StdDuration::from_millis(100)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Plain SMTP to the loopback relay the tests start.
pub fn via_smtp(settings: &mut Settings, port: u16) {
    settings.mail.transport = MailTransport::Smtp;
    settings.mail.smtp.host = "127.0.0.1".into();
    settings.mail.smtp.port = port;
    settings.mail.smtp.security = SmtpSecurity::Plain;
    settings.mail.smtp.timeout_seconds = 5;
}

/// Every outbox row, oldest first.
pub async fn outbox_rows(db: &DatabaseConnection) -> Vec<outbox::Model> {
    outbox::Entity::find()
        .order_by_asc(outbox::Column::Id)
        .all(db)
        .await
        .unwrap()
}

impl TestApp {
    /// One batch of the outbox's worker, now.
    pub async fn run_outbox(&self) -> Batch {
        self.state
            .outbox
            .run_once(self.db(), self.now())
            .await
            .unwrap()
    }
}
