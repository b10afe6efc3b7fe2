//! The office's tables as files to hand in: XLSX (a title row, bold headers, frozen header
//! rows, column widths, real dates and amounts) and CSV (UTF-8 with a byte-order mark, so
//! Excel opens it right), sent as downloads that are never cached. The ledger and the
//! close-relative register both come out through here.

use actix_web::HttpResponse;
use actix_web::http::header;
use chrono::NaiveDate;
use rust_xlsxwriter::{Format, FormatAlign, Workbook, XlsxError};

use super::Desk;
use crate::domain::Yuan;
use crate::error::AppError;
use crate::i18n::Lang;

/// The office's name in the page's language, for title rows.
pub(super) fn office(desk: &Desk) -> &str {
    let campaign = &desk.state.settings.campaign;
    match desk.lang {
        Lang::Zh => &campaign.office_zh,
        Lang::En => &campaign.office_en,
    }
}

/// A cell: text, a real date, or an amount of money.
pub(super) enum Cell {
    Text(String),
    Date(NaiveDate),
    Yuan(Yuan),
}

impl Cell {
    /// A day, or an empty cell.
    pub(super) fn day(on: Option<NaiveDate>) -> Cell {
        on.map_or(Cell::Text(String::new()), Cell::Date)
    }
}

/// The file formats a table comes in.
#[derive(Debug, Clone, Copy)]
pub(super) enum FileKind {
    Xlsx,
    Csv,
}

impl FileKind {
    pub(super) fn extension(self) -> &'static str {
        match self {
            FileKind::Xlsx => "xlsx",
            FileKind::Csv => "csv",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            FileKind::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            FileKind::Csv => "text/csv; charset=utf-8",
        }
    }
}

/// A table: the worksheet's name, the title row (XLSX only), headers with their widths in
/// Excel, and the rows in header order.
pub(super) struct Sheet {
    pub name: &'static str,
    pub title: String,
    pub headers: Vec<(&'static str, f64)>,
    pub rows: Vec<Vec<Cell>>,
}

impl Sheet {
    /// The table as a download named `file_name`; a file that cannot be written is a 500.
    pub(super) fn download(
        &self,
        desk: &Desk,
        format: FileKind,
        file_name: &str,
    ) -> Result<HttpResponse, AppError> {
        let body = match format {
            FileKind::Xlsx => self.workbook().map_err(|e| e.to_string()),
            FileKind::Csv => self.csv_file().map_err(|e| e.to_string()),
        };
        let body = body
            .map_err(|e| AppError::internal(format!("{} file: {e}", self.name), desk.surface()))?;
        Ok(HttpResponse::Ok()
            .content_type(format.content_type())
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(body))
    }

    fn workbook(&self) -> Result<Vec<u8>, XlsxError> {
        let mut book = Workbook::new();
        let sheet = book.add_worksheet();
        sheet.set_name(self.name)?;
        let last = u16::try_from(self.headers.len().saturating_sub(1)).unwrap_or(0);
        let bold = Format::new().set_bold();
        let title_format = Format::new()
            .set_bold()
            .set_font_size(14)
            .set_align(FormatAlign::Center);
        sheet.merge_range(0, 0, 0, last, &self.title, &title_format)?;
        for (col, (name, width)) in (0u16..).zip(&self.headers) {
            sheet.write_string_with_format(1, col, *name, &bold)?;
            sheet.set_column_width(col, *width)?;
        }
        sheet.set_freeze_panes(2, 0)?;
        let day = Format::new().set_num_format("yyyy-mm-dd");
        let wrapped = Format::new().set_text_wrap();
        let money = Format::new().set_num_format("#,##0.00");
        for (row, cells) in (2u32..).zip(&self.rows) {
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

    fn csv_file(&self) -> Result<Vec<u8>, csv::Error> {
        // The byte-order mark tells Excel the file is UTF-8.
        let mut out = csv::Writer::from_writer("\u{feff}".as_bytes().to_vec());
        out.write_record(self.headers.iter().map(|(name, _)| *name))?;
        for cells in &self.rows {
            out.write_record(cells.iter().map(|cell| match cell {
                Cell::Text(text) => text.clone(),
                Cell::Date(on) => on.to_string(),
                Cell::Yuan(amount) => format!("{:.2}", amount.as_f64()),
            }))?;
        }
        out.into_inner().map_err(|e| e.into_error().into())
    }
}
