//! Deadlines in working days: when the current stage of a case is due, and which cases are late.
//!
//! Nothing is stored: a due date follows from the receiving date, the acceptance date (the day,
//! in Asia/Shanghai, of the case's status event to `accepted`), the holiday calendar and the
//! settings, so a corrected calendar or a changed deadline applies to every case at once. The
//! list's "overdue" filter stays in SQL by turning "due before a day" into "started before a
//! cut-off day" (`WorkCalendar::sub_working_days`).

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Query, SelectStatement};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DerivePartialModel, EntityTrait, QueryFilter,
    QuerySelect,
};
use uuid::Uuid;

use super::ServiceError;
use super::access::not_recused_condition;
use super::staff;
use crate::config::DeadlineSettings;
use crate::domain::{CalendarError, Category, Status, WorkCalendar, local_day, start_of};
use crate::entities::{report, report_event};

/// The step of the workflow a deadline is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// 受理: accept or decline, counted from the receiving date.
    Accept,
    /// 核查: the verification's finding (status `concluded`), counted from acceptance.
    Verify,
    /// 办结: closed with feedback to the reporter, counted from acceptance.
    Conclude,
}

impl Stage {
    pub const ALL: [Stage; 3] = [Stage::Accept, Stage::Verify, Stage::Conclude];

    pub fn code(self) -> &'static str {
        match self {
            Stage::Accept => "accept",
            Stage::Verify => "verify",
            Stage::Conclude => "conclude",
        }
    }

    /// The stage a case in `status` is in, or `None` when nothing more is due: declined
    /// (closing it is a formality), closed, or merged into another case.
    pub fn of(status: Status) -> Option<Stage> {
        match status {
            Status::Received => Some(Stage::Accept),
            Status::Accepted | Status::Verifying => Some(Stage::Verify),
            Status::Concluded => Some(Stage::Conclude),
            Status::NotAccepted | Status::Closed | Status::Merged => None,
        }
    }

    /// Statuses in this stage, for SQL.
    fn statuses(self) -> &'static [Status] {
        match self {
            Stage::Accept => &[Status::Received],
            Stage::Verify => &[Status::Accepted, Status::Verifying],
            Stage::Conclude => &[Status::Concluded],
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// What a due date is computed from: clear metadata only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseDates {
    pub status: Status,
    pub received_on: NaiveDate,
    /// The day the case was accepted; `None` before that. A case past acceptance without a
    /// recorded acceptance counts from its receiving date.
    pub accepted_on: Option<NaiveDate>,
}

/// The current stage of a case and the last day to finish it, if anything is due.
pub fn due_date(
    case: &CaseDates,
    calendar: &WorkCalendar,
    settings: &DeadlineSettings,
) -> Option<(Stage, NaiveDate)> {
    let stage = Stage::of(case.status)?;
    let start = match stage {
        Stage::Accept => case.received_on,
        Stage::Verify | Stage::Conclude => case.accepted_on.unwrap_or(case.received_on),
    };
    Some((
        stage,
        calendar.add_working_days(start, days(settings, stage)),
    ))
}

/// Late: `today` is after the due date (the due date itself is still in time).
pub fn is_overdue(
    case: &CaseDates,
    calendar: &WorkCalendar,
    settings: &DeadlineSettings,
    today: NaiveDate,
) -> bool {
    due_date(case, calendar, settings).is_some_and(|(_, due)| due < today)
}

fn days(settings: &DeadlineSettings, stage: Stage) -> u32 {
    match stage {
        Stage::Accept => settings.accept_days,
        Stage::Verify => settings.verify_days,
        Stage::Conclude => settings.conclude_days,
    }
}

/// The day `now` falls on in Asia/Shanghai: deadlines count in local days.
pub fn today(now: DateTime<Utc>) -> NaiveDate {
    local_day(now)
}

/// The years the service should have a schedule for on `today` but does not: this year, and
/// from December on (when the State Council has published it) the next, whose holidays
/// deadlines set now run into.
pub fn missing_years(calendar: &WorkCalendar, today: NaiveDate) -> Vec<i32> {
    use chrono::Datelike;
    let mut years = vec![today.year()];
    if today.month() == 12 {
        years.push(today.year() + 1);
    }
    years.retain(|y| !calendar.has_year(*y));
    years
}

/// The holiday calendar with the deadline settings: what every deadline question needs.
#[derive(Debug, Clone)]
pub struct Deadlines {
    pub calendar: WorkCalendar,
    pub settings: DeadlineSettings,
}

impl Deadlines {
    pub fn new(calendar: WorkCalendar, settings: DeadlineSettings) -> Deadlines {
        Deadlines { calendar, settings }
    }

    /// Reads the calendar from `settings.calendar_dir`.
    pub fn load(settings: &DeadlineSettings) -> Result<Deadlines, CalendarError> {
        Ok(Deadlines::new(
            WorkCalendar::load(&settings.calendar_dir)?,
            settings.clone(),
        ))
    }

    pub fn due(&self, case: &CaseDates) -> Option<(Stage, NaiveDate)> {
        due_date(case, &self.calendar, &self.settings)
    }

    /// The day a report received on `received_on` must be accepted (or declined) by.
    pub fn accept_due(&self, received_on: NaiveDate) -> Option<NaiveDate> {
        self.due(&CaseDates {
            status: Status::Received,
            received_on,
            accepted_on: None,
        })
        .map(|(_, due)| due)
    }

    pub fn is_overdue(&self, case: &CaseDates, today: NaiveDate) -> bool {
        is_overdue(case, &self.calendar, &self.settings, today)
    }

    /// Reports whose current stage is due before `limit` (so `due_before(today)` is the
    /// overdue ones), as a condition on `reports`.
    pub(crate) fn due_before(&self, limit: NaiveDate) -> Condition {
        let mut any = Condition::any();
        for stage in Stage::ALL {
            // due(start) < limit  ⇔  start < cut, since counting forward is monotone.
            let cut = self
                .calendar
                .sub_working_days(limit, days(&self.settings, stage));
            let in_stage = report::Column::Status.is_in(stage.statuses().iter().map(|s| s.code()));
            let started = match stage {
                Stage::Accept => Condition::all().add(report::Column::ReceivedOn.lt(cut)),
                Stage::Verify | Stage::Conclude => accepted_before(cut),
            };
            any = any.add(Condition::all().add(in_stage).add(started));
        }
        any
    }
}

/// The status events that accepted a case.
fn acceptances() -> SelectStatement {
    Query::select()
        .column(report_event::Column::ReportId)
        .from(report_event::Entity)
        .and_where(report_event::Column::Kind.eq("status"))
        .and_where(report_event::Column::ToStatus.eq(Status::Accepted.code()))
        .to_owned()
}

/// Accepted on a day before `cut` (in Shanghai), or, lacking a recorded acceptance, received
/// before it: the same fallback as `due_date`.
fn accepted_before(cut: NaiveDate) -> Condition {
    Condition::any()
        .add(
            report::Column::Id.in_subquery(
                acceptances()
                    .and_where(report_event::Column::At.lt(start_of(cut)))
                    .to_owned(),
            ),
        )
        .add(
            Condition::all()
                .add(report::Column::Id.not_in_subquery(acceptances()))
                .add(report::Column::ReceivedOn.lt(cut)),
        )
}

/// The acceptance day of each of `reports` that has one.
pub(crate) async fn acceptance_days<C: ConnectionTrait>(
    db: &C,
    reports: Vec<Uuid>,
) -> Result<HashMap<Uuid, NaiveDate>, ServiceError> {
    if reports.is_empty() {
        return Ok(HashMap::new());
    }
    let found: Vec<(Uuid, DateTime<Utc>)> = report_event::Entity::find()
        .select_only()
        .column(report_event::Column::ReportId)
        .column(report_event::Column::At)
        .filter(report_event::Column::ReportId.is_in(reports))
        .filter(report_event::Column::Kind.eq("status"))
        .filter(report_event::Column::ToStatus.eq(Status::Accepted.code()))
        .into_tuple()
        .all(db)
        .await?;
    let mut days: HashMap<Uuid, NaiveDate> = HashMap::new();
    for (id, at) in found {
        let day = today(at);
        days.entry(id)
            .and_modify(|d| *d = (*d).min(day))
            .or_insert(day);
    }
    Ok(days)
}

/// The acceptance day among a case's own events, as loaded for the case page.
pub(crate) fn acceptance_day(events: &[report_event::Model]) -> Option<NaiveDate> {
    events
        .iter()
        .filter(|e| e.kind == "status" && e.to_status.as_deref() == Some(Status::Accepted.code()))
        .map(|e| today(e.at))
        .min()
}

/// A line of the daily digest: metadata only, never anything a person wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueCase {
    pub id: Uuid,
    pub case_number: String,
    pub category: Category,
    pub village: Option<String>,
    pub stage: Stage,
    pub due: NaiveDate,
    pub overdue: bool,
    /// The assignee's display name.
    pub assignee: Option<String>,
}

/// What the digest reads of a case that may be due.
#[derive(DerivePartialModel)]
#[sea_orm(entity = "report::Entity")]
struct Pending {
    id: Uuid,
    case_number: String,
    category: String,
    village: Option<String>,
    status: String,
    received_on: NaiveDate,
    assignee_id: Option<Uuid>,
}

/// What the daily digest lists: every case whose current stage is overdue or due within
/// `remind_days` working days after `today`, the most urgent first. With `for_user`, only the
/// cases assigned to that account and not recused from it (a recusal filed after the
/// assignment still hides the case); without, every case (the post's digest).
pub async fn due_or_overdue<C: ConnectionTrait>(
    db: &C,
    deadlines: &Deadlines,
    today: NaiveDate,
    for_user: Option<Uuid>,
) -> Result<Vec<DueCase>, ServiceError> {
    let horizon = deadlines
        .calendar
        .add_working_days(today, deadlines.settings.remind_days);
    let limit = horizon.succ_opt().unwrap_or(horizon);
    let mut query = report::Entity::find()
        .filter(deadlines.due_before(limit))
        // Flood reports waiting in quarantine are not cases yet.
        .filter(report::Column::Quarantined.eq(false));
    if let Some(user_id) = for_user {
        query = query
            .filter(report::Column::AssigneeId.eq(user_id))
            .filter(not_recused_condition(user_id));
    }
    let rows = query.into_partial_model::<Pending>().all(db).await?;
    let accepted = acceptance_days(db, rows.iter().map(|r| r.id).collect()).await?;
    let names = staff::display_names(db, rows.iter().filter_map(|r| r.assignee_id)).await?;
    let mut due_cases: Vec<DueCase> = rows
        .into_iter()
        .filter_map(|row| {
            let dates = CaseDates {
                status: Status::parse(&row.status)?,
                received_on: row.received_on,
                accepted_on: accepted.get(&row.id).copied(),
            };
            let (stage, due) = deadlines.due(&dates)?;
            Some(DueCase {
                id: row.id,
                category: Category::parse(&row.category).unwrap_or(Category::Other),
                case_number: row.case_number,
                village: row.village,
                stage,
                due,
                overdue: due < today,
                assignee: row.assignee_id.and_then(|a| names.get(&a).cloned()),
            })
        })
        .collect();
    due_cases.sort_by(|a, b| (a.due, &a.case_number).cmp(&(b.due, &b.case_number)));
    Ok(due_cases)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::day as d;
    use chrono::TimeZone;

    fn deadlines() -> Deadlines {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/holidays");
        Deadlines::new(
            WorkCalendar::load(&dir).unwrap(),
            DeadlineSettings {
                calendar_dir: dir,
                accept_days: 3,
                verify_days: 15,
                conclude_days: 30,
                remind_days: 2,
            },
        )
    }

    fn case(status: Status, received_on: &str, accepted_on: Option<&str>) -> CaseDates {
        CaseDates {
            status,
            received_on: d(received_on),
            accepted_on: accepted_on.map(d),
        }
    }

    #[test]
    fn each_stage_counts_from_its_own_start() {
        let dl = deadlines();
        // Received on a National Day holiday: 8, 9, 10 Oct.
        let received = case(Status::Received, "2024-10-03", None);
        assert_eq!(dl.due(&received), Some((Stage::Accept, d("2024-10-10"))));
        assert!(
            !dl.is_overdue(&received, d("2024-10-10")),
            "due today is in time"
        );
        assert!(dl.is_overdue(&received, d("2024-10-11")));

        // Accepted late, on Fri 11 Oct: verification counts from then, Sat 12 Oct included.
        for status in [Status::Accepted, Status::Verifying] {
            let accepted = case(status, "2024-10-03", Some("2024-10-11"));
            assert_eq!(dl.due(&accepted), Some((Stage::Verify, d("2024-10-31"))));
        }
        let concluded = case(Status::Concluded, "2024-10-03", Some("2024-10-11"));
        let conclude_due = dl.calendar.add_working_days(d("2024-10-11"), 30);
        assert_eq!(dl.due(&concluded), Some((Stage::Conclude, conclude_due)));
        assert_eq!(
            dl.calendar
                .working_days_between(d("2024-10-11"), conclude_due),
            30
        );

        for status in [Status::NotAccepted, Status::Closed, Status::Merged] {
            let done = case(status, "2024-10-03", Some("2024-10-11"));
            assert_eq!(dl.due(&done), None);
            assert!(!dl.is_overdue(&done, d("2030-01-01")));
        }
    }

    #[test]
    fn the_year_to_warn_about_is_this_one_and_in_december_the_next() {
        let dl = deadlines();
        assert!(missing_years(&dl.calendar, d("2024-06-01")).is_empty());
        assert!(missing_years(&dl.calendar, d("2025-12-01")).is_empty());
        assert!(missing_years(&dl.calendar, d("2026-11-28")).is_empty());
        assert_eq!(missing_years(&dl.calendar, d("2026-12-01")), vec![2027]);
        assert_eq!(
            missing_years(&dl.calendar, d("2027-12-01")),
            vec![2027, 2028]
        );
    }

    #[test]
    fn today_is_the_day_in_shanghai() {
        let late_utc = crate::domain::utc(2024, 9, 30, 16, 30, 0);
        assert_eq!(today(late_utc), d("2024-10-01"));
        assert_eq!(
            start_of(d("2024-10-01")),
            Utc.with_ymd_and_hms(2024, 9, 30, 16, 0, 0)
                .single()
                .unwrap()
        );
    }
}
