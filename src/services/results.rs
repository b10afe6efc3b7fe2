//! The public results page (阳光公开): what the campaign came to, per month, in aggregates
//! only. A figure that could point at one reporter is not published: a count between one and
//! the floor reads "fewer than N"; a count that differs from one already published by fewer
//! than N is published as a band, so subtracting two months tells nothing; a total is
//! published only when every month under it is exact; villages below the floor are grouped,
//! and the group is widened until it too reaches the floor.

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, Months, NaiveDate};
use sea_orm::{ColumnTrait, ConnectionTrait, DerivePartialModel, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::ServiceError;
use crate::domain::{Outcome, ResultKind, Status, Yuan};
use crate::entities::{rectification_result, report, report_event};

/// A published figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    Exact(u64),
    /// Between one and the floor.
    FewerThan(u32),
    /// Within this band (both ends included): too close to a figure already published.
    Band(u64, u64),
    /// Not published: it would give a masked figure back.
    Withheld,
}

impl Cell {
    fn is_exact(self) -> bool {
        matches!(self, Cell::Exact(_))
    }
}

/// An amount of money as published: only where enough cases make it up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Money {
    Exact(Yuan),
    /// Made up by fewer cases than the floor.
    FewerCases(u32),
}

/// What the page shows, per month, of each measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Measure {
    Received,
    Accepted,
    Substantiated,
    PartlySubstantiated,
    Unsubstantiated,
    SupportStopped,
    SupportGranted,
}

impl Measure {
    pub const ALL: [Measure; 7] = [
        Measure::Received,
        Measure::Accepted,
        Measure::Substantiated,
        Measure::PartlySubstantiated,
        Measure::Unsubstantiated,
        Measure::SupportStopped,
        Measure::SupportGranted,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Measure::Received => "received",
            Measure::Accepted => "accepted",
            Measure::Substantiated => "substantiated",
            Measure::PartlySubstantiated => "partly_substantiated",
            Measure::Unsubstantiated => "unsubstantiated",
            Measure::SupportStopped => "support_stopped",
            Measure::SupportGranted => "support_granted",
        }
    }
}

/// One row of the monthly table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub measure: Measure,
    /// One cell per month, oldest first.
    pub months: Vec<Cell>,
    pub total: Cell,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Results {
    /// The first day of each month shown, oldest first.
    pub months: Vec<NaiveDate>,
    pub rows: Vec<Row>,
    /// Funds recovered, per month and in all.
    pub funds: Vec<Money>,
    pub funds_total: Money,
    /// Reports received per village over the whole period (village id, or `None` for the
    /// group of villages below the floor), largest first.
    pub villages: Vec<(Option<String>, Cell)>,
    pub min_shown: u32,
}

#[derive(Debug, DerivePartialModel)]
#[sea_orm(entity = "report::Entity")]
struct Counted {
    id: Uuid,
    village: Option<String>,
    status: String,
    outcome: Option<String>,
    received_on: NaiveDate,
}

/// The results from the month of `start` to the month of `today` (at most 24 months).
pub async fn results<C: ConnectionTrait>(
    db: &C,
    start: NaiveDate,
    today: NaiveDate,
    min_shown: u32,
) -> Result<Results, ServiceError> {
    let months = months_between(start, today);
    let first = months.first().copied().unwrap_or(start);
    let reports: Vec<Counted> = report::Entity::find()
        .filter(report::Column::Quarantined.eq(false))
        .filter(report::Column::ReceivedOn.gte(first))
        .filter(report::Column::ReceivedOn.lte(today))
        .into_partial_model()
        .all(db)
        .await?;
    let ids: Vec<Uuid> = reports.iter().map(|r| r.id).collect();
    let accepted = accepted_cases(db, &ids).await?;
    let month_of = |day: NaiveDate| months.iter().rposition(|m| *m <= day);

    let mut counts: HashMap<Measure, Vec<u64>> = Measure::ALL
        .into_iter()
        .map(|m| (m, vec![0; months.len()]))
        .collect();
    let mut add = |measure: Measure, at: Option<usize>, n: u64| {
        if let (Some(at), Some(row)) = (at, counts.get_mut(&measure)) {
            row[at] += n;
        }
    };
    let mut villages: HashMap<Option<String>, u64> = HashMap::new();
    for r in &reports {
        let at = month_of(r.received_on);
        add(Measure::Received, at, 1);
        if accepted.contains(&r.id) || r.outcome.is_some() {
            add(Measure::Accepted, at, 1);
        }
        match r.outcome.as_deref().and_then(Outcome::parse) {
            Some(Outcome::Substantiated) => add(Measure::Substantiated, at, 1),
            Some(Outcome::PartlySubstantiated) => add(Measure::PartlySubstantiated, at, 1),
            Some(Outcome::Unsubstantiated) => add(Measure::Unsubstantiated, at, 1),
            None => {}
        }
        if r.status != Status::Merged.code() {
            *villages.entry(r.village.clone()).or_default() += 1;
        }
    }
    // Results count in the month they happened, whenever the case came in.
    let mut funds = vec![(Yuan::default(), 0u64); months.len()];
    let mut funded: Vec<HashSet<Uuid>> = vec![HashSet::new(); months.len()];
    for r in rectification_result::Entity::find()
        .filter(rectification_result::Column::HappenedOn.gte(first))
        .filter(rectification_result::Column::HappenedOn.lte(today))
        .all(db)
        .await?
    {
        let at = month_of(r.happened_on);
        let n = u64::try_from(r.count).unwrap_or(0);
        match ResultKind::parse(&r.kind) {
            Some(ResultKind::SupportStopped) => add(Measure::SupportStopped, at, n),
            Some(ResultKind::SupportGranted) => add(Measure::SupportGranted, at, n),
            Some(ResultKind::FundsRecovered) => {
                if let Some(at) = at {
                    funds[at].0 = funds[at].0 + Yuan::from_fen(r.amount_fen.unwrap_or(0));
                    if funded[at].insert(r.report_id) {
                        funds[at].1 += 1;
                    }
                }
            }
            _ => {}
        }
    }
    let rows = Measure::ALL
        .into_iter()
        .map(|measure| {
            let values = counts.remove(&measure).unwrap_or_default();
            let months = publish_months(&values, min_shown);
            let total = if months.iter().all(|c| c.is_exact()) {
                Cell::Exact(values.iter().sum())
            } else {
                Cell::Withheld
            };
            Row {
                measure,
                months,
                total,
            }
        })
        .collect();
    let money = |(amount, cases): (Yuan, u64)| {
        if cases == 0 || cases >= u64::from(min_shown) {
            Money::Exact(amount)
        } else {
            Money::FewerCases(min_shown)
        }
    };
    let funds_total = if funds.iter().all(|f| matches!(money(*f), Money::Exact(_))) {
        let all_cases: HashSet<&Uuid> = funded.iter().flatten().collect();
        money((funds.iter().map(|f| f.0).sum(), all_cases.len() as u64))
    } else {
        Money::FewerCases(min_shown)
    };
    Ok(Results {
        months,
        rows,
        funds: funds.into_iter().map(money).collect(),
        funds_total,
        villages: publish_villages(villages, min_shown),
        min_shown,
    })
}

/// Each month's figure, against the floor and against every month published before it.
fn publish_months(values: &[u64], min_shown: u32) -> Vec<Cell> {
    let floor = u64::from(min_shown.max(1));
    let mut published: Vec<u64> = Vec::new();
    values
        .iter()
        .map(|&v| {
            if v > 0 && v < floor {
                return Cell::FewerThan(min_shown);
            }
            let near = published.iter().any(|&p| p != v && p.abs_diff(v) < floor);
            if near {
                let low = v / floor * floor;
                Cell::Band(low, low + floor - 1)
            } else {
                published.push(v);
                Cell::Exact(v)
            }
        })
        .collect()
}

/// Villages at or above the floor by name; the rest as one group, widened with the
/// smallest named villages until it reaches the floor too (or holds them all).
fn publish_villages(
    counts: HashMap<Option<String>, u64>,
    min_shown: u32,
) -> Vec<(Option<String>, Cell)> {
    let floor = u64::from(min_shown.max(1));
    let mut named: Vec<(String, u64)> = Vec::new();
    let mut grouped = 0u64;
    for (village, n) in counts {
        match village {
            Some(v) if n >= floor => named.push((v, n)),
            _ => grouped += n,
        }
    }
    named.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    while grouped > 0 && grouped < floor {
        let Some((_, n)) = named.pop() else {
            break;
        };
        grouped += n;
    }
    let mut shown: Vec<(Option<String>, Cell)> = named
        .into_iter()
        .map(|(v, n)| (Some(v), Cell::Exact(n)))
        .collect();
    if grouped > 0 {
        let cell = if grouped < floor {
            Cell::FewerThan(min_shown)
        } else {
            Cell::Exact(grouped)
        };
        shown.push((None, cell));
    }
    shown
}

/// The cases ever accepted.
async fn accepted_cases<C: ConnectionTrait>(
    db: &C,
    ids: &[Uuid],
) -> Result<HashSet<Uuid>, ServiceError> {
    let mut found = HashSet::new();
    for chunk in ids.chunks(500) {
        for e in report_event::Entity::find()
            .filter(report_event::Column::ReportId.is_in(chunk.to_vec()))
            .filter(report_event::Column::Kind.eq("status"))
            .filter(report_event::Column::ToStatus.eq(Status::Accepted.code()))
            .all(db)
            .await?
        {
            found.insert(e.report_id);
        }
    }
    Ok(found)
}

/// The first day of each month from `start`'s to `today`'s, the last 24 at most.
fn months_between(start: NaiveDate, today: NaiveDate) -> Vec<NaiveDate> {
    let first = |d: NaiveDate| d.with_day(1).unwrap_or(d);
    let mut months: Vec<NaiveDate> = std::iter::successors(Some(first(start.min(today))), |m| {
        m.checked_add_months(Months::new(1))
    })
    .take_while(|m| *m <= today)
    .collect();
    let keep = months.len().saturating_sub(24);
    months.drain(..keep);
    months
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::day;

    #[test]
    fn a_count_below_the_floor_is_never_published() {
        assert_eq!(
            publish_months(&[0, 1, 4, 5, 12], 5),
            [
                Cell::Exact(0),
                Cell::FewerThan(5),
                Cell::FewerThan(5),
                Cell::Exact(5),
                Cell::Exact(12)
            ]
        );
    }

    #[test]
    fn a_month_one_away_from_a_published_month_is_a_band() {
        // 10 then 11: subtracting would say one more report came in.
        assert_eq!(
            publish_months(&[10, 11], 5),
            [Cell::Exact(10), Cell::Band(10, 14)]
        );
        assert_eq!(
            publish_months(&[10, 10, 15], 5),
            [Cell::Exact(10), Cell::Exact(10), Cell::Exact(15)]
        );
        assert_eq!(
            publish_months(&[7, 20, 9], 5),
            [Cell::Exact(7), Cell::Exact(20), Cell::Band(5, 9)]
        );
    }

    #[test]
    fn small_villages_are_grouped_until_the_group_reaches_the_floor() {
        let counts = HashMap::from([
            (Some("a".to_string()), 9),
            (Some("b".to_string()), 6),
            (Some("c".to_string()), 1),
            (None, 1),
        ]);
        // 1 + 1 is below the floor: the smallest named village joins the group.
        assert_eq!(
            publish_villages(counts, 5),
            [
                (Some("a".to_string()), Cell::Exact(9)),
                (None, Cell::Exact(8))
            ]
        );
        let lone = HashMap::from([(Some("c".to_string()), 2)]);
        assert_eq!(publish_villages(lone, 5), [(None, Cell::FewerThan(5))]);
    }

    #[test]
    fn months_run_from_the_start_to_today() {
        assert_eq!(
            months_between(day("2024-08-30"), day("2024-10-09")),
            [day("2024-08-01"), day("2024-09-01"), day("2024-10-01")]
        );
        assert_eq!(
            months_between(day("2020-01-15"), day("2024-10-09")).len(),
            24
        );
    }
}
