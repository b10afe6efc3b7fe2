//! The JSON API exactly as DESIGN.md gives it: bodies, status codes and error bodies.

use serde_json::{Value, json};

use crate::helpers::reports::next_ip;
use crate::helpers::storage::report_count;
use crate::helpers::{TestApp, json_with, mistyped_digit, sqlite_app};
use crate::on_both_backends;

on_both_backends!(
    an_integration_submits_and_tracks_a_report,
    bad_bodies_get_error_bodies_never_a_server_error,
    track_answers_follow_the_contract,
);

fn valid_report() -> Value {
    json!({
        "category": "connection",
        "village": "dalu-community",
        "subject": "王某，村委会主任",
        "subject_role": "village_cadre",
        "description": "村主任的亲戚开着小车还在吃低保",
        "occurred": "2024年3月前后",
        "anonymous": true
    })
}

async fn an_integration_submits_and_tracks_a_report(app: TestApp) {
    let response = app
        .post_json("/api/v1/reports", &valid_report(), "198.51.100.10")
        .await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "received");
    let code = body["tracking_code"].as_str().unwrap().to_string();
    assert!(
        regex::Regex::new(r"^\d{4} \d{4} \d{4} \d{4}$")
            .unwrap()
            .is_match(&code)
    );
    assert_eq!(
        body.as_object().unwrap().len(),
        2,
        "exactly the documented fields"
    );

    // Hyphens are accepted on input as well as spaces.
    let hyphenated = code.replace(' ', "-");
    for (lang, text) in [("zh", "已收到"), ("en", "Received")] {
        let tracked = app
            .post_json(
                &format!("/api/v1/track?lang={lang}"),
                &json!({"tracking_code": hyphenated}),
                "198.51.100.10",
            )
            .await;
        let body = json_with(tracked, 200).await;
        assert_eq!(body["status"], "received");
        assert_eq!(body["status_text"], text);
        assert_eq!(body["messages"], json!([]));
        assert_eq!(body["can_reply"], false);
        assert!(body["updated_at"].as_str().unwrap().len() == 10, "a date");
    }

    let real_name = json!({
        "category": "bribery",
        "description": "办低保要先送两条烟",
        "anonymous": false,
        "reporter": {"name": "赵六", "phone": "023-41400001"}
    });
    let response = app
        .post_json("/api/v1/reports", &real_name, "198.51.100.10")
        .await;
    assert_eq!(response.status(), 201);
}

/// The status and error body the API answers `body` with (each from a client of its own:
/// a malformed body spends its sender's budget like any other).
async fn refused(app: &TestApp, path: &str, body: &Value) -> (reqwest::StatusCode, Value) {
    let response = app.post_json(path, body, &next_ip()).await;
    (response.status(), response.json().await.unwrap())
}

async fn bad_bodies_get_error_bodies_never_a_server_error(app: TestApp) {
    let url = app.url("/api/v1/reports");
    let raw = |body: &'static str| {
        app.client
            .post(&url)
            .header("content-type", "application/json")
            .header("x-forwarded-for", next_ip())
            .body(body)
            .send()
    };
    let not_json = raw("{\"category\": ").await.unwrap();
    let body = json_with(not_json, 400).await;
    assert_eq!(body["error"]["code"], "malformed_body");
    assert!(body["error"]["message"].as_str().unwrap().len() > 3);

    let mut unknown_field = valid_report();
    unknown_field["ip_address"] = json!("1.2.3.4");
    let (status, body) = refused(&app, "/api/v1/reports", &unknown_field).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["code"], "validation_failed");

    let wrong_type =
        raw("{\"category\":\"favor\",\"description\":\"xxxxxxx\",\"anonymous\":\"yes\"}")
            .await
            .unwrap();
    assert_eq!(wrong_type.status(), 422);

    let wrong_values = json!({"category": "lottery", "description": "abc", "anonymous": false,
                              "reporter": {"name": "", "phone": "110"}});
    let (status, body) = refused(&app, "/api/v1/reports?lang=en", &wrong_values).await;
    assert_eq!(status, 422);
    let fields = body["error"]["fields"].as_object().unwrap();
    for field in ["category", "description", "reporter_name", "reporter_phone"] {
        assert!(fields.contains_key(field), "{field} reason given: {body}");
    }
    assert_eq!(
        fields["description"],
        "Too short: please write at least 5 characters"
    );

    let huge = json!({"category": "favor", "description": "x".repeat(200_000), "anonymous": true});
    let (status, body) = refused(&app, "/api/v1/reports", &huge).await;
    assert_eq!(status, 413);
    assert_eq!(body["error"]["code"], "too_large");

    let wrong_media = app
        .client
        .post(&url)
        .header("content-type", "text/plain")
        .header("x-forwarded-for", next_ip())
        .body("hello")
        .send()
        .await
        .unwrap();
    assert!(
        wrong_media.status().is_client_error(),
        "{}",
        wrong_media.status()
    );
    assert_eq!(report_count(&app).await, 0);
}

/// A valid report submitted through the API: the answer, its tracking code (digits only),
/// and the same code with its check digit mistyped.
async fn submitted(app: &TestApp, client_ip: &str) -> (Value, String, String) {
    let answer: Value = app
        .post_json("/api/v1/reports", &valid_report(), client_ip)
        .await
        .json()
        .await
        .unwrap();
    let code = answer["tracking_code"].as_str().unwrap().replace(' ', "");
    let mut mistyped = code.clone().into_bytes();
    mistyped[15] = mistyped_digit(mistyped[15]);
    let mistyped = String::from_utf8(mistyped).unwrap();
    (answer, code, mistyped)
}

async fn track_answers_follow_the_contract(app: TestApp) {
    let (_, _, mistyped) = submitted(&app, "198.51.100.12").await;

    let response = app
        .post_json(
            "/api/v1/track?lang=en",
            &json!({"tracking_code": mistyped}),
            "198.51.100.12",
        )
        .await;
    let body = json_with(response, 422).await;
    assert_eq!(body["error"]["code"], "check_code");
    assert!(
        body["error"]["fields"]["tracking_code"]
            .as_str()
            .unwrap()
            .contains("check the code")
    );

    let never_issued = tipoff::crypto::new_tracking_code();
    let unknown = app.post_track(never_issued.digits(), "198.51.100.12").await;
    let unknown = json_with(unknown, 404).await;
    for (i, not_a_code) in ["12345", "abcd efgh ijkl mnop", "12345678901234567", ""]
        .iter()
        .enumerate()
    {
        let client = format!("198.51.100.{}", 200 + i);
        let response = app.post_track(not_a_code, &client).await;
        assert_eq!(response.status(), 404, "{not_a_code}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, unknown, "malformed and unknown answer alike");
    }
}

#[tokio::test]
async fn the_openapi_document_describes_every_api_route_and_its_errors() {
    let app = sqlite_app().await;
    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for (path, method, codes) in [
        (
            "/api/v1/reports",
            "post",
            vec!["201", "400", "413", "422", "429"],
        ),
        (
            "/api/v1/track",
            "post",
            vec!["200", "400", "404", "422", "429"],
        ),
        ("/api/v1/version", "get", vec!["200"]),
    ] {
        let responses = paths[path][method]["responses"].as_object().unwrap();
        for code in codes {
            assert!(responses.contains_key(code), "{path} documents {code}");
        }
    }
    let schema = &doc["components"]["schemas"]["ReportBody"];
    let required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for field in ["category", "description", "anonymous"] {
        assert!(
            required.contains(&field),
            "{field} is documented as required"
        );
    }
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());

    let health = app.get("/healthz").await;
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn an_api_route_answers_an_undeclared_method_with_405_and_what_it_allows() {
    let app = sqlite_app().await;
    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    let mut routes: Vec<(String, Vec<String>)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(path, item)| {
            let methods = item.as_object().unwrap().keys().map(|m| m.to_uppercase());
            (path.clone(), methods.collect())
        })
        .collect();
    routes.push(("/api/v1/openapi.json".into(), vec!["GET".into()]));
    assert!(routes.len() >= 5, "every API route is walked");
    for (path, declared) in routes {
        for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
            if declared.iter().any(|m| m == method) {
                continue;
            }
            let response = app
                .client
                .request(method.parse().unwrap(), app.url(&path))
                .header("x-forwarded-for", "198.51.100.13")
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 405, "{method} {path}");
            assert_eq!(
                response.headers()["allow"],
                declared.join(", ").as_str(),
                "{method} {path}"
            );
            let body: Value = response.json().await.unwrap();
            assert_eq!(
                body["error"]["code"], "method_not_allowed",
                "{method} {path}"
            );
        }
    }
    // Outside the API an unknown path is still the 404 page.
    assert_eq!(app.get("/api/v1/no-such-route").await.status(), 404);
}

#[tokio::test]
async fn every_answer_an_api_route_gives_is_in_the_openapi_document() {
    let app = sqlite_app().await;
    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    let (submitted, code, mistyped) = submitted(&app, "198.51.100.30").await;
    let unknown = tipoff::crypto::new_tracking_code().digits().to_string();
    let huge = json!({"text": "x".repeat(app.state.settings.server.body_limit + 1)}).to_string();
    let track = |code: &str| json!({"tracking_code": code}).to_string();
    let reply = |code: &str, text: &str| json!({"tracking_code": code, "text": text}).to_string();

    // Each route, the bodies to try, and one to repeat until the client is limited.
    let tries: Vec<(&str, Vec<String>, String)> = vec![
        (
            "/api/v1/reports",
            vec![
                "{".into(),
                json!({"category": "favor", "x": 1}).to_string(),
                json!({"category": "lottery", "description": "abc", "anonymous": false})
                    .to_string(),
                huge.clone(),
            ],
            valid_report().to_string(),
        ),
        (
            "/api/v1/track",
            vec![
                "{".into(),
                "{}".into(),
                json!({"tracking_code": 5}).to_string(),
                track(&code),
                track(&unknown),
                track("12345"),
                track(&mistyped),
                huge.clone(),
            ],
            track(&unknown),
        ),
        (
            "/api/v1/track/reply",
            vec![
                "{".into(),
                track(&code),
                reply(&code, "补充一点情况"),
                reply(&code, ""),
                reply(&unknown, "补充"),
                reply(&mistyped, "补充"),
                huge.clone(),
            ],
            reply(&unknown, "补充"),
        ),
    ];
    for (path, bodies, repeated) in tries {
        let documented = doc["paths"][path]["post"]["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{path} is documented"));
        let send = |body: String, client: String| {
            app.client
                .post(app.url(path))
                .header("content-type", "application/json")
                .header("x-forwarded-for", client)
                .body(body)
                .send()
        };
        let mut seen = std::collections::BTreeSet::new();
        for (i, body) in bodies.into_iter().enumerate() {
            let status = send(body, format!("198.51.100.{}", 40 + i))
                .await
                .unwrap()
                .status();
            seen.insert(status.as_u16());
        }
        // And one client past its limit.
        let mut limited = false;
        for _ in 0..40 {
            let response = send(repeated.clone(), "198.51.100.99".into())
                .await
                .unwrap();
            seen.insert(response.status().as_u16());
            if response.status() == 429 {
                limited = true;
                break;
            }
        }
        assert!(limited, "{path} limits a client");
        for status in seen {
            assert!(
                documented.contains_key(&status.to_string()),
                "{path} answers {status}, which its document does not list"
            );
        }
    }

    // What the service refuses, the document refuses too.
    let schemas = &doc["components"]["schemas"];
    let report = &schemas["ReportBody"];
    for field in ["category", "description", "anonymous"] {
        let kind = &report["properties"][field]["type"];
        assert!(
            kind.is_string() && kind != "null",
            "required {field} is not nullable: {kind}"
        );
    }
    for body in ["TrackBody", "ReplyBody"] {
        let pattern = schemas[body]["properties"]["tracking_code"]["pattern"]
            .as_str()
            .unwrap_or_else(|| panic!("{body} gives the tracking-code pattern"));
        let pattern = regex::Regex::new(pattern).unwrap();
        let grouped = submitted["tracking_code"].as_str().unwrap();
        let full_width: String = code
            .chars()
            .map(|c| char::from_u32(c as u32 - '0' as u32 + 0xFF10).unwrap())
            .collect();
        for good in [grouped, &code, &code.replace("", "-")[1..], &full_width] {
            assert!(pattern.is_match(good), "{body}: {good}");
            assert!(tipoff::domain::TrackingCode::parse(good).is_ok(), "{good}");
        }
        for bad in ["12345", "abcd efgh ijkl mnop", "12345678901234567", ""] {
            assert!(!pattern.is_match(bad), "{body}: {bad}");
        }
    }
}
