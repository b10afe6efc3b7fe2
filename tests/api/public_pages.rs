//! A resident on the public pages: report, keep the code, check progress — in Chinese and English.

use crate::helpers::storage::report_count;
use crate::helpers::{TestApp, body_with, code_in, mistyped_digit};
use crate::on_both_backends;

on_both_backends!(
    an_anonymous_resident_reports_and_later_sees_it_received,
    a_resident_reading_english_gets_english_pages,
    each_bad_field_is_shown_again_with_what_was_typed_and_why,
    a_mistyped_code_is_told_apart_from_an_unknown_one,
    a_stale_form_is_shown_again_with_the_text_kept,
    a_real_name_report_is_received,
);

async fn an_anonymous_resident_reports_and_later_sees_it_received(app: TestApp) {
    let home = app.get("/").await;
    let home = body_with(home, 200).await;
    assert!(
        home.contains("人情保"),
        "the notice lists the categories in Chinese"
    );
    assert!(home.contains("href=\"/report?lang=zh\""));

    let receipt = app.submit_form(&[], "198.51.100.1").await;
    assert_eq!(receipt.status(), 200);
    assert_eq!(receipt.headers()["cache-control"], "no-store, private");
    let html = receipt.text().await.unwrap();
    assert!(html.contains("举报已收到"));
    assert!(
        html.contains("只显示这一次"),
        "the reporter is warned to write the code down"
    );
    let code = code_in(&html);
    assert!(
        regex::Regex::new(r"^\d{4} \d{4} \d{4} \d{4}$")
            .unwrap()
            .is_match(&code),
        "code shown grouped: {code}"
    );

    // Typed without spaces, as many people will.
    let digits: String = code.split_whitespace().collect();
    let tracked = app
        .post_form("/track", &[("tracking_code", &digits)], "198.51.100.1")
        .await;
    assert_eq!(tracked.status(), 200);
    assert_eq!(tracked.headers()["cache-control"], "no-store, private");
    let html = tracked.text().await.unwrap();
    assert!(html.contains("已收到"), "status shown in words");
    assert!(
        !html.contains(&digits),
        "the code is not echoed back on the status page"
    );
}

async fn a_resident_reading_english_gets_english_pages(app: TestApp) {
    let form = app
        .get_with("/report", "accept-language", "en-US,en;q=0.9")
        .await
        .text()
        .await
        .unwrap();
    assert!(form.contains("<html lang=\"en\">"));
    assert!(form.contains("What happened"));

    let receipt = app.submit_form(&[], "198.51.100.2").await;
    let code = code_in(&receipt.text().await.unwrap());
    let tracked = app
        .post_form(
            "/track?lang=en",
            &[("tracking_code", &code)],
            "198.51.100.2",
        )
        .await;
    let html = body_with(tracked, 200).await;
    assert!(html.contains("Received"), "{html}");
    assert!(!html.contains("已收到"));
}

async fn each_bad_field_is_shown_again_with_what_was_typed_and_why(app: TestApp) {
    let token = app.form_token().await;
    // (fields changed from a valid report, the field refused, the reason shown)
    type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (vec![("category", "")], "category", "请选择：问题类别"),
        (vec![("category", "lottery")], "category", "请从列表中选择"),
        (vec![("village", "atlantis")], "village", "请从列表中选择"),
        (vec![("description", "太短")], "description", "内容太短"),
        (vec![("anonymous", "")], "anonymous", "请选择：举报方式"),
        (
            vec![
                ("anonymous", "false"),
                ("reporter_name", "李四"),
                ("reporter_phone", "12345"),
            ],
            "reporter_phone",
            "请填写正确的手机号",
        ),
        (
            vec![("anonymous", "false"), ("reporter_phone", "13800001234")],
            "reporter_name",
            "请填写：您的姓名",
        ),
    ];
    let long_description = "长".repeat(5001);
    let mut cases = cases;
    cases.push((
        vec![("description", long_description.as_str())],
        "description",
        "内容太长",
    ));

    for (i, (changes, field, reason)) in cases.into_iter().enumerate() {
        // Each case from its own address, so the submission budget is not what is tested.
        let client = format!("198.51.100.{}", 100 + i);
        let mut fields: Vec<(&str, &str)> = vec![
            ("form_token", token.as_str()),
            ("category", "favor"),
            ("village", "dalu-community"),
            ("subject", "王某某，村委会主任"),
            ("description", "他把低保给了自己的亲戚"),
            ("occurred", "2024年3月前后"),
            ("anonymous", "true"),
        ];
        for (key, value) in &changes {
            fields.retain(|(k, _)| k != key);
            fields.push((key, value));
        }
        let response = app.post_form("/report", &fields, &client).await;
        assert_eq!(response.status(), 422, "{field}");
        let html = response.text().await.unwrap();
        assert!(html.contains(reason), "{field}: reason '{reason}' shown");
        assert!(
            html.contains(&format!("href=\"#{field}\"")),
            "{field}: error links to the field"
        );
        assert!(
            html.contains("王某某，村委会主任"),
            "{field}: typed subject kept"
        );
        assert!(html.contains("2024年3月前后"), "{field}: typed date kept");
        if field != "description" {
            assert!(
                html.contains("他把低保给了自己的亲戚"),
                "{field}: typed text kept"
            );
        }
        if let Some((_, phone)) = changes.iter().find(|(k, _)| *k == "reporter_phone") {
            assert!(
                html.contains(&format!("value=\"{phone}\"")),
                "typed phone kept"
            );
        }
    }
    assert_eq!(
        report_count(&app).await,
        0,
        "nothing stored from a refused form"
    );
}

async fn a_mistyped_code_is_told_apart_from_an_unknown_one(app: TestApp) {
    let code = code_in(
        &app.submit_form(&[], "198.51.100.4")
            .await
            .text()
            .await
            .unwrap(),
    );
    let digits: Vec<u8> = code.bytes().filter(u8::is_ascii_digit).collect();
    let mut swapped = digits.clone();
    swapped.swap(3, 4);
    if swapped == digits {
        swapped[0] = mistyped_digit(swapped[0]);
    }
    let swapped = String::from_utf8(swapped).unwrap();

    let mistyped = app
        .post_form("/track", &[("tracking_code", &swapped)], "198.51.100.4")
        .await;
    assert!(body_with(mistyped, 422).await.contains("查询码有误"));

    // A valid code that was never issued, and something that is not a code at all.
    let never_issued = tipoff::crypto::new_tracking_code();
    let unknown = app
        .post_form(
            "/track",
            &[("tracking_code", never_issued.digits())],
            "198.51.100.4",
        )
        .await;
    let unknown = body_with(unknown, 404).await;
    let malformed = app
        .post_form("/track", &[("tracking_code", "12345")], "198.51.100.4")
        .await;
    let malformed = body_with(malformed, 404).await;
    assert!(unknown.contains("没有找到"));
    assert_eq!(
        unknown.replace(never_issued.digits(), ""),
        malformed.replace("12345", ""),
        "unknown and malformed codes get the same page"
    );
}

async fn a_stale_form_is_shown_again_with_the_text_kept(app: TestApp) {
    // A token the form never signed stands for one that has run out.
    let stale = [
        ("form_token", "forged.token"),
        ("category", "favor"),
        ("description", "我等了很久才提交这份举报"),
        ("anonymous", "true"),
    ];
    let response = app.post_form("/report", &stale, "198.51.100.5").await;
    let html = body_with(response, 422).await;
    assert!(html.contains("我等了很久才提交这份举报"));
    assert!(html.contains("页面停留时间过长"));
    assert_eq!(report_count(&app).await, 0);
}

async fn a_real_name_report_is_received(app: TestApp) {
    let receipt = app
        .submit_form(
            &[
                ("anonymous", "false"),
                ("reporter_name", "张三"),
                ("reporter_phone", "+86 138 0000 1234"),
            ],
            "198.51.100.6",
        )
        .await;
    let html = body_with(receipt, 200).await;
    assert!(html.contains("实名举报"));
    assert!(
        !html.contains("张三"),
        "the receipt does not repeat the reporter's name"
    );
}
