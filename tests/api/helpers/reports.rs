//! Reports as residents send them: through the JSON API, each from an address of its own, and
//! found again by the tracking code they were given; and the report form's fields.

use std::sync::atomic::{AtomicU32, Ordering};

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use tipoff::domain::TrackingCode;
use tipoff::entities::report;
use tipoff::services::cases::CaseView;

use super::TestApp;

/// A client address of its own for every submission, so the per-client limits never get in
/// the way. From 198.18.0.0/15 (set aside for benchmarks), which no test names itself.
pub fn next_ip() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("198.18.{}.{}", (n / 250) % 250, 1 + n % 250)
}

/// A report the API accepted: the tracking code the resident was given, and the stored row.
pub struct Submitted {
    pub code: String,
    pub report: report::Model,
}

/// Submits `body` through the JSON API, which must accept it, and finds the stored report.
pub async fn submit(app: &TestApp, body: Value) -> Submitted {
    submit_to(app, &app.address, body).await
}

/// `submit` to another instance, at `base`, on the same database as `app`.
pub async fn submit_to(app: &TestApp, base: &str, body: Value) -> Submitted {
    let response = app
        .client
        .post(format!("{base}/api/v1/reports"))
        .header("x-forwarded-for", next_ip())
        .json(&body)
        .send()
        .await
        .expect("POST report");
    let status = response.status();
    let answer = response.text().await.unwrap();
    assert_eq!(status, 201, "{answer}");
    let answer: Value = serde_json::from_str(&answer).unwrap();
    let code = answer["tracking_code"].as_str().unwrap().to_string();
    let report = report_of(app, &code).await;
    Submitted { code, report }
}

/// The stored report a tracking code (as printed) leads to.
pub async fn report_of(app: &TestApp, code: &str) -> report::Model {
    let (_, hash) = app
        .state
        .keyring
        .current_lookup_hash(&TrackingCode::parse(code).unwrap());
    report::Entity::find()
        .filter(report::Column::TrackingHash.eq(hash))
        .one(app.db())
        .await
        .unwrap()
        .expect("the code leads to a stored report")
}

/// An anonymous report of nepotism in Qingshan village that names nobody.
pub async fn a_report(app: &TestApp) -> Submitted {
    report_saying(
        app,
        "nepotism",
        "qingshan-village",
        "村里有人把低保给了自己的亲戚",
    )
    .await
}

/// An anonymous report of `category` in `village` saying `description`, naming nobody.
pub async fn report_saying(
    app: &TestApp,
    category: &str,
    village: &str,
    description: &str,
) -> Submitted {
    let body = json!({
        "category": category,
        "village": village,
        "description": description,
        "anonymous": true
    });
    submit(app, body).await
}

/// An anonymous report of a connection in Qingshan village naming its party secretary 刘某某
/// and saying `description`, with his role if given.
pub async fn report_on_the_secretary(
    app: &TestApp,
    description: &str,
    role: Option<&str>,
) -> Submitted {
    let mut body = json!({
        "category": "connection",
        "village": "qingshan-village",
        "subject": "刘某某，青山村党支部书记",
        "description": description,
        "anonymous": true
    });
    if let Some(role) = role {
        body["subject_role"] = json!(role);
    }
    submit(app, body).await
}

/// An anonymous report naming a cadre, in `category` and `village`, and the cadre's role if
/// given (which can change who is told).
pub fn report_body(category: &str, village: &str, role: Option<&str>) -> Value {
    let mut body = json!({
        "category": category,
        "village": village,
        "subject": "王某，干部",
        "description": "有人的亲戚开着小车还在吃低保",
        "anonymous": true
    });
    if let Some(role) = role {
        body["subject_role"] = json!(role);
    }
    body
}

/// The stored report of `report_body(category, village, None)`: a cadre named, with no role.
pub async fn report_on_a_cadre(app: &TestApp, category: &str, village: &str) -> report::Model {
    submit(app, report_body(category, village, None))
        .await
        .report
}

/// The report form's fields for a valid anonymous report saying `description`, each of
/// `changes` replacing the field of its name (or added).
pub fn report_form<'a>(
    token: &'a str,
    description: &'a str,
    changes: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("form_token", token),
        ("category", "connection"),
        ("village", "dalu-community"),
        ("description", description),
        ("anonymous", "true"),
    ];
    for (key, value) in changes {
        fields.retain(|(k, _)| k != key);
        fields.push((key, value));
    }
    fields
}

/// The numbers of the cases a case page lists as related, in its order.
pub fn related_numbers(view: &CaseView) -> Vec<&str> {
    view.related
        .iter()
        .map(|r| r.case_number.as_str())
        .collect()
}
