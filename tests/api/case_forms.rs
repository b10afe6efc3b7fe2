//! The case page's forms: only the moves legal in the case's status are offered, each with the
//! text it requires; a refusal names the field left blank and shows again what was typed.

use tipoff::domain::{Role, TEXT_MAX};

use crate::helpers::TestApp;
use crate::helpers::reports::report_on_a_cadre;
use crate::on_both_backends;

on_both_backends!(
    only_the_moves_legal_now_are_offered,
    a_refused_form_names_the_blank_field_and_keeps_what_was_typed,
);

/// The forms of status changes the page offers, by name, in page order.
fn offered_moves(page: &str) -> Vec<&str> {
    page.match_indices("id=\"move-")
        .map(|(at, found)| {
            let rest = &page[at + found.len()..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect()
}

async fn only_the_moves_legal_now_are_offered(app: TestApp) {
    let inspector = app.signed_in("zheng", "郑主任", Role::Inspector).await;
    let case = report_on_a_cadre(&app, "connection", "qingshan-village").await;
    let path = format!("/staff/cases/{}", case.id);

    let page = inspector.page(&path).await;
    assert_eq!(offered_moves(&page), ["accept", "not_accept", "merge"]);
    assert!(page.contains("<dd id=\"assignee\">未分派</dd>"), "{page}");
    assert!(page.contains("<dd id=\"reporter-kind\">匿名</dd>"));
    for required in [
        "id=\"not-accept-text\" name=\"text\" rows=\"3\" required",
        "id=\"merge-into\" name=\"into\" required",
    ] {
        assert!(page.contains(required), "{required}");
    }

    inspector
        .work_case(case.id, &[("status", &[("transition", "accept")])])
        .await;
    let page = inspector.page(&path).await;
    assert_eq!(offered_moves(&page), ["start_verifying", "merge"]);
    inspector
        .work_case(case.id, &[("status", &[("transition", "start_verifying")])])
        .await;
    assert_eq!(offered_moves(&inspector.page(&path).await), ["conclude"]);
    let conclude = [
        ("transition", "conclude"),
        ("outcome", "unsubstantiated"),
        ("text", "入户核实，不属实"),
    ];
    inspector.work_case(case.id, &[("status", &conclude)]).await;
    let page = inspector.page(&path).await;
    assert_eq!(offered_moves(&page), ["close"]);
    assert!(
        !page.contains("id=\"question\""),
        "no questions once concluded"
    );
    let close = [("transition", "close"), ("text", "经核查不属实")];
    inspector.work_case(case.id, &[("status", &close)]).await;

    // Closed: the file, and a note; no assignment, recusal, transfer or escalation.
    let page = inspector.page(&path).await;
    assert_eq!(offered_moves(&page), Vec::<&str>::new());
    for gone in [
        "/assign?",
        "/recusals?",
        "/events?",
        "/escalate?",
        "/messages?",
    ] {
        assert!(!page.contains(gone), "{gone} on a closed case");
    }
    assert!(page.contains("/notes?"));
    // The history holds every step, in order.
    let history = &page[page.find("id=\"timeline\"").unwrap()..];
    let steps = [
        "已收到 → 已受理",
        "已受理 → 核查中",
        "入户核实，不属实",
        "经核查不属实",
    ];
    let at: Vec<usize> = steps.iter().map(|s| history.find(s).unwrap()).collect();
    assert!(at.is_sorted(), "in order: {at:?}");
}

async fn a_refused_form_names_the_blank_field_and_keeps_what_was_typed(app: TestApp) {
    let wu = app
        .create_staff("wu", "吴同事", &[Role::Inspector], &[])
        .await;
    let inspector = app.signed_in("zheng", "郑主任", Role::Inspector).await;
    let case = report_on_a_cadre(&app, "connection", "qingshan-village").await;
    let action = |what: &str| format!("/staff/cases/{}/{what}", case.id);

    for (what, fields, reason) in [
        (
            "status",
            vec![("transition", "not_accept"), ("text", " ")],
            "请填写：不予受理的理由",
        ),
        ("messages", vec![("text", "")], "请填写：向举报人提出的问题"),
        ("notes", vec![("text", "  ")], "请填写：内部备注"),
    ] {
        let refused = inspector.post(&action(what), &fields).await;
        assert_eq!(refused.status(), 422, "{what}");
        let page = refused.text().await.unwrap();
        assert!(page.contains(reason), "{what}: {reason}");
    }
    let page = inspector
        .post_for(
            &action("recusals"),
            &[("user", &wu.to_string()), ("reason", "")],
            422,
        )
        .await;
    assert!(page.contains("请填写：回避理由"));
    assert!(
        page.contains(&format!("<option value=\"{wu}\" selected>吴同事</option>")),
        "the person chosen stays chosen"
    );

    // What was typed comes back in its own form.
    let page = inspector
        .post_for(
            &action("status"),
            &[("transition", "merge"), ("into", "2026-9999")],
            422,
        )
        .await;
    assert!(
        page.contains("id=\"merge-into\" name=\"into\" required aria-describedby=\"merge-hint\" value=\"2026-9999\""),
        "{page}"
    );
    let long = "很".repeat(TEXT_MAX + 1);
    let page = inspector
        .post_for(&action("notes"), &[("text", &long)], 422)
        .await;
    assert!(
        page.contains(&format!(">{long}</textarea>")),
        "the note is kept"
    );
    assert!(
        !page.contains(&format!("id=\"not-accept-text\" name=\"text\" rows=\"3\" required aria-describedby=\"not-accept-hint\">{long}")),
        "and only in its own form"
    );
}
