//! Case mail: one `render_*` function per kind of mail (text and HTML from the templates in
//! `templates/email/`, in Chinese), and the transport that sends a rendered message.
//!
//! A mail says that a case exists and where to read it, nothing more: the facts it may
//! carry are the fields of `CaseFacts`, which has no room for report text, names, phone
//! numbers or the tracking code.

use std::time::{Duration, SystemTime};

use askama::Template;
use chrono::{DateTime, NaiveDate, Utc};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use crate::config::{MailSettings, MailTransport, SmtpSecurity};
use crate::domain::Village;
use crate::domain::{Category, Channel};
use crate::i18n::Lang;

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("mail template: {0}")]
    Template(#[from] askama::Error),
    #[error("mail address: {0}")]
    Address(#[from] lettre::address::AddressError),
    #[error("message: {0}")]
    Build(#[from] lettre::error::Error),
    #[error("smtp: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    #[error("file transport: {0}")]
    File(#[from] lettre::transport::file::Error),
    #[error("{0}")]
    Setup(String),
}

/// What a mail may say about a case.
#[derive(Debug, Clone)]
pub struct CaseFacts<'a> {
    pub report_id: Uuid,
    pub case_number: &'a str,
    pub category: Category,
    /// The village id; the mail shows its Chinese name.
    pub village: Option<&'a str>,
    pub channel: Channel,
    /// The deadline of the current stage, once working-day deadlines exist.
    pub due: Option<NaiveDate>,
}

/// A rendered mail: the subject and both parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The values the templates show, already labelled.
struct Fields {
    group: String,
    case_number: String,
    category: String,
    /// The label up to its explanation (人情保, not 人情保：靠人情关系吃低保), for subjects.
    category_short: String,
    village: String,
    channel: String,
    due: String,
    link: String,
}

impl Fields {
    fn new(
        facts: &CaseFacts<'_>,
        group_name: &str,
        villages: &[Village],
        base_url: &str,
    ) -> Fields {
        let catalog = Lang::Zh.catalog();
        let category = catalog.label("category", facts.category.code());
        Fields {
            group: group_name.to_string(),
            case_number: facts.case_number.to_string(),
            category: category.to_string(),
            category_short: short_label(category).to_string(),
            village: village_name(facts.village, villages),
            channel: catalog.label("channel", facts.channel.code()).to_string(),
            due: facts.due.map_or_else(
                || "按规定期限办理".to_string(),
                |d| d.format("%Y-%m-%d").to_string(),
            ),
            link: case_link(base_url, facts.report_id),
        }
    }
}

/// The link to a case on the staff side.
fn case_link(base_url: &str, report_id: Uuid) -> String {
    format!("{}/staff/cases/{report_id}", base_url.trim_end_matches('/'))
}

/// A village's Chinese name (its id if the config no longer lists it).
fn village_name(id: Option<&str>, villages: &[Village]) -> String {
    id.map(|id| {
        villages
            .iter()
            .find(|v| v.id == id)
            .map_or_else(|| id.to_string(), |v| v.zh.clone())
    })
    .unwrap_or_else(|| "未填写".to_string())
}

/// A category label up to its explanation (人情保, not 人情保：靠人情关系吃低保).
fn short_label(label: &str) -> &str {
    label.split_once('：').map_or(label, |(short, _)| short)
}

#[derive(Template)]
#[template(path = "email/new_case.txt")]
struct NewCaseText<'a> {
    f: &'a Fields,
}

#[derive(Template)]
#[template(path = "email/new_case.html")]
struct NewCaseHtml<'a> {
    f: &'a Fields,
}

#[derive(Template)]
#[template(path = "email/escalation.txt")]
struct EscalationText<'a> {
    f: &'a Fields,
}

#[derive(Template)]
#[template(path = "email/escalation.html")]
struct EscalationHtml<'a> {
    f: &'a Fields,
}

/// The text template's first line is the subject, the rest (after a blank line) the body.
fn split_subject(text: String) -> Rendered {
    let (subject, body) = text.split_once('\n').unwrap_or((text.as_str(), ""));
    Rendered {
        subject: subject.trim().to_string(),
        text: body.trim_start_matches('\n').to_string(),
        html: String::new(),
    }
}

/// Which notification about one case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseMail {
    /// A new case, to a group the routing rules send it to.
    NewCase,
    /// A case an inspector escalated to another group.
    Escalation,
}

/// A notification about one case, for one recipient group: text and HTML.
pub fn render_case(
    which: CaseMail,
    facts: &CaseFacts<'_>,
    group_name: &str,
    villages: &[Village],
    base_url: &str,
) -> Result<Rendered, MailError> {
    let f = Fields::new(facts, group_name, villages, base_url);
    let (text, html) = match which {
        CaseMail::NewCase => (
            NewCaseText { f: &f }.render()?,
            NewCaseHtml { f: &f }.render()?,
        ),
        CaseMail::Escalation => (
            EscalationText { f: &f }.render()?,
            EscalationHtml { f: &f }.render()?,
        ),
    };
    let mut rendered = split_subject(text);
    rendered.html = html;
    Ok(rendered)
}

/// A case in a daily digest: what a digest may say about it.
#[derive(Debug, Clone)]
pub struct DigestCase<'a> {
    pub report_id: Uuid,
    pub case_number: &'a str,
    pub category: Category,
    pub village: Option<&'a str>,
    /// The stage's code (`accept`, `verify`, `conclude`); the mail shows its Chinese name.
    pub stage: &'a str,
    pub due: NaiveDate,
    pub overdue: bool,
}

/// A rectification measure past its due day and not done, in a daily digest.
#[derive(Debug, Clone)]
pub struct DigestMeasure<'a> {
    pub report_id: Uuid,
    pub case_number: &'a str,
    pub seq: i32,
    pub due: NaiveDate,
}

/// The audit log's newest entry, which the post's digest carries so that a log cut short
/// after the mail went out is caught against it.
#[derive(Debug, Clone, Copy)]
pub struct AuditMark<'a> {
    pub seq: i64,
    /// The entry's HMAC in lowercase hex; empty while the log is empty.
    pub mac_hex: &'a str,
}

/// Who a digest is for.
#[derive(Debug, Clone, Copy)]
pub enum DigestFor<'a> {
    /// A staff member: the cases assigned to them.
    Assignee,
    /// An office (the discipline-inspection post): every case, and the audit mark.
    Post {
        group_name: &'a str,
        audit: AuditMark<'a>,
    },
}

struct DigestLine {
    case_number: String,
    category: String,
    village: String,
    stage: String,
    due: String,
    overdue: bool,
    link: String,
}

struct LateMeasure {
    case_number: String,
    seq: i32,
    due: String,
    link: String,
}

struct DigestFields {
    day: String,
    greeting: String,
    post: bool,
    lines: Vec<DigestLine>,
    late: Vec<LateMeasure>,
    soon: usize,
    overdue: usize,
    audit_seq: i64,
    audit_mac: String,
    list_link: String,
}

#[derive(Template)]
#[template(path = "email/digest.txt")]
struct DigestText<'a> {
    f: &'a DigestFields,
}

#[derive(Template)]
#[template(path = "email/digest.html")]
struct DigestHtml<'a> {
    f: &'a DigestFields,
}

/// The daily digest of cases due or overdue on `day`, and of rectification measures overdue.
pub fn render_digest(
    day: NaiveDate,
    to: DigestFor<'_>,
    cases: &[DigestCase<'_>],
    late: &[DigestMeasure<'_>],
    villages: &[Village],
    base_url: &str,
) -> Result<Rendered, MailError> {
    let catalog = Lang::Zh.catalog();
    let lines: Vec<DigestLine> = cases
        .iter()
        .map(|c| DigestLine {
            case_number: c.case_number.to_string(),
            category: short_label(catalog.label("category", c.category.code())).to_string(),
            village: village_name(c.village, villages),
            stage: catalog.label("staff.stage", c.stage).to_string(),
            due: c.due.format("%Y-%m-%d").to_string(),
            overdue: c.overdue,
            link: case_link(base_url, c.report_id),
        })
        .collect();
    let overdue = lines.iter().filter(|l| l.overdue).count();
    let (greeting, post, audit) = match to {
        DigestFor::Assignee => ("您好".to_string(), false, None),
        DigestFor::Post { group_name, audit } => (group_name.to_string(), true, Some(audit)),
    };
    let f = DigestFields {
        day: day.format("%Y-%m-%d").to_string(),
        greeting,
        post,
        soon: lines.len() - overdue,
        overdue,
        lines,
        late: late
            .iter()
            .map(|m| LateMeasure {
                case_number: m.case_number.to_string(),
                seq: m.seq,
                due: m.due.format("%Y-%m-%d").to_string(),
                link: case_link(base_url, m.report_id),
            })
            .collect(),
        audit_seq: audit.map_or(0, |a| a.seq),
        audit_mac: audit
            .map(|a| a.mac_hex)
            .filter(|m| !m.is_empty())
            .unwrap_or("（日志为空）")
            .to_string(),
        list_link: format!(
            "{}/staff/cases{}",
            base_url.trim_end_matches('/'),
            if post { "" } else { "?mine=1" }
        ),
    };
    let mut rendered = split_subject(DigestText { f: &f }.render()?);
    rendered.html = DigestHtml { f: &f }.render()?;
    Ok(rendered)
}

/// A message ready to go: one recipient, a fixed Message-ID.
pub struct Outgoing<'a> {
    pub to: &'a str,
    /// With angle brackets, e.g. `<…@example.org>`.
    pub message_id: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File {
        dir: std::path::PathBuf,
        transport: AsyncFileTransport<Tokio1Executor>,
    },
}

/// Sends rendered mail over SMTP or writes it to files; built once at startup.
pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

impl Mailer {
    /// Builds the transport the settings name. The settings have been validated: plain SMTP
    /// only to a loopback relay.
    pub fn from_settings(mail: &MailSettings) -> Result<Mailer, MailError> {
        let from: Mailbox = mail.from.parse()?;
        let transport = match mail.transport {
            MailTransport::File => Transport::File {
                dir: mail.file_dir.clone(),
                transport: AsyncFileTransport::new(&mail.file_dir),
            },
            MailTransport::Smtp => {
                let smtp = &mail.smtp;
                let builder = match smtp.security {
                    SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)?,
                    SmtpSecurity::Starttls => {
                        AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)?
                    }
                    SmtpSecurity::Plain => {
                        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
                    }
                };
                let mut builder = builder
                    .port(smtp.port)
                    .timeout(Some(Duration::from_secs(smtp.timeout_seconds)));
                if let Some(username) = &smtp.username {
                    let password = smtp_password(mail)?;
                    builder = builder.credentials(Credentials::new(
                        username.clone(),
                        password.expose_secret().to_string(),
                    ));
                }
                Transport::Smtp(builder.build())
            }
        };
        Ok(Mailer { from, transport })
    }

    /// The domain Message-IDs are made in: the From address's.
    pub fn message_domain(&self) -> &str {
        self.from.email.domain()
    }

    /// Sends one message; `now` is its Date header.
    pub async fn send(&self, mail: &Outgoing<'_>, now: DateTime<Utc>) -> Result<(), MailError> {
        let message = Message::builder()
            .from(self.from.clone())
            .to(mail.to.parse()?)
            .subject(mail.subject)
            .message_id(Some(mail.message_id.to_string()))
            .date(SystemTime::from(now))
            .multipart(MultiPart::alternative_plain_html(
                mail.text.to_string(),
                mail.html.to_string(),
            ))?;
        match &self.transport {
            Transport::Smtp(smtp) => {
                smtp.send(message).await?;
            }
            Transport::File { dir, transport } => {
                // Made when the first mail is written, not at startup, so that building an
                // application (as tests and CLI commands do) leaves no directory behind.
                tokio::fs::create_dir_all(dir).await.map_err(|e| {
                    MailError::Setup(format!("cannot create {}: {e}", dir.display()))
                })?;
                transport.send(message).await?;
            }
        }
        Ok(())
    }
}

/// The SMTP password from the environment (through the settings) or from its file.
fn smtp_password(mail: &MailSettings) -> Result<SecretString, MailError> {
    if let Some(password) = &mail.smtp.password {
        return Ok(password.clone());
    }
    let Some(path) = &mail.smtp.password_file else {
        return Err(MailError::Setup(
            "mail.smtp.username is set but no password: set TIPOFF__MAIL__SMTP__PASSWORD or \
             mail.smtp.password_file"
                .into(),
        ));
    };
    let contents = std::fs::read_to_string(path).map_err(|e| {
        MailError::Setup(format!(
            "cannot read mail.smtp.password_file {}: {e}",
            path.display()
        ))
    })?;
    Ok(SecretString::from(
        contents.trim_end_matches(['\r', '\n']).to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn villages() -> Vec<Village> {
        vec![Village {
            id: "qingshan-village".into(),
            zh: "青山村".into(),
            en: "Qingshan Village".into(),
        }]
    }

    #[test]
    fn a_new_case_mail_names_the_case_and_links_to_it() {
        let id = Uuid::new_v4();
        let facts = CaseFacts {
            report_id: id,
            case_number: "2026-0042",
            category: Category::Connection,
            village: Some("qingshan-village"),
            channel: Channel::Hotline,
            due: NaiveDate::from_ymd_opt(2026, 3, 5),
        };
        let mail = render_case(
            CaseMail::NewCase,
            &facts,
            "纪律检查岗",
            &villages(),
            "https://jb.example.org/",
        )
        .unwrap();
        assert_eq!(mail.subject, "【举报线索】新案件 2026-0042（关系保）");
        assert!(!mail.subject.contains('\n'));
        for part in [&mail.text, &mail.html] {
            assert!(part.contains("2026-0042"));
            assert!(part.contains("关系保"));
            assert!(part.contains("青山村"));
            assert!(part.contains("监督电话"));
            assert!(part.contains("办理期限：2026-03-05"), "{part}");
            assert!(part.contains(&format!("https://jb.example.org/staff/cases/{id}")));
        }
        assert!(mail.text.starts_with("纪律检查岗："), "{}", mail.text);
        assert!(
            mail.html
                .contains("<a href=\"https://jb.example.org/staff/cases/")
        );
    }

    #[test]
    fn the_html_part_escapes_what_it_shows() {
        let facts = CaseFacts {
            report_id: Uuid::new_v4(),
            case_number: "2026-0001",
            category: Category::Other,
            village: None,
            channel: Channel::Web,
            due: None,
        };
        let mail = render_case(
            CaseMail::Escalation,
            &facts,
            "<b>区民政局</b>",
            &[],
            "http://x",
        )
        .unwrap();
        assert!(!mail.html.contains("<b>"), "{}", mail.html);
        assert!(mail.html.contains("&#60;b&#62;区民政局"), "{}", mail.html);
        assert!(
            mail.text.contains("<b>区民政局</b>"),
            "text is not HTML-escaped"
        );
        assert!(mail.text.contains("按规定期限办理"));
        assert!(mail.text.contains("未填写"));
    }

    fn digest_cases() -> Vec<DigestCase<'static>> {
        vec![
            DigestCase {
                report_id: Uuid::nil(),
                case_number: "2024-0007",
                category: Category::Favor,
                village: Some("qingshan-village"),
                stage: "accept",
                due: NaiveDate::from_ymd_opt(2024, 10, 8).unwrap(),
                overdue: true,
            },
            DigestCase {
                report_id: Uuid::max(),
                case_number: "2024-0009",
                category: Category::Connection,
                village: None,
                stage: "verify",
                due: NaiveDate::from_ymd_opt(2024, 10, 10).unwrap(),
                overdue: false,
            },
        ]
    }

    #[test]
    fn a_digest_lists_each_case_with_its_stage_and_due_date() {
        let day = NaiveDate::from_ymd_opt(2024, 10, 9).unwrap();
        let mail = render_digest(
            day,
            DigestFor::Assignee,
            &digest_cases(),
            &[DigestMeasure {
                report_id: Uuid::max(),
                case_number: "2024-0003",
                seq: 2,
                due: NaiveDate::from_ymd_opt(2024, 10, 1).unwrap(),
            }],
            &villages(),
            "https://jb.example.org",
        )
        .unwrap();
        assert_eq!(
            mail.subject,
            "【举报线索】每日提醒 2024-10-09：期限将至 1 件，已超期 1 件，整改逾期 1 项"
        );
        for part in [&mail.text, &mail.html] {
            assert!(
                part.contains("2024-0003")
                    && part.contains("整改措施 2")
                    && part.contains("2024-10-01"),
                "the overdue measure in {part}"
            );
        }
        for part in [&mail.text, &mail.html] {
            for expected in [
                "2024-0007",
                "人情保",
                "青山村",
                "受理",
                "办理期限：2024-10-08（已超期）",
                "2024-0009",
                "关系保",
                "核查完毕",
                "办理期限：2024-10-10",
                "https://jb.example.org/staff/cases/00000000-0000-0000-0000-000000000000",
                "https://jb.example.org/staff/cases?mine=1",
            ] {
                assert!(part.contains(expected), "{expected} in {part}");
            }
            assert!(!part.contains("办理期限：2024-10-10（已超期）"));
            assert!(
                !part.contains("HMAC"),
                "only the post's digest has the mark"
            );
        }
    }

    #[test]
    fn the_posts_digest_carries_the_audit_mark_even_when_nothing_is_due() {
        let day = NaiveDate::from_ymd_opt(2024, 10, 9).unwrap();
        let post = DigestFor::Post {
            group_name: "纪律检查岗",
            audit: AuditMark {
                seq: 42,
                mac_hex: "00ff",
            },
        };
        let mail = render_digest(day, post, &[], &[], &villages(), "http://x").unwrap();
        assert!(mail.subject.starts_with("【举报线索】每日汇总 2024-10-09"));
        assert!(mail.text.starts_with("纪律检查岗："), "{}", mail.text);
        for part in [&mail.text, &mail.html] {
            assert!(part.contains("没有期限将至或已超期的案件"), "{part}");
            assert!(part.contains("最新序号：42"), "{part}");
            assert!(part.contains("00ff"), "{part}");
        }
        let full = render_digest(day, post, &digest_cases(), &[], &villages(), "http://x").unwrap();
        assert!(full.text.contains("1. 案件编号：2024-0007\n"));
        assert!(full.text.contains("2. 案件编号：2024-0009\n"));
    }
}
