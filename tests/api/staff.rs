//! The staff side's gatekeeping: every staff route refuses the wrong people, CSRF, sign-in
//! slow-down without lock-out, TOTP, sessions, and operator entry.

use sea_orm::EntityTrait;
use serde_json::json;
use tipoff::domain::Role;
use tipoff::entities::{report, session};
use tipoff::services::staff::{self, LoginOutcome};
use tipoff::web::staff::STAFF_ROUTES;

use crate::helpers::staff::totp_secret_on;
use crate::helpers::{
    Staff, TestApp, body_with, code_in, header, hidden_value, sqlite_app, sqlite_app_with,
};
use crate::on_both_backends;

on_both_backends!(
    every_staff_route_refuses_anonymous_and_wrong_role_requests,
    state_changing_requests_need_the_sessions_csrf_token,
    an_operator_enters_a_phoned_report_and_reads_out_the_code,
    one_totp_code_signs_in_once_when_two_sign_ins_race,
);

async fn request(
    app: &TestApp,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    csrf: Option<&str>,
) -> reqwest::Response {
    let url = app.url(path);
    let builder = match method {
        "get" => app.client.get(url),
        "post" => app
            .client
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(csrf.map(|c| format!("csrf={c}")).unwrap_or_default()),
        other => panic!("route table has an unexpected method {other}"),
    };
    let builder = match cookie {
        Some(cookie) => builder.header("cookie", cookie),
        None => builder,
    };
    builder.send().await.unwrap()
}

async fn every_staff_route_refuses_anonymous_and_wrong_role_requests(app: TestApp) {
    let mut by_role: Vec<(Role, Staff<'_>)> = Vec::new();
    for role in Role::ALL {
        let name = format!("only-{}", role.code());
        by_role.push((role, app.signed_in(&name, &name, role).await));
    }
    assert!(STAFF_ROUTES.len() >= 15, "the table lists the staff routes");
    // Signing out ends the session the later checks use, so that route goes last.
    let mut routes: Vec<_> = STAFF_ROUTES.iter().collect();
    routes.sort_by_key(|r| r.path == "/staff/logout");
    for route in routes {
        let path = route
            .path
            .replace("{id}", &uuid::Uuid::new_v4().to_string())
            .replace("{username}", "nobody-here");

        let anonymous = request(&app, route.method, &path, None, None).await;
        assert_eq!(
            anonymous.status(),
            303,
            "{} {} without a session",
            route.method,
            route.path
        );
        assert!(header(&anonymous, "location").starts_with("/staff/login"));

        let forged = request(
            &app,
            route.method,
            &path,
            Some("tipoff_staff=forged-session"),
            None,
        )
        .await;
        assert_eq!(
            forged.status(),
            303,
            "{} {} with a forged session",
            route.method,
            route.path
        );

        for (role, staff) in &by_role {
            let response = request(
                &app,
                route.method,
                &path,
                Some(&staff.cookie),
                Some(&staff.csrf),
            )
            .await;
            let allowed = route.roles.is_empty() || route.roles.contains(role);
            if allowed {
                assert_ne!(
                    response.status(),
                    403,
                    "{} {} should admit {:?}",
                    route.method,
                    route.path,
                    role
                );
                assert!(
                    !response.status().is_server_error(),
                    "{} {}: {}",
                    route.method,
                    route.path,
                    response.status()
                );
            } else {
                assert_eq!(
                    response.status(),
                    403,
                    "{} {} must refuse {:?}",
                    route.method,
                    route.path,
                    role
                );
            }
        }
    }
}

async fn state_changing_requests_need_the_sessions_csrf_token(app: TestApp) {
    let admin = app.signed_in("admin1", "管理员甲", Role::Admin).await;
    let other = app.signed_in("admin2", "管理员乙", Role::Admin).await;
    let fields = [
        ("username", "newop"),
        ("display_name", "新话务员"),
        ("password", "a-long-enough-password"),
        ("operator", "1"),
    ];
    let missing = admin.post_raw("/staff/admin/users", &fields).await;
    assert!(body_with(missing, 403).await.contains("页面已过期"));
    let mut with_other: Vec<(&str, &str)> = vec![("csrf", other.csrf.as_str())];
    with_other.extend_from_slice(&fields);
    assert_eq!(
        admin
            .post_raw("/staff/admin/users", &with_other)
            .await
            .status(),
        403,
        "another session's token"
    );
    let users = tipoff::services::staff::list_users(app.db()).await.unwrap();
    assert!(
        !users.iter().any(|u| u.username == "newop"),
        "nothing was created"
    );

    let created = admin.post_for("/staff/admin/users", &fields, 200).await;
    assert!(created.contains("newop"));
    let users = tipoff::services::staff::list_users(app.db()).await.unwrap();
    assert!(
        users
            .iter()
            .any(|u| u.username == "newop" && u.roles == vec![Role::Operator])
    );
}

async fn an_operator_enters_a_phoned_report_and_reads_out_the_code(app: TestApp) {
    let operator_id = app
        .create_staff("op1", "话务员", &[Role::Operator], &[])
        .await;
    let operator = app.sign_in("op1").await;

    // The public budget of this address is spent…
    let body = json!({"category": "favor", "description": "刷屏的举报内容内容", "anonymous": true});
    let burst = app.state.settings.limits.submit_burst as usize;
    for _ in 0..burst + 1 {
        app.post_json("/api/v1/reports", &body, "192.0.2.1").await;
    }
    assert_eq!(
        app.post_json("/api/v1/reports", &body, "192.0.2.1")
            .await
            .status(),
        429
    );

    // …and the hotline keeps working from the same address.
    let form = operator.get("/staff/intake").await;
    assert!(body_with(form, 200).await.contains("监督电话"));
    let receipt = operator
        .post_for_private_page(
            "/staff/intake",
            &[
                ("channel", "hotline"),
                ("category", "bribery"),
                ("village", "qingshan-village"),
                ("description", "来电反映：办低保要先送两条烟"),
                ("anonymous", "false"),
                ("reporter_name", "孙八"),
                ("reporter_phone", "13700001111"),
            ],
        )
        .await;
    let code = code_in(&receipt);
    let tracked = app.post_track(&code, "198.51.100.90").await;
    assert_eq!(
        tracked.status(),
        200,
        "the caller can track the report with the code read out"
    );

    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let stored = report::Entity::find()
        .filter(report::Column::Channel.eq("hotline"))
        .one(app.db())
        .await
        .unwrap()
        .expect("hotline report stored");
    assert_eq!(
        stored.operator_id,
        Some(operator_id),
        "the operator is recorded"
    );

    let html = operator
        .post_for(
            "/staff/intake",
            &[
                ("channel", "carrier-pigeon"),
                ("description", "这是一段描述文字"),
            ],
            422,
        )
        .await;
    assert!(html.contains("这是一段描述文字"), "typed text kept");
    assert!(html.contains("href=\"#channel\""));
}

#[tokio::test]
async fn sign_in_slows_down_per_client_and_account_but_never_locks_out() {
    let app = sqlite_app().await;
    app.create_staff("insp", "检查员", &[Role::Inspector], &[])
        .await;
    let right = "password-of-insp";
    for _ in 0..3 {
        let refused = app
            .try_sign_in("insp", "wrong-password!", "", "192.0.2.50")
            .await;
        assert!(
            body_with(refused, 401)
                .await
                .contains("用户名、密码或验证码不正确")
        );
    }
    // Now this client must wait, even with the right password…
    let waiting = app.try_sign_in("insp", right, "", "192.0.2.50").await;
    assert_eq!(waiting.status(), 429);
    assert!(waiting.headers().contains_key("retry-after"));
    assert!(waiting.text().await.unwrap().contains("秒后再试"));
    // …while the inspector at another desk signs in at once.
    assert_eq!(
        app.try_sign_in("insp", right, "", "192.0.2.51")
            .await
            .status(),
        303
    );
    // After the wait the first client gets in: slowed, never locked.
    app.advance(10);
    let response = app.try_sign_in("insp", right, "", "192.0.2.50").await;
    assert_eq!(response.status(), 303);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/staff"] {
        assert!(cookie.contains(attribute), "{cookie} has {attribute}");
    }
    let failed = tipoff::services::audit::verify(app.db(), &app.state.keyring)
        .await
        .unwrap();
    assert!(failed.problem.is_none());
    assert!(
        failed.entries >= 6,
        "failed and successful sign-ins are audited"
    );
}

#[tokio::test]
async fn sessions_end_when_idle_and_on_sign_out_and_cookies_are_secure_outside_development() {
    let app = sqlite_app_with(|s| s.staff.secure_cookie = true).await;
    app.create_staff("insp", "检查员", &[Role::Inspector], &[])
        .await;
    let response = app
        .try_sign_in("insp", "password-of-insp", "", "192.0.2.60")
        .await;
    assert!(header(&response, "set-cookie").contains("Secure"));
    let staff = Staff::from_response(&app, &response).await;
    assert_eq!(staff.get("/staff/totp").await.status(), 200);
    app.advance(31 * 60);
    assert_eq!(
        staff.get("/staff/totp").await.status(),
        303,
        "idle session ended"
    );

    let staff = app.sign_in("insp").await;
    assert_eq!(staff.post("/staff/logout", &[]).await.status(), 303);
    assert_eq!(
        staff.get("/staff/totp").await.status(),
        303,
        "signed-out session is dead"
    );
}

#[tokio::test]
async fn an_inspector_enrols_totp_and_each_code_works_once() {
    let app = sqlite_app_with(|s| s.staff.require_totp = true).await;
    let staff = app.signed_in("insp", "检查员", Role::Inspector).await;
    let redirected = staff.get("/staff/cases").await;
    assert_eq!(
        redirected.status(),
        303,
        "enrolment comes first where required"
    );
    assert_eq!(redirected.headers()["location"], "/staff/totp");

    let page = staff.get("/staff/totp").await.text().await.unwrap();
    assert!(page.contains("<svg"), "the QR code is shown");
    let secret = totp_secret_on(&page);
    let code_now = || tipoff::crypto::totp_code(&secret, app.now().timestamp() as u64).unwrap();

    staff
        .post_for("/staff/totp", &[("code", "000000")], 422)
        .await;
    staff
        .post_for("/staff/totp", &[("code", &code_now())], 303)
        .await;
    assert_eq!(
        staff.get("/staff/cases").await.status(),
        200,
        "past the enrolment gate"
    );

    // The code used to enrol is spent; a password alone no longer signs in.
    let used = code_now();
    assert_eq!(app.sign_in_status("insp", "", "192.0.2.70").await, 401);
    assert_eq!(app.sign_in_status("insp", &used, "192.0.2.71").await, 401);
    app.advance(60);
    let fresh = code_now();
    assert_eq!(app.sign_in_status("insp", &fresh, "192.0.2.72").await, 303);
    assert_eq!(
        app.sign_in_status("insp", &fresh, "192.0.2.73").await,
        401,
        "a code is never accepted twice"
    );
    let _ = hidden_value;
}

/// The inspector "insp", enrolled in TOTP `seconds` ago (so a fresh code is due): its
/// secret.
async fn enrolled_inspector(app: &TestApp, seconds: i64) -> Vec<u8> {
    let id = app
        .create_staff("insp", "检查员", &[Role::Inspector], &[])
        .await;
    let secret = app.enrol_totp(id).await;
    app.advance(seconds);
    secret
}

async fn one_totp_code_signs_in_once_when_two_sign_ins_race(app: TestApp) {
    let secret = enrolled_inspector(&app, 60).await;
    let code = app.totp_code(&secret, 0);
    let (db, keyring, now) = (app.db(), &app.state.keyring, app.now());
    let sign_in = || staff::login(db, keyring, "insp", "password-of-insp", Some(&code), now);
    for round in 0..3 {
        let (a, b) = tokio::join!(sign_in(), sign_in());
        let signed_in = [a.unwrap(), b.unwrap()]
            .iter()
            .filter(|o| matches!(o, LoginOutcome::SignedIn { .. }))
            .count();
        assert_eq!(
            signed_in,
            usize::from(round == 0),
            "round {round}: one code, one session"
        );
    }
    let sessions = session::Entity::find().all(db).await.unwrap();
    assert_eq!(sessions.len(), 1);
}

#[tokio::test]
async fn an_enrolled_account_is_not_enrolled_again_nor_its_spent_codes_revived() {
    let app = sqlite_app().await;
    let secret = enrolled_inspector(&app, 30).await;
    let code = app.totp_code(&secret, 0);
    let response = app
        .try_sign_in("insp", "password-of-insp", &code, "192.0.2.80")
        .await;
    assert_eq!(response.status(), 303);
    let staff = Staff::from_response(&app, &response).await;

    // The previous step's code is still within the allowed drift: confirming "enrolment"
    // with it must neither succeed nor move the used step back.
    let previous = app.totp_code(&secret, -1);
    let again = staff.post("/staff/totp", &[("code", &previous)]).await;
    assert_eq!(
        again.status(),
        422,
        "an enrolled account is not enrolled again"
    );
    let fresh = app.totp_code(&secret, 0);
    assert_eq!(
        staff
            .post("/staff/totp", &[("code", &fresh)])
            .await
            .status(),
        422
    );
    assert_eq!(
        app.sign_in_status("insp", &code, "192.0.2.81").await,
        401,
        "the spent code stays spent"
    );
    let page = staff.page("/staff/totp").await;
    assert!(!page.contains("otpauth://"), "no new secret is offered");
}

#[tokio::test]
async fn the_sign_in_throttle_forgets_a_client_once_its_wait_is_long_over() {
    let app = sqlite_app().await;
    app.create_staff("insp", "检查员", &[Role::Inspector], &[])
        .await;
    for _ in 0..4 {
        app.try_sign_in("insp", "wrong-password!", "", "192.0.2.90")
            .await;
    }
    let throttle = &app.state.login_throttle;
    assert_eq!(throttle.remembered(), 1);
    app.state.forget_idle();
    assert_eq!(
        throttle.remembered(),
        1,
        "kept while it may still slow the client"
    );
    app.advance(2 * 3600);
    app.state.forget_idle();
    assert_eq!(throttle.remembered(), 0, "the address is not kept for ever");
}
