//! The statistics page (统计分析): exact figures for a chosen period, for inspectors, each
//! chart drawn on the server beside a table of its numbers.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::NaiveDate;
use serde::Deserialize;

use super::{Desk, StaffPage, staff_template};
use crate::error::AppError;
use crate::i18n::Catalog;
use crate::services::statistics::{self, Span, Spread, Statistics};
use crate::web::charts;
use crate::web::pages;

staff_template!(StatisticsPage);

/// `?from=YYYY-MM-DD&to=YYYY-MM-DD`; the campaign's dates when left out.
#[derive(Debug, Deserialize)]
pub struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
}

/// A headline figure.
pub struct Figure {
    pub id: &'static str,
    pub label: String,
    pub value: String,
}

/// A chart and the table of its numbers.
pub struct ChartSection {
    pub id: &'static str,
    pub caption: String,
    /// What the rows' own headers name.
    pub rows_head: String,
    pub svg: String,
    pub rows: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "staff/statistics.html")]
struct StatisticsPage {
    frame: StaffPage,
    from: String,
    to: String,
    problem: Option<String>,
    figures: Vec<Figure>,
    sections: Vec<ChartSection>,
}

/// `GET /staff/statistics`
pub async fn show_statistics(
    desk: Desk,
    query: web::Query<PeriodQuery>,
) -> Result<HttpResponse, AppError> {
    let frame = desk.page();
    let t = frame.t;
    let state = &desk.state;
    let campaign = &state.settings.campaign;
    let from_text = typed_or(query.from.as_deref(), campaign.start);
    let to_text = typed_or(query.to.as_deref(), campaign.end);
    let day = |text: &str| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok();
    let span = match (day(&from_text), day(&to_text)) {
        (Some(from), Some(to)) => Span::new(from, to).ok_or("stats.bad_span"),
        _ => Err("error.date"),
    };
    let span = match span {
        Ok(span) => span,
        Err(key) => {
            let page = StatisticsPage {
                frame,
                from: from_text,
                to: to_text,
                problem: Some(t.t(key).to_string()),
                figures: Vec::new(),
                sections: Vec::new(),
            };
            return desk.render(&page, StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    let stats = statistics::statistics(
        &state.db,
        desk.viewer(),
        span,
        &state.deadlines,
        state.today(),
    )
    .await?;
    let sections = sections(&desk, t, &stats)
        .map_err(|e| AppError::internal(e.to_string(), desk.surface()))?;
    let page = StatisticsPage {
        figures: figures(t, &stats),
        sections,
        frame,
        from: from_text,
        to: to_text,
        problem: None,
    };
    desk.render(&page, StatusCode::OK)
}

/// What was typed into a date field, or the default day when it was left empty.
fn typed_or(typed: Option<&str>, default: NaiveDate) -> String {
    match typed.map(str::trim) {
        Some(text) if !text.is_empty() => text.to_string(),
        _ => default.to_string(),
    }
}

fn spread_text(t: &Catalog, spread: Spread) -> String {
    match (spread.median, spread.p90) {
        (Some(median), Some(p90)) => t
            .t("stats.spread")
            .replace("{median}", &median.to_string())
            .replace("{p90}", &p90.to_string())
            .replace("{n}", &spread.n.to_string()),
        _ => "—".to_string(),
    }
}

pub(super) fn figures(t: &Catalog, s: &Statistics) -> Vec<Figure> {
    let concluded: u64 = s.findings.iter().map(|(_, n)| n).sum();
    let figure = |id: &'static str, value: String| Figure {
        id,
        label: t.t(&format!("stats.{id}")).to_string(),
        value,
    };
    vec![
        figure("received", s.received.to_string()),
        figure("accepted", s.accepted.to_string()),
        figure("not_accepted", s.not_accepted.to_string()),
        figure("merged", s.merged.to_string()),
        figure("concluded", concluded.to_string()),
        figure("transferred", s.transferred.to_string()),
        figure("reported", s.reported.to_string()),
        figure(
            "measures",
            t.t("stats.measures_value")
                .replace("{done}", &s.measures_done.to_string())
                .replace("{all}", &s.measures.to_string()),
        ),
        figure("measures_overdue", s.measures_overdue.to_string()),
        figure("funds", s.funds_recovered().to_string()),
        figure("people", s.people_dealt_with().to_string()),
        figure("overdue_now", s.overdue_now.to_string()),
        figure("to_accept", spread_text(t, s.to_accept)),
        figure("to_conclude", spread_text(t, s.to_conclude)),
    ]
}

pub(super) fn sections(
    desk: &Desk,
    t: &Catalog,
    s: &Statistics,
) -> Result<Vec<ChartSection>, charts::ChartError> {
    let state = &desk.state;
    let counted = |rows: Vec<(String, u64)>| -> Vec<(String, String)> {
        rows.into_iter().map(|(l, n)| (l, n.to_string())).collect()
    };
    let bars = |id, caption: &str, head: &str, rows: Vec<(String, u64)>| {
        Ok::<_, charts::ChartError>(ChartSection {
            id,
            caption: t.t(caption).to_string(),
            rows_head: t.t(head).to_string(),
            svg: charts::bars(&rows)?,
            rows: counted(rows),
        })
    };
    let weeks: Vec<(String, u64)> = s
        .weekly
        .iter()
        .map(|(monday, n)| (monday.format("%m-%d").to_string(), *n))
        .collect();
    let weekly = ChartSection {
        id: "weekly",
        caption: t.t("stats.weekly").to_string(),
        rows_head: t.t("stats.week_of").to_string(),
        svg: charts::trend(&weeks)?,
        rows: s
            .weekly
            .iter()
            .map(|(monday, n)| (monday.to_string(), n.to_string()))
            .collect(),
    };
    let channels = labelled(&s.by_channel, |code| t.label("channel", code).to_string());
    let categories = labelled(&s.by_category, |c| {
        t.label("category", c.code()).to_string()
    });
    let villages = labelled(&s.by_village, |v| {
        v.as_deref()
            .map(|id| pages::village_name(&state.villages, desk.lang, id).unwrap_or(id))
            .unwrap_or(t.t("stats.no_village"))
            .to_string()
    });
    let kinds = labelled(&s.by_site_kind, |k| {
        k.as_deref()
            .map_or(t.t("stats.no_site"), |k| t.label("site_kind", k))
            .to_string()
    });
    let findings = labelled(&s.findings, |o| {
        t.label("staff.outcome", o.code()).to_string()
    });
    let results: Vec<(String, u64)> = s
        .results
        .iter()
        .map(|(k, n, _)| (t.label("staff.result", k.code()).to_string(), *n))
        .collect();
    let mut rectified = bars("results", "stats.by_result", "stats.rows.result", results)?;
    // The money results say how much, beside how many.
    for ((_, shown), (kind, _, amount)) in rectified.rows.iter_mut().zip(&s.results) {
        if kind.is_money() {
            shown.push_str(" · ");
            shown.push_str(
                &t.t("staff.rectify.yuan")
                    .replace("{amount}", &amount.to_string()),
            );
        }
    }
    Ok(vec![
        weekly,
        bars(
            "channels",
            "stats.by_channel",
            "stats.rows.channel",
            channels,
        )?,
        bars(
            "categories",
            "stats.by_category",
            "stats.rows.category",
            categories,
        )?,
        bars(
            "villages",
            "stats.by_village",
            "stats.rows.village",
            villages,
        )?,
        bars(
            "site-kinds",
            "stats.by_site_kind",
            "stats.rows.site_kind",
            kinds,
        )?,
        bars(
            "findings",
            "stats.by_finding",
            "stats.rows.finding",
            findings,
        )?,
        rectified,
    ])
}

/// Each count under its label, in the order given.
fn labelled<K>(counts: &[(K, u64)], label: impl Fn(&K) -> String) -> Vec<(String, u64)> {
    counts.iter().map(|(k, n)| (label(k), *n)).collect()
}
