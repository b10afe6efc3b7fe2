//! The close-relative register (近亲属备案) as the office keeps it: every filing with its home
//! visits (入户核实), a visit recorded on the day it happened, and the filings not yet visited
//! that the verification report lists. Every reading that opens the register is audited with
//! one entry naming the filings it held; nothing is opened if the entry cannot be written.

use std::collections::HashMap;

use chrono::NaiveDate;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::ServiceError;
use super::access::{Caller, Sealer};
use super::audit::AuditAction;
use super::recusal::{OpenedFiling, filing_key, open_filings};
use crate::crypto::Keyring;
use crate::domain::{TEXT_MAX, VisitFinding, local_day};
use crate::entities::{relative_filing, relative_visit};

/// The table visits are sealed for.
const VISITS: &str = "relative_visits";
/// Longest "who visited", in characters.
const VISITOR_MAX: usize = 100;

/// Which filings a reading holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    All,
    /// Filings with no home visit recorded yet.
    Unvisited,
}

impl Which {
    fn code(self) -> &'static str {
        match self {
            Which::All => "all",
            Which::Unvisited => "not yet visited",
        }
    }
}

/// How the register is read: on a page, or exported as a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    Page,
    Export,
}

/// A filing with its visits, oldest visit first.
pub struct Entry {
    pub filing: OpenedFiling,
    pub visits: Vec<Visit>,
}

/// A home visit, opened.
pub struct Visit {
    pub id: Uuid,
    pub visited_on: NaiveDate,
    pub visitor: Zeroizing<String>,
    pub finding: VisitFinding,
    pub follow_up: Option<Zeroizing<String>>,
    pub recorded_by: Uuid,
}

/// A visit as an inspector enters it.
#[derive(Debug, Clone, Copy)]
pub struct NewVisit<'a> {
    pub visited_on: NaiveDate,
    pub visitor: &'a str,
    pub finding: VisitFinding,
    pub follow_up: Option<&'a str>,
}

/// The register for an inspector or an admin, audited first: a page reading as the register
/// shown, an export as an export, each naming how many filings and which.
pub async fn register(
    caller: Caller<'_>,
    which: Which,
    reading: Reading,
) -> Result<Vec<Entry>, ServiceError> {
    if !(caller.viewer.is_inspector() || caller.viewer.is_admin()) {
        return Err(ServiceError::Forbidden);
    }
    let visited = visited_filings(caller.db).await?;
    let filings: Vec<relative_filing::Model> = relative_filing::Entity::find()
        .order_by_asc(relative_filing::Column::CreatedAt)
        .order_by_asc(relative_filing::Column::Id)
        .all(caller.db)
        .await?
        .into_iter()
        .filter(|f| which == Which::All || !visited.contains_key(&f.id))
        .collect();
    let ids: Vec<Uuid> = filings.iter().map(|f| f.id).collect();
    let (action, verb) = match reading {
        Reading::Page => (AuditAction::OpenRegister, "shown"),
        Reading::Export => (AuditAction::Export, "exported"),
    };
    let listed: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    let detail = format!(
        "close-relative register {verb} ({}), {} filing(s): {}",
        which.code(),
        ids.len(),
        listed.join(", ")
    );
    // A page with nothing on it opens nothing; an export is recorded even when empty, since
    // the file handed on says so.
    if !(ids.is_empty() && reading == Reading::Page) {
        caller.audit(action, None, &detail).await?;
    }

    let mut visits = open_visits(caller.db, caller.keyring, &filings).await?;
    Ok(open_filings(caller.keyring, filings)?
        .into_iter()
        .map(|filing| Entry {
            visits: visits.remove(&filing.id).unwrap_or_default(),
            filing,
        })
        .collect())
}

/// Records a home visit to a filed relative (inspectors only), audited. The day is the one
/// the visit happened, never in the future; who went and the follow-up are sealed under the
/// filing's key. An inspector whose own relative the filing is cannot verify it.
pub async fn record_visit(
    caller: Caller<'_>,
    filing_id: Uuid,
    new: &NewVisit<'_>,
) -> Result<Uuid, ServiceError> {
    if !caller.viewer.is_inspector() {
        return Err(ServiceError::Forbidden);
    }
    let filing = relative_filing::Entity::find_by_id(filing_id)
        .one(caller.db)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if filing.user_id == Some(caller.viewer.user_id) {
        return Err(ServiceError::Invalid("staff.register.own_filing"));
    }
    if new.visited_on > local_day(caller.now) {
        return Err(ServiceError::Invalid("error.date_future"));
    }
    let visitor = new.visitor.trim();
    if visitor.is_empty() {
        return Err(ServiceError::Invalid("staff.register.visitor_required"));
    }
    if visitor.chars().count() > VISITOR_MAX {
        return Err(ServiceError::Invalid("error.too_long"));
    }
    let follow_up = new.follow_up.map(str::trim).filter(|t| !t.is_empty());
    if follow_up.is_some_and(|t| t.chars().count() > TEXT_MAX) {
        return Err(ServiceError::Invalid("error.too_long"));
    }
    // A household that does not qualify, or must put something right, needs a next step.
    if new.finding != VisitFinding::Conform && follow_up.is_none() {
        return Err(ServiceError::Invalid("staff.register.follow_up_required"));
    }

    let detail = format!(
        "home visit of {} ({}) recorded for close-relative filing {filing_id}",
        new.visited_on,
        new.finding.code()
    );
    let txn = caller
        .begin(AuditAction::FilingChange, None, &detail)
        .await?;
    let id = Uuid::new_v4();
    let dek = filing_key(caller.keyring, &filing)?;
    let sealed = Sealer::new(&dek, VISITS, id);
    relative_visit::ActiveModel {
        id: Set(id),
        filing_id: Set(filing_id),
        visited_on: Set(new.visited_on),
        visitor: Set(sealed.seal("visitor", visitor)?),
        finding: Set(new.finding.code().to_string()),
        follow_up: Set(sealed.seal_opt("follow_up", follow_up)?),
        recorded_by: Set(caller.viewer.user_id),
        created_at: Set(caller.now),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(id)
}

/// How many filings have no home visit yet (clear metadata only: nothing is opened).
pub async fn unvisited_count<C: ConnectionTrait>(db: &C) -> Result<u64, ServiceError> {
    let filings = relative_filing::Entity::find().count(db).await?;
    let visited = visited_filings(db).await?.len() as u64;
    Ok(filings.saturating_sub(visited))
}

/// Each visited filing with its number of visits.
async fn visited_filings<C: ConnectionTrait>(db: &C) -> Result<HashMap<Uuid, u64>, ServiceError> {
    let ids: Vec<Uuid> = relative_visit::Entity::find()
        .select_only()
        .column(relative_visit::Column::FilingId)
        .into_tuple()
        .all(db)
        .await?;
    let mut counted = HashMap::new();
    for id in ids {
        *counted.entry(id).or_insert(0) += 1;
    }
    Ok(counted)
}

/// The visits to `filings`, opened under each filing's key, grouped by filing, oldest first.
async fn open_visits(
    db: &DatabaseConnection,
    keyring: &Keyring,
    filings: &[relative_filing::Model],
) -> Result<HashMap<Uuid, Vec<Visit>>, ServiceError> {
    if filings.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = relative_visit::Entity::find()
        .filter(
            relative_visit::Column::FilingId
                .is_in(filings.iter().map(|f| f.id).collect::<Vec<_>>()),
        )
        .order_by_asc(relative_visit::Column::VisitedOn)
        .order_by_asc(relative_visit::Column::CreatedAt)
        .all(db)
        .await?;
    let visited: std::collections::HashSet<Uuid> = rows.iter().map(|r| r.filing_id).collect();
    let mut keys = HashMap::new();
    for filing in filings.iter().filter(|f| visited.contains(&f.id)) {
        keys.insert(filing.id, filing_key(keyring, filing)?);
    }
    let mut opened: HashMap<Uuid, Vec<Visit>> = HashMap::new();
    for row in rows {
        let Some(dek) = keys.get(&row.filing_id) else {
            continue;
        };
        let sealed = Sealer::new(dek, VISITS, row.id);
        let finding = VisitFinding::parse(&row.finding)
            .ok_or_else(|| sea_orm::DbErr::Type(format!("visit finding {}", row.finding)))?;
        opened.entry(row.filing_id).or_default().push(Visit {
            id: row.id,
            visited_on: row.visited_on,
            visitor: sealed.open("visitor", &row.visitor)?,
            finding,
            follow_up: sealed.open_opt("follow_up", row.follow_up.as_deref())?,
            recorded_by: row.recorded_by,
        });
    }
    Ok(opened)
}
