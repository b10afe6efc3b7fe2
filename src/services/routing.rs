//! Routing: which recipient groups a case goes to (rules from the config, escalations by an
//! inspector), recorded on the case, with the notifications written to the outbox in the
//! same transaction.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};
use uuid::Uuid;

use super::ServiceError;
pub use super::outbox::Recipient;
use super::outbox::{self, NewMail};
use crate::config::{CIVIL_AFFAIRS_POST, DISCIPLINE_POST, DISTRICT_BUREAU, MailGroup, Settings};
use crate::domain::{Category, SubjectRole, Village, start_of_day};
use crate::entities::case_route;
use crate::mail::{self, CaseFacts, CaseMail, DigestCase, DigestFor, DigestMeasure, Rendered};

/// Why a case went to a group, as stored in `case_routes.reason`.
pub const BY_RULE: &str = "rule";
pub const BY_ESCALATION: &str = "escalation";

/// Outbox kinds.
pub const KIND_NEW_CASE: &str = "new_case";
pub const KIND_ESCALATION: &str = "escalation";

#[derive(Debug, Clone)]
struct Rule {
    category: Option<Category>,
    village: Option<String>,
    subject_role: Option<SubjectRole>,
    groups: Vec<String>,
}

impl Rule {
    fn matches(&self, case: &CaseMeta<'_>) -> bool {
        self.category.is_none_or(|c| c == case.facts.category)
            && self
                .village
                .as_deref()
                .is_none_or(|v| case.facts.village == Some(v))
            && self
                .subject_role
                .is_none_or(|r| case.subject_role == Some(r))
    }
}

/// The groups, rules and link base, built once from validated settings.
#[derive(Debug, Clone)]
pub struct Routing {
    groups: BTreeMap<String, MailGroup>,
    rules: Vec<Rule>,
    villages: Vec<Village>,
    base_url: String,
    message_domain: String,
}

/// What routing needs to know about a case: metadata only.
#[derive(Debug, Clone)]
pub struct CaseMeta<'a> {
    /// What its mail may say about it.
    pub facts: CaseFacts<'a>,
    pub subject_role: Option<SubjectRole>,
    pub anonymous: bool,
}

impl Routing {
    /// Expects settings that passed `Settings::validate`; a rule naming something unknown
    /// could not have got this far.
    pub fn new(settings: &Settings) -> Routing {
        let rules = settings
            .routing
            .rules
            .iter()
            .map(|r| Rule {
                category: r.category.as_deref().and_then(Category::parse),
                village: r.village.clone(),
                subject_role: r.subject_role.as_deref().and_then(SubjectRole::parse),
                groups: r.groups.clone(),
            })
            .collect();
        let message_domain = settings
            .mail
            .from
            .parse::<lettre::message::Mailbox>()
            .map(|m| m.email.domain().to_string())
            .unwrap_or_else(|_| "tipoff.local".to_string());
        Routing {
            groups: settings.mail.groups.clone(),
            rules,
            villages: settings.villages.clone(),
            base_url: settings.server.base_url.clone(),
            message_domain,
        }
    }

    pub fn group(&self, id: &str) -> Option<&MailGroup> {
        self.groups.get(id)
    }

    /// Every group id with its name, for an escalation form.
    pub fn groups(&self) -> impl Iterator<Item = (&str, &str)> {
        self.groups
            .iter()
            .map(|(id, g)| (id.as_str(), g.name.as_str()))
    }

    /// The groups a new case goes to, without repeats: the discipline post always, then
    /// every matching rule's groups. A case about civil-affairs staff also goes to the
    /// district bureau and never to the civil-affairs post, whatever the rules say.
    pub fn groups_for(&self, case: &CaseMeta<'_>) -> Vec<String> {
        let mut groups = vec![DISCIPLINE_POST.to_string()];
        for rule in self.rules.iter().filter(|r| r.matches(case)) {
            for group in &rule.groups {
                if !groups.contains(group) {
                    groups.push(group.clone());
                }
            }
        }
        if about_civil_affairs_staff(case) {
            groups.retain(|g| g != CIVIL_AFFAIRS_POST);
            if !groups.iter().any(|g| g == DISTRICT_BUREAU) {
                groups.push(DISTRICT_BUREAU.to_string());
            }
        }
        groups.retain(|g| self.groups.contains_key(g));
        groups
    }

    /// The mailboxes of these groups, each once. For a case about civil-affairs staff, no
    /// mailbox of the civil-affairs post is among them even when another group lists it.
    pub fn recipients(&self, case: &CaseMeta<'_>, groups: &[String]) -> Vec<Recipient> {
        let excluded: Vec<&str> = if about_civil_affairs_staff(case) {
            self.groups
                .get(CIVIL_AFFAIRS_POST)
                .map(|g| g.addresses.iter().map(String::as_str).collect())
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        let mut recipients: Vec<Recipient> = Vec::new();
        for id in groups {
            let Some(group) = self.groups.get(id) else {
                continue;
            };
            for address in &group.addresses {
                let taken = recipients
                    .iter()
                    .any(|r| r.address.eq_ignore_ascii_case(address));
                let forbidden = excluded.iter().any(|e| e.eq_ignore_ascii_case(address));
                if !taken && !forbidden {
                    recipients.push(Recipient {
                        group: id.clone(),
                        address: address.clone(),
                        user: None,
                    });
                }
            }
        }
        recipients
    }

    /// The domain part of the Message-IDs of this deployment's mail.
    pub fn message_domain(&self) -> &str {
        &self.message_domain
    }

    /// The mailboxes of one group, as office recipients.
    pub fn group_recipients(&self, group: &str) -> Vec<Recipient> {
        self.groups
            .get(group)
            .map(|g| {
                g.addresses
                    .iter()
                    .map(|address| Recipient {
                        group: group.to_string(),
                        address: address.clone(),
                        user: None,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A daily digest, with the villages and links of this deployment.
    pub fn render_digest(
        &self,
        day: NaiveDate,
        to: DigestFor<'_>,
        cases: &[DigestCase<'_>],
        late: &[DigestMeasure<'_>],
    ) -> Result<Rendered, ServiceError> {
        mail::render_digest(day, to, cases, late, &self.villages, &self.base_url)
            .map_err(|e| ServiceError::Mail(e.to_string()))
    }

    fn render(
        &self,
        kind: &str,
        case: &CaseMeta<'_>,
        group: &str,
    ) -> Result<Rendered, ServiceError> {
        let name = self.groups.get(group).map_or(group, |g| g.name.as_str());
        let which = if kind == KIND_ESCALATION {
            CaseMail::Escalation
        } else {
            CaseMail::NewCase
        };
        let rendered = mail::render_case(which, &case.facts, name, &self.villages, &self.base_url);
        rendered.map_err(|e| ServiceError::Mail(e.to_string()))
    }

    /// Writes one outbox row per recipient, each with the mail rendered for its group.
    async fn enqueue_all<C: ConnectionTrait>(
        &self,
        db: &C,
        kind: &str,
        case: &CaseMeta<'_>,
        recipients: &[Recipient],
        at: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        let rows = self.mail_rows(kind, case, recipients, at)?;
        crate::entities::outbox::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await?;
        Ok(())
    }

    /// One outbox row per recipient, each with the mail rendered once for its group.
    fn mail_rows(
        &self,
        kind: &str,
        case: &CaseMeta<'_>,
        recipients: &[Recipient],
        at: DateTime<Utc>,
    ) -> Result<Vec<crate::entities::outbox::ActiveModel>, ServiceError> {
        let mut rendered: BTreeMap<&str, Rendered> = BTreeMap::new();
        let mut rows = Vec::with_capacity(recipients.len());
        for recipient in recipients {
            if !rendered.contains_key(recipient.group.as_str()) {
                rendered.insert(&recipient.group, self.render(kind, case, &recipient.group)?);
            }
            let Some(mail) = rendered.get(recipient.group.as_str()) else {
                continue;
            };
            let (_, row) = outbox::pending_row(
                NewMail {
                    report_id: Some(case.facts.report_id),
                    kind,
                    recipient,
                    mail,
                    message_domain: &self.message_domain,
                },
                at,
            );
            rows.push(row);
        }
        Ok(rows)
    }

    /// The rows routing a new case writes: its routing record (one row per group) and one
    /// outbox row per recipient, leaving out staff recused from it. Nothing is written.
    ///
    /// No report keeps a time of day (a real-name one's would bracket the anonymous ones
    /// beside it), so these rows carry the day only (the mail itself goes out with the next
    /// batch).
    pub fn new_case_rows(
        &self,
        case: &CaseMeta<'_>,
        recused: &[Uuid],
        now: DateTime<Utc>,
    ) -> Result<NewCaseRows, ServiceError> {
        let at = start_of_day(now);
        let groups = self.groups_for(case);
        let routes = groups
            .iter()
            .map(|group| route_row(case.facts.report_id, group, BY_RULE, None, at))
            .collect();
        let recipients = without_recused(self.recipients(case, &groups), recused);
        let mails = self.mail_rows(KIND_NEW_CASE, case, &recipients, at)?;
        Ok(NewCaseRows {
            groups,
            routes,
            mails,
        })
    }
}

/// What routing a new case writes, built by `Routing::new_case_rows`.
pub struct NewCaseRows {
    pub groups: Vec<String>,
    pub routes: Vec<case_route::ActiveModel>,
    pub mails: Vec<crate::entities::outbox::ActiveModel>,
}

fn about_civil_affairs_staff(case: &CaseMeta<'_>) -> bool {
    case.subject_role == Some(SubjectRole::CivilAffairsStaff)
}

/// Whether a case about someone in `subject_role` may be sent on to `group`: a case about
/// civil-affairs staff never goes to their own post. Escalation lists leave such groups out,
/// and escalation refuses them.
pub fn may_escalate_to(group: &str, subject_role: Option<SubjectRole>) -> bool {
    !(group == CIVIL_AFFAIRS_POST && subject_role == Some(SubjectRole::CivilAffairsStaff))
}

/// Mail to staff members' own mailboxes leaves out everyone recused from the case; group
/// mailboxes belong to offices and stay.
pub fn without_recused(recipients: Vec<Recipient>, recused: &[Uuid]) -> Vec<Recipient> {
    recipients
        .into_iter()
        .filter(|r| r.user.is_none_or(|u| !recused.contains(&u)))
        .collect()
}

/// Routes a new case inside the caller's transaction: records each group on the case and
/// writes one outbox row per recipient (see `Routing::new_case_rows`). Returns the groups.
pub async fn route_report<C: ConnectionTrait>(
    txn: &C,
    routing: &Routing,
    case: &CaseMeta<'_>,
    recused: &[Uuid],
    now: DateTime<Utc>,
) -> Result<Vec<String>, ServiceError> {
    let rows = routing.new_case_rows(case, recused, now)?;
    case_route::Entity::insert_many(rows.routes)
        .exec_without_returning(txn)
        .await?;
    crate::entities::outbox::Entity::insert_many(rows.mails)
        .exec_without_returning(txn)
        .await?;
    Ok(rows.groups)
}

async fn insert_route<C: ConnectionTrait>(
    db: &C,
    report_id: Uuid,
    group: &str,
    reason: &str,
    actor: Option<Uuid>,
    at: DateTime<Utc>,
) -> Result<(), ServiceError> {
    case_route::Entity::insert(route_row(report_id, group, reason, actor, at))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

fn route_row(
    report_id: Uuid,
    group: &str,
    reason: &str,
    actor: Option<Uuid>,
    at: DateTime<Utc>,
) -> case_route::ActiveModel {
    case_route::ActiveModel {
        id: Set(Uuid::new_v4()),
        report_id: Set(report_id),
        group_id: Set(group.to_string()),
        reason: Set(reason.to_string()),
        actor_id: Set(actor),
        at: Set(at),
    }
}

/// A group a case went to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRoute {
    pub group: String,
    /// The group's name, or its id if the config no longer has it.
    pub group_name: String,
    /// `rule` or `escalation`.
    pub reason: String,
    pub actor: Option<Uuid>,
    pub at: DateTime<Utc>,
}

/// The routing record of a case, oldest first.
pub async fn routes_of_case<C: ConnectionTrait>(
    db: &C,
    routing: &Routing,
    report_id: Uuid,
) -> Result<Vec<CaseRoute>, ServiceError> {
    let rows = case_route::Entity::find()
        .filter(case_route::Column::ReportId.eq(report_id))
        .order_by_asc(case_route::Column::At)
        .order_by_asc(case_route::Column::Id)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| CaseRoute {
            group_name: routing
                .group(&r.group_id)
                .map_or_else(|| r.group_id.clone(), |g| g.name.clone()),
            group: r.group_id,
            reason: r.reason,
            actor: r.actor_id,
            at: r.at,
        })
        .collect())
}

/// Sends a case on to one more group inside the caller's transaction: the routing record
/// and the group's mail. A group the case already went to, and the civil-affairs post (or a
/// group left with no mailbox) for a case about civil-affairs staff, are refused.
pub(crate) async fn route_escalation<C: ConnectionTrait>(
    txn: &C,
    routing: &Routing,
    case: &CaseMeta<'_>,
    group: &str,
    actor: Uuid,
    recused: &[Uuid],
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    if !may_escalate_to(group, case.subject_role) {
        return Err(ServiceError::Invalid("error.excluded_group"));
    }
    let already = case_route::Entity::find()
        .filter(case_route::Column::ReportId.eq(case.facts.report_id))
        .filter(case_route::Column::GroupId.eq(group))
        .one(txn)
        .await?
        .is_some();
    if already {
        return Err(ServiceError::Invalid("error.already_routed"));
    }
    insert_route(
        txn,
        case.facts.report_id,
        group,
        BY_ESCALATION,
        Some(actor),
        now,
    )
    .await?;
    let recipients = without_recused(routing.recipients(case, &[group.to_string()]), recused);
    if recipients.is_empty() {
        return Err(ServiceError::Invalid("error.excluded_group"));
    }
    routing
        .enqueue_all(txn, KIND_ESCALATION, case, &recipients, now)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Profile, RoutingRule};
    use crate::domain::Channel;
    use std::path::Path;

    fn settings(rules: Vec<RoutingRule>) -> Settings {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let mut settings = Settings::load_from(&dir, Profile::Test).unwrap();
        settings.routing.rules = rules;
        settings.validate().unwrap();
        settings
    }

    fn case(role: Option<SubjectRole>, village: Option<&'static str>) -> CaseMeta<'static> {
        let facts = CaseFacts {
            report_id: Uuid::new_v4(),
            case_number: "2026-0001",
            category: Category::Connection,
            village,
            channel: Channel::Web,
            due: None,
        };
        CaseMeta {
            facts,
            subject_role: role,
            anonymous: true,
        }
    }

    fn rule(
        role: Option<&str>,
        village: Option<&str>,
        category: Option<&str>,
        groups: &[&str],
    ) -> RoutingRule {
        RoutingRule {
            category: category.map(String::from),
            village: village.map(String::from),
            subject_role: role.map(String::from),
            groups: groups.iter().map(|g| g.to_string()).collect(),
        }
    }

    #[test]
    fn every_case_goes_to_the_discipline_post_and_rules_add_groups() {
        let routing = Routing::new(&settings(vec![
            rule(
                None,
                Some("qingshan-village"),
                None,
                &["civil_affairs_post"],
            ),
            rule(None, None, Some("bribery"), &["district_bureau"]),
        ]));
        assert_eq!(routing.groups_for(&case(None, None)), ["discipline_post"]);
        assert_eq!(
            routing.groups_for(&case(None, Some("qingshan-village"))),
            ["discipline_post", "civil_affairs_post"]
        );
        let mut bribery = case(None, Some("qingshan-village"));
        bribery.facts.category = Category::Bribery;
        assert_eq!(
            routing.groups_for(&bribery),
            ["discipline_post", "civil_affairs_post", "district_bureau"]
        );
    }

    #[test]
    fn civil_affairs_staff_go_to_the_bureau_and_never_to_their_own_post() {
        // No rule for the bureau, and a rule that would reach the civil-affairs post by
        // village: the code still decides.
        let mut s = settings(vec![rule(
            None,
            Some("qingshan-village"),
            None,
            &["civil_affairs_post"],
        )]);
        // The post's mailbox is also listed in another group.
        let post_address = s.mail.groups["civil_affairs_post"].addresses[0].clone();
        s.mail
            .groups
            .get_mut("discipline_post")
            .unwrap()
            .addresses
            .push(post_address.clone());
        let routing = Routing::new(&s);
        let about_staff = case(
            Some(SubjectRole::CivilAffairsStaff),
            Some("qingshan-village"),
        );
        let groups = routing.groups_for(&about_staff);
        assert_eq!(groups, ["discipline_post", "district_bureau"]);
        let recipients = routing.recipients(&about_staff, &groups);
        assert!(recipients.iter().all(|r| r.address != post_address));
        assert!(recipients.iter().any(|r| r.group == "district_bureau"));
        // Even a caller asking for the post directly gets none of its mailboxes.
        assert!(
            routing
                .recipients(&about_staff, &["civil_affairs_post".to_string()])
                .is_empty()
        );
        // Other cases in that village do reach the post.
        let other = case(Some(SubjectRole::VillageCadre), Some("qingshan-village"));
        let groups = routing.groups_for(&other);
        assert!(groups.contains(&"civil_affairs_post".to_string()));
        assert!(
            routing
                .recipients(&other, &groups)
                .iter()
                .any(|r| r.address == post_address)
        );
    }

    #[test]
    fn a_rule_sending_civil_affairs_staff_cases_to_their_post_stops_the_service() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let mut s = Settings::load_from(&dir, Profile::Test).unwrap();
        s.routing.rules = vec![rule(
            Some("civil_affairs_staff"),
            None,
            None,
            &["civil_affairs_post"],
        )];
        let message = s.validate().unwrap_err().to_string();
        assert!(message.contains("civil_affairs_post"), "{message}");
    }

    #[test]
    fn unknown_names_in_rules_stop_the_service_naming_them() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        for (bad, name) in [
            (
                rule(None, None, Some("favour"), &["discipline_post"]),
                "favour",
            ),
            (
                rule(None, Some("atlantis"), None, &["discipline_post"]),
                "atlantis",
            ),
            (
                rule(Some("mayor"), None, None, &["discipline_post"]),
                "mayor",
            ),
            (
                rule(None, None, None, &["nowhere_office"]),
                "nowhere_office",
            ),
        ] {
            let mut s = Settings::load_from(&dir, Profile::Test).unwrap();
            s.routing.rules = vec![bad];
            let message = s.validate().unwrap_err().to_string();
            assert!(message.contains(name), "{message}");
        }
    }

    #[test]
    fn recused_staff_are_left_out_of_personal_mail_but_office_mailboxes_stay() {
        let recused = Uuid::new_v4();
        let other = Uuid::new_v4();
        let recipients = vec![
            Recipient {
                group: "discipline_post".into(),
                address: "post@example.org".into(),
                user: None,
            },
            Recipient {
                group: "assignee".into(),
                address: "a@example.org".into(),
                user: Some(recused),
            },
            Recipient {
                group: "assignee".into(),
                address: "b@example.org".into(),
                user: Some(other),
            },
        ];
        let kept = without_recused(recipients, &[recused]);
        let addresses: Vec<&str> = kept.iter().map(|r| r.address.as_str()).collect();
        assert_eq!(addresses, ["post@example.org", "b@example.org"]);
    }

    #[test]
    fn channel_codes_round_trip() {
        for channel in [
            Channel::Web,
            Channel::Api,
            Channel::Hotline,
            Channel::Letter,
            Channel::WalkIn,
        ] {
            assert_eq!(Channel::parse(channel.code()), Some(channel));
        }
    }
}
