//! Whole conversations in real Chromium: an inspector at a desk and a resident on a phone
//! talk through a case, and hostile script typed into every text field stays inert text.

use serde_json::Value;
use tipoff::domain::Role;

use crate::helpers::browser::Browser;
use crate::helpers::browser::{assert_no_sideways_scroll, open_the_case, report_anonymously};
use crate::helpers::browser::{sign_in_inspector, track};
use crate::helpers::{sqlite_app, sqlite_app_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inspector_asks_at_the_desk_and_a_resident_answers_on_a_phone() {
    let app = sqlite_app().await;
    let Some(phone) = Browser::phone(&app).await else {
        return;
    };
    let code = report_anonymously(&phone).await;
    app.create_staff("zhou", "周检查", &[Role::Inspector], &[])
        .await;

    let Some(desk) = Browser::desktop(&app).await else {
        return;
    };
    sign_in_inspector(&desk, "zhou").await;
    open_the_case(&desk).await;
    desk.wait_for_text("村主任的亲戚开着小车还在吃低保").await;
    let question = "请问这位亲戚叫什么名字？住在哪个组？";
    desk.fill("#question", question).await;
    desk.click_and_wait_for_page("#ask").await;
    assert_eq!(desk.status().await, 200);
    assert!(
        desk.text_of("li.from-inspector").await.contains(question),
        "the question is on the case page"
    );

    // The resident types the code the way it is often copied: without the spaces.
    let digits: String = code.split_whitespace().collect();
    assert_eq!(track(&phone, &digits).await, "已收到");
    assert_eq!(phone.viewport_width().await, 360, "a 360-px phone");
    assert_no_sideways_scroll(&phone, 360).await;
    assert!(
        phone.text_of("ul.messages").await.contains(question),
        "the resident reads the question"
    );
    let answer = "叫赵小宝，住在三组，家里开着一辆新面包车";
    phone.fill("#reply", answer).await;
    phone.click_and_wait_for_page("#send-reply").await;
    phone.wait_for_text("您的回复已送达").await;
    assert_eq!(phone.status().await, 200);
    assert!(
        phone.text_of("ul.messages").await.contains(answer),
        "the answer is shown back"
    );
    assert_no_sideways_scroll(&phone, 360).await;
    phone.assert_no_script_trouble().await;

    desk.reload().await;
    let unread = desk.text_of("li.from-reporter.unread").await;
    assert!(
        unread.contains(answer),
        "the answer is marked unread: {unread}"
    );
    assert!(unread.contains("未读"), "with the unread badge: {unread}");
    desk.assert_no_script_trouble().await;
}

// ---------------------------------------------------------------------------------------------
// Hostile input shown inert.

const PAYLOADS: [&str; 7] = [
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(2)>",
    "<svg onload=alert(3)>",
    "javascript:alert(4)",
    "</textarea><script>alert(5)</script>",
    "{{ 7*7 }}",
    "'; DROP TABLE reports; --",
];

/// Every payload, after a tag that tells the fields apart.
fn hostile(tag: &str) -> String {
    format!("{tag} {}", PAYLOADS.join(" "))
}

/// Proves the page shown has nothing a payload could have injected — no inline script, no
/// event-handler attribute, no `javascript:` address, no stray element — and that it was
/// served with `status` (never a 5xx) and shows each of `shown` as text.
async fn assert_inert(browser: &Browser, status: u16, shown: &[&str]) {
    let path = browser.path().await;
    assert_eq!(browser.status().await, status, "the status of {path}");
    let found = browser
        .eval(
            r#"
            const bad = [];
            for (const e of document.querySelectorAll('*')) {
                for (const a of e.attributes) {
                    const address = ['href', 'src', 'action', 'formaction', 'xlink:href', 'data']
                        .includes(a.name);
                    if (a.name.startsWith('on')
                        || (address && a.value.trim().toLowerCase().startsWith('javascript:'))) {
                        bad.push(e.tagName + ' ' + a.name + '=' + a.value);
                    }
                }
            }
            return {
                inline_scripts: document.querySelectorAll('script:not([src])').length,
                handlers: document.querySelectorAll('[onerror],[onload]').length,
                attributes: bad,
                scripts: Array.from(document.scripts).map(s => s.getAttribute('src'))
                    .filter(src => !/^\/static\/[a-z]+\.js$/.test(src)),
                stray: document.querySelectorAll('img[src="x"], svg, iframe, object, embed').length,
            };
            "#,
        )
        .await;
    assert_eq!(found["inline_scripts"], 0, "inline script on {path}");
    assert_eq!(found["handlers"], 0, "onerror/onload on {path}");
    assert_eq!(
        found["attributes"],
        Value::Array(vec![]),
        "handlers or javascript: addresses on {path}"
    );
    assert_eq!(
        found["scripts"],
        Value::Array(vec![]),
        "scripts other than the site's own on {path}"
    );
    assert_eq!(found["stray"], 0, "injected elements on {path}");
    let text = browser.page_text().await;
    for expected in shown {
        assert!(
            text.contains(expected),
            "{path} does not show {expected:?} as text; it shows:\n{text}"
        );
    }
}

async fn value_of(browser: &Browser, css: &str) -> String {
    let element = browser.find(css).await;
    let value = browser
        .eval_with(
            "return arguments[0].value",
            vec![serde_json::to_value(&element).unwrap()],
        )
        .await;
    value.as_str().unwrap().to_string()
}

/// Fills and sends one of the case page's forms (found by the end of its action).
async fn send_case_form(desk: &Browser, action: &str, field: &str, text: &str) {
    let form = format!("form[action*='/{action}?']");
    desk.fill(&format!("{form} {field}"), text).await;
    desk.click_and_wait_for_page(&format!("{form} button[type='submit']"))
        .await;
}

/// Types into the one field of a status change's form and sends it.
async fn send_move(desk: &Browser, form: &str, field: &str, text: &str) {
    desk.fill(field, text).await;
    desk.click_and_wait_for_page(&format!("#move-{form} button[type='submit']"))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn script_typed_into_every_field_stays_text_on_every_page() {
    // Every public report counts as a flood, so this one passes through quarantine too.
    let app = sqlite_app_with(|s| s.limits.flood_per_minute = 0).await;
    let inspector_name = format!("周检查{}", PAYLOADS[1]);
    app.create_staff("zhou", &inspector_name, &[Role::Inspector], &[])
        .await;
    app.create_staff("wu", "吴同事", &[Role::Inspector], &[])
        .await;
    let Some(phone) = Browser::phone(&app).await else {
        return;
    };
    let Some(desk) = Browser::desktop(&app).await else {
        return;
    };

    let subject = hostile("赵主任");
    let description_lines = [
        hostile("描述"),
        "村主任的亲戚开着小车还在吃低保".to_string(),
    ];
    let description = description_lines.join("\n");
    let occurred = format!("去年 {} {}", PAYLOADS[4], PAYLOADS[1]);
    let name = format!("张{}{}", PAYLOADS[1], PAYLOADS[5]);
    let bad_phone = "\"><svg onload=f(7)>";

    // The form comes back with everything typed (the phone number is refused).
    phone.goto("/report").await;
    phone.choose("#category", "关系保").await;
    phone.fill("#subject", &subject).await;
    phone.fill("#description", &description).await;
    phone.fill("#occurred", &occurred).await;
    phone.click("input[name='anonymous'][value='false']").await;
    phone.fill("#reporter_name", &name).await;
    phone.fill("#reporter_phone", bad_phone).await;
    phone
        .click_and_wait_for_page("form button[type='submit']")
        .await;
    phone.wait_for_text("请检查以下内容后再提交").await;
    assert_inert(&phone, 422, &[]).await;
    for (field, typed) in [
        ("#subject", subject.as_str()),
        ("#description", description.as_str()),
        ("#occurred", occurred.as_str()),
        ("#reporter_name", name.as_str()),
        ("#reporter_phone", bad_phone),
    ] {
        assert_eq!(
            value_of(&phone, field).await,
            typed,
            "{field} kept as typed"
        );
    }
    assert_no_sideways_scroll(&phone, 360).await;

    phone.fill("#reporter_phone", "13912345678").await;
    phone
        .click_and_wait_for_page("form button[type='submit']")
        .await;
    phone.wait_for_text("举报已收到").await;
    assert_inert(&phone, 200, &["这是一件实名举报"]).await;
    let code = phone.text_of("#tracking-code").await;

    // At the desk: a refused sign-in shows the typed name back, inert.
    let hostile_user = format!("{}{}", PAYLOADS[1], PAYLOADS[4]);
    desk.goto("/staff/login").await;
    desk.fill("#username", &hostile_user).await;
    desk.fill("#password", "not-the-password-at-all").await;
    desk.click_and_wait_for_page("form button[type='submit']")
        .await;
    desk.wait_for_text("用户名、密码或验证码不正确").await;
    let refused = desk.status().await;
    assert!(
        (400..500).contains(&refused),
        "a refused sign-in is {refused}"
    );
    assert_inert(&desk, refused, &[]).await;
    assert_eq!(value_of(&desk, "#username").await, hostile_user);
    sign_in_inspector(&desk, "zhou").await;
    assert_inert(&desk, 200, &[&inspector_name]).await;

    // Quarantine shows an excerpt; keeping the report puts it on the case list.
    desk.goto("/staff/quarantine").await;
    assert_inert(&desk, 200, &[&inspector_name, PAYLOADS[0], PAYLOADS[1]]).await;
    desk.click("input[value='keep']").await;
    desk.click_and_wait_for_page("form[action^='/staff/quarantine'] button[type='submit']")
        .await;
    desk.wait_for_text("没有待甄别的举报").await;

    let case = open_the_case(&desk).await;
    let content = [
        subject.as_str(),
        &description_lines[0],
        &description_lines[1],
        &occurred,
        &name,
    ];
    assert_inert(&desk, 200, &content).await;

    // Every text an inspector writes on the case page.
    let question = hostile("问题");
    let note = hostile("备注");
    let event_note = hostile("移交说明");
    let recusal_reason = hostile("回避理由");
    let merge_into = hostile("并案");
    let reason = hostile("不予受理理由");
    let feedback = hostile("反馈");
    send_case_form(&desk, "messages", "#question", &question).await;
    send_case_form(&desk, "notes", "textarea", &note).await;
    send_case_form(&desk, "events", "input[name='text']", &event_note).await;
    desk.choose("form[action*='/assign?'] select", "周检查")
        .await;
    desk.click_and_wait_for_page("form[action*='/assign?'] button[type='submit']")
        .await;
    desk.choose("form[action*='/recusals?'] select", "吴同事")
        .await;
    send_case_form(&desk, "recusals", "input[name='reason']", &recusal_reason).await;
    // A recusal is confirmed first; the page carries the reason over, still inert.
    assert_inert(&desk, 200, &["确定让吴同事回避本案？"]).await;
    desk.click_and_wait_for_page("section.confirm button[type='submit']")
        .await;
    assert_inert(
        &desk,
        200,
        &[&question, &note, &event_note, "吴同事", &inspector_name],
    )
    .await;
    // A refused move re-shows the case page with the reason.
    send_move(&desk, "merge", "#merge-into", &merge_into).await;
    assert_inert(&desk, 422, &content).await;

    // The resident reads the question and answers it.
    let digits: String = code.split_whitespace().collect();
    assert_eq!(track(&phone, &digits).await, "已收到");
    assert_inert(&phone, 200, &[&question]).await;
    assert_no_sideways_scroll(&phone, 360).await;
    let reply = hostile("回复");
    phone.fill("#reply", &reply).await;
    phone.click_and_wait_for_page("#send-reply").await;
    phone.wait_for_text("您的回复已送达").await;
    assert_inert(&phone, 200, &[&question, &reply]).await;
    assert_no_sideways_scroll(&phone, 360).await;

    desk.goto(&case).await;
    assert_inert(&desk, 200, &[&reply]).await;
    assert!(
        desk.text_of("li.from-reporter.unread")
            .await
            .contains(&reply)
    );
    send_move(&desk, "not_accept", "#not-accept-text", &reason).await;
    send_move(&desk, "close", "#close-text", &feedback).await;
    assert_eq!(desk.text_of("#status").await, "已反馈结案");
    let everything = [
        content.as_slice(),
        &[
            &question,
            &reply,
            &note,
            &event_note,
            &reason,
            &feedback,
            &inspector_name,
        ],
    ]
    .concat();
    assert_inert(&desk, 200, &everything).await;
    desk.goto("/staff/cases?status=closed").await;
    assert_inert(&desk, 200, &[&inspector_name]).await;
    assert!(
        desk.text_of("table.list tbody")
            .await
            .contains(&inspector_name),
        "the list shows the assignee"
    );

    // The resident reads the feedback.
    assert_eq!(track(&phone, &digits).await, "已反馈结案");
    assert_inert(&phone, 200, &[&question, &reply, &feedback]).await;
    assert_no_sideways_scroll(&phone, 360).await;

    assert_no_script_ran(&phone).await;
    assert_no_script_ran(&desk).await;
}

/// No dialog opened and the console shows no error — but the refusals this test provoked on
/// purpose (a re-shown form, a refused sign-in, a refused move), which Chromium logs too.
async fn assert_no_script_ran(browser: &Browser) {
    // Any driver command records a dialog left open.
    browser.path().await;
    assert_eq!(
        browser.dialogs(),
        Vec::<String>::new(),
        "pages opened dialogs"
    );
    let provoked = regex::Regex::new(
        r"^\S+ - Failed to load resource: the server responded with a status of 4\d\d ",
    )
    .unwrap();
    let errors: Vec<String> = browser
        .console_errors()
        .await
        .into_iter()
        .filter(|e| !provoked.is_match(e))
        .collect();
    assert_eq!(errors, Vec::<String>::new(), "the console shows errors");
}
