//! The public results page (阳光公开): the campaign's figures per month, aggregates only,
//! masked as the results service publishes them.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::error::{AppError, Surface};
use crate::i18n::{Catalog, Lang};
use crate::services::results::{self, Cell, Money};
use crate::web::pages::{render, village_name};
use crate::web::{AppState, lang_of};

/// A row of the page's tables, its cells in words.
struct ShownRow {
    label: String,
    cells: Vec<String>,
    total: String,
}

#[derive(Template)]
#[template(path = "public/results.html")]
struct ResultsPage<'a> {
    t: &'static Catalog,
    lang: Lang,
    office: &'a str,
    months: Vec<String>,
    rows: Vec<ShownRow>,
    villages: Vec<(String, String)>,
    floor_note: String,
    as_of: String,
}

fn cell_text(t: &Catalog, cell: Cell) -> String {
    match cell {
        Cell::Exact(n) => n.to_string(),
        Cell::FewerThan(n) => t.t("results.fewer_than").replace("{n}", &n.to_string()),
        Cell::Band(low, high) => t
            .t("results.band")
            .replace("{low}", &low.to_string())
            .replace("{high}", &high.to_string()),
        Cell::Withheld => t.t("results.withheld").to_string(),
    }
}

fn money_text(t: &Catalog, money: Money) -> String {
    match money {
        Money::Exact(amount) => amount.to_string(),
        Money::FewerCases(n) => t.t("results.fewer_cases").replace("{n}", &n.to_string()),
    }
}

/// `GET /results`
pub async fn show_results(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let lang = lang_of(&req);
    let t = lang.catalog();
    let campaign = &state.settings.campaign;
    let today = state.today();
    let min_shown = state.settings.counts.min_shown;
    let figures = results::results(&state.db, campaign.start, today, min_shown)
        .await
        .map_err(|e| AppError::from(e).on(Surface::Page(lang)))?;
    let mut rows: Vec<ShownRow> = figures
        .rows
        .iter()
        .map(|row| ShownRow {
            label: t.label("results.measure", row.measure.code()).to_string(),
            cells: row.months.iter().map(|c| cell_text(t, *c)).collect(),
            total: cell_text(t, row.total),
        })
        .collect();
    rows.push(ShownRow {
        label: t.t("results.funds").to_string(),
        cells: figures.funds.iter().map(|m| money_text(t, *m)).collect(),
        total: money_text(t, figures.funds_total),
    });
    let month_format = match lang {
        Lang::Zh => "%Y年%-m月",
        Lang::En => "%b %Y",
    };
    let page = ResultsPage {
        t,
        lang,
        office: match lang {
            Lang::Zh => &campaign.office_zh,
            Lang::En => &campaign.office_en,
        },
        months: figures
            .months
            .iter()
            .map(|m| m.format(month_format).to_string())
            .collect(),
        rows,
        villages: figures
            .villages
            .iter()
            .map(|(village, cell)| {
                let name = match village {
                    Some(id) => village_name(&state.villages, lang, id).unwrap_or(id),
                    None => t.t("results.other_villages"),
                };
                (name.to_string(), cell_text(t, *cell))
            })
            .collect(),
        floor_note: t
            .t("results.floor_note")
            .replace("{n}", &min_shown.to_string()),
        as_of: today.to_string(),
    };
    render(&page, StatusCode::OK, Surface::Page(lang))
}
