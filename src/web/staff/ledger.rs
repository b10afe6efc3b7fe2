//! The problem ledger as files the office hands in: XLSX (Chinese headers, a title row with the
//! office and the period, frozen header, real dates) and CSV (UTF-8 with a BOM, so Excel opens
//! it right), each in full or without content, under the case list's filters.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::Desk;
use super::cases::ListQuery;
use super::sheet::{Cell, FileKind, Sheet};
use crate::domain::ResultKind;
use crate::error::AppError;
use crate::i18n::Catalog;
use crate::services::cases::Rectified;
use crate::services::ledger::{self, LedgerRow, Variant};

/// `?content=none` asks for the ledger without content; anything else is the full one. The
/// rest of the query is the case list's filter.
#[derive(Debug, Deserialize)]
pub struct Which {
    content: Option<String>,
}

impl Which {
    fn variant(&self) -> Variant {
        match self.content.as_deref() {
            Some("none") => Variant::WithoutContent,
            _ => Variant::Full,
        }
    }
}

/// One column of the ledger: its header's catalog key, its width in Excel, and whether the
/// ledger without content leaves it out.
struct Column {
    header: &'static str,
    width: f64,
    sealed: bool,
}

const COLUMNS: [Column; 18] = [
    col("staff.ledger.seq", 6.0, false),
    col("staff.cases.number", 11.0, false),
    col("staff.cases.received", 12.0, false),
    col("staff.cases.channel", 10.0, false),
    col("staff.cases.category", 12.0, false),
    col("staff.cases.village", 12.0, false),
    col("staff.case.subject", 18.0, true),
    col("staff.case.subject_role", 14.0, false),
    col("staff.ledger.summary", 40.0, true),
    col("staff.cases.status", 12.0, false),
    col("staff.case.outcome", 10.0, false),
    col("staff.ledger.rectification", 20.0, false),
    col("staff.ledger.recovered", 12.0, false),
    col("staff.ledger.transferred", 12.0, false),
    col("staff.ledger.reported", 12.0, false),
    col("staff.ledger.closed", 12.0, false),
    col("staff.cases.due", 22.0, false),
    col("staff.cases.overdue", 8.0, false),
];

const fn col(header: &'static str, width: f64, sealed: bool) -> Column {
    Column {
        header,
        width,
        sealed,
    }
}

/// Where a case's rectification stands, in words: empty when it has no measure.
pub(super) fn rectification_text(t: &Catalog, rectified: Option<&Rectified>) -> String {
    let Some(r) = rectified.filter(|r| r.measures > 0) else {
        return String::new();
    };
    let mut text = if r.is_done() {
        t.t("staff.ledger.rectified")
    } else {
        t.t("staff.ledger.rectifying")
    }
    .replace("{done}", &r.done.to_string())
    .replace("{n}", &r.measures.to_string());
    if r.overdue > 0 {
        text.push_str(
            &t.t("staff.ledger.rectify_overdue")
                .replace("{late}", &r.overdue.to_string()),
        );
    }
    text
}

/// The ledger's lines as cells, in `COLUMNS` order, the sealed columns left out without
/// content.
fn cells(t: &Catalog, desk: &Desk, rows: &[LedgerRow], variant: Variant) -> Vec<Vec<Cell>> {
    rows.iter()
        .enumerate()
        .map(|(n, row)| {
            let case = &row.case;
            let content = row.content.as_ref();
            let all = [
                Cell::Text((n + 1).to_string()),
                Cell::Text(case.case_number.clone()),
                Cell::Date(case.received_on),
                Cell::Text(t.label("channel", &case.channel).to_string()),
                Cell::Text(t.label("category", case.category.code()).to_string()),
                Cell::Text(super::cases::village_name(
                    &desk.state,
                    desk.lang,
                    case.village.as_deref(),
                )),
                Cell::Text(
                    content
                        .and_then(|c| c.subject.as_deref())
                        .map_or("", |s| s.as_str())
                        .to_string(),
                ),
                Cell::Text(
                    case.subject_role
                        .map_or("", |r| t.label("role", r.code()))
                        .to_string(),
                ),
                Cell::Text(content.map_or("", |c| c.summary.as_str()).to_string()),
                Cell::Text(t.label("status", case.status.code()).to_string()),
                Cell::Text(
                    case.outcome
                        .map_or("", |o| t.label("staff.outcome", o.code()))
                        .to_string(),
                ),
                Cell::Text(rectification_text(t, row.rectification.as_ref())),
                match row.rectification.as_ref() {
                    Some(r) => Cell::Yuan(r.total(ResultKind::FundsRecovered).1),
                    None => Cell::Text(String::new()),
                },
                Cell::day(row.transferred_on),
                Cell::day(row.reported_on),
                Cell::day(row.closed_on),
                Cell::Text(super::cases::due_text(t, case.due)),
                Cell::Text(if case.overdue {
                    t.t("staff.ledger.yes").to_string()
                } else {
                    String::new()
                }),
            ];
            all.into_iter()
                .zip(COLUMNS.iter())
                .filter(|(_, column)| variant == Variant::Full || !column.sealed)
                .map(|(cell, _)| cell)
                .collect()
        })
        .collect()
}

fn headers(t: &'static Catalog, variant: Variant) -> Vec<(&'static str, f64)> {
    COLUMNS
        .iter()
        .filter(|c| variant == Variant::Full || !c.sealed)
        .map(|c| (t.t(c.header), c.width))
        .collect()
}

/// The title row: office, what this is, and the period (the campaign's, or "as of today").
fn title(desk: &Desk, variant: Variant) -> String {
    let t = desk.t();
    let office = super::sheet::office(desk);
    let key = match variant {
        Variant::Full => "staff.ledger.title",
        Variant::WithoutContent => "staff.ledger.title_plain",
    };
    t.t(key)
        .replace("{office}", office)
        .replace("{today}", &desk.state.today().to_string())
}

async fn rows(desk: &Desk, list: &ListQuery, variant: Variant) -> Result<Vec<LedgerRow>, AppError> {
    let state = &desk.state;
    let rows = ledger::ledger(desk.caller(), &list.filter(), variant, &state.deadlines).await?;
    Ok(rows)
}

fn file_name(desk: &Desk, variant: Variant, extension: &str) -> String {
    let plain = match variant {
        Variant::Full => "",
        Variant::WithoutContent => "-plain",
    };
    format!("ledger-{}{plain}.{extension}", desk.state.today())
}

/// `GET /staff/cases/ledger.xlsx`
pub async fn ledger_xlsx(
    desk: Desk,
    list: web::Query<ListQuery>,
    which: web::Query<Which>,
) -> Result<HttpResponse, AppError> {
    export(desk, &list, which.variant(), FileKind::Xlsx).await
}

/// `GET /staff/cases/ledger.csv`
pub async fn ledger_csv(
    desk: Desk,
    list: web::Query<ListQuery>,
    which: web::Query<Which>,
) -> Result<HttpResponse, AppError> {
    export(desk, &list, which.variant(), FileKind::Csv).await
}

async fn export(
    desk: Desk,
    list: &ListQuery,
    variant: Variant,
    format: FileKind,
) -> Result<HttpResponse, AppError> {
    let rows = rows(&desk, list, variant).await?;
    let t = desk.t();
    let sheet = Sheet {
        name: "台账",
        title: title(&desk, variant),
        headers: headers(t, variant),
        rows: cells(t, &desk, &rows, variant),
    };
    sheet.download(
        &desk,
        format,
        &file_name(&desk, variant, format.extension()),
    )
}
