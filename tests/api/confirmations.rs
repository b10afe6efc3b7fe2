//! What cannot be undone is asked about first, on a page of the server's (no script): a
//! recusal, a merge, a withdrawn close-relative filing. A refusal is shown at once.

use sea_orm::EntityTrait;
use tipoff::domain::Role;
use tipoff::entities::relative_filing;
use tipoff::services::recusal::is_recused;

use crate::helpers::TestApp;
use crate::helpers::reports::{Submitted, a_report};
use crate::helpers::storage::stored_report;
use crate::on_both_backends;

on_both_backends!(
    a_recusal_is_confirmed_before_it_is_made,
    a_merge_is_confirmed_naming_the_case_it_goes_into,
    a_filing_is_withdrawn_only_once_confirmed,
);

async fn status_of(app: &TestApp, case: &Submitted) -> String {
    stored_report(app, case.report.id).await.status
}

async fn a_recusal_is_confirmed_before_it_is_made(app: TestApp) {
    let head = app.signed_in("zheng", "郑主任", Role::Inspector).await;
    let feng = app.staff("feng", "冯涛", &[Role::Inspector]).await.user_id;
    let case = a_report(&app).await;
    let path = format!("/staff/cases/{}/recusals", case.report.id);
    let who = feng.to_string();

    let blank = head.post(&path, &[("user", &who), ("reason", " ")]).await;
    assert_eq!(blank.status(), 422, "a missing reason is refused at once");

    let reason = "与被举报人是亲戚";
    let page = head
        .post_for(&path, &[("user", &who), ("reason", reason)], 200)
        .await;
    assert!(page.contains("确定让冯涛回避本案？"), "{page}");
    assert!(page.contains("不能撤销"), "{page}");
    assert!(page.contains(&format!(r#"value="{reason}""#)), "{page}");
    assert!(!is_recused(app.db(), case.report.id, feng).await.unwrap());

    head.post_for(
        &path,
        &[("user", &who), ("reason", reason), ("confirmed", "yes")],
        303,
    )
    .await;
    assert!(is_recused(app.db(), case.report.id, feng).await.unwrap());
}

async fn a_merge_is_confirmed_naming_the_case_it_goes_into(app: TestApp) {
    let head = app.signed_in("zheng", "郑主任", Role::Inspector).await;
    let master = a_report(&app).await;
    let merged = a_report(&app).await;
    let path = format!("/staff/cases/{}/status", merged.report.id);
    let number = master.report.case_number.clone();
    let short = number.split_once('-').unwrap().1.to_string();

    let unknown = head
        .post(&path, &[("transition", "merge"), ("into", "9999")])
        .await;
    assert_eq!(unknown.status(), 422, "an unknown case is refused at once");
    assert!(
        unknown
            .text()
            .await
            .unwrap()
            .contains("没有可并入的该编号案件")
    );

    let page = head
        .post_for(&path, &[("transition", "merge"), ("into", &short)], 200)
        .await;
    assert!(
        page.contains(&format!("确定将本案并入 {number}？")),
        "{page}"
    );
    assert_eq!(status_of(&app, &merged).await, "received");

    head.post_for(
        &path,
        &[
            ("transition", "merge"),
            ("into", &number),
            ("confirmed", "yes"),
        ],
        303,
    )
    .await;
    assert_eq!(status_of(&app, &merged).await, "merged");
}

async fn a_filing_is_withdrawn_only_once_confirmed(app: TestApp) {
    let admin = app.signed_in("zhao", "赵敏", Role::Admin).await;
    let admin_id = app.staff("qian", "钱进", &[Role::Admin]).await.user_id;
    let wang = app
        .staff("wang", "王建国", &[Role::Inspector])
        .await
        .user_id;
    let filing = app
        .filed_relative(wang, "王小花", Some("女儿"), admin_id)
        .await;
    let path = format!("/staff/admin/relatives/{filing}/remove");
    let on_file = || async {
        relative_filing::Entity::find_by_id(filing)
            .one(app.db())
            .await
            .unwrap()
            .is_some()
    };

    let asked = admin.post_for(&path, &[], 200).await;
    assert!(asked.contains("确定撤销这条近亲属备案？"));
    assert!(on_file().await);

    admin.post_for(&path, &[("confirmed", "yes")], 200).await;
    assert!(!on_file().await);
}
