//! The problem ledger as the office hands it in: XLSX read back with calamine, CSV with its
//! byte-order mark, in full and without content, under the list's filters, audited with the
//! cases it held, and never holding a case the exporting account is recused from.

use std::io::Cursor;

use calamine::{Data, DataType, Reader, Xlsx};
use chrono::NaiveDate;
use tipoff::domain::{Role, local_day};
use tipoff::entities::report;

use crate::helpers::reports::{report_on_the_secretary, report_saying};
use crate::helpers::storage::audit_entries;
use crate::helpers::{Staff, TestApp};
use crate::on_both_backends;

on_both_backends!(
    the_ledger_exports_as_xlsx_and_csv_with_what_the_bureau_asks_for,
    a_recused_account_never_exports_the_case,
    every_source_the_plan_names_is_entered_listed_and_exported,
    the_list_shows_inspectors_the_ledger_columns_and_audits_each_view,
);

const FULL_HEADERS: [&str; 18] = [
    "序号",
    "编号",
    "收到日期",
    "来源",
    "类别",
    "村（社区）",
    "被反映人",
    "被反映人身份",
    "问题摘要",
    "状态",
    "核查结论",
    "整改情况",
    "追回资金（元）",
    "移交纪检日期",
    "报区民政局日期",
    "办结日期",
    "办理期限",
    "已超期",
];

/// The ledger file the inspector downloads from `path`, checked to be a download.
async fn download(staff: &Staff<'_>, path: &str, kind: &str) -> Vec<u8> {
    staff.download(path, kind, "ledger-").await
}

/// The one sheet of a ledger workbook: its rows as read back.
fn sheet(bytes: Vec<u8>) -> Vec<Vec<Data>> {
    let mut book = Xlsx::new(Cursor::new(bytes)).expect("an XLSX file");
    let range = book.worksheet_range("台账").expect("the 台账 sheet");
    range.rows().map(|r| r.to_vec()).collect()
}

fn texts(row: &[Data]) -> Vec<String> {
    row.iter().map(|c| c.to_string()).collect()
}

async fn exports(app: &TestApp) -> Vec<String> {
    audit_entries(app, "export")
        .await
        .into_iter()
        .map(|e| e.detail)
        .collect()
}

/// The report both ledger tests work: the village party secretary's brother on 低保, as a
/// village cadre, in two lines.
async fn the_secretarys_brother(app: &TestApp) -> report::Model {
    let description = "书记的弟弟开着小车还在吃低保\n第二行细节";
    report_on_the_secretary(app, description, Some("village_cadre"))
        .await
        .report
}

async fn the_ledger_exports_as_xlsx_and_csv_with_what_the_bureau_asks_for(app: TestApp) {
    let inspector = app.signed_in("zheng", "郑主任", Role::Inspector).await;
    let worked = the_secretarys_brother(&app).await;
    let waiting = report_saying(&app, "policy", "xinmin-village", "另一户的低保有问题")
        .await
        .report;
    let path = |what: &str| format!("/staff/cases/{}/{what}", worked.id);
    let today = local_day(app.state.now());
    inspector
        .conclude(worked.id, "partly_substantiated", "车辆属实")
        .await;
    let closed = [("transition", "close"), ("text", "已整改")];
    assert_eq!(inspector.post(&path("status"), &closed).await.status(), 303);
    let on = today.format("%Y-%m-%d").to_string();
    let transfer = [("event", "transferred_discipline"), ("on", on.as_str())];
    assert_eq!(
        inspector.post(&path("events"), &transfer).await.status(),
        303
    );

    // The full ledger, in Excel.
    let rows = sheet(
        download(
            &inspector,
            "/staff/cases/ledger.xlsx?lang=zh",
            "application/vnd.openxmlformats",
        )
        .await,
    );
    assert!(
        rows[0][0]
            .to_string()
            .starts_with("大路街道办事处救助领域问题线索台账")
    );
    assert_eq!(texts(&rows[1]), FULL_HEADERS);
    assert_eq!(rows.len(), 4, "a title, the headers and two cases");
    let line = rows
        .iter()
        .find(|r| r[1].to_string() == worked.case_number)
        .expect("the worked case");
    let at = |header: &str| FULL_HEADERS.iter().position(|h| *h == header).unwrap();
    assert_eq!(line[at("收到日期")].as_date(), Some(worked.received_on));
    assert!(line[at("收到日期")].is_datetime(), "a real date");
    assert_eq!(line[at("被反映人")].to_string(), "刘某某，青山村党支部书记");
    assert_eq!(line[at("被反映人身份")].to_string(), "村（社区）干部");
    assert_eq!(
        line[at("问题摘要")].to_string(),
        "书记的弟弟开着小车还在吃低保…"
    );
    assert_eq!(line[at("核查结论")].to_string(), "部分属实");
    assert_eq!(line[at("状态")].to_string(), "已反馈结案");
    assert_eq!(line[at("移交纪检日期")].as_date(), Some(today));
    assert_eq!(line[at("办结日期")].as_date(), Some(today));
    assert_eq!(line[at("报区民政局日期")], Data::Empty);
    let audited = exports(&app).await;
    assert_eq!(audited.len(), 1);
    assert!(audited[0].contains("full"), "{audited:?}");
    assert!(audited[0].contains(&worked.case_number) && audited[0].contains(&waiting.case_number));

    // Without content: no one named, no summary, anywhere in the file.
    let bytes = download(
        &inspector,
        "/staff/cases/ledger.xlsx?content=none",
        "application/vnd",
    )
    .await;
    let plain = sheet(bytes);
    let headers = texts(&plain[1]);
    assert!(
        !headers.contains(&"被反映人".to_string()) && !headers.contains(&"问题摘要".to_string())
    );
    assert_eq!(headers.len(), FULL_HEADERS.len() - 2);
    let everything: String = plain.iter().flat_map(|r| texts(r)).collect();
    assert!(!everything.contains("刘某某") && !everything.contains("小车"));
    assert!(plain[0][0].to_string().contains("不含举报内容"));

    // The list's filters hold: only the closed case.
    let csv = download(
        &inspector,
        "/staff/cases/ledger.csv?status=closed&page=3",
        "text/csv",
    )
    .await;
    assert!(
        csv.starts_with("\u{feff}".as_bytes()),
        "UTF-8 with a byte-order mark"
    );
    let mut reader = csv::Reader::from_reader(&csv[3..]);
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header, FULL_HEADERS);
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 1);
    assert_eq!(&records[0][1], worked.case_number);
    assert_eq!(&records[0][at("问题摘要")], "书记的弟弟开着小车还在吃低保…");
    assert_eq!(
        NaiveDate::parse_from_str(&records[0][at("办结日期")], "%Y-%m-%d").unwrap(),
        today
    );
    let audited = exports(&app).await;
    assert_eq!(audited.len(), 3);
    assert!(!audited[2].contains(&waiting.case_number), "{audited:?}");

    // The list links to the exports with its filters.
    let list = inspector.page("/staff/cases?status=closed&page=1").await;
    assert!(
        list.contains("href=\"/staff/cases/ledger.xlsx?status=closed\""),
        "{list}"
    );
    // Others may not export at all.
    let operator = app.signed_in("hua", "话务员小华", Role::Operator).await;
    assert_eq!(operator.get("/staff/cases/ledger.csv").await.status(), 403);
    assert!(!operator.page("/staff/cases").await.contains("ledger.xlsx"));
}

async fn a_recused_account_never_exports_the_case(app: TestApp) {
    app.create_staff("wang", "王建国", &[Role::Inspector], &[])
        .await;
    let inspector = app.signed_in("zheng", "郑主任", Role::Inspector).await;
    let named = report_saying(
        &app,
        "connection",
        "qingshan-village",
        "街道的王建国给他亲戚办了低保",
    )
    .await
    .report;
    let wang = app.sign_in("wang").await;
    for path in [
        "/staff/cases/ledger.xlsx",
        "/staff/cases/ledger.xlsx?content=none",
    ] {
        let rows = sheet(download(&wang, path, "application/vnd").await);
        assert_eq!(rows.len(), 2, "{path}: the title and the headers only");
    }
    let csv = download(&wang, "/staff/cases/ledger.csv", "text/csv").await;
    assert!(!String::from_utf8(csv).unwrap().contains(&named.case_number));
    let rows = sheet(download(&inspector, "/staff/cases/ledger.xlsx", "application/vnd").await);
    assert_eq!(rows.len(), 3, "the other inspector's ledger holds it");
}

async fn every_source_the_plan_names_is_entered_listed_and_exported(app: TestApp) {
    let operator = app.signed_in("hua", "话务员小华", Role::Operator).await;
    let form = operator.page("/staff/intake").await;
    for (code, label) in [
        ("hotline", "监督电话"),
        ("letter", "举报箱来信"),
        ("walk_in", "来访"),
        ("courtyard", "院坝会"),
        ("wechat_group", "微信群"),
        ("data_comparison", "数据比对"),
        ("assigned", "上级交办"),
        ("self_inspection", "自查发现"),
    ] {
        assert!(
            form.contains(&format!("<option value=\"{code}\">{label}</option>"))
                || form.contains(&format!(
                    "<option value=\"{code}\" selected>{label}</option>"
                )),
            "the operator form offers {label}"
        );
    }
    assert!(
        !form.contains("<option value=\"web\""),
        "the web form is the public's"
    );
    let entry = |channel| {
        [
            ("channel", channel),
            ("category", "other"),
            ("description", "院坝会上村民反映低保评议不公开"),
            ("anonymous", "true"),
        ]
    };
    operator
        .post_for("/staff/intake", &entry("courtyard"), 200)
        .await;
    let refused = operator.post("/staff/intake", &entry("web")).await;
    assert_eq!(refused.status(), 422, "staff do not enter web reports");

    let inspector = app.signed_in("zheng", "郑主任", Role::Inspector).await;
    let list = inspector.page("/staff/cases?channel=courtyard").await;
    assert!(list.contains("院坝会"), "{list}");
    let csv = download(
        &inspector,
        "/staff/cases/ledger.csv?channel=courtyard",
        "text/csv",
    )
    .await;
    let text = String::from_utf8(csv).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains("院坝会"));
}

async fn the_list_shows_inspectors_the_ledger_columns_and_audits_each_view(app: TestApp) {
    let inspector = app.signed_in("zheng", "郑主任", Role::Inspector).await;
    let case = the_secretarys_brother(&app).await;
    inspector.conclude(case.id, "substantiated", "属实").await;
    let today = local_day(app.state.now());
    let on = today.format("%Y-%m-%d").to_string();
    for event in ["transferred_discipline", "reported_bureau"] {
        let path = format!("/staff/cases/{}/events", case.id);
        let fields = [("event", event), ("on", on.as_str())];
        assert_eq!(inspector.post(&path, &fields).await.status(), 303);
    }
    let list = inspector.page("/staff/cases?lang=zh").await;
    for shown in [
        "问题摘要".to_string(),
        "书记的弟弟开着小车还在吃低保…".to_string(),
        "属实".to_string(),
        "刘某某，青山村党支部书记".to_string(),
        format!("{on} 移交纪检"),
        format!("{on} 报区民政局"),
    ] {
        assert!(list.contains(shown.as_str()), "{shown} in {list}");
    }
    assert!(!list.contains("第二行细节"), "only the first line");
    let entries = audit_entries(&app, "list_summaries").await;
    assert_eq!(entries.len(), 1, "one entry for the view");
    assert!(entries[0].detail.contains(&case.case_number));
    assert!(
        !entries[0].detail.contains("书记"),
        "the entry names cases, not content"
    );
    inspector.page("/staff/cases?lang=zh").await;
    assert_eq!(
        audit_entries(&app, "list_summaries").await.len(),
        2,
        "each view is audited"
    );
    // An operator's list opens nothing and is not audited as a reading.
    let operator = app.signed_in("hua", "话务员小华", Role::Operator).await;
    let theirs = operator.page("/staff/cases?lang=zh").await;
    assert!(!theirs.contains("书记的弟弟") && !theirs.contains("问题摘要"));
    assert!(!theirs.contains("刘某某") && !theirs.contains("移交纪检"));
    assert_eq!(audit_entries(&app, "list_summaries").await.len(), 2);
}
