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

use crate::config::{MailSettings, MailTransport, SmtpSecurity, Village};
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
        let village = facts
            .village
            .map(|id| {
                villages
                    .iter()
                    .find(|v| v.id == id)
                    .map_or_else(|| id.to_string(), |v| v.zh.clone())
            })
            .unwrap_or_else(|| "未填写".to_string());
        let category = catalog.label("category", facts.category.code());
        Fields {
            group: group_name.to_string(),
            case_number: facts.case_number.to_string(),
            category: category.to_string(),
            category_short: category
                .split_once('：')
                .map_or(category, |(short, _)| short)
                .to_string(),
            village,
            channel: catalog.label("channel", facts.channel.code()).to_string(),
            due: facts.due.map_or_else(
                || "按规定期限办理".to_string(),
                |d| d.format("%Y年%m月%d日").to_string(),
            ),
            link: format!(
                "{}/staff/cases/{}",
                base_url.trim_end_matches('/'),
                facts.report_id
            ),
        }
    }
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

/// A new case, to a group the routing rules send it to.
pub fn render_new_case(
    facts: &CaseFacts<'_>,
    group_name: &str,
    villages: &[Village],
    base_url: &str,
) -> Result<Rendered, MailError> {
    let f = Fields::new(facts, group_name, villages, base_url);
    let mut rendered = split_subject(NewCaseText { f: &f }.render()?);
    rendered.html = NewCaseHtml { f: &f }.render()?;
    Ok(rendered)
}

/// A case an inspector escalated to another group.
pub fn render_escalation(
    facts: &CaseFacts<'_>,
    group_name: &str,
    villages: &[Village],
    base_url: &str,
) -> Result<Rendered, MailError> {
    let f = Fields::new(facts, group_name, villages, base_url);
    let mut rendered = split_subject(EscalationText { f: &f }.render()?);
    rendered.html = EscalationHtml { f: &f }.render()?;
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
        let mail =
            render_new_case(&facts, "纪律检查岗", &villages(), "https://jb.example.org/").unwrap();
        assert_eq!(mail.subject, "【举报线索】新案件 2026-0042（关系保）");
        assert!(!mail.subject.contains('\n'));
        for part in [&mail.text, &mail.html] {
            assert!(part.contains("2026-0042"));
            assert!(part.contains("关系保"));
            assert!(part.contains("青山村"));
            assert!(part.contains("监督电话"));
            assert!(part.contains("2026年03月05日"));
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
        let mail = render_escalation(&facts, "<b>区民政局</b>", &[], "http://x").unwrap();
        assert!(!mail.html.contains("<b>"), "{}", mail.html);
        assert!(mail.html.contains("&#60;b&#62;区民政局"), "{}", mail.html);
        assert!(
            mail.text.contains("<b>区民政局</b>"),
            "text is not HTML-escaped"
        );
        assert!(mail.text.contains("按规定期限办理"));
        assert!(mail.text.contains("未填写"));
    }
}
