//! New accounts made on the admin pages: the admin never knows their password; a one-time
//! link lets the person set their own password and two-factor code.

use sea_orm::EntityTrait;
use tipoff::domain::Role;
use tipoff::entities::audit_entry;

use crate::helpers::staff::{account, totp_secret_on};
use crate::helpers::{Staff, TestApp, body_with, header};
use crate::on_both_backends;

on_both_backends!(
    an_admin_issues_an_enrolment_link_and_only_its_holder_sets_the_password_and_code,
    an_enrolment_link_expires_and_a_new_one_replaces_it,
);

/// Creates an inspector on the admin page, trying to give it a password as the old form
/// did, and returns the one-time link shown.
async fn create_on_admin_page(admin: &Staff<'_>, username: &str) -> String {
    let created = admin
        .post_for_private_page(
            "/staff/admin/users",
            &[
                ("username", username),
                ("display_name", "新检查员"),
                ("password", "chosen-by-the-admin"),
                ("inspector", "1"),
            ],
        )
        .await;
    link_in(&created)
}

/// The path of the enrolment link on a page.
fn link_in(page: &str) -> String {
    let start = page
        .find("/staff/enrol/")
        .expect("the enrolment link is shown");
    let end = page[start..]
        .find(|c: char| !(c.is_ascii_alphanumeric() || "/-_".contains(c)))
        .map_or(page.len(), |n| start + n);
    page[start..end].to_string()
}

/// The status a sign-in as the new account "new.jc" gets with `password` and `totp`.
async fn new_account_sign_in(
    app: &TestApp,
    password: &str,
    totp: &str,
    client_ip: &str,
) -> reqwest::StatusCode {
    app.try_sign_in("new.jc", password, totp, client_ip)
        .await
        .status()
}

async fn post_enrolment(
    app: &TestApp,
    link: &str,
    password: &str,
    code: &str,
) -> reqwest::Response {
    app.post_form(
        link,
        &[
            ("password", password),
            ("password_again", password),
            ("code", code),
        ],
        "192.0.2.40",
    )
    .await
}

async fn an_admin_issues_an_enrolment_link_and_only_its_holder_sets_the_password_and_code(
    app: TestApp,
) {
    let admin_id = app
        .create_staff("admin1", "管理员甲", &[Role::Admin], &[])
        .await;
    let admin = app.sign_in("admin1").await;
    let link = create_on_admin_page(&admin, "new.jc").await;
    assert!(
        !admin.page("/staff/admin/users").await.contains(&link),
        "the link is shown once"
    );
    assert_eq!(
        new_account_sign_in(&app, "chosen-by-the-admin", "", "192.0.2.41").await,
        401,
        "the admin cannot sign in as the new account"
    );

    let page = app.get(&link).await;
    assert_eq!(page.status(), 200);
    assert!(header(&page, "cache-control").starts_with("no-store"));
    let page = page.text().await.unwrap();
    assert!(page.contains("new.jc") && page.contains("<svg"));
    let secret = totp_secret_on(&page);

    let own_password = "my-own-long-password";
    let weak = post_enrolment(&app, &link, "short", &app.totp_code(&secret, 0)).await;
    assert!(body_with(weak, 422).await.contains("密码至少12位"));
    let wrong_code = post_enrolment(&app, &link, own_password, "000000").await;
    assert_eq!(wrong_code.status(), 422);
    let mismatch = app
        .post_form(
            &link,
            &[
                ("password", own_password),
                ("password_again", "something-else-entirely"),
                ("code", &app.totp_code(&secret, 0)),
            ],
            "192.0.2.40",
        )
        .await;
    assert_eq!(mismatch.status(), 422);
    assert_eq!(
        new_account_sign_in(&app, own_password, "", "192.0.2.42").await,
        401,
        "nothing was set by the refused attempts"
    );

    let done = post_enrolment(&app, &link, own_password, &app.totp_code(&secret, 0)).await;
    assert_eq!(done.status(), 303);
    assert!(header(&done, "location").starts_with("/staff/login"));
    // Used once: the link is dead now, however it is tried.
    assert_eq!(app.get(&link).await.status(), 404);
    let replay = post_enrolment(
        &app,
        &link,
        "an-attackers-password",
        &app.totp_code(&secret, 0),
    )
    .await;
    assert_eq!(replay.status(), 404);

    // Their own password alone is not enough: two-factor is on from the start.
    assert_eq!(
        new_account_sign_in(&app, own_password, "", "192.0.2.43").await,
        401
    );
    app.advance(30);
    let code = app.totp_code(&secret, 0);
    assert_eq!(
        new_account_sign_in(&app, own_password, &code, "192.0.2.44").await,
        303
    );

    // The audit says who issued the link, and that the person completed it.
    let entries = audit_entry::Entity::find().all(app.db()).await.unwrap();
    let issued = entries
        .iter()
        .find(|e| e.detail.contains("enrolment link") && e.detail.contains("new.jc"))
        .expect("the link is audited");
    assert_eq!(issued.actor_id, Some(admin_id));
    assert!(issued.detail.contains("admin1"), "{}", issued.detail);
    let new_id = account(&app, "new.jc").await.id;
    assert!(
        entries
            .iter()
            .any(|e| e.actor_id == Some(new_id) && e.detail.contains("enrolled")),
        "completing enrolment is audited as the person"
    );
}

async fn an_enrolment_link_expires_and_a_new_one_replaces_it(app: TestApp) {
    let first_admin = app.signed_in("admin1", "管理员甲", Role::Admin).await;
    let first = create_on_admin_page(&first_admin, "late.jc").await;
    let hours = app.state.settings.staff.enrolment_link_hours;
    app.advance(i64::from(hours) * 3600 + 1);
    let expired = app.get(&first).await;
    assert!(body_with(expired, 404).await.contains("链接无效或已过期"));

    // The admin's session has ended meanwhile too.
    let admin = app.sign_in("admin1").await;
    let reissued = admin
        .post("/staff/admin/users/late.jc/enrolment", &[])
        .await;
    assert_eq!(reissued.status(), 200);
    let second = link_in(&reissued.text().await.unwrap());
    assert_ne!(second, first);
    assert_eq!(app.get(&second).await.status(), 200);
    assert_eq!(
        app.get(&first).await.status(),
        404,
        "the old link stays dead"
    );

    // An account that has enrolled gets no new link: that would be a way in for the admin.
    let enrolled = admin.post("/staff/admin/users/admin1/enrolment", &[]).await;
    assert_eq!(enrolled.status(), 422);
    assert!(!enrolled.text().await.unwrap().contains("/staff/enrol/"));
}
