//! The append-only audit log: sequence numbers, an HMAC chain keyed from the keyring,
//! serialized appends, and verification that names the first broken entry.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Timelike, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};
use uuid::Uuid;

use super::ServiceError;
use crate::crypto::{CryptoError, Keyring};
use crate::entities::{audit_entry, audit_head};

/// The single row of `audit_head`.
const HEAD_ID: i32 = 1;
/// Entries read per query while verifying, so a long log never sits in memory at once.
const VERIFY_PAGE: u64 = 1000;
/// Leads every MAC input, so a later change of the encoding cannot be confused with this one.
const ENTRY_FORMAT_V1: &[u8] = b"tipoff-audit-entry-v1";

/// What an audit entry records. `code()` is what is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    OpenCase,
    StatusChange,
    Message,
    Note,
    Assign,
    Recuse,
    Login,
    LoginFailed,
    Logout,
    UserChange,
    FilingChange,
    Export,
    CaseEvent,
    OpenAttachment,
    /// A failed notification sent again.
    MailRetry,
    SiteChange,
    /// A key rotation's re-wrapping or re-indexing run, or a key retired.
    KeyChange,
    /// A closed case's content destroyed under the retention rule.
    Purge,
    /// A rectification measure added, done, or a result of it recorded.
    Rectification,
    /// A campaign milestone moved to another day.
    CampaignChange,
    /// The campaign summary saved as a draft or finalised.
    Summary,
    /// The case list shown with its one-line summaries opened.
    ListSummaries,
    /// The close-relative register shown with its filings and visits opened.
    OpenRegister,
}

impl AuditAction {
    pub fn code(self) -> &'static str {
        match self {
            AuditAction::OpenCase => "open_case",
            AuditAction::StatusChange => "status_change",
            AuditAction::Message => "message",
            AuditAction::Note => "note",
            AuditAction::Assign => "assign",
            AuditAction::Recuse => "recuse",
            AuditAction::Login => "login",
            AuditAction::LoginFailed => "login_failed",
            AuditAction::Logout => "logout",
            AuditAction::UserChange => "user_change",
            AuditAction::FilingChange => "filing_change",
            AuditAction::Export => "export",
            AuditAction::CaseEvent => "case_event",
            AuditAction::OpenAttachment => "open_attachment",
            AuditAction::MailRetry => "mail_retry",
            AuditAction::SiteChange => "site_change",
            AuditAction::KeyChange => "key_change",
            AuditAction::Purge => "purge",
            AuditAction::Rectification => "rectification",
            AuditAction::CampaignChange => "campaign_change",
            AuditAction::Summary => "summary",
            AuditAction::ListSummaries => "list_summaries",
            AuditAction::OpenRegister => "open_register",
        }
    }
}

/// One thing to record. `detail` is free text for staff eyes and must never carry report
/// content, a reporter's identity, a tracking code or a client address.
#[derive(Debug, Clone)]
pub struct AuditRecord<'a> {
    pub actor: Option<Uuid>,
    pub action: AuditAction,
    pub report: Option<Uuid>,
    pub detail: &'a str,
}

impl<'a> AuditRecord<'a> {
    pub fn new(
        actor: Option<Uuid>,
        action: AuditAction,
        report: Option<Uuid>,
        detail: &'a str,
    ) -> AuditRecord<'a> {
        AuditRecord {
            actor,
            action,
            report,
            detail,
        }
    }
}

/// Starts a transaction whose first statement appends `record`, as every audited change
/// must: dropping the transaction unwritten takes the entry back too.
pub async fn begin<C: TransactionTrait>(
    db: &C,
    keyring: &Keyring,
    record: AuditRecord<'_>,
    now: DateTime<Utc>,
) -> Result<C::Transaction, ServiceError> {
    let txn = db.begin().await?;
    append(&txn, keyring, record, now).await?;
    Ok(txn)
}

/// Appends an entry inside the caller's transaction and returns its sequence number.
/// Call it first in a transaction: its update of the chain head takes the write lock.
pub async fn append<C: ConnectionTrait>(
    db: &C,
    keyring: &Keyring,
    record: AuditRecord<'_>,
    now: DateTime<Utc>,
) -> Result<i64, ServiceError> {
    // The head row is the serialization point: SQLite takes its write lock here and
    // PostgreSQL holds this row's lock until commit, so the next appender waits and sees
    // our seq and MAC.
    let head = audit_head::Entity::update_many()
        .col_expr(
            audit_head::Column::LastSeq,
            Expr::col(audit_head::Column::LastSeq).add(1),
        )
        .filter(audit_head::Column::Id.eq(HEAD_ID))
        .exec_with_returning(db)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| DbErr::RecordNotFound("audit head".into()))?;
    let seq = head.last_seq;
    let at = stored_instant(now);
    let key_id = keyring.audit_key_id();
    let entry = canonical_bytes(&EntryFields {
        seq,
        at,
        actor: record.actor,
        action: record.action.code(),
        report: record.report,
        detail: record.detail,
        key_id,
    });
    let mac = keyring.audit_mac(head.last_mac.as_deref().unwrap_or_default(), &entry);

    audit_entry::Entity::insert(audit_entry::ActiveModel {
        seq: Set(seq),
        at: Set(at),
        actor_id: Set(record.actor),
        action: Set(record.action.code().to_owned()),
        report_id: Set(record.report),
        detail: Set(record.detail.to_owned()),
        key_id: Set(key_id.to_owned()),
        mac: Set(mac.clone()),
    })
    .exec_without_returning(db)
    .await?;
    audit_head::Entity::update_many()
        .col_expr(audit_head::Column::LastMac, Expr::value(mac))
        .filter(audit_head::Column::Id.eq(HEAD_ID))
        .exec(db)
        .await?;
    Ok(seq)
}

/// The latest sequence number and its MAC (`None` before the first entry): what the daily
/// digest carries so that cutting off the newest entries shows against the last mail.
pub async fn head<C: ConnectionTrait>(db: &C) -> Result<(i64, Option<Vec<u8>>), ServiceError> {
    let row = audit_head::Entity::find_by_id(HEAD_ID)
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("audit head".into()))?;
    Ok((row.last_seq, row.last_mac))
}

/// One reading of a case, for the case page's "who read this" list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRead {
    pub actor: Option<Uuid>,
    pub at: DateTime<Utc>,
}

/// Every `open_case` entry of a report, newest first.
pub async fn reads_of_case<C: ConnectionTrait>(
    db: &C,
    report_id: Uuid,
) -> Result<Vec<CaseRead>, ServiceError> {
    let rows: Vec<(Option<Uuid>, DateTime<Utc>)> = audit_entry::Entity::find()
        .select_only()
        .column(audit_entry::Column::ActorId)
        .column(audit_entry::Column::At)
        .filter(audit_entry::Column::ReportId.eq(report_id))
        .filter(audit_entry::Column::Action.eq(AuditAction::OpenCase.code()))
        .order_by_desc(audit_entry::Column::Seq)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(actor, at)| CaseRead { actor, at })
        .collect())
}

/// What kind of damage verification found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// The entry is where it should be, but its content or MAC does not match.
    Altered,
    /// A gap in the sequence: this entry (and maybe more after it) was removed.
    Missing,
    /// An entry that does not belong: its seq breaks the order or lies beyond the head,
    /// and its MAC does not chain.
    Inserted,
    /// The log ends elsewhere than its head says: the newest entries were cut off (or the
    /// head itself was changed).
    HeadMismatch,
}

/// The first broken place in the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainProblem {
    pub seq: i64,
    pub kind: ProblemKind,
}

impl fmt::Display for ChainProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seq = self.seq;
        match self.kind {
            ProblemKind::Altered => write!(f, "entry {seq} was altered"),
            ProblemKind::Missing => write!(f, "entry {seq} is missing (removed)"),
            ProblemKind::Inserted => {
                write!(f, "entry {seq} was inserted (it is not part of the chain)")
            }
            ProblemKind::HeadMismatch => write!(
                f,
                "entry {seq} and any after it were cut off (the log no longer ends where its head says)"
            ),
        }
    }
}

/// The outcome of `verify`: how many entries chained correctly, the last of them, and the
/// first problem after them, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub entries: u64,
    pub last_seq: i64,
    pub problem: Option<ChainProblem>,
}

impl Verification {
    pub fn is_intact(&self) -> bool {
        self.problem.is_none()
    }
}

/// Walks the log in seq order, recomputing every MAC from its predecessor's, and names the
/// first entry that is altered, missing or inserted, or a head that the log does not reach.
/// Safe to run against a live database: entries appended meanwhile are verified too.
pub async fn verify<C: ConnectionTrait>(
    db: &C,
    keyring: &Keyring,
) -> Result<Verification, ServiceError> {
    let mut chain = ChainWalk {
        head: head(db).await?,
        prev_mac: Vec::new(),
        last_seq: None,
        entries: 0,
    };
    let mut head_reread = false;
    loop {
        let mut page = audit_entry::Entity::find()
            .order_by_asc(audit_entry::Column::Seq)
            .limit(VERIFY_PAGE);
        if let Some(after) = chain.last_seq {
            page = page.filter(audit_entry::Column::Seq.gt(after));
        }
        let page = page.all(db).await?;
        if page.is_empty() {
            // An append bumps the head and inserts its entry in one transaction, so every
            // entry counted by a head read now is visible to the next page query: one more
            // look tells appends made during the walk apart from entries cut off.
            if !head_reread {
                chain.head = head(db).await?;
                head_reread = true;
                if chain.head.0 > chain.done() {
                    continue;
                }
            }
            let problem = chain.check_head();
            return Ok(chain.finish(problem));
        }
        head_reread = false;
        for entry in page {
            if let Some(problem) = chain.step(db, keyring, &entry).await? {
                return Ok(chain.finish(Some(problem)));
            }
        }
    }
}

/// Verification state: the head as last read and the last entry that chained correctly.
struct ChainWalk {
    head: (i64, Option<Vec<u8>>),
    prev_mac: Vec<u8>,
    last_seq: Option<i64>,
    entries: u64,
}

impl ChainWalk {
    fn done(&self) -> i64 {
        self.last_seq.unwrap_or(0)
    }

    fn finish(self, problem: Option<ChainProblem>) -> Verification {
        Verification {
            entries: self.entries,
            last_seq: self.done(),
            problem,
        }
    }

    async fn step<C: ConnectionTrait>(
        &mut self,
        db: &C,
        keyring: &Keyring,
        entry: &audit_entry::Model,
    ) -> Result<Option<ChainProblem>, ServiceError> {
        let expected = self.done() + 1;
        let problem = |seq, kind| Ok(Some(ChainProblem { seq, kind }));
        if entry.seq < expected {
            return problem(entry.seq, ProblemKind::Inserted);
        }
        if entry.seq > expected {
            // A gap inside what the head has counted is a removal; an entry past the head
            // was never appended through the chain.
            if self.beyond_head(db, entry.seq).await? {
                return problem(entry.seq, ProblemKind::Inserted);
            }
            return problem(expected, ProblemKind::Missing);
        }
        let content = canonical_bytes(&EntryFields {
            seq: entry.seq,
            at: entry.at,
            actor: entry.actor_id,
            action: &entry.action,
            report: entry.report_id,
            detail: &entry.detail,
            key_id: &entry.key_id,
        });
        let chains =
            match keyring.audit_mac_matches(&entry.key_id, &self.prev_mac, &content, &entry.mac) {
                Ok(chains) => chains,
                // Retired audit keys stay in the keyring, so once earlier entries have verified
                // an unknown key id can only be an edit. On the very first entry it far more
                // likely means the wrong keyring file, which the error message names.
                Err(CryptoError::UnknownKey(_)) if self.entries > 0 => false,
                Err(e) => return Err(e.into()),
            };
        if !chains {
            if self.beyond_head(db, entry.seq).await? {
                return problem(entry.seq, ProblemKind::Inserted);
            }
            return problem(entry.seq, ProblemKind::Altered);
        }
        self.prev_mac.clone_from(&entry.mac);
        self.last_seq = Some(entry.seq);
        self.entries += 1;
        Ok(None)
    }

    /// Whether `seq` lies past the head, re-reading the head first because appends may have
    /// moved it since it was last read.
    async fn beyond_head<C: ConnectionTrait>(
        &mut self,
        db: &C,
        seq: i64,
    ) -> Result<bool, ServiceError> {
        if seq <= self.head.0 {
            return Ok(false);
        }
        self.head = head(db).await?;
        Ok(seq > self.head.0)
    }

    fn check_head(&self) -> Option<ChainProblem> {
        let done = self.done();
        let (head_seq, head_mac) = (self.head.0, self.head.1.as_deref());
        let seq = if head_seq > done {
            done + 1
        } else if head_seq < done {
            head_seq + 1
        } else if head_mac.unwrap_or_default() != self.prev_mac.as_slice() {
            done
        } else {
            return None;
        };
        Some(ChainProblem {
            seq,
            kind: ProblemKind::HeadMismatch,
        })
    }
}

/// Everything an entry's MAC covers.
struct EntryFields<'a> {
    seq: i64,
    at: DateTime<Utc>,
    actor: Option<Uuid>,
    action: &'a str,
    report: Option<Uuid>,
    detail: &'a str,
    key_id: &'a str,
}

/// Each field prefixed by its u64 big-endian length, so no two different entries encode
/// alike (a `|` in the detail cannot pose as a field boundary, an absent actor is empty
/// while a present one is 16 bytes). The time is fixed-width RFC 3339 in microseconds,
/// the precision both SQLite and PostgreSQL give back unchanged.
fn canonical_bytes(fields: &EntryFields<'_>) -> Vec<u8> {
    let seq = fields.seq.to_be_bytes();
    let at = fields.at.to_rfc3339_opts(SecondsFormat::Micros, true);
    let uuid =
        |id: &Option<Uuid>| -> Vec<u8> { id.map(|u| u.as_bytes().to_vec()).unwrap_or_default() };
    let actor = uuid(&fields.actor);
    let report = uuid(&fields.report);
    let parts: [&[u8]; 8] = [
        ENTRY_FORMAT_V1,
        &seq,
        at.as_bytes(),
        &actor,
        fields.action.as_bytes(),
        &report,
        fields.detail.as_bytes(),
        fields.key_id.as_bytes(),
    ];
    let mut out = Vec::with_capacity(parts.iter().map(|p| 8 + p.len()).sum());
    for part in parts {
        out.extend_from_slice(&(part.len() as u64).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

/// PostgreSQL keeps microseconds; storing (and MACing) exactly that makes what is read
/// back identical to what was MACed on either engine.
fn stored_instant(now: DateTime<Utc>) -> DateTime<Utc> {
    now.with_nanosecond(now.nanosecond() / 1_000 * 1_000)
        .unwrap_or(now)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn fields<'a>(detail: &'a str, key_id: &'a str) -> EntryFields<'a> {
        EntryFields {
            seq: 7,
            at: Utc.with_ymd_and_hms(2026, 11, 28, 9, 30, 0).unwrap(),
            actor: None,
            action: "note",
            report: None,
            detail,
            key_id,
        }
    }

    #[test]
    fn canonical_encoding_keeps_field_boundaries() {
        let base = canonical_bytes(&fields("a|b", "k"));
        // The same bytes split differently between neighbouring fields.
        assert_ne!(base, canonical_bytes(&fields("a", "|bk")));
        assert_ne!(base, canonical_bytes(&fields("a|bk", "")));
        let mut moved = fields("|b", "k");
        moved.action = "notea";
        assert_ne!(base, canonical_bytes(&moved));
        // A detail that spells out what a separator-joined encoding would produce.
        assert_ne!(
            canonical_bytes(&fields("a", "b")),
            canonical_bytes(&fields("a|b", ""))
        );
    }

    #[test]
    fn canonical_encoding_tells_actor_from_report_and_absent_from_nil() {
        let id = Uuid::new_v4();
        let mut by_actor = fields("x", "k");
        by_actor.actor = Some(id);
        let mut by_report = fields("x", "k");
        by_report.report = Some(id);
        let mut nil = fields("x", "k");
        nil.actor = Some(Uuid::nil());
        let none = canonical_bytes(&fields("x", "k"));
        assert_ne!(canonical_bytes(&by_actor), canonical_bytes(&by_report));
        assert_ne!(canonical_bytes(&nil), none);
        assert_ne!(canonical_bytes(&by_actor), none);
    }

    #[test]
    fn canonical_encoding_covers_seq_and_time() {
        let base = canonical_bytes(&fields("x", "k"));
        let mut later = fields("x", "k");
        later.seq = 8;
        assert_ne!(canonical_bytes(&later), base);
        let mut moved = fields("x", "k");
        moved.at += chrono::TimeDelta::microseconds(1);
        assert_ne!(canonical_bytes(&moved), base);
        // Fixed width: a whole second still carries six fractional digits.
        let text = String::from_utf8_lossy(&base).into_owned();
        assert!(text.contains("2026-11-28T09:30:00.000000Z"), "{text}");
    }

    #[test]
    fn stored_instant_drops_sub_microseconds_only() {
        let at = Utc
            .with_ymd_and_hms(2026, 11, 28, 9, 30, 0)
            .unwrap()
            .with_nanosecond(123_456_789)
            .unwrap();
        let stored = stored_instant(at);
        assert_eq!(stored.nanosecond(), 123_456_000);
        assert_eq!(stored.timestamp(), at.timestamp());
        assert_eq!(stored_instant(stored), stored);
    }

    #[test]
    fn problems_read_as_plain_english() {
        let say = |seq, kind| ChainProblem { seq, kind }.to_string();
        assert_eq!(say(17, ProblemKind::Altered), "entry 17 was altered");
        assert_eq!(say(9, ProblemKind::Missing), "entry 9 is missing (removed)");
        assert!(say(4, ProblemKind::Inserted).starts_with("entry 4 was inserted"));
        assert!(
            say(12, ProblemKind::HeadMismatch)
                .starts_with("entry 12 and any after it were cut off")
        );
    }
}
