//! Abuse control beyond per-client limits: single-use form tokens, the confirmation step for
//! bot-like forms, flood quarantine and its ceiling, and growing waits for code guessing.

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;
use tipoff::domain::Role;
use tipoff::entities::report;

use crate::helpers::reports::report_form;
use crate::helpers::storage::{report_count as count, rows_where};
use crate::helpers::{TestApp, code_in, hidden_value, logs, sqlite_app_with};
use crate::on_both_backends;

on_both_backends!(a_replayed_form_token_is_refused_and_the_text_kept);

async fn a_replayed_form_token_is_refused_and_the_text_kept(app: TestApp) {
    let token = app.form_token().await;
    let fields = report_form(&token, "同一份表单提交两次", &[]);
    let first = app.post_form("/report", &fields, "198.51.100.80").await;
    assert_eq!(first.status(), 200);
    let replay = app.post_form("/report", &fields, "198.51.100.81").await;
    assert_eq!(replay.status(), 409);
    let html = replay.text().await.unwrap();
    assert!(html.contains("已经提交过了"));
    assert!(html.contains("同一份表单提交两次"), "the text is kept");
    assert_eq!(count(&app).await, 1, "the replay stored nothing");
}

#[tokio::test]
async fn a_form_sent_too_fast_or_with_the_honeypot_filled_gets_a_confirmation_step() {
    let app = sqlite_app_with(|s| {
        s.limits.min_fill_seconds = 30;
        s.limits.submit_burst = 50;
    })
    .await;
    for extra in [vec![], vec![("website", "http://spam.example")]] {
        let token = app.form_token().await;
        if extra.is_empty() {
            // Sent at once: far faster than a person fills the form.
        } else {
            app.advance(60);
        }
        let fields = report_form(&token, "很快就提交的举报内容", &extra);
        let step = app.post_form("/report", &fields, "198.51.100.82").await;
        assert_eq!(step.status(), 200);
        let html = step.text().await.unwrap();
        assert!(
            html.contains("请再检查一遍"),
            "asked to confirm, not discarded"
        );
        assert!(html.contains("很快就提交的举报内容"));
        assert!(!html.contains("id=\"tracking-code\""));
        let before = count(&app).await;

        // A forged confirmation is asked again.
        let fresh = hidden_value(&html, "form_token");
        let forged = report_form(&fresh, "很快就提交的举报内容", &[("confirm", "forged")]);
        let again = app.post_form("/report", &forged, "198.51.100.82").await;
        assert!(again.text().await.unwrap().contains("请再检查一遍"));
        assert_eq!(count(&app).await, before);

        let confirm = hidden_value(&html, "confirm");
        let confirmed = report_form(&fresh, "很快就提交的举报内容", &[("confirm", &confirm)]);
        let receipt = app.post_form("/report", &confirmed, "198.51.100.82").await;
        assert_eq!(receipt.status(), 200);
        let code = code_in(&receipt.text().await.unwrap());
        assert_eq!(code.len(), 19);
        assert_eq!(
            count(&app).await,
            before + 1,
            "confirmed reports are stored"
        );
    }
}

#[tokio::test]
async fn a_flood_goes_to_quarantine_where_inspectors_keep_or_discard_in_bulk() {
    let app = sqlite_app_with(|s| s.limits.flood_per_minute = 3).await;
    for i in 0..5 {
        let body = json!({"category": "other", "description": format!("洪水中的第{i}份举报"), "anonymous": true});
        let response = app
            .post_json("/api/v1/reports", &body, &format!("203.0.113.{}", 100 + i))
            .await;
        assert_eq!(response.status(), 201, "a flood never turns residents away");
    }
    let quarantined = rows_where(&app, report::Column::Quarantined, true).await;
    assert_eq!(quarantined.len(), 2);
    let db = app.db().clone();
    let mails_for = |id: uuid::Uuid| {
        let db = db.clone();
        async move {
            tipoff::entities::outbox::Entity::find()
                .filter(tipoff::entities::outbox::Column::ReportId.eq(id))
                .count(&db)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        mails_for(quarantined[0].id).await,
        0,
        "the flood reaches no mailbox"
    );

    let inspector = app.signed_in("insp", "郑检查", Role::Inspector).await;
    let list = inspector.page("/staff/cases").await;
    assert!(
        list.contains("共计：<strong>3</strong>"),
        "quarantined reports are not in the list"
    );
    let review = inspector.page("/staff/quarantine").await;
    assert!(review.contains("洪水中的第3份举报") && review.contains("洪水中的第4份举报"));

    let keep = format!("decision.{}", quarantined[0].id);
    let discard = format!("decision.{}", quarantined[1].id);
    inspector
        .post_for(
            "/staff/quarantine",
            &[(keep.as_str(), "keep"), (discard.as_str(), "discard")],
            303,
        )
        .await;
    let list = inspector.page("/staff/cases").await;
    assert!(
        list.contains("共计：<strong>4</strong>"),
        "the kept report joined the list"
    );
    assert!(
        report::Entity::find_by_id(quarantined[1].id)
            .one(app.db())
            .await
            .unwrap()
            .is_none()
    );
    let audit = tipoff::services::audit::verify(app.db(), &app.state.keyring)
        .await
        .unwrap();
    assert!(audit.problem.is_none());
}

#[tokio::test]
async fn past_the_quarantine_ceiling_the_public_is_told_to_come_back_and_the_hotline_works() {
    let app = sqlite_app_with(|s| {
        s.limits.flood_per_minute = 1;
        s.limits.quarantine_ceiling = 1;
    })
    .await;
    let body = json!({"category": "other", "description": "天花板测试的举报", "anonymous": true});
    assert_eq!(
        app.post_json("/api/v1/reports", &body, "203.0.113.120")
            .await
            .status(),
        201
    );
    assert_eq!(
        app.post_json("/api/v1/reports", &body, "203.0.113.121")
            .await
            .status(),
        201
    );
    let busy = app
        .post_json("/api/v1/reports?lang=en", &body, "203.0.113.122")
        .await;
    assert_eq!(busy.status(), 429);
    assert!(busy.headers().contains_key("retry-after"));
    let page = app
        .submit_form(&[("description", "忙碌时提交的举报内容")], "203.0.113.123")
        .await;
    assert_eq!(page.status(), 429);
    let html = page.text().await.unwrap();
    assert!(html.contains("分钟后再试") && html.contains("忙碌时提交的举报内容"));

    let operator = app.signed_in("op", "话务员", Role::Operator).await;
    let entered = operator.enter_hotline_call("电话登记不受影响").await;
    assert_eq!(
        entered.status(),
        200,
        "operator entry keeps working throughout"
    );
}

#[tokio::test]
async fn guessing_tracking_codes_meets_growing_waits_and_raises_an_alarm() {
    let app = sqlite_app_with(|s| {
        s.limits.lookup_free_failures = 3;
        s.limits.lookup_alarm_per_minute = 3;
        s.limits.track_burst = 50;
        s.limits.track_per_minute = 600;
    })
    .await;
    let real: serde_json::Value = app
        .post_json(
            "/api/v1/reports",
            &json!({"category": "other", "description": "真实的举报内容", "anonymous": true}),
            "198.51.100.90",
        )
        .await
        .json()
        .await
        .unwrap();
    let real = real["tracking_code"].as_str().unwrap().to_string();
    let mut guesses = Vec::new();
    for _ in 0..3 {
        let guess = tipoff::crypto::new_tracking_code();
        let response = app.post_track(guess.digits(), "203.0.113.200").await;
        assert_eq!(response.status(), 404);
        guesses.push(guess.digits().to_string());
    }
    let slowed = app.post_track(&real, "203.0.113.200").await;
    assert_eq!(
        slowed.status(),
        429,
        "the guesser now waits, even for a real code"
    );
    assert!(slowed.headers().contains_key("retry-after"));
    let other = app.post_track(&real, "198.51.100.91").await;
    assert_eq!(other.status(), 200, "other residents are not slowed");
    app.advance(5);
    let later = app.post_track(&real, "203.0.113.200").await;
    assert_eq!(later.status(), 200, "a wait, never a lock");

    assert!(
        app.state.lookups.failed_total() >= 3,
        "failed lookups are counted"
    );
    let logged = logs().contents();
    assert!(logged.contains("alarm: failed tracking-code lookups are rising"));
    for guess in &guesses {
        assert!(
            !logged.contains(guess.as_str()),
            "the alarm carries no codes"
        );
    }
    assert!(!logged.contains("203.0.113.200"), "nor addresses");
}
