//! Intake: storing a report in one transaction, and answering a tracking-code lookup.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Asia::Shanghai;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, EntityTrait, QueryFilter, TransactionTrait,
};
use uuid::Uuid;

use super::ServiceError;
use super::deadlines::{CaseDates, Deadlines};
use super::routing::{CaseMeta, Routing, route_report};
use crate::crypto::{Dek, Keyring, SealContext, new_tracking_code};
use crate::domain::{Channel, ReportDraft, Status, TrackingCode};
use crate::entities::{case_counter, report, used_form_token};

const TABLE: &str = "reports";

/// What the reporter is shown once, right after the commit.
#[derive(Debug)]
pub struct Receipt {
    pub tracking_code: TrackingCode,
    pub received_on: NaiveDate,
    pub anonymous: bool,
}

/// What a reporter may learn about their report with its tracking code.
#[derive(Debug, Clone)]
pub struct Progress {
    pub status: Status,
    pub updated_on: NaiveDate,
    /// The inspectors' questions and the reporter's answers, oldest first.
    pub messages: Vec<ProgressMessage>,
    /// Whether the reporter may answer now: once asked, until the case is closed or merged.
    pub can_reply: bool,
    /// What the inspectors told the reporter when they closed the case.
    pub feedback: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ProgressMessage {
    pub from_inspector: bool,
    pub text: String,
    pub at: NaiveDate,
}

/// How a report came in: the channel, the operator who typed it for a caller or letter, the
/// public form's token (spent in the same transaction), and whether a flood put it aside.
#[derive(Debug, Clone, Copy)]
pub struct Origin {
    pub channel: Channel,
    pub operator: Option<Uuid>,
    pub form_token: Option<SpentToken>,
    pub quarantined: bool,
}

/// A public form token to mark used: its random nonce, and when it would expire anyway.
#[derive(Debug, Clone, Copy)]
pub struct SpentToken {
    pub nonce: [u8; 16],
    pub expires_at: DateTime<Utc>,
}

impl Origin {
    pub fn public(channel: Channel) -> Origin {
        Origin {
            channel,
            operator: None,
            form_token: None,
            quarantined: false,
        }
    }
}

/// The token of this form was already used: a replay, or the same form sent twice.
pub const TOKEN_USED: &str = "form.token_used";

/// Stores a report and returns its receipt only after the transaction has committed, so an
/// acknowledged report is durable. Everything a report brings with it (recusals, routing
/// and outbox rows, attachments, the used form token) is written inside the same
/// transaction. The mail carries the date by which the report must be accepted.
pub async fn submit(
    db: &DatabaseConnection,
    keyring: &Keyring,
    routing: &Routing,
    deadlines: &Deadlines,
    draft: ReportDraft,
    origin: Origin,
    now: DateTime<Utc>,
) -> Result<Receipt, ServiceError> {
    let txn = db.begin().await?;
    let (receipt, report_id, case_number) =
        store_report(&txn, keyring, &draft, origin, now).await?;
    let recused = super::recusal::recuse_at_intake(&txn, keyring, report_id, &draft, now).await?;
    let case = CaseMeta {
        report_id,
        case_number: &case_number,
        category: draft.category,
        village: draft.village.as_deref(),
        subject_role: draft.subject_role,
        channel: origin.channel,
        anonymous: draft.is_anonymous(),
        due: accept_due(deadlines, receipt.received_on),
    };
    // A flood report is routed only once an inspector keeps it: the flood must not reach
    // the inspectors' mailboxes either.
    if !origin.quarantined {
        route_report(&txn, routing, &case, &recused, now).await?;
    }
    txn.commit().await?;
    Ok(receipt)
}

/// The day a report received on `received_on` must be accepted (or declined) by.
pub(crate) fn accept_due(deadlines: &Deadlines, received_on: NaiveDate) -> Option<NaiveDate> {
    deadlines
        .due(&CaseDates {
            status: Status::Received,
            received_on,
            accepted_on: None,
        })
        .map(|(_, due)| due)
}

async fn store_report(
    txn: &DatabaseTransaction,
    keyring: &Keyring,
    draft: &ReportDraft,
    origin: Origin,
    now: DateTime<Utc>,
) -> Result<(Receipt, Uuid, String), ServiceError> {
    let received_on = now.with_timezone(&Shanghai).date_naive();
    // The counter is written first so the transaction takes the write lock at once (SQLite
    // would otherwise fail a read-then-write upgrade under contention).
    let case_number = next_case_number(txn, received_on).await?;
    if let Some(token) = origin.form_token {
        let inserted = used_form_token::Entity::insert(used_form_token::ActiveModel {
            nonce: Set(token.nonce.to_vec()),
            expires_at: Set(token.expires_at),
        })
        .on_conflict_do_nothing_on([used_form_token::Column::Nonce])
        .exec_without_returning(txn)
        .await?;
        if !matches!(inserted, sea_orm::TryInsertResult::Inserted(1)) {
            return Err(ServiceError::Invalid(TOKEN_USED));
        }
    }
    let site_id = match draft.site.as_deref() {
        Some(token) => super::sites::site_for_intake(txn, token).await?,
        None => None,
    };

    let id = Uuid::new_v4();
    let row = id.to_string();
    let dek = Dek::generate();
    let wrapped = keyring.wrap(&dek, &row)?;
    let seal = |field: &str, value: &str| {
        dek.seal_str(
            &SealContext {
                table: TABLE,
                row: &row,
                field,
            },
            value,
        )
    };
    let seal_opt = |field: &str, value: Option<&str>| value.map(|v| seal(field, v)).transpose();

    let tracking_code = unused_tracking_code(txn, keyring).await?;
    let (tracking_key_id, tracking_hash) = keyring.current_lookup_hash(&tracking_code);

    report::ActiveModel {
        id: Set(id),
        case_number: Set(case_number.clone()),
        channel: Set(origin.channel.code().to_string()),
        category: Set(draft.category.code().to_string()),
        village: Set(draft.village.clone()),
        subject_role: Set(draft.subject_role.map(|r| r.code().to_string())),
        anonymous: Set(draft.is_anonymous()),
        status: Set(Status::Received.code().to_string()),
        received_on: Set(received_on),
        received_at: Set((!draft.is_anonymous()).then_some(now)),
        status_changed_at: Set(None),
        dek_id: Set(wrapped.dek_id),
        dek_kek_id: Set(wrapped.kek_id),
        dek_wrapped: Set(wrapped.bytes),
        tracking_key_id: Set(tracking_key_id),
        tracking_hash: Set(tracking_hash),
        description: Set(seal("description", &draft.description)?),
        subject: Set(seal_opt("subject", draft.subject.as_deref())?),
        occurred: Set(seal_opt("occurred", draft.occurred.as_deref())?),
        reporter_name: Set(seal_opt(
            "reporter_name",
            draft.reporter.as_ref().map(|r| r.name.as_str()),
        )?),
        reporter_phone: Set(seal_opt(
            "reporter_phone",
            draft.reporter.as_ref().map(|r| r.phone.as_str()),
        )?),
        operator_id: Set(origin.operator),
        assignee_id: Set(None),
        merged_into: Set(None),
        outcome: Set(None),
        quarantined: Set(origin.quarantined),
        site_id: Set(site_id),
    }
    .insert(txn)
    .await?;
    // The evidence files go in with the report they belong to, sealed with its DEK.
    super::attachments::store(txn, &dek, id, &draft.attachments).await?;

    Ok((
        Receipt {
            tracking_code,
            received_on,
            anonymous: draft.is_anonymous(),
        },
        id,
        case_number,
    ))
}

/// Case numbers run per year (2026-0001, …), staff-facing only.
async fn next_case_number(
    txn: &DatabaseTransaction,
    received_on: NaiveDate,
) -> Result<String, ServiceError> {
    use chrono::Datelike;
    let year = received_on.year();
    case_counter::Entity::insert(case_counter::ActiveModel {
        year: Set(year),
        last: Set(0),
    })
    .on_conflict_do_nothing_on([case_counter::Column::Year])
    .exec_without_returning(txn)
    .await?;
    let updated = case_counter::Entity::update_many()
        .col_expr(
            case_counter::Column::Last,
            Expr::col(case_counter::Column::Last).add(1),
        )
        .filter(case_counter::Column::Year.eq(year))
        .exec_with_returning(txn)
        .await?;
    let last = updated
        .first()
        .map(|c| c.last)
        .ok_or_else(|| sea_orm::DbErr::RecordNotFound("case counter".into()))?;
    Ok(format!("{year}-{last:04}"))
}

/// Draws tracking codes until one is unused: with 10^15 codes a repeat is all but
/// impossible, but a collision must never hand one reporter another's case.
async fn unused_tracking_code<C: ConnectionTrait>(
    db: &C,
    keyring: &Keyring,
) -> Result<TrackingCode, ServiceError> {
    loop {
        let code = new_tracking_code();
        let hashes: Vec<Vec<u8>> = keyring
            .lookup_hashes(&code)
            .into_iter()
            .map(|(_, hash)| hash)
            .collect();
        let taken = report::Entity::find()
            .filter(report::Column::TrackingHash.is_in(hashes))
            .one(db)
            .await?;
        if taken.is_none() {
            return Ok(code);
        }
    }
}

/// Looks a report up by its tracking code. A code found under a retired lookup key is
/// re-indexed under the current one, so lookup keys can rotate without a mass migration.
pub async fn track(
    db: &DatabaseConnection,
    keyring: &Keyring,
    code: &TrackingCode,
) -> Result<Option<Progress>, ServiceError> {
    let Some(found) = find_by_code(db, keyring, code).await? else {
        return Ok(None);
    };
    let status = Status::parse(&found.status).unwrap_or(Status::Received);
    let updated_on = found
        .status_changed_at
        .map(|at| at.with_timezone(&Shanghai).date_naive())
        .unwrap_or(found.received_on);
    let dek = report_dek(keyring, &found)?;
    let conversation = super::cases::conversation(db, &dek, &found).await?;
    let can_reply = super::cases::reply_allowed(status, &conversation);
    let messages = conversation
        .into_iter()
        .map(|m| ProgressMessage {
            from_inspector: m.from_inspector,
            text: m.text.to_string(),
            at: m.at.with_timezone(&Shanghai).date_naive(),
        })
        .collect();
    let feedback = if status == Status::Closed {
        super::cases::closing_feedback(db, &dek, found.id)
            .await?
            .map(|text| text.to_string())
    } else {
        None
    };
    Ok(Some(Progress {
        status,
        updated_on,
        messages,
        can_reply,
        feedback,
    }))
}

/// The report a tracking code belongs to, re-indexed under the current lookup key when it
/// was found under a retired one.
pub(crate) async fn find_by_code<C: ConnectionTrait>(
    db: &C,
    keyring: &Keyring,
    code: &TrackingCode,
) -> Result<Option<report::Model>, ServiceError> {
    let candidates = keyring.lookup_hashes(code);
    let hashes: Vec<Vec<u8>> = candidates.into_iter().map(|(_, h)| h).collect();
    let Some(found) = report::Entity::find()
        .filter(report::Column::TrackingHash.is_in(hashes))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let (current_id, current_hash) = keyring.current_lookup_hash(code);
    if found.tracking_key_id != current_id {
        let mut active: report::ActiveModel = found.clone().into();
        active.tracking_key_id = Set(current_id);
        active.tracking_hash = Set(current_hash);
        return Ok(Some(active.update(db).await?));
    }
    Ok(Some(found))
}

/// Does the same database work as a lookup of an unknown code, so a malformed code cannot
/// be told from an unknown one by its timing.
pub async fn track_nothing(db: &DatabaseConnection, keyring: &Keyring) -> Result<(), ServiceError> {
    report::Entity::find()
        .filter(report::Column::TrackingHash.is_in([keyring.dummy_lookup_hash()]))
        .one(db)
        .await?;
    Ok(())
}

/// A report's content, decrypted. Only staff paths (and tests) ever call this.
pub struct OpenedReport {
    pub case_number: String,
    pub description: zeroize::Zeroizing<String>,
    pub subject: Option<zeroize::Zeroizing<String>>,
    pub occurred: Option<zeroize::Zeroizing<String>>,
    pub reporter_name: Option<zeroize::Zeroizing<String>>,
    pub reporter_phone: Option<zeroize::Zeroizing<String>>,
}

/// Unwraps the report's DEK and opens every sealed field; any altered or misplaced value
/// fails the whole opening rather than showing part of a report.
pub async fn open_report(
    db: &DatabaseConnection,
    keyring: &Keyring,
    id: Uuid,
) -> Result<Option<OpenedReport>, ServiceError> {
    let Some(found) = report::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    let dek = report_dek(keyring, &found)?;
    Ok(Some(open_fields(&dek, &found)?))
}

/// The report's DEK, unwrapped with the KEK it names. Everything sealed for this report
/// (its fields, events, notes and messages) opens with it.
pub(crate) fn report_dek(keyring: &Keyring, found: &report::Model) -> Result<Dek, ServiceError> {
    Ok(keyring.unwrap(
        &crate::crypto::WrappedDek {
            dek_id: found.dek_id,
            kek_id: found.dek_kek_id.clone(),
            bytes: found.dek_wrapped.clone(),
        },
        &found.id.to_string(),
    )?)
}

/// Opens the report's own sealed fields.
pub(crate) fn open_fields(dek: &Dek, found: &report::Model) -> Result<OpenedReport, ServiceError> {
    let row = found.id.to_string();
    let open = |field: &str, value: &[u8]| {
        dek.open_string(
            &SealContext {
                table: TABLE,
                row: &row,
                field,
            },
            value,
        )
    };
    let open_opt =
        |field: &str, value: &Option<Vec<u8>>| value.as_deref().map(|v| open(field, v)).transpose();
    Ok(OpenedReport {
        case_number: found.case_number.clone(),
        description: open("description", &found.description)?,
        subject: open_opt("subject", &found.subject)?,
        occurred: open_opt("occurred", &found.occurred)?,
        reporter_name: open_opt("reporter_name", &found.reporter_name)?,
        reporter_phone: open_opt("reporter_phone", &found.reporter_phone)?,
    })
}

/// Forgets spent form tokens that would have expired anyway.
pub async fn forget_spent_tokens(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
) -> Result<u64, ServiceError> {
    Ok(used_form_token::Entity::delete_many()
        .filter(used_form_token::Column::ExpiresAt.lt(now))
        .exec(db)
        .await?
        .rows_affected)
}

/// How many reports wait in quarantine (the ceiling on a flood).
pub async fn quarantined_count(db: &DatabaseConnection) -> Result<u64, ServiceError> {
    use sea_orm::PaginatorTrait;
    Ok(report::Entity::find()
        .filter(report::Column::Quarantined.eq(true))
        .count(db)
        .await?)
}
