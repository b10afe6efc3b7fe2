//! Accounts an admin can correct: disabling asks first and can be undone, the office never
//! loses its last admin, and names, aliases and roles can be changed after creation — each
//! change audited, and names re-matched for recusal at once.

use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
use serde_json::json;
use tipoff::domain::Role;
use tipoff::entities::{recusal, report};
use uuid::Uuid;

use crate::helpers::reports::{report_on_a_cadre, submit};
use crate::helpers::staff::account;
use crate::helpers::storage::audit_entries;
use crate::helpers::{TestApp, body_with};
use crate::on_both_backends;

on_both_backends!(
    an_account_is_disabled_only_once_confirmed_and_can_be_enabled_again,
    the_last_enabled_admin_cannot_be_disabled,
    a_corrected_name_shows_on_case_lists_and_pages_and_recuses_from_reports_naming_it,
    an_alias_added_recuses_and_once_removed_recuses_from_no_new_report,
    roles_are_changed_from_one_checkbox_per_role_and_apply_at_the_next_request,
    the_last_enabled_admin_cannot_lose_the_admin_role,
    bad_names_and_aliases_are_refused_with_the_form_shown_again,
    the_last_inspector_keeps_the_role_and_a_dropped_inspector_leaves_their_cases,
);

async fn disabled(app: &TestApp, username: &str) -> bool {
    account(app, username).await.disabled
}

async fn roles(app: &TestApp, username: &str) -> Vec<Role> {
    let id = account(app, username).await.id;
    let mut roles = tipoff::services::staff::roles_of(app.db(), id)
        .await
        .unwrap();
    roles.sort_by_key(|r| r.code());
    roles
}

/// The audit entries recording changes to accounts, as (actor, detail), oldest first.
async fn account_changes(app: &TestApp) -> Vec<(Option<Uuid>, String)> {
    audit_entries(app, "user_change")
        .await
        .into_iter()
        .map(|e| (e.actor_id, e.detail))
        .collect()
}

/// An anonymous report whose description says `description`.
async fn report_saying(app: &TestApp, description: &str) -> report::Model {
    let body = json!({
        "category": "nepotism",
        "village": "qingshan-village",
        "description": description,
        "anonymous": true
    });
    submit(app, body).await.report
}

async fn recused(app: &TestApp, report_id: Uuid, user_id: Uuid) -> bool {
    recusal::Entity::find_by_id((report_id, user_id))
        .one(app.db())
        .await
        .unwrap()
        .is_some()
}

async fn an_account_is_disabled_only_once_confirmed_and_can_be_enabled_again(app: TestApp) {
    let admin = app.signed_in("zhao", "赵敏", Role::Admin).await;
    app.create_staff("feng", "冯涛", &[Role::Inspector], &[])
        .await;
    let feng = app.sign_in("feng").await;

    // The first post only asks, and says what will follow.
    let page = admin
        .post_for("/staff/admin/users/feng/disable", &[], 200)
        .await;
    assert!(page.contains("确定停用账号 feng？"), "{page}");
    assert!(page.contains("立即退出登录"), "{page}");
    assert!(page.contains(r#"name="confirmed" value="yes""#), "{page}");
    assert!(!disabled(&app, "feng").await);
    assert_eq!(feng.get("/staff/cases").await.status(), 200);

    let done = admin
        .post_for(
            "/staff/admin/users/feng/disable",
            &[("confirmed", "yes")],
            200,
        )
        .await;
    assert!(done.contains("已停用账号 feng。"));
    assert!(disabled(&app, "feng").await);
    assert_ne!(feng.get("/staff/cases").await.status(), 200);

    let enabled = admin
        .post_for("/staff/admin/users/feng/enable", &[], 200)
        .await;
    assert!(enabled.contains("已重新启用账号 feng。"));
    assert!(!disabled(&app, "feng").await);
    let again = app.sign_in("feng").await;
    assert_eq!(again.get("/staff/cases").await.status(), 200);
}

async fn the_last_enabled_admin_cannot_be_disabled(app: TestApp) {
    let admin = app.signed_in("zhao", "赵敏", Role::Admin).await;
    let page = admin
        .post_for(
            "/staff/admin/users/zhao/disable",
            &[("confirmed", "yes")],
            409,
        )
        .await;
    assert!(page.contains("最后一个可用的管理员账号"), "{page}");
    assert!(!disabled(&app, "zhao").await);

    // A disabled second admin does not count; an enabled one does.
    app.create_staff("qian", "钱进", &[Role::Admin], &[]).await;
    admin
        .post_for(
            "/staff/admin/users/qian/disable",
            &[("confirmed", "yes")],
            200,
        )
        .await;
    admin
        .post_for(
            "/staff/admin/users/zhao/disable",
            &[("confirmed", "yes")],
            409,
        )
        .await;
    assert!(!disabled(&app, "zhao").await);

    admin.post("/staff/admin/users/qian/enable", &[]).await;
    admin
        .post_for(
            "/staff/admin/users/zhao/disable",
            &[("confirmed", "yes")],
            200,
        )
        .await;
    assert!(disabled(&app, "zhao").await);
}

async fn a_corrected_name_shows_on_case_lists_and_pages_and_recuses_from_reports_naming_it(
    app: TestApp,
) {
    let admin = app.signed_in("zhao", "赵敏", Role::Admin).await;
    let admin_id = account(&app, "zhao").await.id;
    let feng_id = app
        .create_staff("feng", "冯涛", &[Role::Inspector], &[])
        .await;
    let feng = app.sign_in("feng").await;
    let colleague = app.signed_in("wu", "吴刚", Role::Inspector).await;
    let handled = report_saying(&app, "村里把低保给了关系户，没有入户核查").await;
    let naming = report_saying(&app, "听说冯海涛收了人家两条烟才给办低保").await;
    let mut assigned: report::ActiveModel = handled.clone().into();
    assigned.assignee_id = Set(Some(feng_id));
    assigned.update(app.db()).await.unwrap();
    assert_eq!(feng.case_status(naming.id).await, 200, "not named yet");

    // The account page has one small form per correction, each with a visible label.
    let page = body_with(admin.get("/staff/admin/users/feng").await, 200).await;
    assert!(
        page.contains(r#"<label for="display_name">姓名</label>"#),
        "{page}"
    );
    assert!(page.contains(r#"value="冯涛""#), "{page}");
    assert!(page.contains(r#"<label for="alias">此人的其他称呼</label>"#));
    assert!(page.contains("<legend>角色</legend>"));
    let list = admin.page("/staff/admin/users").await;
    assert!(list.contains(r#"href="/staff/admin/users/feng?lang=zh">修改 feng</a>"#));

    let page = admin
        .post_for(
            "/staff/admin/users/feng/name",
            &[("display_name", "  冯海涛 ")],
            200,
        )
        .await;
    assert!(page.contains("已更新 feng 的姓名"), "{page}");
    assert!(page.contains(r#"value="冯海涛""#));
    assert_eq!(account(&app, "feng").await.display_name, "冯海涛");

    // Shown by its new name wherever it was shown, from the next request on.
    let cases = colleague.page("/staff/cases").await;
    assert!(
        cases.contains("冯海涛") && !cases.contains("冯涛"),
        "{cases}"
    );
    let case = colleague
        .page(&format!("/staff/cases/{}", handled.id))
        .await;
    assert!(case.contains("冯海涛") && !case.contains("冯涛"));
    assert!(feng.page("/staff/cases").await.contains("冯海涛"));

    // A report already naming the new name is out of reach before the next request.
    assert!(recused(&app, naming.id, feng_id).await);
    assert_eq!(feng.case_status(naming.id).await, 404);
    assert_eq!(feng.case_status(handled.id).await, 200);

    // Saving the same name again changes nothing and records nothing.
    let before = account_changes(&app).await;
    admin
        .post(
            "/staff/admin/users/feng/name",
            &[("display_name", "冯海涛")],
        )
        .await;
    let after = account_changes(&app).await;
    assert_eq!(after, before);
    assert_eq!(
        after.last().unwrap(),
        &(
            Some(admin_id),
            "changed the display name of account feng".to_string()
        )
    );
}

async fn an_alias_added_recuses_and_once_removed_recuses_from_no_new_report(app: TestApp) {
    let admin = app.signed_in("admin", "管理员", Role::Admin).await;
    let admin_id = account(&app, "admin").await.id;
    let zhao = app.signed_in("zhao", "赵德柱", Role::Inspector).await;
    let zhao_id = account(&app, "zhao").await.id;
    let earlier = report_saying(&app, "村里的赵会计把低保给了他小舅子").await;
    assert_eq!(zhao.case_status(earlier.id).await, 200);

    let page = admin
        .post_for(
            "/staff/admin/users/zhao/aliases",
            &[("alias", "赵会计")],
            200,
        )
        .await;
    assert!(page.contains("已为 zhao 添加别名"), "{page}");
    assert!(page.contains("删除别名“赵会计”"), "{page}");
    assert!(recused(&app, earlier.id, zhao_id).await);
    assert_eq!(zhao.case_status(earlier.id).await, 404);

    let page = admin
        .post_for(
            "/staff/admin/users/zhao/aliases/remove",
            &[("alias", "赵会计")],
            200,
        )
        .await;
    assert!(page.contains("已删除 zhao 的这个别名"), "{page}");
    assert!(page.contains("此前因它作出的回避仍然有效"));
    assert!(!page.contains("删除别名“赵会计”"));
    assert!(page.contains("还没有别名"));

    // By design a recusal stays once made (`recusal::rematch_user`): the earlier report
    // named this person when it came in. Only reports after the removal are free of it.
    assert!(recused(&app, earlier.id, zhao_id).await);
    assert_eq!(zhao.case_status(earlier.id).await, 404);
    // Named in the subject too, so neither the text match nor the alias's blind index
    // (rebuilt without it) may recuse.
    let later = submit(
        &app,
        json!({
            "category": "nepotism",
            "village": "qingshan-village",
            "subject": "赵会计",
            "description": "赵会计又把低保给了他表哥一家",
            "anonymous": true
        }),
    )
    .await
    .report;
    assert!(!recused(&app, later.id, zhao_id).await);
    assert_eq!(zhao.case_status(later.id).await, 200);

    // Removing it again is no change and leaves no entry.
    let before = account_changes(&app).await;
    admin
        .post_for(
            "/staff/admin/users/zhao/aliases/remove",
            &[("alias", "赵会计")],
            200,
        )
        .await;
    let changes = account_changes(&app).await;
    assert_eq!(changes, before);
    let mine: Vec<&str> = changes
        .iter()
        .filter(|(actor, _)| *actor == Some(admin_id))
        .map(|(_, detail)| detail.as_str())
        .collect();
    assert_eq!(
        mine,
        [
            "added an alias for account zhao",
            "removed an alias of account zhao"
        ]
    );
}

async fn roles_are_changed_from_one_checkbox_per_role_and_apply_at_the_next_request(app: TestApp) {
    let admin = app.signed_in("admin", "管理员", Role::Admin).await;
    let admin_id = account(&app, "admin").await.id;
    app.create_staff("sun", "孙丽", &[Role::Operator], &[])
        .await;
    let sun = app.sign_in("sun").await;
    assert_eq!(sun.get("/staff/intake").await.status(), 200);
    assert_eq!(sun.get("/staff/counts").await.status(), 403);

    let page = admin.page("/staff/admin/users/sun").await;
    for role in Role::ALL {
        let ticked = if role == Role::Operator {
            " checked"
        } else {
            ""
        };
        let checkbox = format!(
            r#"<input type="checkbox" name="{}" value="1"{ticked}>"#,
            role.code()
        );
        assert!(page.contains(&checkbox), "{checkbox} in {page}");
    }

    let page = admin
        .post_for("/staff/admin/users/sun/roles", &[("inspector", "1")], 200)
        .await;
    assert!(page.contains("已更新 sun 的角色"), "{page}");
    assert_eq!(roles(&app, "sun").await, vec![Role::Inspector]);
    // The same session, at its next request: no sign-in again.
    assert_eq!(sun.get("/staff/counts").await.status(), 200);
    assert_eq!(sun.get("/staff/intake").await.status(), 403);

    // None ticked: refused, the form shown again as sent.
    let page = admin
        .post_for("/staff/admin/users/sun/roles", &[], 422)
        .await;
    assert!(page.contains("请至少选择一个角色"), "{page}");
    assert!(page.contains(r#"name="inspector" value="1">"#));
    assert_eq!(roles(&app, "sun").await, vec![Role::Inspector]);

    let last = account_changes(&app).await.pop().unwrap();
    assert_eq!(
        last,
        (
            Some(admin_id),
            "set the roles of account sun: inspector".to_string()
        )
    );
}

async fn the_last_enabled_admin_cannot_lose_the_admin_role(app: TestApp) {
    let admin = app.signed_in("zhao", "赵敏", Role::Admin).await;
    let before = account_changes(&app).await;
    let page = admin
        .post_for("/staff/admin/users/zhao/roles", &[("inspector", "1")], 409)
        .await;
    assert!(page.contains("不能取消管理员角色"), "{page}");
    assert!(page.contains("最后一个可用的管理员账号"));
    // Shown again as ticked, so the admin sees what was refused.
    assert!(page.contains(r#"name="inspector" value="1" checked>"#));
    assert!(page.contains(r#"name="admin" value="1">"#));
    assert_eq!(roles(&app, "zhao").await, vec![Role::Admin]);
    assert_eq!(account_changes(&app).await, before, "nothing recorded");

    // Adding a role beside it is fine.
    admin
        .post_for(
            "/staff/admin/users/zhao/roles",
            &[("inspector", "1"), ("admin", "1")],
            200,
        )
        .await;
    assert_eq!(
        roles(&app, "zhao").await,
        vec![Role::Admin, Role::Inspector]
    );

    // A disabled admin does not count; an enabled one does.
    app.create_staff("qian", "钱进", &[Role::Admin], &[]).await;
    admin
        .post("/staff/admin/users/qian/disable", &[("confirmed", "yes")])
        .await;
    admin
        .post_for("/staff/admin/users/zhao/roles", &[("inspector", "1")], 409)
        .await;
    admin.post("/staff/admin/users/qian/enable", &[]).await;
    admin
        .post_for("/staff/admin/users/zhao/roles", &[("inspector", "1")], 200)
        .await;
    assert_eq!(roles(&app, "zhao").await, vec![Role::Inspector]);
    assert_eq!(admin.get("/staff/admin/users").await.status(), 403);
    assert_eq!(admin.get("/staff/cases").await.status(), 200);
}

async fn bad_names_and_aliases_are_refused_with_the_form_shown_again(app: TestApp) {
    let admin = app.signed_in("admin", "管理员", Role::Admin).await;
    app.create_staff("li", "李娜", &[Role::Inspector], &["李主任"])
        .await;
    let before = account_changes(&app).await;

    let page = admin
        .post_for(
            "/staff/admin/users/li/name",
            &[("display_name", "   ")],
            422,
        )
        .await;
    assert!(page.contains("请填写：姓名"), "{page}");
    assert!(page.contains(r#"<label for="display_name">"#));

    let long_name = "李".repeat(101);
    let page = admin
        .post_for(
            "/staff/admin/users/li/name",
            &[("display_name", &long_name)],
            422,
        )
        .await;
    assert!(page.contains("姓名过长"), "{page}");
    assert!(
        page.contains(&format!(r#"value="{long_name}""#)),
        "typed name kept"
    );
    assert_eq!(account(&app, "li").await.display_name, "李娜");

    let long_alias = "娜".repeat(51);
    let page = admin
        .post_for(
            "/staff/admin/users/li/aliases",
            &[("alias", &long_alias)],
            422,
        )
        .await;
    assert!(page.contains("别名过长"), "{page}");
    assert!(
        page.contains(&format!(r#"value="{long_alias}""#)),
        "typed alias kept"
    );
    let empty = admin
        .post_for("/staff/admin/users/li/aliases", &[("alias", " ")], 422)
        .await;
    assert!(empty.contains("请填写：此人的其他称呼"));

    let page = admin
        .post_for(
            "/staff/admin/users/li/name?lang=en",
            &[("display_name", "")],
            422,
        )
        .await;
    assert!(page.contains("Please fill in: Name"), "{page}");
    assert!(page.contains("Save name"));

    let staff = tipoff::services::staff::account(app.db(), "li")
        .await
        .unwrap();
    assert_eq!(staff.aliases, ["李主任"]);
    assert_eq!(account_changes(&app).await, before, "nothing recorded");

    for path in [
        "/staff/admin/users/nobody/name",
        "/staff/admin/users/nobody/roles",
        "/staff/admin/users/nobody/aliases/remove",
    ] {
        let missing = admin
            .post(
                path,
                &[
                    ("display_name", "某人"),
                    ("alias", "某人甲"),
                    ("admin", "1"),
                ],
            )
            .await;
        assert_eq!(missing.status(), 404, "{path}");
    }
    assert_eq!(admin.get("/staff/admin/users/nobody").await.status(), 404);
}

async fn the_last_inspector_keeps_the_role_and_a_dropped_inspector_leaves_their_cases(
    app: TestApp,
) {
    let admin = app.signed_in("zhao", "赵敏", Role::Admin).await;
    let sun = app
        .create_staff("sun", "孙检查", &[Role::Inspector], &[])
        .await;
    let page = admin
        .post_for("/staff/admin/users/sun/roles", &[("operator", "1")], 409)
        .await;
    assert!(page.contains("最后一名可用的纪检人员"), "{page}");
    assert_eq!(roles(&app, "sun").await, vec![Role::Inspector]);

    // With a colleague, the role can go; the cases given to sun go back to the desk.
    app.create_staff("li", "李检查", &[Role::Inspector], &[])
        .await;
    let case = report_on_a_cadre(&app, "connection", "qingshan-village").await;
    let inspector = app.sign_in("li").await;
    inspector
        .work_case(case.id, &[("assign", &[("assignee", &sun.to_string())])])
        .await;
    admin
        .post_for("/staff/admin/users/sun/roles", &[("operator", "1")], 200)
        .await;
    let page = inspector.page(&format!("/staff/cases/{}", case.id)).await;
    assert!(page.contains("<dd id=\"assignee\">未分派</dd>"), "{page}");
}
