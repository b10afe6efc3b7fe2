//! The campaign summary (总结): a printable page and an XLSX with the campaign's figures and
//! charts, the substantiated cases with their rectification, and the sections inspectors
//! write, kept as a draft until finalised.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use askama::Template;
use rust_xlsxwriter::{Format, Workbook, XlsxError};
use serde::Deserialize;

use super::statistics::{ChartSection, Figure, figures, sections};
use super::{Desk, Refused, StaffPage, refusal, staff_template};
use crate::error::AppError;
use crate::i18n::Catalog;
use crate::services::statistics::Span;
use crate::services::summary::{self, Sections, Summary};
use crate::web::pages::{local_time, see_other};

staff_template!(SummaryPage);

/// A substantiated case as the summary lists it: metadata and rectification only.
pub struct ShownCase {
    pub case_number: String,
    pub received_on: String,
    pub category: String,
    pub village: String,
    pub finding: String,
    pub rectification: String,
    pub recovered: String,
}

#[derive(Template)]
#[template(path = "staff/summary.html")]
struct SummaryPage {
    frame: StaffPage,
    title: String,
    figures: Vec<Figure>,
    sections: Vec<ChartSection>,
    cases: Vec<ShownCase>,
    written: Sections,
    finalised: Option<String>,
    problem: Option<&'static str>,
    saved: bool,
}

/// The sections as posted, and which button was pressed.
#[derive(Debug, Default, Deserialize)]
pub struct SummaryForm {
    practices: Option<String>,
    problems: Option<String>,
    next_steps: Option<String>,
    /// `draft` or `final`.
    action: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Saved {
    saved: Option<String>,
}

fn campaign_span(desk: &Desk) -> Span {
    let campaign = &desk.state.settings.campaign;
    Span::new(campaign.start, campaign.end).unwrap_or(Span {
        from: campaign.start,
        to: campaign.start,
    })
}

async fn load(desk: &Desk) -> Result<Summary, AppError> {
    let state = &desk.state;
    Ok(summary::summary(desk.caller(), campaign_span(desk), &state.deadlines).await?)
}

fn title(desk: &Desk) -> String {
    let campaign = &desk.state.settings.campaign;
    let office = match desk.lang {
        crate::i18n::Lang::Zh => &campaign.office_zh,
        crate::i18n::Lang::En => &campaign.office_en,
    };
    desk.t()
        .t("summary.heading")
        .replace("{office}", office)
        .replace("{start}", &campaign.start.to_string())
        .replace("{end}", &campaign.end.to_string())
}

fn shown_cases(desk: &Desk, t: &Catalog, summary: &Summary) -> Vec<ShownCase> {
    summary
        .substantiated
        .iter()
        .map(|(row, rectified)| ShownCase {
            case_number: row.case_number.clone(),
            received_on: row.received_on.to_string(),
            category: t.label("category", row.category.code()).to_string(),
            village: super::cases::village_name(&desk.state, desk.lang, row.village.as_deref()),
            finding: row
                .outcome
                .map_or("", |o| t.label("staff.outcome", o.code()))
                .to_string(),
            rectification: super::ledger::rectification_text(t, rectified.as_ref()),
            recovered: rectified
                .as_ref()
                .map(|r| {
                    r.total(crate::domain::ResultKind::FundsRecovered)
                        .1
                        .to_string()
                })
                .unwrap_or_default(),
        })
        .collect()
}

async fn summary_page(
    desk: &Desk,
    typed: Option<Sections>,
    refused: Option<Refused>,
    saved: bool,
) -> Result<HttpResponse, AppError> {
    let t = desk.t();
    let summary = load(desk).await?;
    let charts = sections(desk, t, &summary.stats)
        .map_err(|e| AppError::internal(e.to_string(), desk.surface()))?;
    let page = SummaryPage {
        title: title(desk),
        figures: figures(t, &summary.stats),
        sections: charts,
        cases: shown_cases(desk, t, &summary),
        finalised: summary.finalised_at.map(local_time),
        written: typed.unwrap_or_else(|| summary.sections.clone()),
        problem: refused.map(|r| t.t(r.reason)),
        saved,
        frame: desk.page(),
    };
    desk.render_form(&page, refused)
}

/// `GET /staff/summary`
pub async fn show_summary(desk: Desk, query: web::Query<Saved>) -> Result<HttpResponse, AppError> {
    let saved = query.saved.is_some();
    summary_page(&desk, None, None, saved).await
}

/// `POST /staff/summary`: saves the draft, or finalises it.
pub async fn save_summary(
    desk: Desk,
    form: web::Form<SummaryForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let finalise = form.action.as_deref() == Some("final");
    let sections = Sections {
        practices: form.practices.unwrap_or_default(),
        problems: form.problems.unwrap_or_default(),
        next_steps: form.next_steps.unwrap_or_default(),
    };
    let done = summary::save(desk.caller(), sections.clone(), finalise).await;
    match done {
        Ok(()) => Ok(see_other(&format!(
            "/staff/summary?lang={}&saved=1",
            desk.lang.code()
        ))),
        Err(e) => {
            let refused = Refused::invalid(refusal(e)?);
            summary_page(&desk, Some(sections), Some(refused), false).await
        }
    }
}

/// `GET /staff/summary.xlsx`: the summary as a workbook, its export audited.
pub async fn summary_xlsx(desk: Desk) -> Result<HttpResponse, AppError> {
    let t = desk.t();
    let state = &desk.state;
    let summary = summary::export(desk.caller(), campaign_span(&desk), &state.deadlines).await?;
    let cases = shown_cases(&desk, t, &summary);
    let body = workbook(
        t,
        &title(&desk),
        &summary,
        &figures(t, &summary.stats),
        &cases,
    )
    .map_err(|e| AppError::internal(format!("summary file: {e}"), desk.surface()))?;
    Ok(HttpResponse::Ok()
        .content_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"summary-{}.xlsx\"", state.today()),
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}

fn workbook(
    t: &Catalog,
    title: &str,
    summary: &Summary,
    figures: &[Figure],
    cases: &[ShownCase],
) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let wrapped = Format::new().set_text_wrap();
    let sheet = book.add_worksheet();
    sheet.set_name("总结")?;
    sheet.set_column_width(0, 28)?;
    sheet.set_column_width(1, 60)?;
    sheet.write_string_with_format(0, 0, title, &Format::new().set_bold().set_font_size(14))?;
    let mut row = 2u32;
    for f in figures {
        sheet.write_string(row, 0, &f.label)?;
        sheet.write_string(row, 1, &f.value)?;
        row += 1;
    }
    row += 1;
    for (key, text) in [
        ("summary.practices", &summary.sections.practices),
        ("summary.problems", &summary.sections.problems),
        ("summary.next_steps", &summary.sections.next_steps),
    ] {
        sheet.write_string_with_format(row, 0, t.t(key), &bold)?;
        sheet.write_string_with_format(row, 1, text, &wrapped)?;
        row += 1;
    }
    let ledger = book.add_worksheet();
    ledger.set_name("属实问题台账")?;
    let headers = [
        ("staff.ledger.seq", 6.0),
        ("staff.cases.number", 11.0),
        ("staff.cases.received", 12.0),
        ("staff.cases.category", 12.0),
        ("staff.cases.village", 12.0),
        ("staff.case.outcome", 10.0),
        ("staff.ledger.rectification", 24.0),
        ("staff.ledger.recovered", 14.0),
    ];
    for (col, (key, width)) in (0u16..).zip(headers) {
        ledger.write_string_with_format(0, col, t.t(key), &bold)?;
        ledger.set_column_width(col, width)?;
    }
    ledger.set_freeze_panes(1, 0)?;
    for (n, c) in (1u32..).zip(cases) {
        let cells = [
            n.to_string(),
            c.case_number.clone(),
            c.received_on.clone(),
            c.category.clone(),
            c.village.clone(),
            c.finding.clone(),
            c.rectification.clone(),
            c.recovered.clone(),
        ];
        for (col, cell) in (0u16..).zip(cells) {
            ledger.write_string(n, col, cell)?;
        }
    }
    book.save_to_buffer()
}
