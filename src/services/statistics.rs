//! The office's figures for a period, exact, for inspectors: what came in (by channel,
//! category, village, site kind, week), what was done with it (accepted, findings,
//! transfers, reports to the bureau, rectification and its results), and how fast (working
//! days to accept and to conclude). Reads clear metadata only and decrypts nothing; a case
//! the viewer is recused from is not counted for them.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, Days, NaiveDate};
use sea_orm::{ColumnTrait, ConnectionTrait, DerivePartialModel, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::ServiceError;
use super::access::{Viewer, status_of};
use super::cases::rectification_of;
use super::deadlines::{self, CaseDates, Deadlines};
use super::sites;
use crate::domain::{CaseEvent, Category, Outcome, ResultKind, Status, Yuan};
use crate::entities::{report, report_event};

/// The first and last day counted (Asia/Shanghai), both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Span {
    /// A span from its ends; `None` when it runs backwards or over more than ten years.
    pub fn new(from: NaiveDate, to: NaiveDate) -> Option<Span> {
        let longest = from.checked_add_days(Days::new(3660))?;
        (from <= to && to <= longest).then_some(Span { from, to })
    }
}

/// Median and 90th percentile of a number of working days, over `n` cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Spread {
    pub n: usize,
    pub median: Option<u32>,
    pub p90: Option<u32>,
}

impl Spread {
    /// Nearest-rank percentiles: the value at or below which that share of cases falls.
    fn of(mut days: Vec<u32>) -> Spread {
        days.sort_unstable();
        let rank = |p: usize| -> Option<u32> {
            let n = days.len();
            (n > 0).then(|| days[(p * n).div_ceil(100).clamp(1, n) - 1])
        };
        Spread {
            n: days.len(),
            median: rank(50),
            p90: rank(90),
        }
    }
}

/// Everything counted for the period.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Statistics {
    pub received: u64,
    /// Channel codes, most first.
    pub by_channel: Vec<(String, u64)>,
    pub by_category: Vec<(Category, u64)>,
    /// Village ids (`None`: not given), most first.
    pub by_village: Vec<(Option<String>, u64)>,
    /// Site kind codes (`None`: not through a posted QR code), most first.
    pub by_site_kind: Vec<(Option<String>, u64)>,
    pub accepted: u64,
    pub not_accepted: u64,
    pub merged: u64,
    /// Concluded, by finding (every finding, in order).
    pub findings: Vec<(Outcome, u64)>,
    pub transferred: u64,
    pub reported: u64,
    pub measures: u64,
    pub measures_done: u64,
    pub measures_overdue: u64,
    /// Rectification results by kind (every kind, in order): households or people, amount.
    pub results: Vec<(ResultKind, u64, Yuan)>,
    pub to_accept: Spread,
    pub to_conclude: Spread,
    /// Cases past their stage's due date on the day asked.
    pub overdue_now: u64,
    /// Reports received per week, by the week's Monday, every week of the period.
    pub weekly: Vec<(NaiveDate, u64)>,
}

impl Statistics {
    pub fn funds_recovered(&self) -> Yuan {
        self.result(ResultKind::FundsRecovered).1
    }

    /// People dealt with, in all ways.
    pub fn people_dealt_with(&self) -> u64 {
        self.results
            .iter()
            .filter(|(kind, ..)| kind.is_sanction())
            .map(|(_, n, _)| n)
            .sum()
    }

    pub fn result(&self, kind: ResultKind) -> (u64, Yuan) {
        self.results
            .iter()
            .find(|(k, ..)| *k == kind)
            .map_or((0, Yuan::default()), |(_, n, y)| (*n, *y))
    }
}

#[derive(Debug, DerivePartialModel)]
#[sea_orm(entity = "report::Entity")]
struct Counted {
    id: Uuid,
    channel: String,
    category: String,
    village: Option<String>,
    site_id: Option<Uuid>,
    status: String,
    outcome: Option<String>,
    received_on: NaiveDate,
}

/// The figures for the reports received in `span` that the viewer may see, as of `today`.
/// Only inspectors get figures.
pub async fn statistics<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    span: Span,
    deadlines: &Deadlines,
    today: NaiveDate,
) -> Result<Statistics, ServiceError> {
    if !viewer.is_inspector() {
        return Err(ServiceError::Forbidden);
    }
    let Some(visible) = viewer.visible() else {
        return Ok(Statistics::default());
    };
    let reports: Vec<Counted> = report::Entity::find()
        .filter(visible)
        .filter(report::Column::ReceivedOn.gte(span.from))
        .filter(report::Column::ReceivedOn.lte(span.to))
        .into_partial_model()
        .all(db)
        .await?;
    let ids: Vec<Uuid> = reports.iter().map(|r| r.id).collect();
    let history = history_of(db, &ids).await?;
    let site_kinds: HashMap<Uuid, String> = sites::list_sites(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s.kind.code().to_string()))
        .collect();
    let rectified = rectification_of(db, &ids, today).await?;

    let mut stats = Statistics {
        received: reports.len() as u64,
        ..Statistics::default()
    };
    let mut channels: HashMap<String, u64> = HashMap::new();
    let mut categories: HashMap<Category, u64> = HashMap::new();
    let mut villages: HashMap<Option<String>, u64> = HashMap::new();
    let mut kinds: HashMap<Option<String>, u64> = HashMap::new();
    let mut findings: HashMap<Outcome, u64> = HashMap::new();
    let (mut to_accept, mut to_conclude) = (Vec::new(), Vec::new());
    let mut weekly: BTreeMap<NaiveDate, u64> = weeks(span).map(|w| (w, 0)).collect();
    let calendar = &deadlines.calendar;
    for r in &reports {
        let status = status_of(&r.status);
        let seen = history.get(&r.id).cloned().unwrap_or_default();
        *channels.entry(r.channel.clone()).or_default() += 1;
        *categories
            .entry(Category::parse(&r.category).unwrap_or(Category::Other))
            .or_default() += 1;
        *villages.entry(r.village.clone()).or_default() += 1;
        let kind = r.site_id.and_then(|s| site_kinds.get(&s).cloned());
        *kinds.entry(kind).or_default() += 1;
        *weekly.entry(monday_of(r.received_on)).or_default() += 1;
        match status {
            Status::NotAccepted => stats.not_accepted += 1,
            Status::Merged => stats.merged += 1,
            _ => {}
        }
        if let Some(on) = seen.accepted {
            stats.accepted += 1;
            to_accept.push(calendar.working_days_between(r.received_on, on));
        }
        if let Some(outcome) = r.outcome.as_deref().and_then(Outcome::parse) {
            *findings.entry(outcome).or_default() += 1;
            if let Some(on) = seen.concluded {
                let from = seen.accepted.unwrap_or(r.received_on);
                to_conclude.push(calendar.working_days_between(from, on));
            }
        }
        stats.transferred += u64::from(seen.transferred);
        stats.reported += u64::from(seen.reported);
        let dates = CaseDates {
            status,
            received_on: r.received_on,
            accepted_on: seen.accepted,
        };
        stats.overdue_now += u64::from(deadlines.is_overdue(&dates, today));
        if let Some(done) = rectified.get(&r.id) {
            stats.measures += done.measures as u64;
            stats.measures_done += done.done as u64;
            stats.measures_overdue += done.overdue as u64;
        }
    }
    stats.by_channel = most_first(channels);
    stats.by_category = Category::ALL
        .into_iter()
        .map(|c| (c, categories.get(&c).copied().unwrap_or(0)))
        .collect();
    stats.by_village = most_first(villages);
    stats.by_site_kind = most_first(kinds);
    stats.findings = Outcome::ALL
        .into_iter()
        .map(|o| (o, findings.get(&o).copied().unwrap_or(0)))
        .collect();
    stats.results = ResultKind::ALL
        .into_iter()
        .map(|kind| {
            rectified.values().map(|r| r.total(kind)).fold(
                (kind, 0, Yuan::default()),
                |(kind, n, sum), (more, amount)| (kind, n + more, sum + amount),
            )
        })
        .collect();
    stats.to_accept = Spread::of(to_accept);
    stats.to_conclude = Spread::of(to_conclude);
    stats.weekly = weekly.into_iter().collect();
    Ok(stats)
}

/// What a case's history says the statistics need.
#[derive(Debug, Clone, Default)]
struct Seen {
    accepted: Option<NaiveDate>,
    concluded: Option<NaiveDate>,
    transferred: bool,
    reported: bool,
}

async fn history_of<C: ConnectionTrait>(
    db: &C,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Seen>, ServiceError> {
    let mut seen: HashMap<Uuid, Seen> = HashMap::new();
    let transferred = CaseEvent::TransferredToDisciplinePost.code();
    let reported = CaseEvent::ReportedToDistrictBureau.code();
    for chunk in ids.chunks(500) {
        let events = report_event::Entity::find()
            .filter(report_event::Column::ReportId.is_in(chunk.to_vec()))
            .all(db)
            .await?;
        for e in events {
            let entry = seen.entry(e.report_id).or_default();
            let on = deadlines::today(e.at);
            let first = |day: &mut Option<NaiveDate>| {
                *day = Some(day.map_or(on, |d| d.min(on)));
            };
            match e.to_status.as_deref() {
                Some(s) if e.kind == "status" && s == Status::Accepted.code() => {
                    first(&mut entry.accepted);
                }
                Some(s) if e.kind == "status" && s == Status::Concluded.code() => {
                    first(&mut entry.concluded);
                }
                _ if e.kind == transferred => entry.transferred = true,
                _ if e.kind == reported => entry.reported = true,
                _ => {}
            }
        }
    }
    Ok(seen)
}

fn most_first<K: Ord>(counts: HashMap<K, u64>) -> Vec<(K, u64)> {
    let mut sorted: Vec<(K, u64)> = counts.into_iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    sorted
}

fn monday_of(day: NaiveDate) -> NaiveDate {
    day - Days::new(u64::from(day.weekday().num_days_from_monday()))
}

/// The Monday of every week the span touches.
fn weeks(span: Span) -> impl Iterator<Item = NaiveDate> {
    let last = monday_of(span.to);
    std::iter::successors(Some(monday_of(span.from)), move |w| {
        w.checked_add_days(Days::new(7))
            .filter(|next| *next <= last)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::day;

    #[test]
    fn percentiles_are_the_nearest_rank() {
        assert_eq!(Spread::of(vec![]), Spread::default());
        let one = Spread::of(vec![4]);
        assert_eq!((one.median, one.p90), (Some(4), Some(4)));
        let ten = Spread::of((1..=10).rev().collect());
        assert_eq!((ten.n, ten.median, ten.p90), (10, Some(5), Some(9)));
        let skewed = Spread::of(vec![1, 1, 1, 2, 30]);
        assert_eq!((skewed.median, skewed.p90), (Some(1), Some(30)));
    }

    #[test]
    fn every_week_the_span_touches_is_listed_by_its_monday() {
        let span = Span::new(day("2024-08-30"), day("2024-09-16")).unwrap();
        let weeks: Vec<_> = weeks(span).collect();
        assert_eq!(
            weeks,
            [
                day("2024-08-26"),
                day("2024-09-02"),
                day("2024-09-09"),
                day("2024-09-16")
            ]
        );
        assert!(Span::new(day("2024-09-02"), day("2024-09-01")).is_none());
        assert!(Span::new(day("2014-01-01"), day("2026-01-01")).is_none());
    }
}
