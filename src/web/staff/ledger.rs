//! The problem ledger as files the office hands in: XLSX (Chinese headers, a title row with the
//! office and the period, frozen header, real dates) and CSV (UTF-8 with a BOM, so Excel opens
//! it right), each in full or without content, under the case list's filters.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use chrono::NaiveDate;
use rust_xlsxwriter::{Format, FormatAlign, Workbook, XlsxError};
use serde::Deserialize;

use super::Desk;
use super::cases::ListQuery;
use crate::domain::{ResultKind, Yuan};
use crate::error::AppError;
use crate::i18n::{Catalog, Lang};
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

/// A ledger cell: text, a real date, or an amount of money.
enum Cell {
    Text(String),
    Date(NaiveDate),
    Yuan(Yuan),
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
    let date = |d: Option<NaiveDate>| d.map_or(Cell::Text(String::new()), Cell::Date);
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
                date(row.transferred_on),
                date(row.reported_on),
                date(row.closed_on),
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
    let campaign = &desk.state.settings.campaign;
    let office = match desk.lang {
        Lang::Zh => &campaign.office_zh,
        Lang::En => &campaign.office_en,
    };
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
    let rows = ledger::ledger(
        &state.db,
        &state.keyring,
        &desk.viewer(),
        &list.filter(),
        variant,
        &state.deadlines,
        state.now(),
    )
    .await?;
    Ok(rows)
}

/// A download that is never cached and never sniffed.
fn download(content_type: &str, name: &str, body: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

fn file_name(desk: &Desk, variant: Variant, extension: &str) -> String {
    let plain = match variant {
        Variant::Full => "",
        Variant::WithoutContent => "-plain",
    };
    format!("ledger-{}{plain}.{extension}", desk.state.today())
}

/// The file formats the ledger comes in.
#[derive(Debug, Clone, Copy)]
enum FileKind {
    Xlsx,
    Csv,
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
    let (headers, cells) = (headers(t, variant), cells(t, &desk, &rows, variant));
    let (body, kind, extension) = match format {
        FileKind::Xlsx => (
            workbook(&title(&desk, variant), &headers, &cells).map_err(|e| e.to_string()),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
        FileKind::Csv => (
            csv_file(&headers, &cells).map_err(|e| e.to_string()),
            "text/csv; charset=utf-8",
            "csv",
        ),
    };
    let body = body.map_err(|e| AppError::internal(format!("ledger file: {e}"), desk.surface()))?;
    Ok(download(kind, &file_name(&desk, variant, extension), body))
}

fn workbook(
    title: &str,
    headers: &[(&str, f64)],
    rows: &[Vec<Cell>],
) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("台账")?;
    let last = u16::try_from(headers.len().saturating_sub(1)).unwrap_or(0);
    let bold = Format::new().set_bold();
    let title_format = Format::new()
        .set_bold()
        .set_font_size(14)
        .set_align(FormatAlign::Center);
    sheet.merge_range(0, 0, 0, last, title, &title_format)?;
    for (col, (name, width)) in (0u16..).zip(headers) {
        sheet.write_string_with_format(1, col, *name, &bold)?;
        sheet.set_column_width(col, *width)?;
    }
    sheet.set_freeze_panes(2, 0)?;
    let day = Format::new().set_num_format("yyyy-mm-dd");
    let wrapped = Format::new().set_text_wrap();
    let money = Format::new().set_num_format("#,##0.00");
    for (row, cells) in (2u32..).zip(rows) {
        for (col, cell) in (0u16..).zip(cells) {
            match cell {
                Cell::Text(text) if text.chars().count() > 20 => {
                    sheet.write_string_with_format(row, col, text, &wrapped)?;
                }
                Cell::Text(text) => {
                    sheet.write_string(row, col, text)?;
                }
                Cell::Date(on) => {
                    sheet.write_date_with_format(row, col, *on, &day)?;
                }
                Cell::Yuan(amount) => {
                    sheet.write_number_with_format(row, col, amount.as_f64(), &money)?;
                }
            }
        }
    }
    book.save_to_buffer()
}

fn csv_file(headers: &[(&str, f64)], rows: &[Vec<Cell>]) -> Result<Vec<u8>, csv::Error> {
    // The byte-order mark tells Excel the file is UTF-8.
    let mut out = csv::Writer::from_writer("\u{feff}".as_bytes().to_vec());
    out.write_record(headers.iter().map(|(name, _)| *name))?;
    for cells in rows {
        out.write_record(cells.iter().map(|cell| match cell {
            Cell::Text(text) => text.clone(),
            Cell::Date(on) => on.to_string(),
            Cell::Yuan(amount) => format!("{:.2}", amount.as_f64()),
        }))?;
    }
    out.into_inner().map_err(|e| e.into_error().into())
}
