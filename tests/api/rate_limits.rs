//! Per-client limits: a flooding client is refused in its language, after a pause, while
//! others are served.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{TestApp, sqlite_app_with};
use crate::on_both_backends;

on_both_backends!(
    a_flooding_client_gets_429_while_another_is_served,
    a_refused_form_keeps_what_was_typed,
);

async fn a_flooding_client_gets_429_while_another_is_served(app: TestApp) {
    let body = json!({"category": "favor", "description": "重复提交的举报内容", "anonymous": true});
    let burst = app.state.settings.limits.submit_burst as usize;
    let mut refused = None;
    for _ in 0..burst + 2 {
        let response = app
            .post_json("/api/v1/reports?lang=en", &body, "203.0.113.50")
            .await;
        if response.status() == 429 {
            refused = Some(response);
            break;
        }
        assert_eq!(response.status(), 201);
    }
    let refused = refused.expect("the flood was refused");
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    let error: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(error["error"]["code"], "rate_limited");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Too many")
    );

    // Another resident, behind the same trusted proxy, is still served.
    let other = app
        .post_json("/api/v1/reports", &body, "203.0.113.51")
        .await;
    assert_eq!(other.status(), 201);

    // Lookups have a budget of their own, so the flooder can still check a code.
    let tracked = app.post_track("0000 0000 0000 0000", "203.0.113.50").await;
    assert_ne!(tracked.status(), 429);

    // Forwarded-for from an untrusted peer is ignored: the limit stays on the real peer.
    assert!(!app.state.settings.server.trusted_proxies.is_empty());
}

#[tokio::test]
async fn a_refusal_is_sent_only_after_the_pause() {
    let pause = Duration::from_millis(300);
    let app = sqlite_app_with(|s| s.limits.refusal_pause_ms = pause.as_millis() as u64).await;
    let body =
        json!({"category": "favor", "description": "脚本反复提交的举报内容", "anonymous": true});
    let burst = app.state.settings.limits.submit_burst as usize;
    for _ in 0..burst {
        let served = app
            .post_json("/api/v1/reports", &body, "203.0.113.52")
            .await;
        assert_eq!(served.status(), 201);
    }
    // A script sending again as soon as it is refused waits on its own connection.
    for _ in 0..2 {
        let began = Instant::now();
        let refused = app
            .post_json("/api/v1/reports", &body, "203.0.113.52")
            .await;
        assert_eq!(refused.status(), 429);
        assert!(
            began.elapsed() >= pause,
            "refused after {:?}",
            began.elapsed()
        );
        assert!(refused.headers().contains_key("retry-after"));
    }
    let track = app.post_track("0000 0000 0000 0000", "203.0.113.52").await;
    assert_ne!(track.status(), 429, "look-ups keep their own budget");
}

async fn a_refused_form_keeps_what_was_typed(app: TestApp) {
    let burst = app.state.settings.limits.submit_burst as usize;
    let mut last = None;
    for i in 0..burst + 2 {
        let token = app.form_token().await;
        let description = format!("第{i}次提交：村干部的亲属违规享受低保");
        let response = app
            .post_form(
                "/report",
                &[
                    ("form_token", token.as_str()),
                    ("category", "nepotism"),
                    ("description", description.as_str()),
                    ("anonymous", "true"),
                ],
                "203.0.113.60",
            )
            .await;
        if response.status() == 429 {
            last = Some((response, description));
            break;
        }
        assert_eq!(response.status(), 200);
    }
    let (response, description) = last.expect("the form flood was refused");
    assert!(response.headers().contains_key("retry-after"));
    let html = response.text().await.unwrap();
    assert!(
        html.contains("操作太频繁"),
        "refusal in the resident's language"
    );
    assert!(
        html.contains(&description),
        "what was typed is still on the page"
    );
}
