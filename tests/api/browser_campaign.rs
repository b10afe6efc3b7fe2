//! An office runs its campaign in real Chromium, from the first notice it posts to the summary
//! it hands in on 20 October, every control found by the label written beside it: the admin
//! posts a site and prints its notice, a resident reports from the QR code on a phone, the
//! hotline enters a call, the cadres' relatives on support are filed and visited, an inspector
//! works the lead to a substantiated finding and its rectification, the dashboard follows the
//! plan's milestones, the statistics count what happened, the summary is written and
//! finalised, and the public page publishes only what may be published.

use tipoff::domain::Role;

use crate::helpers::browser::{Browser, assert_no_sideways_scroll, sign_in, track};
use crate::helpers::{TestApp, sqlite_app};

/// The milestone row's progress cell and what it lists as due, on the dashboard.
async fn milestone(desk: &Browser, id: &str) -> (String, String) {
    desk.goto("/staff/campaign?lang=zh").await;
    let row = format!("#milestone-{id}");
    (
        desk.text_of(&format!("{row} .state")).await,
        desk.text_of(&format!("{row} td:last-child")).await,
    )
}

/// Signs out, if still signed in, with the button every staff page carries.
async fn sign_out(desk: &Browser) {
    desk.goto("/staff/totp?lang=zh").await;
    if !desk.path().await.starts_with("/staff/login") {
        desk.press("退出").await;
    }
}

/// Another day, another account at the desk: a campaign lasts longer than a session.
async fn back_at_the_desk(app: &TestApp, desk: &Browser, username: &str, at: &str) {
    sign_out(desk).await;
    app.set_clock(at);
    sign_in(desk, username).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_office_runs_its_campaign_from_the_first_notice_to_the_summary() {
    let app = sqlite_app().await;
    app.set_clock("2024-08-28 09:00");
    app.create_staff("wang.admin", "王管理", &[Role::Admin], &[])
        .await;
    app.create_staff("hua", "话务员小华", &[Role::Operator], &[])
        .await;
    app.create_staff("li.jc", "李监察", &[Role::Inspector], &[])
        .await;
    let Some(desk) = Browser::desktop(&app).await else {
        return;
    };
    let Some(phone) = Browser::phone(&app).await else {
        return;
    };

    // 28 August: the admin posts the notice on Qingshan village's board and prints it. The
    // notice carries the day it was issued and the collection period, not the printing day.
    sign_in(&desk, "wang.admin").await;
    desk.goto("/staff/sites?lang=zh").await;
    desk.pick("类型", "村（社区）公示栏").await;
    desk.fill_in("名称", "青山村村委会门口公示栏").await;
    desk.pick("所在村（社区）", "青山村").await;
    desk.press("新增").await;
    let site_url = desk.text_of("td.url").await;
    let site_path = &site_url[site_url.find("/r/").expect("a posting-site link")..];
    desk.click_link("打印公告").await;
    assert_eq!(desk.text_of(".date").await, "2024年8月28日");
    assert_eq!(
        desk.text_of("#collection-period").await,
        "线索征集时间：2024年8月30日至2024年10月20日"
    );
    assert!(desk.text_of("#report-box").await.contains("举报箱"));
    assert!(desk.is_displayed("#qr svg").await, "the QR code is printed");

    // The village party secretary has no account here; his brother on 低保 is filed so that
    // someone visits the household before the verification report.
    desk.goto("/staff/admin/relatives?lang=zh").await;
    desk.fill_in("干部姓名（无账号时）", "张某").await;
    desk.fill_in("职务", "青山村党支部书记").await;
    desk.pick("干部所在村（社区）", "青山村").await;
    desk.fill_in("亲属姓名", "张某某").await;
    desk.fill_in("关系", "弟弟").await;
    desk.pick("亲属所在村（社区）", "青山村").await;
    desk.pick("救助类别", "低保").await;
    desk.press("备案").await;
    let filed = desk.text_of("#filings").await;
    assert!(
        filed.contains("张某某") && filed.contains("尚未入户核实"),
        "{filed}"
    );

    // 2 September: a resident scans the code on the board and reports anonymously.
    sign_out(&desk).await;
    app.set_clock("2024-09-02 19:30");
    phone.goto(site_path).await;
    phone.wait_for_text("举报方式").await;
    phone.choose("#category", "关系保").await;
    phone
        .fill(
            "#description",
            "村主任的亲戚开着小车还在吃低保，去年秋天才办下来",
        )
        .await;
    phone.click("input[name='anonymous'][value='true']").await;
    phone
        .click_and_wait_for_page("form button[type='submit']")
        .await;
    phone.wait_for_text("举报已收到").await;
    let code = phone.text_of("#tracking-code").await;
    assert_no_sideways_scroll(&phone, 360).await;

    // 3 September: the hotline takes a call about a caseworker.
    back_at_the_desk(&app, &desk, "hua", "2024-09-03 10:00").await;
    desk.goto("/staff/intake?lang=zh").await;
    desk.pick("来源 *", "监督电话").await;
    desk.pick("问题类别 *", "人情保").await;
    desk.pick("所在村（社区）", "新民村").await;
    desk.fill_in(
        "事情经过 *",
        "来电反映：低保专干给熟人办了低保，家里开着门面",
    )
    .await;
    desk.click("input[name='anonymous'][value='true']").await;
    desk.press("登记").await;
    desk.wait_for_text("举报已登记").await;

    // The inspector works the resident's lead: accepted, verified, substantiated, transferred
    // and reported to the bureau, and put right with a measure and what it recovered.
    back_at_the_desk(&app, &desk, "li.jc", "2024-09-04 09:00").await;
    desk.wait_for_path("/staff/cases").await;
    let number = desk
        .text_of("table.cases tbody tr:last-child td.number a")
        .await;
    desk.click_link(&number).await;
    assert!(desk.text_of("#description").await.contains("开着小车"));
    desk.press("受理").await;
    desk.press("开始核查").await;
    back_at_the_desk(&app, &desk, "li.jc", "2024-09-09 15:00").await;
    desk.goto("/staff/cases?lang=zh").await;
    desk.click_link(&number).await;
    desk.pick("核查结论", "属实").await;
    desk.fill_in("核查情况", "入户核实：车辆属实，家庭收入超过标准")
        .await;
    desk.press("记录结论并办结").await;
    assert_eq!(desk.text_of("#status").await, "已办结（属实）");

    // The day before the verification report is due, the dashboard says what it still needs.
    let (state, due) = milestone(&desk, "verification_report").await;
    assert_eq!(state, "还有 1 天");
    assert!(due.contains("属实线索尚未报区民政局：1 件"), "{due}");
    assert!(due.contains("尚未入户核实的近亲属备案：1 条"), "{due}");
    let (state, due) = milestone(&desk, "deploy").await;
    assert_eq!(state, "已完成");
    assert!(due.contains("已设张贴点 1 处"), "{due}");

    desk.goto("/staff/cases?lang=zh").await;
    desk.click_link(&number).await;
    desk.pick("记录事项", "已移交纪律检查岗").await;
    desk.press("记录").await;
    desk.pick("记录事项", "已报区民政局救助科").await;
    desk.press("记录").await;
    desk.fill_in("整改措施", "停发违规享受的低保金并追回").await;
    desk.fill_in("责任单位或责任人", "青山村委会").await;
    set_date(&desk, "整改期限", "2024-09-25").await;
    desk.press("添加整改措施").await;
    desk.pick("结果类别", "追回资金").await;
    desk.fill_in("金额（元）", "3600").await;
    desk.press("记录结果").await;
    desk.press("登记完成").await;
    let measures = desk.text_of("#rectification").await;
    assert!(measures.contains("3,600"), "{measures}");
    let (state, due) = milestone(&desk, "verification_report").await;
    assert_eq!(state, "还有 1 天", "the filing is not visited yet: {due}");

    // The household is visited the same day and the visit recorded in the register.
    desk.goto("/staff/relatives?lang=zh&which=unvisited").await;
    assert!(desk.text_of("#count").await.contains("1"));
    set_date(&desk, "核实日期", "2024-09-09").await;
    desk.fill_in("核实人员", "李监察、村民代表刘某").await;
    desk.pick("核实结论", "符合").await;
    desk.press("记录核实").await;
    desk.goto("/staff/relatives?lang=zh&which=unvisited").await;
    assert_eq!(desk.text_of("#count").await, "共 0 条备案");
    let (state, due) = milestone(&desk, "verification_report").await;
    assert_eq!(state, "已完成", "{due}");

    // 1 October, after the investigation milestone: the hotline lead is still not concluded.
    back_at_the_desk(&app, &desk, "li.jc", "2024-10-01 09:00").await;
    let (state, due) = milestone(&desk, "investigation").await;
    assert_eq!(state, "已逾期 1 天");
    assert!(due.contains("尚未核查完毕的线索：1 件"), "{due}");

    // The statistics for the campaign count both leads, the finding and the money.
    desk.goto("/staff/statistics?lang=zh&from=2024-08-30&to=2024-10-20")
        .await;
    assert_eq!(desk.text_of("#fig-received dd").await, "2");
    assert_eq!(desk.text_of("#fig-funds dd").await, "3,600.00");

    // 18 October: the summary is written, saved as a draft, then finalised and frozen.
    back_at_the_desk(&app, &desk, "li.jc", "2024-10-18 16:00").await;
    desk.goto("/staff/summary?lang=zh").await;
    assert!(desk.text_of("#substantiated").await.contains(&number));
    desk.fill_in("有效做法", "公告张贴到村民小组，扫码举报与电话并行")
        .await;
    desk.press("保存草稿").await;
    assert_eq!(desk.text_of("#saved").await, "草稿已保存。");
    desk.fill_in("存在的问题和困难", "部分老人不会扫码").await;
    desk.fill_in("下一步工作和建议", "每季度回访低保户").await;
    desk.press("定稿").await;
    assert_eq!(desk.text_of("#saved").await, "总结已定稿。");
    assert!(desk.text_of("#finalised").await.contains("不能再修改"));
    let form = desk
        .eval("return document.querySelector('#summary-form') === null")
        .await;
    assert_eq!(form, true, "a final summary offers no form");
    let (state, _) = milestone(&desk, "summary").await;
    assert_eq!(state, "已完成");
    desk.assert_no_script_trouble().await;

    // The resident reads the feedback-free progress with their code; the public page shows
    // the campaign's figures with every count under the floor hidden.
    assert_eq!(track(&phone, &code).await, "已办结");
    phone.goto("/?lang=zh").await;
    phone.click_link("阳光公开：整治工作进展").await;
    let published = phone.text_of("#monthly").await;
    assert!(published.contains("少于5"), "{published}");
    assert!(
        !published.contains("3,600"),
        "money from one case is withheld"
    );
    assert_no_sideways_scroll(&phone, 360).await;
    phone.assert_no_script_trouble().await;
}

/// Sets the date field labelled `label` as its date picker would.
async fn set_date(browser: &Browser, label: &str, day: &str) {
    let css = browser.labelled(label).await;
    browser
        .eval_with(
            "document.querySelector(arguments[0]).value = arguments[1]; return null",
            vec![css.into(), day.into()],
        )
        .await;
}
