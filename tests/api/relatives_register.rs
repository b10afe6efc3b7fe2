//! The close-relative register (近亲属备案): an admin files relatives of a staff account and of
//! a cadre without one, an inspector records a home visit on the day it happened, the filings
//! not yet visited are listed and exported (XLSX read back, CSV with its byte-order mark), each
//! reading audited; bad input is refused with the form shown again, and filings made before
//! the register existed still recuse.

use std::io::Cursor;

use calamine::{Data, DataType, Reader, Xlsx};
use chrono::{Duration, NaiveDate};
use migration::{Migrator, MigratorTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Statement};
use serde_json::json;
use tipoff::crypto::{KeyPurpose, Keyring};
use tipoff::domain::{Role, VisitFinding, local_day};
use tipoff::entities::{recusal, relative_filing, relative_visit, report};
use tipoff::services::cases::Caller;
use tipoff::services::keys::rows_using;
use tipoff::services::recusal::list_relatives;
use tipoff::services::register::{NewVisit, Reading, Which, record_visit, register};
use uuid::Uuid;

use crate::helpers::cli::{run_cli, said};
use crate::helpers::reports::submit;
use crate::helpers::storage::audit_entries;
use crate::helpers::{Staff, TestApp, body_with};
use crate::on_both_backends;

on_both_backends!(
    an_inspector_visits_one_filing_and_exports_the_one_not_yet_visited,
    refused_visits_and_filings_show_the_form_again_with_the_reason,
    a_filing_made_before_the_register_existed_still_recuses,
    a_visit_stays_readable_once_its_filings_key_is_rewrapped,
);

const HEADERS: [&str; 9] = [
    "序号",
    "干部或经办人员",
    "职务",
    "有系统账号",
    "亲属姓名",
    "关系",
    "亲属所在村（社区）",
    "救助类别",
    "备案日期",
];

/// The admin files the relative of staff account `staff`, as the page's form sends it.
async fn file_for_account(admin: &Staff<'_>, staff: Uuid, name: &str) -> reqwest::Response {
    let staff = staff.to_string();
    let fields = account_filing(&staff, name, "配偶", "qingshan-village", "dibao");
    admin.post("/staff/admin/relatives", &fields).await
}

/// The form's fields filing `name`, `relation` of staff account `staff`, living in `village`
/// and on `support`.
fn account_filing<'a>(
    staff: &'a str,
    name: &'a str,
    relation: &'a str,
    village: &'a str,
    support: &'a str,
) -> [(&'a str, &'a str); 5] {
    [
        ("staff", staff),
        ("name", name),
        ("relation", relation),
        ("village", village),
        ("support", support),
    ]
}

/// A report of a connection saying `description`, naming nobody.
async fn connection_report(app: &TestApp, description: &str) -> report::Model {
    let body = json!({"category": "connection", "description": description, "anonymous": true});
    submit(app, body).await.report
}

async fn all_visits(app: &TestApp) -> Vec<relative_visit::Model> {
    relative_visit::Entity::find().all(app.db()).await.unwrap()
}

async fn all_filings(app: &TestApp) -> Vec<relative_filing::Model> {
    relative_filing::Entity::find().all(app.db()).await.unwrap()
}

/// The admin and 周明, an inspector, as accounts: their ids.
async fn admin_and_zhou(app: &TestApp) -> (Uuid, Uuid) {
    let admin = app
        .create_staff("admin", "管理员", &[Role::Admin], &[])
        .await;
    let zhou = app
        .create_staff("zhou", "周明", &[Role::Inspector], &[])
        .await;
    (admin, zhou)
}

async fn filing_of(app: &TestApp, user: Option<Uuid>) -> relative_filing::Model {
    let query = relative_filing::Entity::find();
    let query = match user {
        Some(id) => query.filter(relative_filing::Column::UserId.eq(id)),
        None => query.filter(relative_filing::Column::UserId.is_null()),
    };
    query.one(app.db()).await.unwrap().expect("the filing")
}

async fn audited(app: &TestApp, action: &str) -> Vec<String> {
    audit_entries(app, action)
        .await
        .into_iter()
        .map(|e| e.detail)
        .collect()
}

fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn download(staff: &Staff<'_>, path: &str, kind: &str) -> Vec<u8> {
    staff.download(path, kind, "relatives-unvisited-").await
}

async fn an_inspector_visits_one_filing_and_exports_the_one_not_yet_visited(app: TestApp) {
    let admin = app.signed_in("admin", "管理员", Role::Admin).await;
    let inspector = app.signed_in("zheng", "郑主任", Role::Inspector).await;
    let operator = app.signed_in("op", "孙丽", Role::Operator).await;
    let zhou = app
        .create_staff("zhou", "周明", &[Role::Inspector], &[])
        .await;

    assert_eq!(
        file_for_account(&admin, zhou, "欧阳晓岚").await.status(),
        200
    );
    let filed = body_with(admin.file_for_cadre().await, 200).await;
    assert!(
        filed.contains("刘小红") && filed.contains("刘某某"),
        "{filed}"
    );
    assert!(filed.contains("无系统账号，不触发回避"));
    let of_zhou = filing_of(&app, Some(zhou)).await;
    let of_cadre = filing_of(&app, None).await;
    assert_eq!(of_zhou.support.as_deref(), Some("dibao"));
    assert_eq!(of_cadre.village.as_deref(), Some("xinmin-village"));
    assert_eq!(of_cadre.cadre_village.as_deref(), Some("qingshan-village"));
    for sealed in [of_cadre.cadre_name.as_ref(), of_cadre.cadre_post.as_ref()] {
        let sealed = sealed.expect("sealed");
        for needle in ["刘某某", "党支部书记"] {
            assert!(!contains_bytes(sealed, needle.as_bytes()));
        }
    }

    // The account's filing recuses it; the cadre without an account recuses no one.
    let about_zhou = connection_report(&app, "欧阳晓岚家条件很好还在领低保").await;
    let about_cadre = connection_report(&app, "刘小红家有车有房还在领特困").await;
    let recused = |id: Uuid| {
        recusal::Entity::find()
            .filter(recusal::Column::ReportId.eq(id))
            .all(app.db())
    };
    let on_zhou = recused(about_zhou.id).await.unwrap();
    assert_eq!(on_zhou.len(), 1);
    assert_eq!(
        (on_zhou[0].user_id, on_zhou[0].source.as_str()),
        (zhou, "relative")
    );
    assert!(recused(about_cadre.id).await.unwrap().is_empty());

    // The register lists both, neither visited; an operator may not see it.
    let page = inspector.page("/staff/relatives").await;
    assert!(
        page.contains("欧阳晓岚") && page.contains("刘小红"),
        "{page}"
    );
    assert!(page.contains("共 2 条备案"));
    for path in [
        "/staff/relatives",
        "/staff/relatives?which=unvisited",
        "/staff/relatives/unvisited.xlsx",
        "/staff/relatives/unvisited.csv",
    ] {
        assert_eq!(operator.get(path).await.status(), 403, "{path}");
    }
    let visit_path = format!("/staff/relatives/{}/visits", of_zhou.id);
    let today = local_day(app.state.now());
    let on = (today - Duration::days(3)).format("%Y-%m-%d").to_string();
    let visit = [
        ("on", on.as_str()),
        ("visitor", "王五、李四"),
        ("finding", "conform"),
        ("follow_up", ""),
    ];
    assert_eq!(operator.post(&visit_path, &visit).await.status(), 403);

    // The inspector records the visit of three days ago.
    inspector.post_for(&visit_path, &visit, 303).await;
    let visits = all_visits(&app).await;
    assert_eq!(visits.len(), 1);
    assert_eq!(visits[0].filing_id, of_zhou.id);
    assert_eq!(visits[0].visited_on, today - Duration::days(3));
    assert_eq!(visits[0].finding, "conform");
    assert!(!contains_bytes(&visits[0].visitor, "王五".as_bytes()));
    let page = inspector.page("/staff/relatives").await;
    assert!(page.contains(&on) && page.contains("王五、李四") && page.contains("符合"));

    // Not yet visited: only the cadre's relative.
    let unvisited = inspector.page("/staff/relatives?which=unvisited").await;
    assert!(unvisited.contains("刘小红") && !unvisited.contains("欧阳晓岚"));
    let campaign = inspector.page("/staff/campaign").await;
    assert!(
        campaign.contains("尚未入户核实的近亲属备案：1 条"),
        "{campaign}"
    );

    // The export holds that one, with its headers and a real date.
    let bytes = download(
        &inspector,
        "/staff/relatives/unvisited.xlsx",
        "application/vnd.openxmlformats",
    )
    .await;
    let mut book = Xlsx::new(Cursor::new(bytes)).expect("an XLSX file");
    let rows: Vec<Vec<Data>> = book
        .worksheet_range("近亲属备案")
        .expect("the sheet")
        .rows()
        .map(|r| r.to_vec())
        .collect();
    assert!(rows[0][0].to_string().contains("尚未入户核实"), "title row");
    let headers: Vec<String> = rows[1].iter().map(|c| c.to_string()).collect();
    assert_eq!(headers, HEADERS);
    assert_eq!(rows.len(), 3, "title, headers and one filing");
    let line: Vec<String> = rows[2].iter().map(|c| c.to_string()).collect();
    assert_eq!(
        line[1..8],
        [
            "刘某某",
            "党支部书记，青山村",
            "否",
            "刘小红",
            "女儿",
            "新民村",
            "特困"
        ]
    );
    assert!(rows[2][8].is_datetime(), "a real date");
    assert_eq!(rows[2][8].as_date(), Some(local_day(of_cadre.created_at)));

    let csv = download(&inspector, "/staff/relatives/unvisited.csv", "text/csv").await;
    assert!(
        csv.starts_with("\u{feff}".as_bytes()),
        "UTF-8 byte-order mark"
    );
    let text = String::from_utf8(csv).unwrap();
    assert!(text.contains("刘小红") && !text.contains("欧阳晓岚"));
    let filed_on: NaiveDate = local_day(of_cadre.created_at);
    assert!(text.contains(&filed_on.to_string()));

    // Every reading is audited, naming how many filings and which.
    let shown = audited(&app, "open_register").await;
    assert!(
        shown
            .iter()
            .any(|d| d.contains("(all), 2 filing(s)") && d.contains(&of_cadre.id.to_string())),
        "{shown:?}"
    );
    assert!(
        shown
            .iter()
            .any(|d| d.contains("(not yet visited), 1 filing(s)"))
    );
    let exports = audited(&app, "export").await;
    let expected = format!(
        "close-relative register exported (not yet visited), 1 filing(s): {}",
        of_cadre.id
    );
    assert_eq!(exports, vec![expected.clone(), expected]);
    let changes = audited(&app, "filing_change").await;
    assert!(changes.iter().any(|d| d.contains("home visit of")));
}

/// A visit by 王五 on `on` with `finding`, refused: the page that says why.
/// A visit by 王五 `on` a day, with its `finding`, as the visit form sends it.
fn visit_form<'a>(on: &'a str, finding: &'a str) -> [(&'a str, &'a str); 3] {
    [("on", on), ("visitor", "王五"), ("finding", finding)]
}

async fn refused_visit(staff: &Staff<'_>, path: &str, on: &str, finding: &str) -> String {
    staff.post_for(path, &visit_form(on, finding), 422).await
}

async fn refused_visits_and_filings_show_the_form_again_with_the_reason(app: TestApp) {
    let admin = app.signed_in("admin", "管理员", Role::Admin).await;
    let inspector = app.signed_in("zheng", "郑主任", Role::Inspector).await;
    let zhou_id = app
        .create_staff("zhou", "周明", &[Role::Inspector], &[])
        .await;
    let zhou = app.sign_in("zhou").await;
    assert_eq!(
        file_for_account(&admin, zhou_id, "欧阳晓岚").await.status(),
        200
    );
    let filing = filing_of(&app, Some(zhou_id)).await;
    let path = format!("/staff/relatives/{}/visits", filing.id);

    // A visit tomorrow has not happened yet.
    let tomorrow = (local_day(app.state.now()) + Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let visit = visit_form(&tomorrow, "conform");
    let page = body_with(inspector.post(&path, &visit).await, 422).await;
    assert!(page.contains("日期不能晚于今天。"), "{page}");
    assert!(page.contains(&format!("value=\"{tomorrow}\"")) && page.contains("value=\"王五\""));
    let page = body_with(
        inspector.post(&format!("{path}?lang=en"), &visit).await,
        422,
    )
    .await;
    assert!(page.contains("The date cannot be in the future."));
    // Not conforming needs a follow-up; a date must be a date; nobody verifies their own.
    let page = refused_visit(&inspector, &path, "2026-09-01", "not_conform").await;
    assert!(page.contains("请填写后续处理"));
    let page = refused_visit(&inspector, &path, "9月1日", "conform").await;
    assert!(page.contains("日期格式应为"));
    let page = refused_visit(&zhou, &path, "2026-09-01", "conform").await;
    assert!(page.contains("须由其他人员入户核实"));
    assert!(all_visits(&app).await.is_empty());
    let missing = format!("/staff/relatives/{}/visits", Uuid::new_v4());
    let ok_visit = visit_form("2026-09-01", "conform");
    assert_eq!(inspector.post(&missing, &ok_visit).await.status(), 404);

    // A filing without the relative's name: the form comes back as typed.
    let staff = zhou_id.to_string();
    let typed = account_filing(&staff, " ", "表弟", "xinmin-village", "dibian");
    let page = body_with(admin.post("/staff/admin/relatives", &typed).await, 422).await;
    assert!(page.contains("亲属姓名至少需要两个字"), "{page}");
    assert!(page.contains("value=\"表弟\""));
    assert!(page.contains("value=\"xinmin-village\" selected"));
    assert!(page.contains("value=\"dibian\" selected"));
    // A cadre without an account needs a post; an account and a typed cadre are one too many.
    let no_post = [
        ("cadre_name", "刘某某"),
        ("name", "刘小红"),
        ("support", "dibao"),
    ];
    let page = body_with(
        admin.post("/staff/admin/relatives?lang=en", &no_post).await,
        422,
    )
    .await;
    assert!(page.contains("give both the name and the post"));
    assert!(page.contains("value=\"刘某某\""));
    let both = [
        ("staff", staff.as_str()),
        ("cadre_name", "刘某某"),
        ("cadre_post", "主任"),
        ("name", "刘小红"),
    ];
    let page = body_with(admin.post("/staff/admin/relatives", &both).await, 422).await;
    assert!(page.contains("请只选其一"));
    assert_eq!(all_filings(&app).await.len(), 1);
}

async fn a_filing_made_before_the_register_existed_still_recuses(app: TestApp) {
    let (admin, zhou) = admin_and_zhou(&app).await;
    let keyring = &app.state.keyring;
    let filed = app
        .filed_relative(zhou, "欧阳晓岚", Some("配偶"), admin)
        .await;
    // Back to the schema before the register, the filing in it; then forward again.
    let since_register = Migrator::migrations()
        .iter()
        .rev()
        .position(|m| m.name() == "m20261207_000080_relative_register")
        .expect("the register's migration")
        + 1;
    Migrator::down(app.db(), Some(since_register as u32))
        .await
        .expect("migrate down");
    let db = app.db();
    let old_schema = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT support FROM relative_filings",
        ))
        .await;
    assert!(old_schema.is_err(), "the old schema has no support column");
    let count = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM relative_filings WHERE user_id IS NOT NULL",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(count.try_get::<i64>("", "n").unwrap(), 1);
    Migrator::up(db, None).await.expect("migrate up");

    let listed = list_relatives(db, keyring, zhou).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].0, filed);
    assert_eq!(listed[0].1.as_str(), "欧阳晓岚");
    let old = filing_of(&app, Some(zhou)).await;
    assert_eq!((old.support, old.village), (None, None));

    let named = connection_report(&app, "欧阳晓岚家条件很好还在领低保").await;
    let row = recusal::Entity::find_by_id((named.id, zhou))
        .one(db)
        .await
        .unwrap()
        .expect("recused through the old filing");
    assert_eq!(row.source, "relative");
    // The register lists it, not yet visited; a visit on it cascades away with it.
    let inspector = app.signed_in("zheng", "郑主任", Role::Inspector).await;
    let unvisited = inspector.page("/staff/relatives?which=unvisited").await;
    assert!(unvisited.contains("欧阳晓岚") && unvisited.contains("周明"));
    let path = format!("/staff/relatives/{filed}/visits");
    let visit = visit_form("2026-09-01", "conform");
    assert_eq!(inspector.post(&path, &visit).await.status(), 303);
    let admin = app.sign_in("admin").await;
    admin
        .post_for(
            &format!("/staff/admin/relatives/{filed}/remove"),
            &[("confirmed", "yes")],
            200,
        )
        .await;
    assert!(all_visits(&app).await.is_empty());
}

async fn a_visit_stays_readable_once_its_filings_key_is_rewrapped(app: TestApp) {
    let (admin, zhou) = admin_and_zhou(&app).await;
    let inspector = app.staff("zheng", "郑主任", &[Role::Inspector]).await;
    let keyring = &app.state.keyring;
    let filed = app.filed_relative(zhou, "欧阳晓岚", None, admin).await;
    let visit = NewVisit {
        visited_on: local_day(app.now()),
        visitor: "王五、李四",
        finding: VisitFinding::Rectify,
        follow_up: Some("两周内复核家庭收入"),
    };
    record_visit(app.caller(&inspector, app.now()), filed, &visit)
        .await
        .unwrap();
    let old_kek = keyring.active_kek_id().to_owned();

    for args in [
        &["key", "rotate", "--kind", "kek"][..],
        &["key", "rewrap"][..],
    ] {
        let done = run_cli(&app, args).await;
        assert!(done.status.success(), "{}", said(&done));
    }
    let ring = Keyring::load(&app.data_dir.path().join("keys.toml")).unwrap();
    assert_ne!(ring.active_kek_id(), old_kek);
    assert_eq!(
        rows_using(app.db(), KeyPurpose::Kek, &old_kek)
            .await
            .unwrap(),
        0
    );
    // Read with the rewrapped keys, as the service would after a restart.
    let caller = Caller {
        db: app.db(),
        keyring: &ring,
        viewer: &inspector,
        now: app.now(),
    };
    let entries = register(caller, Which::All, Reading::Page).await.unwrap();
    assert_eq!(entries.len(), 1);
    let opened = &entries[0].visits[0];
    assert_eq!(opened.visitor.as_str(), "王五、李四");
    assert_eq!(
        opened.follow_up.as_deref().map(String::as_str),
        Some("两周内复核家庭收入")
    );
}
