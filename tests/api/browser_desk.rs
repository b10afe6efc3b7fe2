//! An inspector's day in real Chromium, at a 1280-px desk and on a 360-px phone during home
//! visits: every control found by the label written beside it, as a person finds it.

use serde_json::json;
use tipoff::domain::Role;

use crate::helpers::browser::{Browser, assert_no_sideways_scroll, sign_in, sign_in_inspector};
use crate::helpers::reports::{Submitted, report_body, submit};
use crate::helpers::{TestApp, sqlite_app};

/// A real-named report naming a village cadre, as the API takes it.
async fn named_report(app: &TestApp, description: &str) -> Submitted {
    let mut body = report_body("connection", "dalu-community", Some("village_cadre"));
    body["description"] = json!(description);
    body["anonymous"] = json!(false);
    body["reporter"] = json!({"name": "李大姐", "phone": "13800001111"});
    submit(app, body).await
}

/// The office with Zhou as its inspector, and a report naming the village head's relative.
async fn office_with_a_case() -> (TestApp, Submitted) {
    let app = sqlite_app().await;
    app.create_staff("zhou", "周检查", &[Role::Inspector], &[])
        .await;
    let case = named_report(&app, "村主任的亲戚开着小车还在吃低保").await;
    (app, case)
}

/// Zhou signed in at `browser`, where a browser is configured.
async fn zhou_at(browser: Option<Browser>) -> Option<Browser> {
    let browser = browser?;
    sign_in_inspector(&browser, "zhou").await;
    Some(browser)
}

/// The text of the case page's status line.
async fn status_of(browser: &Browser) -> String {
    browser.text_of("#status").await
}

/// What the reporter reads on the status page with their code.
async fn tracked(app: &TestApp, code: &str) -> serde_json::Value {
    let response = app.post_track(code, "203.0.113.9").await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Opens a case from the list by its number, as written in the list.
async fn open_from_list(browser: &Browser, case_number: &str) {
    browser.goto("/staff/cases").await;
    browser.click_link(case_number).await;
    browser.wait_for_text(case_number).await;
}

/// Where the case page lays its actions out: "beside" the file, "below" it, or elsewhere.
async fn actions_placed(browser: &Browser) -> String {
    let placed = browser
        .eval(
            "const f = document.querySelector('.case-record').getBoundingClientRect(); \
             const a = document.querySelector('.case-actions').getBoundingClientRect(); \
             return a.left >= f.right && a.top < f.bottom ? 'beside' \
               : a.top >= f.bottom ? 'below' : 'overlapping'",
        )
        .await;
    placed.as_str().unwrap_or_default().to_string()
}

/// Whether the case page's actions offer a button or a field reading exactly `text`.
async fn offers(browser: &Browser, text: &str) -> bool {
    browser
        .eval_with(
            "return [...document.querySelectorAll('.case-actions button, .case-actions label')] \
               .some(e => e.textContent.trim() === arguments[0])",
            vec![json!(text)],
        )
        .await
        .as_bool()
        .unwrap()
}

/// The whole file of one case, from received to closed, found by labels only, its actions
/// laid out `placed` the file on this `screen`. Checks on the way that only the moves legal
/// now are offered and that nothing scrolls sideways.
async fn work_a_case_to_closed(
    app: &TestApp,
    desk: &Browser,
    case: &Submitted,
    (placed, screen): (&str, &str),
) {
    let width = desk.viewport_width().await;
    let number = &case.report.case_number;
    open_from_list(desk, number).await;
    assert_eq!(actions_placed(desk).await, placed, "{screen}");
    assert_no_sideways_scroll(desk, width).await;
    assert_eq!(status_of(desk).await, "已收到");
    assert_eq!(desk.text_of("#assignee").await, "未分派");
    assert_eq!(desk.text_of("#reporter-kind").await, "实名");
    assert_eq!(desk.text_of("#reporter-name").await, "李大姐");
    for later in ["反馈并结案", "记录结论并办结", "开始核查", "核查情况"] {
        assert!(!offers(desk, later).await, "{later} is not offered yet");
    }

    desk.pick("承办人", "周检查").await;
    desk.press("指派").await;
    assert_eq!(desk.text_of("#assignee").await, "周检查");

    desk.press("受理").await;
    assert_eq!(status_of(desk).await, "已受理");

    let question = "请问这户人家住在几组？";
    desk.fill_in("向举报人提出的问题", question).await;
    desk.press("向举报人提问").await;
    let note = "已与村支书约谈，下周入户";
    desk.fill_in("内部备注", note).await;
    desk.press("添加备注").await;
    desk.pick("记录事项", "已移交纪律检查岗").await;
    desk.fill_in("说明（可不填）", "移交材料三页").await;
    desk.press("记录").await;

    desk.press("开始核查").await;
    assert_eq!(status_of(desk).await, "核查中");
    assert_no_sideways_scroll(desk, width).await;

    // The finding is required: the browser will not send the form without it.
    let finding = desk.labelled("核查情况").await;
    let required = desk
        .eval(&format!(
            "return document.querySelector('{finding}').required"
        ))
        .await;
    assert_eq!(required, true, "the finding is required");
    desk.pick("核查结论", "部分属实").await;
    desk.fill_in("核查情况", "入户核实：车辆属实，收入未超标准")
        .await;
    desk.press("记录结论并办结").await;
    assert_eq!(status_of(desk).await, "已办结（部分属实）");
    assert!(
        !desk.page_text().await.contains("向举报人提出的问题"),
        "no questions once concluded"
    );

    let feedback = "经核查，部分属实，已责令整改";
    desk.fill_in("向举报人反馈的内容", feedback).await;
    desk.press("反馈并结案").await;
    assert_eq!(status_of(desk).await, "已反馈结案（部分属实）");
    assert_no_sideways_scroll(desk, width).await;

    // The history reads in order, each entry saying what it is.
    let history = desk.text_of("#timeline").await;
    let steps = [
        "指派承办人",
        "已收到 → 已受理",
        question,
        note,
        "已移交纪律检查岗",
        "已受理 → 核查中",
        "核查中 → 已办结",
        "已办结 → 已反馈结案",
        feedback,
    ];
    let mut from = 0;
    for step in steps {
        let at = history[from..]
            .find(step)
            .unwrap_or_else(|| panic!("{step} after the steps before it in: {history}"));
        from += at + step.len();
    }
    // Closed: nothing is left to do but write a note.
    let page = desk.page_text().await;
    for gone in ["指派", "受理", "登记回避", "升级转送至", "记录事项"] {
        assert!(!offers(desk, gone).await, "{gone} on a closed case: {page}");
    }
    // On paper the case prints as a file: everything it holds, no control.
    desk.print_layout(true).await;
    let printed = desk
        .eval(
            "const shown = e => e.getClientRects().length > 0; \
             return { controls: [...document.querySelectorAll('form, button, input, select, textarea')] \
                        .filter(shown).length, \
                      file: shown(document.querySelector('#timeline')) \
                        && shown(document.querySelector('#description')) }",
        )
        .await;
    assert_eq!(printed, json!({ "controls": 0, "file": true }), "printed");
    desk.print_layout(false).await;
    let answer = tracked(app, &case.code).await;
    assert_eq!(answer["feedback"], feedback, "{answer}");
    desk.assert_no_script_trouble().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inspector_works_a_case_from_received_to_closed_at_a_desk() {
    let (app, case) = office_with_a_case().await;
    let Some(desk) = zhou_at(Browser::desktop(&app).await).await else {
        return;
    };
    assert_eq!(desk.viewport_width().await, 1280);
    // Two columns: the actions stand beside the file, not under it.
    work_a_case_to_closed(&app, &desk, &case, ("beside", "at 1280 px")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inspector_works_a_case_from_received_to_closed_on_a_phone() {
    let (app, case) = office_with_a_case().await;
    let _other = named_report(&app, "另一户的低保也有问题").await;
    let Some(phone) = zhou_at(Browser::phone(&app).await).await else {
        return;
    };
    assert_eq!(phone.viewport_width().await, 360);
    // The list is one card per case: number, status, due, category, village, position.
    assert_no_sideways_scroll(&phone, 360).await;
    let card = phone
        .eval(
            "const row = document.querySelector('table.cases tbody tr'); \
             const r = row.getBoundingClientRect(); \
             return { width: r.width, display: getComputedStyle(row).display, \
                      head: document.querySelector('table.cases thead').getBoundingClientRect().height, \
                      text: [...row.cells].filter(c => getComputedStyle(c).display !== 'none') \
                        .map(c => getComputedStyle(c, '::before').content.replace(/^\"|\"$/g, '') \
                          .replace(/^none$/, '') + c.innerText).join('\\n') }",
        )
        .await;
    assert_eq!(card["display"], "block", "{card}");
    assert!(card["width"].as_f64().unwrap() <= 360.0, "{card}");
    assert!(
        card["head"].as_f64().unwrap() <= 1.0,
        "no header row: {card}"
    );
    let text = card["text"].as_str().unwrap();
    for shown in [
        "状态：已收到",
        "类别：关系保",
        "被反映人身份：村（社区）干部",
        "办理期限：",
    ] {
        assert!(text.contains(shown), "the card shows {shown}: {text}");
    }
    // On paper the list is the ledger's table, whatever the screen: no filters, no exports.
    phone.print_layout(true).await;
    let printed = phone
        .eval(
            "const shown = e => e.getClientRects().length > 0; \
             return { row: getComputedStyle(document.querySelector('table.cases tbody tr')).display, \
                      head: shown(document.querySelector('table.cases thead th')), \
                      filters: shown(document.querySelector('form.filters')), \
                      exports: shown(document.querySelector('.exports')) }",
        )
        .await;
    assert_eq!(
        printed,
        json!({ "row": "table-row", "head": true, "filters": false, "exports": false }),
        "the printed list"
    );
    phone.print_layout(false).await;
    // The case page is one column: the actions come after the file.
    work_a_case_to_closed(&app, &phone, &case, ("below", "on a phone")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_inspector_cannot_step_aside_in_the_browser() {
    let (app, case) = office_with_a_case().await;
    let Some(desk) = zhou_at(Browser::desktop(&app).await).await else {
        return;
    };
    open_from_list(&desk, &case.report.case_number).await;
    desk.pick("回避人员", "周检查").await;
    desk.fill_in("回避理由", "与被反映人是同学").await;
    desk.press("登记回避").await;
    desk.wait_for_text("确定本人回避本案？").await;
    desk.press("确认回避").await;
    assert_eq!(desk.status().await, 422);
    desk.wait_for_text("不能回避").await;
    assert_eq!(
        desk.eval("return document.querySelector('#recuse-reason').value")
            .await,
        "与被反映人是同学",
        "the reason typed is shown again"
    );
    // Still on the case, still the inspector's to work.
    open_from_list(&desk, &case.report.case_number).await;
    assert_eq!(status_of(&desk).await, "已收到");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reporter_of_a_merged_case_reads_the_feedback_of_the_case_it_joined() {
    let (app, master) = office_with_a_case().await;
    let joined = named_report(&app, "同一件事：主任亲戚吃低保").await;
    let Some(desk) = zhou_at(Browser::desktop(&app).await).await else {
        return;
    };
    open_from_list(&desk, &joined.report.case_number).await;
    // The number as inspectors say it: this year's cases by their last digits.
    let short = master.report.case_number.rsplit('-').next().unwrap();
    desk.fill_in("并入的案件编号", short).await;
    desk.press("并案").await;
    desk.wait_for_text("确定将本案并入").await;
    desk.press("确认并案").await;
    assert!(status_of(&desk).await.starts_with("已并入其他件办理"));
    desk.click_link(&master.report.case_number).await;
    assert_eq!(
        desk.text_of("#merged-from").await,
        joined.report.case_number
    );
    desk.press("受理").await;
    desk.press("开始核查").await;
    desk.pick("核查结论", "属实").await;
    desk.fill_in("核查情况", "属实").await;
    desk.press("记录结论并办结").await;
    let feedback = "经核查属实，已停发其亲属的低保";
    desk.fill_in("向举报人反馈的内容", feedback).await;
    desk.press("反馈并结案").await;

    let Some(phone) = Browser::phone(&app).await else {
        return;
    };
    phone.goto("/track").await;
    phone.fill_in("查询码（16位数字）", &joined.code).await;
    phone.press("查询").await;
    phone.wait_for_text(feedback).await;
    assert_no_sideways_scroll(&phone, 360).await;
    let page = phone.page_text().await;
    assert!(page.contains("已反馈结案"), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bureau_reads_only_the_cases_sent_to_it() {
    let app = sqlite_app().await;
    app.create_staff("zhou", "周检查", &[Role::Inspector], &[])
        .await;
    app.create_staff("ju", "区民政局陈科长", &[Role::Bureau], &[])
        .await;
    let sent = named_report(&app, "村主任的亲戚开着小车还在吃低保").await;
    let kept = named_report(&app, "另一户的低保也有问题").await;
    let Some(desk) = zhou_at(Browser::desktop(&app).await).await else {
        return;
    };
    open_from_list(&desk, &sent.report.case_number).await;
    desk.pick("升级转送至", "区民政局救助科").await;
    desk.press("升级转送").await;
    desk.wait_for_text("区民政局救助科（升级转送").await;

    let Some(bureau) = Browser::desktop(&app).await else {
        return;
    };
    sign_in(&bureau, "ju").await;
    bureau.goto("/staff/cases").await;
    let list = bureau.text_of("table.cases tbody").await;
    assert!(list.contains(&sent.report.case_number), "{list}");
    assert!(!list.contains(&kept.report.case_number), "{list}");
    open_from_list(&bureau, &sent.report.case_number).await;
    let page = bureau.page_text().await;
    for not_theirs in ["受理", "指派", "登记回避", "升级转送至"] {
        assert!(!offers(&bureau, not_theirs).await, "{not_theirs}: {page}");
    }
    let instruction = "请街道7日内完成入户核查并报结果";
    bureau.fill_in("区民政局意见", instruction).await;
    bureau.press("记录意见").await;
    bureau.fill_in("内部备注", "已电话联系街道").await;
    bureau.press("添加备注").await;
    let history = bureau.text_of("#timeline").await;
    assert!(history.contains(instruction), "{history}");

    // Anywhere else: as if the case did not exist.
    bureau
        .goto(&format!("/staff/cases/{}", kept.report.id))
        .await;
    assert_eq!(bureau.status().await, 404);
    let refused = app
        .signed_in("ju2", "区民政局", Role::Bureau)
        .await
        .post(
            &format!("/staff/cases/{}/notes", kept.report.id),
            &[("text", "看看")],
        )
        .await;
    assert_eq!(refused.status(), 404);

    // The inspector reads the bureau's instruction in the file.
    open_from_list(&desk, &sent.report.case_number).await;
    let history = desk.text_of("#timeline").await;
    assert!(history.contains("区民政局意见"), "{history}");
    assert!(history.contains(instruction), "{history}");
}
