//! axe-core in real Chromium on every staff page, at a 1280-px desk and on a 360-px phone: each
//! GET route of `STAFF_ROUTES` as every role allowed on it, with real data behind it, and the
//! pages reached only by a step (sign-in, the one-time enrolment link, the confirmation pages,
//! refused forms, the receipt after hotline entry), and the pages without ids in English. No
//! rule of WCAG 2.1 A/AA or of axe's best practices is turned off.
//!
//! Runs when TIPOFF_TEST_AXE names axe-core's `axe.min.js` (npm install axe-core@4.10) and
//! TIPOFF_TEST_CHROMEDRIVER names a chromedriver; under CI a missing one is a failure.

use std::time::{Duration, Instant};

use chrono_tz::Asia::Shanghai;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use tipoff::domain::{Role, SiteKind};
use tipoff::entities::relative_filing;
use tipoff::web::staff::STAFF_ROUTES;
use uuid::Uuid;

use crate::helpers::browser::{Browser, Viewport, sign_in};
use crate::helpers::files::{jpeg_with_gps, submit_with_files};
use crate::helpers::mail::via_smtp;
use crate::helpers::reports::{Submitted, report_body, report_of, submit};
use crate::helpers::sites::add_site;
use crate::helpers::{TestApp, code_in, configured, free_port, sqlite_app_with};

/// The rule sets every page must pass.
const TAGS: [&str; 5] = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"];

/// Staff GET routes that serve no HTML page: the QR images, the attachment bytes and the
/// ledger and register files.
const NOT_HTML: [&str; 9] = [
    "/staff/cases/ledger.xlsx",
    "/staff/relatives/unvisited.xlsx",
    "/staff/relatives/unvisited.csv",
    "/staff/summary.xlsx",
    "/staff/cases/ledger.csv",
    "/staff/sites/{id}/qr.svg",
    "/staff/sites/{id}/qr.png",
    "/staff/cases/{id}/attachments/{n}",
    "/staff/cases/{id}/attachments/{n}/preview",
];

const AXE_PATIENCE: Duration = Duration::from_secs(60);

/// axe-core's source, if configured. Under CI a missing one is a failure.
fn axe_source() -> Option<String> {
    let path = configured(
        "TIPOFF_TEST_AXE",
        "axe accessibility",
        "set TIPOFF_TEST_AXE to axe-core's axe.min.js",
    )?;
    Some(std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}")))
}

/// The staff accounts, one per role, by username, display name and roles; "feng" is the
/// colleague recused (its pages are those of "zhou").
const ACCOUNTS: [(&str, &str, &[Role]); 5] = [
    ("wang", "王管理", &[Role::Admin]),
    ("zhou", "周检查", &[Role::Inspector]),
    ("feng", "冯涛", &[Role::Inspector]),
    ("li", "李话务", &[Role::Operator]),
    ("chen", "陈科长", &[Role::Bureau]),
];

/// What the pages show: a worked case with a file, a case the rules send to the bureau, a
/// fresh one to merge, flood reports held back, a posting site, a close-relative filing and
/// the mail that could not be sent.
struct World {
    worked: Submitted,
    by_rule: Submitted,
    fresh: Submitted,
    site: Uuid,
}

/// An app whose mail goes to a port where nobody listens, tried once: it fails.
async fn app_with_failing_mail() -> TestApp {
    let port = free_port();
    sqlite_app_with(|s| {
        via_smtp(s, port);
        s.mail.max_attempts = 1;
        s.limits.flood_per_minute = 3;
    })
    .await
}

async fn build_world(app: &TestApp) -> World {
    let mut ids = Vec::new();
    for (username, name, roles) in ACCOUNTS {
        let aliases: &[&str] = if username == "feng" {
            &["冯老三"]
        } else {
            &[]
        };
        ids.push(app.create_staff(username, name, roles, aliases).await);
    }
    // An account that has left: its row shows disabled.
    app.create_staff("old", "老话务", &[Role::Operator], &[])
        .await;
    let zhou = ids[1].to_string();
    let feng = ids[2];

    // A real-name report through the public form, with a photo.
    let photo = jpeg_with_gps();
    let sent = submit_with_files(
        app,
        &[
            ("subject", "青山村村主任王某"),
            ("subject_role", "village_cadre"),
            ("anonymous", "false"),
            ("reporter_name", "李大姐"),
            ("reporter_phone", "13800001111"),
            ("occurred", "去年秋天"),
        ],
        &[("photo.jpg", "image/jpeg", &photo)],
        "203.0.113.21",
    )
    .await;
    assert_eq!(sent.status(), 200);
    let code = code_in(&sent.text().await.unwrap());
    let worked = Submitted {
        report: report_of(app, &code).await,
        code,
    };
    // About civil-affairs staff: the rules send it to the bureau.
    let by_rule = submit(
        app,
        report_body("policy", "qingshan-village", Some("civil_affairs_staff")),
    )
    .await;
    let fresh = submit(app, report_body("connection", "xinmin-village", None)).await;
    // A minute later, a flood: the reports past the threshold wait in quarantine.
    app.advance(120);
    for i in 0..5 {
        let body = json!({"category": "other", "description": format!("洪水中的第{i}份举报"), "anonymous": true});
        let response = app
            .post_json("/api/v1/reports", &body, &format!("203.0.113.{}", 100 + i))
            .await;
        assert_eq!(response.status(), 201);
    }

    // The inspector works the case: assigned, accepted, a question, a note, an event, sent to
    // the bureau; the bureau instructs.
    let inspector = app.sign_in("zhou").await;
    let case = |action: &str| format!("/staff/cases/{}/{action}", worked.report.id);
    let today = app
        .now()
        .with_timezone(&Shanghai)
        .format("%Y-%m-%d")
        .to_string();
    for (action, fields) in [
        ("assign", vec![("assignee", zhou.as_str())]),
        ("status", vec![("transition", "accept")]),
        ("messages", vec![("text", "请问这户人家住在几组？")]),
        ("notes", vec![("text", "已与村支书约谈，下周入户")]),
        (
            "events",
            vec![
                ("event", "transferred_discipline"),
                ("on", today.as_str()),
                ("text", "移交材料三页"),
            ],
        ),
        ("escalate", vec![("group", "district_bureau")]),
    ] {
        let done = inspector.post(&case(action), &fields).await;
        assert_eq!(done.status(), 303, "{action}");
    }
    // The case the rules sent on is found substantiated and put right: its page carries
    // the rectification table and forms.
    let rectified = |action: &str| format!("/staff/cases/{}/{action}", by_rule.report.id);
    inspector
        .conclude(by_rule.report.id, "substantiated", "经办人违规办理")
        .await;
    for (action, fields) in [
        (
            "rectification",
            vec![
                ("measure", "停发违规低保并追回资金"),
                ("responsible", "大路街道民政事务岗"),
                ("due", today.as_str()),
            ],
        ),
        (
            "rectification/results",
            vec![
                ("measure", "1"),
                ("kind", "funds_recovered"),
                ("on", today.as_str()),
                ("amount", "3600"),
            ],
        ),
    ] {
        let done = inspector.post(&rectified(action), &fields).await;
        assert_eq!(done.status(), 303, "{action}");
    }
    // The reporter answers: the case shows an unread reply.
    let body = json!({"tracking_code": worked.code, "text": "住在三组，家里开着一辆新面包车"});
    let replied = app
        .post_json("/api/v1/track/reply", &body, "203.0.113.22")
        .await;
    assert!(replied.status().is_success(), "{}", replied.status());
    let bureau = app.sign_in("chen").await;
    bureau
        .post_for(
            &case("instructions"),
            &[("text", "请街道七日内完成入户核查，结果报区局")],
            303,
        )
        .await;

    let site = add_site(
        app,
        SiteKind::VillageBoard,
        "青山村村委会公示栏",
        Some("qingshan-village"),
    )
    .await
    .id;
    let closed = add_site(app, SiteKind::StationMarket, "农贸市场东门", None)
        .await
        .id;
    let admin = app.sign_in("wang").await;
    for path in [
        "/staff/admin/users/old/disable".to_string(),
        format!("/staff/sites/{closed}/disable"),
    ] {
        let done = admin.post(&path, &[("confirmed", "yes")]).await;
        assert!(done.status().as_u16() < 400, "{path}: {}", done.status());
    }
    admin.file_relative(feng, "冯小明", "配偶").await;

    // Nobody listens for mail: every notification fails, and the banner shows.
    let batch = app.run_outbox().await;
    assert!(batch.failed > 0, "some mail failed");
    // Ten days on, the cases not yet accepted are overdue.
    app.advance(10 * 24 * 3600);
    register_world(app).await;
    World {
        worked,
        by_rule,
        fresh,
        site,
    }
}

/// The close-relative register behind the pages: besides feng's relative, one of a cadre
/// without an account, and a home visit to feng's.
async fn register_world(app: &TestApp) {
    let admin = app.sign_in("wang").await;
    let filed = admin.file_for_cadre().await;
    assert_eq!(filed.status(), 200);
    let visited = relative_filing::Entity::find()
        .filter(relative_filing::Column::UserId.is_not_null())
        .one(app.db())
        .await
        .unwrap()
        .expect("feng's filing")
        .id;
    let yesterday = (app.state.today() - chrono::Duration::days(1)).to_string();
    let visit = [
        ("on", yesterday.as_str()),
        ("visitor", "王五、李四"),
        ("finding", "rectify"),
        ("follow_up", "两周内复核家庭收入"),
    ];
    let inspector = app.sign_in("zhou").await;
    inspector
        .post_for(&format!("/staff/relatives/{visited}/visits"), &visit, 303)
        .await;
}

/// A GET route's path with real ids in it: the worked case, the site, an account.
fn concrete(world: &World, route: &str) -> String {
    let path = route
        .replace(
            "/staff/cases/{id}",
            &format!("/staff/cases/{}", world.worked.report.id),
        )
        .replace("/staff/sites/{id}", &format!("/staff/sites/{}", world.site))
        .replace("{username}", "feng");
    assert!(
        !path.contains('{'),
        "no id for {route}: add one to the axe test"
    );
    path
}

/// Runs axe on the page now shown; returns the violations, written out for people.
async fn violations(browser: &Browser, axe: &str) -> Vec<String> {
    let injected = browser
        .eval(&format!("{axe}\n;return typeof window.axe"))
        .await;
    assert_eq!(injected, "object", "axe-core loads into the page");
    browser
        .eval_with(
            "window.__axeResult = null; \
             axe.run(document, { runOnly: arguments[0] }).then( \
               r => { window.__axeResult = { violations: r.violations.map(v => ({ \
                        id: v.id, impact: v.impact, help: v.help, \
                        nodes: v.nodes.map(n => ({ target: n.target.join(' '), \
                          summary: n.failureSummary })) })) }; }, \
               e => { window.__axeResult = { error: String(e) }; }); \
             return null",
            vec![json!(TAGS)],
        )
        .await;
    let deadline = Instant::now() + AXE_PATIENCE;
    let result = loop {
        let result = browser.eval("return window.__axeResult").await;
        if !result.is_null() {
            break result;
        }
        assert!(Instant::now() < deadline, "axe did not finish");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(result["error"].is_null(), "axe failed: {result}");
    result["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(describe)
        .collect()
}

fn describe(violation: &Value) -> String {
    let nodes: Vec<String> = violation["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            format!(
                "      {}\n        {}",
                n["target"].as_str().unwrap_or_default(),
                n["summary"]
                    .as_str()
                    .unwrap_or_default()
                    .replace('\n', "\n        ")
            )
        })
        .collect();
    format!(
        "  {} ({}): {}\n{}",
        violation["id"].as_str().unwrap_or_default(),
        violation["impact"].as_str().unwrap_or_default(),
        violation["help"].as_str().unwrap_or_default(),
        nodes.join("\n")
    )
}

/// The pages checked and what axe found on them.
struct Audit {
    axe: String,
    size: &'static str,
    checked: Vec<String>,
    failures: Vec<String>,
}

impl Audit {
    /// Checks the page now shown, which was served with `status`.
    async fn check(&mut self, browser: &Browser, what: &str, status: u16) {
        let path = browser.path().await;
        assert_eq!(browser.status().await, status, "{what}: {path}");
        let found = violations(browser, &self.axe).await;
        let name = format!("{what} ({path}, {})", self.size);
        if !found.is_empty() {
            self.failures.push(format!("{name}:\n{}", found.join("\n")));
        }
        self.checked.push(name);
    }

    /// Checks the page now shown, which must have been refused (4xx) with a reason shown.
    async fn check_refused(&mut self, browser: &Browser, what: &str) {
        let status = browser.status().await;
        assert!((400..500).contains(&status), "{what}: {status}");
        self.check(browser, what, status).await;
    }

    /// Opens `path` and checks it.
    async fn visit(&mut self, browser: &Browser, what: &str, path: &str) {
        browser.goto(path).await;
        self.check(browser, what, 200).await;
    }
}

async fn audit_every_staff_page(viewport: Viewport) {
    let Some(axe) = axe_source() else {
        return;
    };
    let app = app_with_failing_mail().await;
    let world = build_world(&app).await;
    let size = match viewport {
        Viewport::Desktop => "1280 px",
        Viewport::Phone => "360 px",
    };
    let mut audit = Audit {
        axe,
        size,
        checked: Vec::new(),
        failures: Vec::new(),
    };
    let launch = || async {
        Browser::launch(&app, crate::helpers::browser::BrowserOptions::new(viewport)).await
    };

    // Before signing in: the login page, and as it is shown again after a wrong password.
    let Some(browser) = launch().await else {
        return;
    };
    audit.visit(&browser, "login", "/staff/login").await;
    audit
        .visit(&browser, "login in English", "/staff/login?lang=en")
        .await;
    browser.fill("#username", "wang").await;
    browser.fill("#password", "not-the-password").await;
    browser
        .click_and_wait_for_page("form button[type='submit']")
        .await;
    audit.check_refused(&browser, "login refused").await;
    drop(browser);

    // Every GET route, as every account allowed on it.
    let mut visited = std::collections::BTreeSet::new();
    for (username, _, roles) in ACCOUNTS {
        if username == "feng" {
            continue;
        }
        let browser = launch().await.expect("browser");
        sign_in(&browser, username).await;
        for route in STAFF_ROUTES.iter().filter(|r| r.method == "get") {
            if NOT_HTML.contains(&route.path) {
                continue;
            }
            if !route.roles.is_empty() && !route.roles.iter().any(|r| roles.contains(r)) {
                continue;
            }
            visited.insert(route.path);
            let path = concrete(&world, route.path);
            audit
                .visit(&browser, &format!("{} as {username}", route.path), &path)
                .await;
        }
        // The same pages in English: every word changes, nothing else may.
        for route in STAFF_ROUTES.iter().filter(|r| r.method == "get") {
            if NOT_HTML.contains(&route.path)
                || route.path.contains('{')
                || !(route.roles.is_empty() || route.roles.iter().any(|r| roles.contains(r)))
            {
                continue;
            }
            let what = format!("{} as {username} in English", route.path);
            audit
                .visit(&browser, &what, &format!("{}?lang=en", route.path))
                .await;
        }
        match username {
            "wang" => admin_steps(&mut audit, &browser).await,
            "zhou" => inspector_steps(&mut audit, &browser, &world).await,
            "li" => operator_steps(&mut audit, &browser).await,
            "chen" => {
                let path = format!("/staff/cases/{}", world.by_rule.report.id);
                let what = "a case the rules send to the bureau, as the bureau sees it";
                audit.visit(&browser, what, &path).await;
            }
            _ => {}
        }
        // The refused pages (wrong password, dead link, 422) are logged as failed loads;
        // nothing else may be.
        let trouble: Vec<String> = browser
            .console_errors()
            .await
            .into_iter()
            .filter(|m| !m.contains("the server responded with a status of 4"))
            .collect();
        assert_eq!(trouble, Vec::<String>::new(), "the console shows errors");
        assert_eq!(
            browser.dialogs(),
            Vec::<String>::new(),
            "pages opened dialogs"
        );
    }
    for route in STAFF_ROUTES.iter().filter(|r| r.method == "get") {
        assert!(
            NOT_HTML.contains(&route.path) || visited.contains(route.path),
            "{} was not checked",
            route.path
        );
    }

    println!(
        "axe checked {} staff pages at {size}:\n  {}",
        audit.checked.len(),
        audit.checked.join("\n  ")
    );
    assert!(
        audit.failures.is_empty(),
        "axe found violations on {} of {} pages at {size}:\n{}",
        audit.failures.len(),
        audit.checked.len(),
        audit.failures.join("\n")
    );
}

/// The admin creates an account (the page shows its one-time link), opens the link, and asks
/// to disable an account.
async fn admin_steps(audit: &mut Audit, browser: &Browser) {
    browser.goto("/staff/sites").await;
    assert!(browser.is_displayed("tr.disabled").await, "a disabled site");
    browser.goto("/staff/admin/users").await;
    assert!(
        browser.is_displayed("tr.disabled").await,
        "a disabled account"
    );
    browser.fill("#username", "new.jc").await;
    browser.fill("#display_name", "新检查员").await;
    browser.click("input[name='inspector']").await;
    browser
        .click_and_wait_for_page("form[action^='/staff/admin/users?'] button[type='submit']")
        .await;
    audit
        .check(browser, "the account list with a new enrolment link", 200)
        .await;
    let link = browser.text_of("code.secret").await;
    let path = link[link.find("/staff/enrol/").expect("an enrolment link")..].to_string();
    audit.visit(browser, "enrolment", &path).await;
    browser.goto("/staff/enrol/not-a-real-token").await;
    audit
        .check_refused(browser, "enrolment with a dead link")
        .await;

    browser.goto("/staff/admin/users").await;
    browser
        .click_and_wait_for_page("form[action^='/staff/admin/users/li/disable'] button")
        .await;
    audit
        .check(browser, "confirm disabling an account", 200)
        .await;

    browser.goto("/staff/admin/relatives").await;
    browser
        .click_and_wait_for_page("form[action*='/remove'] button")
        .await;
    audit
        .check(browser, "confirm withdrawing a close-relative filing", 200)
        .await;

    // A blank name, sent past the browser's own check: the field says why it is refused.
    browser.goto("/staff/admin/users/feng").await;
    without_browser_checks(browser).await;
    browser.fill("#display_name", " ").await;
    browser
        .click_and_wait_for_page("form[action*='/name'] button[type='submit']")
        .await;
    audit
        .check_refused(browser, "an account refusing a blank name")
        .await;
}

/// Turns off the browser's own form checks, so that the server's refusals can be seen.
async fn without_browser_checks(browser: &Browser) {
    browser
        .eval("document.querySelectorAll('form').forEach(f => f.noValidate = true); return null")
        .await;
}

/// The inspector asks to recuse a colleague and to merge a case (confirmation pages), gives
/// an unknown case to merge into (refused, 422), and reviews quarantine.
async fn inspector_steps(audit: &mut Audit, browser: &Browser, world: &World) {
    let worked = format!("/staff/cases/{}", world.worked.report.id);
    browser.goto(&worked).await;
    for shown in ["ul.attachments", "li.from-reporter", "#mail-alarm"] {
        assert!(
            browser.is_displayed(shown).await,
            "the case page shows {shown}"
        );
    }
    browser.goto("/staff/cases").await;
    assert!(browser.is_displayed("tr.overdue").await, "overdue cases");
    browser.goto("/staff/quarantine").await;
    assert!(
        browser.is_displayed("input[value='discard']").await,
        "flood reports wait in quarantine"
    );
    audit
        .visit(
            browser,
            "a worked case in English",
            &format!("{worked}?lang=en"),
        )
        .await;
    let rectified = format!("/staff/cases/{}", world.by_rule.report.id);
    browser.goto(&rectified).await;
    for shown in ["#measures", "#record-result", "#measure-done"] {
        assert!(browser.is_displayed(shown).await, "the page shows {shown}");
    }
    audit
        .visit(browser, "a case under rectification", &rectified)
        .await;
    audit
        .visit(
            browser,
            "a case under rectification in English",
            &format!("{rectified}?lang=en"),
        )
        .await;
    browser.goto(&worked).await;
    browser.choose("#recuse-who", "冯涛").await;
    browser.fill("#recuse-reason", "与被反映人是同学").await;
    browser
        .click_and_wait_for_page("form[action*='/recusals'] button[type='submit']")
        .await;
    audit.check(browser, "confirm a recusal", 200).await;

    let fresh = format!("/staff/cases/{}", world.fresh.report.id);
    audit.visit(browser, "a case just received", &fresh).await;
    browser.fill("#merge-into", "9999").await;
    browser.click_and_wait_for_page("#move-merge button").await;
    audit
        .check(browser, "a case refusing a merge into an unknown case", 422)
        .await;
    browser.goto(&fresh).await;
    browser
        .fill("#merge-into", &world.worked.report.case_number)
        .await;
    browser.click_and_wait_for_page("#move-merge button").await;
    audit.check(browser, "confirm a merge", 200).await;

    // A home visit without its day, sent past the browser's checks: refused with the reason.
    browser.goto("/staff/relatives?which=unvisited").await;
    without_browser_checks(browser).await;
    browser
        .fill("form[action*='/visits'] input[name='visitor']", "王五")
        .await;
    browser
        .click_and_wait_for_page("form[action*='/visits'] button[type='submit']")
        .await;
    audit
        .check(browser, "a home visit refused for want of its day", 422)
        .await;
}

/// The operator enters a hotline call; the receipt reads the code out once.
async fn operator_steps(audit: &mut Audit, browser: &Browser) {
    // Sent empty past the browser's checks: the form comes back with every problem listed.
    browser.goto("/staff/intake").await;
    without_browser_checks(browser).await;
    browser
        .click_and_wait_for_page("form[action^='/staff/intake'] button[type='submit']")
        .await;
    audit.check_refused(browser, "hotline entry refused").await;

    browser.goto("/staff/intake").await;
    browser.choose("#category", "关系保").await;
    browser
        .fill("#description", "来电反映：村主任的亲戚开着小车还在吃低保")
        .await;
    browser.click("input[name='anonymous'][value='true']").await;
    browser
        .click_and_wait_for_page("form[action^='/staff/intake'] button[type='submit']")
        .await;
    audit.check(browser, "hotline entry receipt", 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axe_finds_nothing_on_any_staff_page_at_a_desk() {
    audit_every_staff_page(Viewport::Desktop).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axe_finds_nothing_on_any_staff_page_on_a_phone() {
    audit_every_staff_page(Viewport::Phone).await;
}
