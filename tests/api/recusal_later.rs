//! Recusal after the fact: a new account, a new alias or a new close-relative filing recuses
//! the person from every existing report that names them, found by the matcher intake uses
//! (subject and description, titles and all), before the account's next request.

use sea_orm::EntityTrait;
use serde_json::{Value, json};
use tipoff::domain::Role;
use tipoff::entities::{recusal, report};
use uuid::Uuid;

use crate::helpers::TestApp;
use crate::helpers::reports::submit;
use crate::helpers::staff::account;
use crate::on_both_backends;

on_both_backends!(
    an_account_created_later_is_recused_from_reports_naming_it_anywhere,
    an_alias_added_later_recuses_before_the_next_request,
    a_relative_filed_later_recuses_from_reports_naming_them_only_in_the_text,
);

async fn report(app: &TestApp, subject: Option<&str>, description: &str) -> report::Model {
    let mut body = json!({
        "category": "nepotism",
        "village": "qingshan-village",
        "description": description,
        "anonymous": true
    });
    if let Some(subject) = subject {
        body["subject"] = Value::from(subject);
    }
    submit(app, body).await.report
}

/// The recusal's source, or `None` when the account is not recused from the report.
async fn recused_by(app: &TestApp, report_id: Uuid, user_id: Uuid) -> Option<String> {
    recusal::Entity::find_by_id((report_id, user_id))
        .one(app.db())
        .await
        .unwrap()
        .map(|row| row.source)
}

/// The status of the case page for this signed-in account.
async fn user_id(app: &TestApp, username: &str) -> Uuid {
    account(app, username).await.id
}

async fn an_account_created_later_is_recused_from_reports_naming_it_anywhere(app: TestApp) {
    // A name followed by a title in the subject is one piece that no blind index of the bare
    // name finds; a name inside the description is in no blind index at all.
    let titled = report(&app, Some("王建华书记"), "他把低保名额给了自己家亲戚").await;
    let described = report(&app, None, "听说村里王 建华把低保给了他小舅子").await;
    let other = report(&app, Some("李某"), "李某把低保给了亲戚").await;

    let wang = app.signed_in("wang", "王建华", Role::Inspector).await;
    let id = user_id(&app, "wang").await;
    for named in [&titled, &described] {
        assert_eq!(
            recused_by(&app, named.id, id).await.as_deref(),
            Some("name")
        );
        assert_eq!(wang.case_status(named.id).await, 404);
    }
    assert_eq!(recused_by(&app, other.id, id).await, None);
    assert_eq!(wang.case_status(other.id).await, 200);
    let list = wang.page("/staff/cases").await;
    assert!(list.contains(&other.case_number));
    assert!(!list.contains(&titled.case_number) && !list.contains(&described.case_number));
}

async fn an_alias_added_later_recuses_before_the_next_request(app: TestApp) {
    let admin = app.signed_in("admin", "管理员", Role::Admin).await;
    let zhao = app.signed_in("zhao", "赵德柱", Role::Inspector).await;
    let id = user_id(&app, "zhao").await;
    let described = report(&app, Some("村干部"), "村里的赵会计把低保给了他小舅子").await;
    let titled = report(&app, Some("赵会计书记"), "把低保给了亲戚").await;
    let other = report(&app, Some("钱某"), "钱某把低保给了亲戚").await;
    for case in [&described, &titled, &other] {
        assert_eq!(zhao.case_status(case.id).await, 200, "not named yet");
    }

    admin
        .post_for(
            "/staff/admin/users/zhao/aliases",
            &[("alias", "赵 会计")],
            200,
        )
        .await;
    assert!(admin.page("/staff/admin/users").await.contains("赵 会计"));
    for named in [&described, &titled] {
        assert_eq!(zhao.case_status(named.id).await, 404);
        assert_eq!(
            recused_by(&app, named.id, id).await.as_deref(),
            Some("name")
        );
    }
    assert_eq!(zhao.case_status(other.id).await, 200);

    // A bare title or a single character is refused: it would recuse from every report.
    for useless in ["书记", "赵", "  "] {
        let refused = admin
            .post("/staff/admin/users/zhao/aliases", &[("alias", useless)])
            .await;
        assert_eq!(refused.status(), 422, "{useless:?}");
    }
    assert_eq!(zhao.case_status(other.id).await, 200);
    admin
        .post_for(
            "/staff/admin/users/nobody/aliases",
            &[("alias", "某人甲")],
            404,
        )
        .await;
}

async fn a_relative_filed_later_recuses_from_reports_naming_them_only_in_the_text(app: TestApp) {
    let admin = app.signed_in("admin", "管理员", Role::Admin).await;
    let zhou = app.signed_in("zhou", "周明", Role::Inspector).await;
    let wu = app.signed_in("wu", "吴刚", Role::Inspector).await;
    let id = user_id(&app, "zhou").await;
    let described = report(&app, None, "网格员欧阳晓岚家条件很好还在领低保").await;
    let titled = report(&app, Some("欧阳晓岚主任"), "她家条件很好还在领低保").await;
    let other = report(&app, Some("孙某"), "孙某家条件很好还在领低保").await;
    assert_eq!(zhou.case_status(described.id).await, 200);

    admin.file_relative(id, "欧阳 晓岚", "配偶").await;
    for named in [&described, &titled] {
        assert_eq!(zhou.case_status(named.id).await, 404);
        assert_eq!(
            recused_by(&app, named.id, id).await.as_deref(),
            Some("relative")
        );
        assert_eq!(wu.case_status(named.id).await, 200, "others still see it");
    }
    assert_eq!(zhou.case_status(other.id).await, 200);
}
