//! Words people read: a missing answer names its field on every report form (and in the
//! API's reasons), the operator's form asks for the reporter's name rather than "yours", and
//! roles and channels are called what the people who use them would call them.

use serde_json::json;
use tipoff::domain::Role;

use crate::helpers::reports::{next_ip, submit};
use crate::helpers::{TestApp, body_with, json_with};
use crate::on_both_backends;

on_both_backends!(
    a_resident_who_leaves_fields_empty_is_told_which_in_both_languages,
    the_operator_form_asks_for_the_reporters_name_and_names_what_is_missing,
    the_api_names_a_missing_field_in_its_reason,
    roles_and_the_partner_system_channel_are_named_for_people,
);

/// What the page said in place of naming the field, before.
const UNNAMED: [&str; 2] = ["此项必填", "This is required"];

/// The text as it appears in HTML (askama escapes the apostrophe).
fn escaped(text: &str) -> String {
    text.replace('\'', "&#39;")
}

async fn a_resident_who_leaves_fields_empty_is_told_which_in_both_languages(app: TestApp) {
    let token = app.form_token().await;
    let public = body_with(app.get("/report").await, 200).await;
    assert!(
        public.contains("您的姓名"),
        "the public form keeps 您的姓名"
    );

    let typed = [
        ("form_token", token.as_str()),
        ("subject", "王某某，村委会主任"),
        ("occurred", "2024年3月前后"),
    ];
    let zh = app.post_form("/report", &typed, &next_ip()).await;
    let page = body_with(zh, 422).await;
    for named in ["请选择：问题类别", "请填写：事情经过", "请选择：举报方式"]
    {
        // Beside the field and in the list above the form.
        assert_eq!(page.matches(named).count(), 2, "{named} in {page}");
    }
    assert!(page.contains("王某某，村委会主任") && page.contains("2024年3月前后"));
    assert!(!UNNAMED.iter().any(|old| page.contains(old)), "{page}");

    let en = app.post_form("/report?lang=en", &typed, &next_ip()).await;
    let page = body_with(en, 422).await;
    for named in [
        "Please choose: Kind of problem",
        "Please fill in: What happened",
        "Please choose: How you report",
    ] {
        assert!(page.contains(named), "{named} in {page}");
    }
    assert!(page.contains("王某某，村委会主任"));

    // A real-name report without the name: the reason names it, and the phone is kept.
    let real_name = [
        ("form_token", token.as_str()),
        ("category", "favor"),
        ("description", "他把低保给了自己的亲戚"),
        ("anonymous", "false"),
        ("reporter_phone", "13800001234"),
    ];
    let page = body_with(app.post_form("/report", &real_name, &next_ip()).await, 422).await;
    assert!(page.contains("请填写：您的姓名"), "{page}");
    assert!(page.contains("13800001234") && page.contains("他把低保给了自己的亲戚"));
    // A reason that is not about a missing answer still says which field it is about.
    let short = [
        ("form_token", token.as_str()),
        ("category", "favor"),
        ("description", "太短"),
        ("anonymous", "true"),
    ];
    let page = body_with(app.post_form("/report", &short, &next_ip()).await, 422).await;
    assert!(page.contains("事情经过：内容太短"), "{page}");
}

async fn the_operator_form_asks_for_the_reporters_name_and_names_what_is_missing(app: TestApp) {
    let operator = app.signed_in("op", "孙丽", Role::Operator).await;
    let form = body_with(operator.get("/staff/intake").await, 200).await;
    assert!(
        form.contains(r#"<label for="reporter_name">举报人姓名</label>"#),
        "{form}"
    );
    assert!(form.contains("举报人电话"));
    assert!(
        !form.contains("您的姓名"),
        "the operator types the caller's name"
    );

    let call = [
        ("channel", "hotline"),
        ("category", "bribery"),
        ("description", "来电反映：办低保要先送两条烟"),
        ("anonymous", "false"),
    ];
    let page = operator.post_for("/staff/intake", &call, 422).await;
    for named in ["请填写：举报人姓名", "请填写：举报人电话（手机或座机）"]
    {
        assert_eq!(page.matches(named).count(), 2, "{named} in {page}");
    }
    assert!(
        page.contains("来电反映：办低保要先送两条烟"),
        "typed text kept"
    );
    assert!(!UNNAMED.iter().any(|old| page.contains(old)));

    let page = operator.post_for("/staff/intake?lang=en", &call, 422).await;
    assert!(
        page.contains(&escaped("Please fill in: Reporter's name")),
        "{page}"
    );
    assert!(page.contains(&escaped(
        r#"<label for="reporter_name">Reporter's name</label>"#
    )));
    assert!(!page.contains("Your name"));
}

async fn the_api_names_a_missing_field_in_its_reason(app: TestApp) {
    let body = json!({"category": "favor", "anonymous": true});
    let zh = app.post_json("/api/v1/reports", &body, &next_ip()).await;
    let answer = json_with(zh, 422).await;
    assert_eq!(answer["error"]["fields"]["description"], "请填写：事情经过");
    let en = app
        .post_json(
            "/api/v1/reports?lang=en",
            &json!({"anonymous": true, "description": "写了五个字以上"}),
            &next_ip(),
        )
        .await;
    let answer = json_with(en, 422).await;
    assert_eq!(
        answer["error"]["fields"]["category"],
        "Please choose: Kind of problem"
    );
}

async fn roles_and_the_partner_system_channel_are_named_for_people(app: TestApp) {
    let admin = app.signed_in("admin", "管理员甲", Role::Admin).await;
    app.create_staff("op", "孙丽", &[Role::Operator], &[]).await;
    let inspector = app.signed_in("insp", "吴刚", Role::Inspector).await;

    let users = admin.page("/staff/admin/users").await;
    for label in ["话务员", "纪检人员", "管理员"] {
        assert!(users.contains(label), "{label}");
    }
    assert!(!users.contains("话务登记员") && !users.contains("纪检办理人员"));
    // The filing form names the field it misses too.
    let filing = admin
        .post_for("/staff/admin/relatives", &[("name", "王小明")], 422)
        .await;
    assert!(filing.contains("请选择：工作人员"));

    let users = admin.page("/staff/admin/users?lang=en").await;
    for label in ["Hotline operator", "Discipline inspector", "Administrator"] {
        assert!(users.contains(label), "{label}");
    }

    let sent = submit(
        &app,
        json!({"category": "favor", "description": "对接系统转来的举报内容", "anonymous": true}),
    )
    .await;
    let cases = inspector.page("/staff/cases").await;
    assert!(cases.contains(&sent.report.case_number));
    assert!(
        cases.contains("系统对接") && !cases.contains("接口"),
        "{cases}"
    );
    let cases = inspector.page("/staff/cases?lang=en").await;
    assert!(cases.contains("Partner system"), "{cases}");
}
