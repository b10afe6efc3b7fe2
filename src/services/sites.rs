//! Posting sites: creating and disabling them, resolving a QR token at intake, and report
//! counts per site, kind and village that point at nobody.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Utc};
use chrono_tz::Asia::Shanghai;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Select, SqlErr, TransactionTrait,
};
use uuid::Uuid;

use super::ServiceError;
use super::audit::{self, AuditAction, AuditRecord};
use crate::crypto::{Keyring, random_token};
use crate::domain::{SiteKind, Villages};
use crate::entities::{report, site};

pub const NAME_MAX: usize = 100;
/// A place where a copy of the notice hangs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub id: Uuid,
    pub kind: SiteKind,
    pub name: String,
    pub village: Option<String>,
    pub token: String,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
}

impl Site {
    /// What the site's QR code encodes: the report form, attributed to this site.
    pub fn url(&self, base_url: &str) -> String {
        format!("{}/r/{}", base_url.trim_end_matches('/'), self.token)
    }

    /// `<kind>-<slug>` where the slug is the name's ASCII letters and digits, or the id when
    /// the name has none (most names are Chinese).
    pub fn file_stem(&self) -> String {
        let mut slug = String::new();
        for c in self.name.chars() {
            if c.is_ascii_alphanumeric() {
                slug.push(c.to_ascii_lowercase());
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
        }
        let slug = slug.trim_end_matches('-');
        if slug.is_empty() {
            format!("{}-{}", self.kind.code(), self.id)
        } else {
            format!("{}-{slug}", self.kind.code())
        }
    }
}

impl TryFrom<site::Model> for Site {
    type Error = ServiceError;

    fn try_from(row: site::Model) -> Result<Site, ServiceError> {
        Ok(Site {
            id: row.id,
            kind: SiteKind::parse(&row.kind).ok_or(ServiceError::Corrupt("site kind"))?,
            name: row.name,
            village: row.village,
            token: row.token,
            enabled: row.enabled,
            created_at: row.created_at,
        })
    }
}

/// A site as an admin (or the CLI) describes it.
#[derive(Debug, Clone)]
pub struct NewSite {
    pub kind: SiteKind,
    pub name: String,
    pub village: Option<String>,
}

/// Creates a site with a fresh unguessable token and records it in the audit log. A household
/// site needs a village, and a village has at most one enabled household site.
pub async fn create_site(
    db: &DatabaseConnection,
    keyring: &Keyring,
    villages: &Villages,
    new: NewSite,
    actor: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<Site, ServiceError> {
    let name: String = new
        .name
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    if name.is_empty() || name.chars().count() > NAME_MAX {
        return Err(ServiceError::Invalid("staff.sites.bad_name"));
    }
    let village = new
        .village
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty());
    if let Some(id) = &village
        && villages.get(id).is_none()
    {
        return Err(ServiceError::Invalid("staff.sites.bad_village"));
    }
    let household_village = match (new.kind, &village) {
        (SiteKind::Household, None) => {
            return Err(ServiceError::Invalid("staff.sites.household_needs_village"));
        }
        (SiteKind::Household, Some(v)) => Some(v.clone()),
        _ => None,
    };

    let id = Uuid::new_v4();
    let txn = db.begin().await?;
    // The audit append goes first: it takes the write lock, so two admins adding a household
    // site for one village at once are serialized and the second sees the first.
    let detail = format!(
        "site {id} created: {} {}",
        new.kind.code(),
        village.as_deref().unwrap_or("-")
    );
    audit::append(
        &txn,
        keyring,
        AuditRecord::new(actor, AuditAction::SiteChange, None, &detail),
        now,
    )
    .await?;
    if let Some(v) = &household_village {
        let existing = site::Entity::find()
            .filter(site::Column::HouseholdVillage.eq(v.as_str()))
            .one(&txn)
            .await?;
        if existing.is_some() {
            return Err(ServiceError::Invalid("staff.sites.household_exists"));
        }
    }
    let row = site::Model {
        id,
        kind: new.kind.code().to_string(),
        name,
        village,
        token: random_token(),
        enabled: true,
        household_village: household_village.clone(),
        created_at: now,
    };
    let inserted = site::Entity::insert(site::ActiveModel {
        id: Set(row.id),
        kind: Set(row.kind.clone()),
        name: Set(row.name.clone()),
        village: Set(row.village.clone()),
        token: Set(row.token.clone()),
        enabled: Set(true),
        household_village: Set(row.household_village.clone()),
        created_at: Set(now),
    })
    .exec_without_returning(&txn)
    .await;
    match inserted {
        Ok(_) => {}
        // The unique index is the last word should the check above ever be raced.
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Err(match household_village {
                Some(_) => ServiceError::Invalid("staff.sites.household_exists"),
                None => ServiceError::Db(e),
            });
        }
        Err(e) => return Err(e.into()),
    }
    txn.commit().await?;
    Site::try_from(row)
}

/// Every site, enabled or not, by kind (in the plan's order), village and name.
pub async fn list_sites<C: ConnectionTrait>(db: &C) -> Result<Vec<Site>, ServiceError> {
    let rows = site::Entity::find()
        .order_by_asc(site::Column::CreatedAt)
        .all(db)
        .await?;
    let mut sites = rows
        .into_iter()
        .map(Site::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    sites.sort_by(|a, b| {
        (a.kind, &a.village, &a.name, a.created_at).cmp(&(
            b.kind,
            &b.village,
            &b.name,
            b.created_at,
        ))
    });
    Ok(sites)
}

pub async fn find_site<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<Option<Site>, ServiceError> {
    one_site(db, site::Entity::find_by_id(id)).await
}

/// The site a token belongs to, enabled or not.
pub async fn find_by_token<C: ConnectionTrait>(
    db: &C,
    token: &str,
) -> Result<Option<Site>, ServiceError> {
    one_site(
        db,
        site::Entity::find().filter(site::Column::Token.eq(token)),
    )
    .await
}

async fn one_site<C: ConnectionTrait>(
    db: &C,
    query: Select<site::Entity>,
) -> Result<Option<Site>, ServiceError> {
    query.one(db).await?.map(Site::try_from).transpose()
}

/// A site named by its id or by its token, as an admin types it on the command line.
pub async fn find_by_token_or_id<C: ConnectionTrait>(
    db: &C,
    token_or_id: &str,
) -> Result<Option<Site>, ServiceError> {
    let token_or_id = token_or_id.trim();
    if let Ok(id) = Uuid::parse_str(token_or_id)
        && let Some(site) = find_site(db, id).await?
    {
        return Ok(Some(site));
    }
    find_by_token(db, token_or_id).await
}

/// The site a report is attributed to at intake: only an enabled site's token counts. An
/// unknown or disabled token leaves the report unattributed — it is never refused for that.
pub(crate) async fn site_for_intake<C: ConnectionTrait>(
    db: &C,
    token: &str,
) -> Result<Option<Uuid>, ServiceError> {
    let found: Option<Uuid> = site::Entity::find()
        .select_only()
        .column(site::Column::Id)
        .filter(site::Column::Token.eq(token))
        .filter(site::Column::Enabled.eq(true))
        .into_tuple()
        .one(db)
        .await?;
    Ok(found)
}

/// Disables a site: its QR code still opens the form, but reports through it are no longer
/// attributed to it. A village whose household site is disabled may get a new one. Disabling
/// a disabled site changes nothing.
pub async fn disable_site(
    db: &DatabaseConnection,
    keyring: &Keyring,
    id: Uuid,
    actor: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<Site, ServiceError> {
    let detail = format!("site {id} disabled");
    let record = AuditRecord::new(actor, AuditAction::SiteChange, None, &detail);
    let txn = audit::begin(db, keyring, record, now).await?;
    let changed = site::Entity::update_many()
        .col_expr(site::Column::Enabled, Expr::value(false))
        .col_expr(
            site::Column::HouseholdVillage,
            Expr::value(Option::<String>::None),
        )
        .filter(site::Column::Id.eq(id))
        .filter(site::Column::Enabled.eq(true))
        .exec(&txn)
        .await?
        .rows_affected;
    let site = find_site(&txn, id).await?.ok_or(ServiceError::NotFound)?;
    if changed == 0 {
        // Already disabled: leave no audit entry for a change that did not happen.
        txn.rollback().await?;
        return Ok(site);
    }
    txn.commit().await?;
    Ok(site)
}

/// The fixed periods counts cover. Arbitrary ranges are not offered: the difference of two
/// overlapping ranges could isolate a single report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// Monday to Sunday, Asia/Shanghai.
    Week,
    Month,
    Campaign,
}

impl Period {
    pub const ALL: [Period; 3] = [Period::Week, Period::Month, Period::Campaign];

    pub fn code(self) -> &'static str {
        match self {
            Period::Week => "week",
            Period::Month => "month",
            Period::Campaign => "campaign",
        }
    }
}

/// A period and its first and last day, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeriodSpan {
    pub period: Period,
    pub first: NaiveDate,
    pub last: NaiveDate,
}

/// What counts may show: the threshold and the campaign's dates, from the settings.
#[derive(Debug, Clone, Copy)]
pub struct CountRules {
    pub min_shown: u32,
    pub campaign_start: NaiveDate,
    pub campaign_end: NaiveDate,
}

/// The week, month and campaign that contain `today` (the campaign is what it is).
pub fn period_spans(today: NaiveDate, rules: &CountRules) -> [PeriodSpan; 3] {
    let monday = today - Days::new(u64::from(today.weekday().num_days_from_monday()));
    let month_first = today.with_day(1).unwrap_or(today);
    let month_last = month_first
        .checked_add_months(Months::new(1))
        .and_then(|next| next.pred_opt())
        .unwrap_or(today);
    [
        PeriodSpan {
            period: Period::Week,
            first: monday,
            last: monday + Days::new(6),
        },
        PeriodSpan {
            period: Period::Month,
            first: month_first,
            last: month_last,
        },
        PeriodSpan {
            period: Period::Campaign,
            first: rules.campaign_start,
            last: rules.campaign_end,
        },
    ]
}

/// A count as it may be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// Zero, or at least the threshold.
    Exact(u64),
    /// Between one and the threshold: "fewer than N".
    FewerThan(u32),
    /// A group (a kind, a village) some of whose sites are shown as "fewer than N": the sum of
    /// the sites shown exactly, and how many are masked. The group's true total is never
    /// shown, or subtracting the exact sites from it would give the masked one back.
    Partly { exact: u64, masked: u32, below: u32 },
}

impl Shown {
    /// One count (a site, or the unattributed reports) against the threshold.
    pub fn of(count: u64, min_shown: u32) -> Shown {
        if count == 0 || count >= u64::from(min_shown) {
            Shown::Exact(count)
        } else {
            Shown::FewerThan(min_shown)
        }
    }

    /// A group's count made only from what its sites show, so that it tells nothing the
    /// site rows do not already tell.
    fn of_group(members: impl IntoIterator<Item = Shown>, min_shown: u32) -> Shown {
        let (mut exact, mut masked) = (0u64, 0u32);
        for member in members {
            match member {
                Shown::Exact(n) => exact += n,
                Shown::FewerThan(_) => masked += 1,
                Shown::Partly {
                    exact: e,
                    masked: m,
                    ..
                } => {
                    exact += e;
                    masked += m;
                }
            }
        }
        match (exact, masked) {
            (n, 0) => Shown::Exact(n),
            (0, 1) => Shown::FewerThan(min_shown),
            (exact, masked) => Shown::Partly {
                exact,
                masked,
                below: min_shown,
            },
        }
    }
}

/// A row of counts, one per period (in `Period::ALL` order).
#[derive(Debug, Clone)]
pub struct CountRow<K> {
    pub key: K,
    pub counts: [Shown; 3],
}

/// Report counts over the fixed periods, masked below the threshold.
#[derive(Debug, Clone)]
pub struct Counts {
    pub min_shown: u32,
    pub periods: [PeriodSpan; 3],
    pub sites: Vec<CountRow<Site>>,
    pub kinds: Vec<CountRow<SiteKind>>,
    /// Villages that have at least one site, by village id.
    pub villages: Vec<CountRow<String>>,
    /// Reports that came through no site's code: other channels, or the plain address.
    pub unattributed: [Shown; 3],
}

/// Counts reports per site, kind and village over this week, this month and the campaign,
/// from metadata only (`GROUP BY` in the database; no report is read).
///
/// Reports the viewer is recused from are counted too: a count is an aggregate that shows no
/// case, and leaving them out would let a recused inspector tell which reports name them.
pub async fn counts<C: ConnectionTrait>(
    db: &C,
    rules: &CountRules,
    now: DateTime<Utc>,
) -> Result<Counts, ServiceError> {
    let today = now.with_timezone(&Shanghai).date_naive();
    let periods = period_spans(today, rules);
    let sites = list_sites(db).await?;
    let mut per_period: Vec<HashMap<Option<Uuid>, u64>> = Vec::with_capacity(3);
    for span in &periods {
        let rows: Vec<(Option<Uuid>, i64)> = report::Entity::find()
            .select_only()
            .column(report::Column::SiteId)
            .column_as(report::Column::Id.count(), "reports")
            .filter(report::Column::ReceivedOn.between(span.first, span.last))
            .group_by(report::Column::SiteId)
            .into_tuple()
            .all(db)
            .await?;
        per_period.push(
            rows.into_iter()
                .map(|(site, n)| (site, u64::try_from(n).unwrap_or(0)))
                .collect(),
        );
    }
    let min = rules.min_shown;
    let count_of = |key: Option<Uuid>| -> [Shown; 3] {
        std::array::from_fn(|i| {
            Shown::of(
                per_period
                    .get(i)
                    .and_then(|m| m.get(&key))
                    .copied()
                    .unwrap_or(0),
                min,
            )
        })
    };

    let site_rows: Vec<CountRow<Site>> = sites
        .into_iter()
        .map(|site| CountRow {
            counts: count_of(Some(site.id)),
            key: site,
        })
        .collect();
    let group = |members: Vec<&CountRow<Site>>| -> [Shown; 3] {
        std::array::from_fn(|i| Shown::of_group(members.iter().map(|row| row.counts[i]), min))
    };
    let kinds = SiteKind::ALL
        .into_iter()
        .map(|kind| CountRow {
            key: kind,
            counts: group(site_rows.iter().filter(|r| r.key.kind == kind).collect()),
        })
        .collect();
    let mut by_village: BTreeMap<&str, Vec<&CountRow<Site>>> = BTreeMap::new();
    for row in &site_rows {
        if let Some(village) = row.key.village.as_deref() {
            by_village.entry(village).or_default().push(row);
        }
    }
    let villages = by_village
        .into_iter()
        .map(|(village, members)| CountRow {
            key: village.to_string(),
            counts: group(members),
        })
        .collect();
    Ok(Counts {
        min_shown: min,
        periods,
        unattributed: count_of(None),
        kinds,
        villages,
        sites: site_rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> CountRules {
        CountRules {
            min_shown: 5,
            campaign_start: NaiveDate::from_ymd_opt(2026, 9, 1).unwrap(),
            campaign_end: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
        }
    }

    #[test]
    fn weeks_run_monday_to_sunday_and_months_to_their_last_day() {
        // 2026-02-26 is a Thursday.
        let [week, month, campaign] =
            period_spans(NaiveDate::from_ymd_opt(2026, 2, 26).unwrap(), &rules());
        assert_eq!(week.first, NaiveDate::from_ymd_opt(2026, 2, 23).unwrap());
        assert_eq!(week.last, NaiveDate::from_ymd_opt(2026, 3, 1).unwrap());
        assert_eq!(month.first, NaiveDate::from_ymd_opt(2026, 2, 1).unwrap());
        assert_eq!(month.last, NaiveDate::from_ymd_opt(2026, 2, 28).unwrap());
        assert_eq!(campaign.first, rules().campaign_start);
        assert_eq!(campaign.last, rules().campaign_end);
        let [week, month, _] =
            period_spans(NaiveDate::from_ymd_opt(2026, 12, 28).unwrap(), &rules());
        assert_eq!(week.first, NaiveDate::from_ymd_opt(2026, 12, 28).unwrap());
        assert_eq!(month.last, NaiveDate::from_ymd_opt(2026, 12, 31).unwrap());
    }

    #[test]
    fn counts_below_the_threshold_are_masked_and_zero_is_not() {
        assert_eq!(Shown::of(0, 5), Shown::Exact(0));
        for n in 1..5 {
            assert_eq!(Shown::of(n, 5), Shown::FewerThan(5));
        }
        assert_eq!(Shown::of(5, 5), Shown::Exact(5));
        assert_eq!(Shown::of(1, 1), Shown::Exact(1));
    }

    #[test]
    fn a_group_never_reveals_a_masked_member_by_subtraction() {
        let group = |counts: &[u64]| Shown::of_group(counts.iter().map(|&n| Shown::of(n, 5)), 5);
        assert_eq!(group(&[7, 0, 5]), Shown::Exact(12));
        assert_eq!(group(&[2]), Shown::FewerThan(5));
        assert_eq!(group(&[2, 0]), Shown::FewerThan(5));
        // 7 + 2 = 9 would let anyone compute the 2 from the 7.
        assert_eq!(
            group(&[7, 2]),
            Shown::Partly {
                exact: 7,
                masked: 1,
                below: 5
            }
        );
        // Two masked sites of 3 and 4: the 7 they make up is not shown either.
        assert_eq!(
            group(&[3, 4]),
            Shown::Partly {
                exact: 0,
                masked: 2,
                below: 5
            }
        );
        // And a group shows the same whatever the masked values are.
        assert_eq!(group(&[7, 1]), group(&[7, 4]));
        assert_eq!(group(&[1, 1]), group(&[4, 4]));
    }

    fn site(name: &str, kind: SiteKind) -> Site {
        Site {
            id: Uuid::nil(),
            kind,
            name: name.to_string(),
            village: None,
            token: "tok".to_string(),
            enabled: true,
            created_at: DateTime::<Utc>::UNIX_EPOCH,
        }
    }

    #[test]
    fn file_stems_use_the_ascii_slug_or_else_the_id() {
        assert_eq!(
            site("Dalu Bus Station #2", SiteKind::StationMarket).file_stem(),
            "station_market-dalu-bus-station-2"
        );
        assert_eq!(
            site("青山村村务公开栏", SiteKind::VillageBoard).file_stem(),
            format!("village_board-{}", Uuid::nil())
        );
        assert_eq!(
            site("x", SiteKind::Website).url("https://jubao.example.cn/"),
            "https://jubao.example.cn/r/tok"
        );
    }
}
