//! A recusal never leaves a case that nobody may see, and never leaves the recused person
//! handling it.

use chrono::Utc;
use serde_json::json;
use tipoff::domain::Role;
use tipoff::entities::report;
use tipoff::services::ServiceError;
use tipoff::services::cases::{self, Viewer};
use tipoff::services::recusal::{is_recused, recuse_manually};
use tipoff::services::staff::disable_user;
use uuid::Uuid;

use crate::helpers::TestApp;
use crate::helpers::reports::{a_report, submit};
use crate::helpers::storage::stored_report;
use crate::on_both_backends;

on_both_backends!(
    the_last_inspector_who_may_see_a_case_cannot_step_aside,
    a_recused_assignee_no_longer_handles_the_case,
    the_case_page_says_why_each_person_is_recused,
);

/// `who` steps `user` aside from the case, with a reason.
async fn recuse(
    app: &TestApp,
    case: &report::Model,
    user: Uuid,
    who: Uuid,
) -> Result<bool, ServiceError> {
    let reason = "与被举报人是同村邻居";
    let keyring = &app.state.keyring;
    recuse_manually(app.db(), keyring, case.id, user, who, reason, Utc::now()).await
}

async fn assignee(app: &TestApp, id: Uuid) -> Option<Uuid> {
    stored_report(app, id).await.assignee_id
}

fn refused_as_last(result: Result<bool, ServiceError>) -> bool {
    matches!(
        result,
        Err(ServiceError::Invalid("error.recusal_last_inspector"))
    )
}

async fn the_last_inspector_who_may_see_a_case_cannot_step_aside(app: TestApp) {
    let only = app.staff("zheng", "郑主任", &[Role::Inspector]).await;
    app.staff("li", "李话务", &[Role::Operator]).await;
    let case = a_report(&app).await.report;

    // The only inspector: refused, and nothing written.
    assert!(refused_as_last(
        recuse(&app, &case, only.user_id, only.user_id).await
    ));
    assert!(!is_recused(app.db(), case.id, only.user_id).await.unwrap());

    // An operator or a disabled inspector is nobody who could work the case.
    app.staff("feng", "冯涛", &[Role::Inspector]).await;
    disable_user(app.db(), &app.state.keyring, "feng", None, Utc::now())
        .await
        .unwrap();
    assert!(refused_as_last(
        recuse(&app, &case, only.user_id, only.user_id).await
    ));

    // With a second inspector the first may step aside; the second then may not.
    let second = app.staff("wu", "吴敏", &[Role::Inspector]).await;
    assert!(
        recuse(&app, &case, only.user_id, only.user_id)
            .await
            .unwrap()
    );
    assert!(refused_as_last(
        recuse(&app, &case, second.user_id, second.user_id).await
    ));
    assert!(!is_recused(app.db(), case.id, second.user_id).await.unwrap());

    // Recusing someone who is not an inspector takes nobody away from the case.
    let clerk = app.staff("sun", "孙文员", &[Role::Operator]).await;
    assert!(
        recuse(&app, &case, clerk.user_id, second.user_id)
            .await
            .unwrap()
    );
}

async fn a_recused_assignee_no_longer_handles_the_case(app: TestApp) {
    let head: Viewer = app.staff("zheng", "郑主任", &[Role::Inspector]).await;
    let feng = app.staff("feng", "冯涛", &[Role::Inspector]).await;
    let case = a_report(&app).await.report;
    cases::assign(app.on_case(&head, case.id, Utc::now()), Some(feng.user_id))
        .await
        .unwrap();
    assert_eq!(assignee(&app, case.id).await, Some(feng.user_id));

    assert!(
        recuse(&app, &case, feng.user_id, head.user_id)
            .await
            .unwrap()
    );
    assert_eq!(assignee(&app, case.id).await, None);
}

async fn the_case_page_says_why_each_person_is_recused(app: TestApp) {
    let zheng = app
        .staff("zheng", "郑主任", &[Role::Inspector])
        .await
        .user_id;
    let head = app.sign_in("zheng").await;
    let admin = app.staff("admin", "管理员", &[Role::Admin]).await.user_id;
    app.create_staff("wang", "王建国", &[Role::Inspector], &["王书记"])
        .await;
    let li = app.staff("li", "李明", &[Role::Inspector]).await;
    let feng = app.staff("feng", "冯涛", &[Role::Inspector]).await;
    app.filed_relative(li.user_id, "李小花", Some("女儿"), admin)
        .await;
    let body = json!({
        "category": "nepotism",
        "village": "qingshan-village",
        "subject": "王书记",
        "description": "王书记把低保给了李小花家，她家有车有房",
        "anonymous": true
    });
    let case = submit(&app, body).await.report;
    recuse(&app, &case, feng.user_id, zheng).await.unwrap();

    let page = head.page(&format!("/staff/cases/{}", case.id)).await;
    for shown in [
        "王建国",
        "举报内容提到“王书记”（其别名）",
        "李明",
        "举报内容提到其备案近亲属“李小花”（女儿）",
        "冯涛",
        "由郑主任手动回避，理由：与被举报人是同村邻居",
    ] {
        assert!(page.contains(shown), "{shown} in {page}");
    }
}
