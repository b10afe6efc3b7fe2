//! Accounts an admin can correct: disabling asks first and can be undone, and the office
//! never loses its last admin.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use tipoff::domain::Role;
use tipoff::entities::user;

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(
    an_account_is_disabled_only_once_confirmed_and_can_be_enabled_again,
    the_last_enabled_admin_cannot_be_disabled,
);

async fn disabled(app: &TestApp, username: &str) -> bool {
    let account = user::Entity::find()
        .filter(user::Column::Username.eq(username))
        .one(app.db())
        .await
        .unwrap()
        .expect("the account");
    account.disabled
}

async fn an_account_is_disabled_only_once_confirmed_and_can_be_enabled_again(app: TestApp) {
    let admin = app.signed_in("zhao", "赵敏", Role::Admin).await;
    app.create_staff("feng", "冯涛", &[Role::Inspector], &[])
        .await;
    let feng = app.sign_in("feng").await;

    // The first post only asks, and says what will follow.
    let asked = admin.post("/staff/admin/users/feng/disable", &[]).await;
    assert_eq!(asked.status(), 200);
    let page = asked.text().await.unwrap();
    assert!(page.contains("确定停用账号 feng？"), "{page}");
    assert!(page.contains("立即退出登录"), "{page}");
    assert!(page.contains(r#"name="confirmed" value="yes""#), "{page}");
    assert!(!disabled(&app, "feng").await);
    assert_eq!(feng.get("/staff/cases").await.status(), 200);

    let done = admin
        .post("/staff/admin/users/feng/disable", &[("confirmed", "yes")])
        .await;
    assert_eq!(done.status(), 200);
    assert!(done.text().await.unwrap().contains("已停用账号 feng。"));
    assert!(disabled(&app, "feng").await);
    assert_ne!(feng.get("/staff/cases").await.status(), 200);

    let enabled = admin.post("/staff/admin/users/feng/enable", &[]).await;
    assert_eq!(enabled.status(), 200);
    assert!(
        enabled
            .text()
            .await
            .unwrap()
            .contains("已重新启用账号 feng。")
    );
    assert!(!disabled(&app, "feng").await);
    let again = app.sign_in("feng").await;
    assert_eq!(again.get("/staff/cases").await.status(), 200);
}

async fn the_last_enabled_admin_cannot_be_disabled(app: TestApp) {
    let admin = app.signed_in("zhao", "赵敏", Role::Admin).await;
    let refused = admin
        .post("/staff/admin/users/zhao/disable", &[("confirmed", "yes")])
        .await;
    assert_eq!(refused.status(), 409);
    let page = refused.text().await.unwrap();
    assert!(page.contains("最后一个可用的管理员账号"), "{page}");
    assert!(!disabled(&app, "zhao").await);

    // A disabled second admin does not count; an enabled one does.
    app.create_staff("qian", "钱进", &[Role::Admin], &[]).await;
    let second = admin
        .post("/staff/admin/users/qian/disable", &[("confirmed", "yes")])
        .await;
    assert_eq!(second.status(), 200);
    let still = admin
        .post("/staff/admin/users/zhao/disable", &[("confirmed", "yes")])
        .await;
    assert_eq!(still.status(), 409);
    assert!(!disabled(&app, "zhao").await);

    admin.post("/staff/admin/users/qian/enable", &[]).await;
    let allowed = admin
        .post("/staff/admin/users/zhao/disable", &[("confirmed", "yes")])
        .await;
    assert_eq!(allowed.status(), 200);
    assert!(disabled(&app, "zhao").await);
}
