//! Anonymity: nothing a reporter wrote or that identifies them is stored in clear or logged,
//! and public pages set no cookie and load nothing from another origin.

use serde_json::json;

use crate::helpers::storage::{contains_bytes, report_count, stored_bytes};
use crate::helpers::{TestApp, code_in, logs, sqlite_app_with};
use crate::on_both_backends;

on_both_backends!(
    canary_strings_never_reach_disk_rows_or_logs,
    public_responses_set_no_cookie_and_reference_no_other_origin,
);

/// Whether `needle` is in `haystack` as it is, or hex-encoded (as PostgreSQL shows bytes).
fn contains(haystack: &[u8], needle: &str) -> bool {
    let needle = needle.as_bytes();
    let hex: String = needle.iter().map(|b| format!("{b:02x}")).collect();
    contains_bytes(haystack, needle)
        || haystack
            .windows(hex.len())
            .any(|w| w.eq_ignore_ascii_case(hex.as_bytes()))
}

async fn canary_strings_never_reach_disk_rows_or_logs(app: TestApp) {
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let description = format!("金丝雀描述{tag}");
    let subject = format!("金丝雀对象{}", &tag[..8]);
    let name = format!("金丝雀{}", &tag[..6]);
    let phone = format!(
        "139{}",
        &tag.bytes()
            .filter(u8::is_ascii_digit)
            .chain(*b"12345678")
            .take(8)
            .map(char::from)
            .collect::<String>()
    );
    let occurred = format!("金丝雀时间{}", &tag[..10]);
    let client_ip = "203.0.113.77";
    let user_agent = format!("CanaryBrowser/{tag}");

    // Through the form…
    let token = app.form_token().await;
    let receipt = app
        .client
        .post(app.url("/report"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-forwarded-for", client_ip)
        .header("user-agent", &user_agent)
        .body(crate::helpers::serde_urlencoded_pairs(&[
            ("form_token", &token),
            ("category", "connection"),
            ("subject", &subject),
            ("description", &description),
            ("occurred", &occurred),
            ("anonymous", "false"),
            ("reporter_name", &name),
            ("reporter_phone", &phone),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(receipt.status(), 200);
    let form_code = code_in(&receipt.text().await.unwrap());

    // …and through the API.
    let answer: serde_json::Value = app
        .client
        .post(app.url("/api/v1/reports"))
        .header("x-forwarded-for", client_ip)
        .header("user-agent", &user_agent)
        .json(&json!({
            "category": "favor", "subject": subject, "description": description,
            "occurred": occurred, "anonymous": false,
            "reporter": {"name": name, "phone": phone}
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let api_code = answer["tracking_code"].as_str().unwrap().to_string();
    for code in [&form_code, &api_code] {
        let tracked = app
            .client
            .post(app.url("/api/v1/track"))
            .header("x-forwarded-for", client_ip)
            .header("user-agent", &user_agent)
            .json(&json!({"tracking_code": code}))
            .send()
            .await
            .unwrap();
        assert_eq!(tracked.status(), 200);
    }

    let stored = stored_bytes(&app).await;
    let logged = logs().contents();
    // Submissions are counted, not logged (tests/api/time_of_day.rs); lookups are.
    assert!(
        logged.contains("route=\"/api/v1/track\"") && logged.contains("status=200"),
        "request lines are logged at all (so their silence below means something)"
    );
    let secrets: Vec<(&str, String)> = vec![
        ("description", description.clone()),
        ("subject", subject.clone()),
        ("reporter name", name.clone()),
        ("reporter phone", phone.clone()),
        ("occurred", occurred.clone()),
        ("tracking code (form)", form_code.replace(' ', "")),
        ("tracking code (form, grouped)", form_code.clone()),
        ("tracking code (api)", api_code.replace(' ', "")),
        ("client ip", client_ip.to_string()),
        ("user agent", user_agent.clone()),
    ];
    for (what, secret) in &secrets {
        assert!(
            !contains(&stored, secret),
            "{what} found in storage ({:?})",
            app.backend
        );
        assert!(
            !logged.contains(secret.as_str()),
            "{what} found in the logs"
        );
    }
    // The report really is there, sealed: the canary is only absent because it is encrypted.
    assert_eq!(report_count(&app).await, 2);
}

async fn public_responses_set_no_cookie_and_reference_no_other_origin(app: TestApp) {
    let mut responses = Vec::new();
    for path in [
        "/",
        "/?lang=en",
        "/report",
        "/r/some-site-token",
        "/track",
        "/results",
        "/results?lang=en",
        "/static/style.css",
        "/static/print.js",
        "/healthz",
        "/api/v1/openapi.json",
        "/api/v1/version",
        "/no-such-page",
    ] {
        responses.push((path.to_string(), app.get(path).await));
    }
    responses.push((
        "receipt".into(),
        app.submit_form(&[], "198.51.100.30").await,
    ));
    responses.push((
        "invalid form".into(),
        app.submit_form(&[("description", "")], "198.51.100.30")
            .await,
    ));
    responses.push((
        "track".into(),
        app.post_form("/track", &[("tracking_code", "1234")], "198.51.100.30")
            .await,
    ));

    let foreign = regex::Regex::new(r#"(?i)(src|href|action)\s*=\s*["']?\s*(https?:|//)"#).unwrap();
    let css_foreign = regex::Regex::new(r#"(?i)(url\(|@import)\s*["']?\s*(https?:|//)"#).unwrap();
    for (path, response) in responses {
        assert!(
            response
                .headers()
                .get_all("set-cookie")
                .iter()
                .next()
                .is_none(),
            "{path} sets a cookie"
        );
        let headers = response.headers().clone();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
            "{path}"
        );
        assert!(!csp.contains("http"), "{path}: CSP names no other origin");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert!(
            headers.get("strict-transport-security").is_none(),
            "no HSTS outside production"
        );
        let body = response.text().await.unwrap();
        assert!(!foreign.is_match(&body), "{path} references another origin");
        assert!(
            !css_foreign.is_match(&body),
            "{path} loads a stylesheet resource from elsewhere"
        );
        assert!(!body.contains("<script>"), "{path} has inline script");
    }

    let production_like = sqlite_app_with(|s| s.server.hsts = true).await;
    let response = production_like.get("/").await;
    assert!(
        response.headers()["strict-transport-security"]
            .to_str()
            .unwrap()
            .contains("max-age=")
    );
}
