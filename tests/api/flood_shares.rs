//! Flood control that spares residents: per-source shares keep a flood from a few sources
//! (or one IPv6 /56) from putting anyone else's report aside; operators' entries are never
//! held; the quarantine pages through everything it holds and each discard names its cases.
//! And the lookup guard: failures count across hits and per IPv6 /64.

use std::collections::BTreeSet;

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::json;
use tipoff::domain::Role;
use tipoff::entities::{audit_entry, outbox, report};

use crate::helpers::reports::{next_ip, submit};
use crate::helpers::{Backend, TestApp, spawn_app_with, sqlite_app_with};
use crate::on_each_backend;

on_each_backend!(
    a_flood_from_sixteen_addresses_leaves_a_residents_report_with_the_inspectors,
    a_flood_from_one_ipv6_slash_56_leaves_a_residents_report_with_the_inspectors,
);

/// A flood of the threshold or more, from sources that a per-client limit of six a minute
/// lets through.
async fn flood_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |s| {
        s.limits.flood_per_minute = 60;
        s.limits.submit_burst = 6;
        s.limits.submit_per_minute = 6;
    })
    .await
}

async fn flood_from(app: &TestApp, sources: &[String], each: usize) {
    for round in 0..each {
        for source in sources {
            let body = json!({
                "category": "other",
                "description": format!("刷屏内容 {round}"),
                "anonymous": true,
            });
            let response = app.post_json("/api/v1/reports", &body, source).await;
            assert_eq!(
                response.status(),
                201,
                "a flood is slowed, never turned away"
            );
        }
    }
}

/// The newest report: what a resident just sent, or an operator just typed in.
async fn newest(app: &TestApp) -> report::Model {
    report::Entity::find()
        .order_by_desc(report::Column::CaseNumber)
        .one(app.db())
        .await
        .unwrap()
        .expect("a report")
}

/// The resident's report is not held: it is routed (mail is queued) and listed.
async fn assert_with_the_inspectors(app: &TestApp, what: &str) {
    let sent = newest(app).await;
    assert!(!sent.quarantined, "{what} waits in quarantine");
    let mails = outbox::Entity::find()
        .filter(outbox::Column::ReportId.eq(sent.id))
        .count(app.db())
        .await
        .unwrap();
    assert!(mails > 0, "{what} reaches the inspectors' mailbox");
}

/// A resident at `client_ip` sends the form saying `description`, and it is received and
/// not held.
async fn resident_gets_through(app: &TestApp, description: &str, client_ip: &str, what: &str) {
    let receipt = app
        .submit_form(&[("description", description)], client_ip)
        .await;
    assert_eq!(receipt.status(), 200);
    assert_with_the_inspectors(app, what).await;
}

async fn a_resident_and_an_operator_get_through(app: &TestApp) {
    resident_gets_through(
        app,
        "我家隔壁的低保是村干部帮着办的",
        "198.51.100.77",
        "the resident's report",
    )
    .await;

    let operator = app.signed_in("op", "话务员", Role::Operator).await;
    let entered = operator
        .enter_hotline_call("电话反映：刷屏期间打进来的举报")
        .await;
    assert_eq!(entered.status(), 200);
    assert_with_the_inspectors(app, "the operator's entry").await;
}

async fn a_flood_from_sixteen_addresses_leaves_a_residents_report_with_the_inspectors(
    backend: Backend,
) {
    let Some(app) = flood_app(backend).await else {
        return;
    };
    let sources: Vec<String> = (1..=16).map(|n| format!("203.0.113.{n}")).collect();
    flood_from(&app, &sources, 6).await;
    let held = report::Entity::find()
        .filter(report::Column::Quarantined.eq(true))
        .count(app.db())
        .await
        .unwrap();
    assert!(
        held >= 96 - 60,
        "the flood itself waits in quarantine ({held})"
    );
    a_resident_and_an_operator_get_through(&app).await;
}

async fn a_flood_from_one_ipv6_slash_56_leaves_a_residents_report_with_the_inspectors(
    backend: Backend,
) {
    let Some(app) = flood_app(backend).await else {
        return;
    };
    // Twelve /64s of one /56: each its own client to the per-client limit.
    let sources: Vec<String> = (0..12)
        .map(|n| format!("2001:db8:7:ab{n:02x}::{}", n + 1))
        .collect();
    flood_from(&app, &sources, 6).await;
    // The resident is in another /56 of the same provider's /48.
    resident_gets_through(
        &app,
        "隔壁网段的居民反映情况",
        "2001:db8:7:cd00::5",
        "the neighbouring /56's report",
    )
    .await;
    a_resident_and_an_operator_get_through(&app).await;
}

#[tokio::test]
async fn the_quarantine_pages_through_every_held_report_and_a_discard_names_its_cases() {
    let app = sqlite_app_with(|s| {
        s.limits.flood_per_minute = 1;
        s.limits.submit_burst = 50;
        s.limits.submit_per_minute = 600;
    })
    .await;
    // More than one screen — and more than the 500 the list once stopped at.
    let sent = 505;
    for n in 0..=sent {
        let body = json!({"category": "other", "description": format!("洪水举报第{n}份"), "anonymous": true});
        let response = app.post_json("/api/v1/reports", &body, &next_ip()).await;
        assert_eq!(response.status(), 201);
    }
    let held: Vec<(uuid::Uuid, String)> = report::Entity::find()
        .filter(report::Column::Quarantined.eq(true))
        .order_by_asc(report::Column::CaseNumber)
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.id, r.case_number))
        .collect();
    assert_eq!(held.len(), sent, "all but the first wait");

    let inspector = app.signed_in("insp", "郑检查", Role::Inspector).await;
    let mut seen = BTreeSet::new();
    let mut path = "/staff/quarantine".to_string();
    let mut pages = 0;
    loop {
        let page = inspector.page(&path).await;
        pages += 1;
        assert!(
            page.contains("共 505 件待甄别"),
            "the page says how many wait"
        );
        for (_, number) in &held {
            if page.contains(&format!("<td>{number}</td>")) {
                seen.insert(number.clone());
            }
        }
        let Some(next) = next_link(&page) else { break };
        path = next;
        assert!(pages < 20, "the pages end");
    }
    assert_eq!(seen.len(), sent, "every held report can be reached");
    assert_eq!(pages, 6);

    // Decide on the last page: keep one, discard the rest.
    let last: Vec<&(uuid::Uuid, String)> = held.iter().skip(500).collect();
    let mut decisions: Vec<(String, &str)> = vec![(format!("decision.{}", last[0].0), "keep")];
    for (id, _) in &last[1..] {
        decisions.push((format!("decision.{id}"), "discard"));
    }
    let fields: Vec<(&str, &str)> = decisions.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    inspector
        .post_for("/staff/quarantine?page=6", &fields, 303)
        .await;
    let entries = audit_entry::Entity::find().all(app.db()).await.unwrap();
    let decision = entries
        .iter()
        .find(|e| e.detail.starts_with("quarantine:"))
        .expect("the decision is audited");
    assert!(
        decision.detail.contains(&format!("kept {}", last[0].1)),
        "{}",
        decision.detail
    );
    for (_, number) in &last[1..] {
        assert!(
            decision.detail.contains(number.as_str()),
            "the discard names {number}: {}",
            decision.detail
        );
    }
    for (_, number) in &held[..500] {
        assert!(
            !decision.detail.contains(&format!(" {number}")),
            "a report left for later is not named: {number}"
        );
    }
    let left = report::Entity::find()
        .filter(report::Column::Quarantined.eq(true))
        .count(app.db())
        .await
        .unwrap();
    assert_eq!(left, 500);
    let audit = tipoff::services::audit::verify(app.db(), &app.state.keyring)
        .await
        .unwrap();
    assert!(audit.problem.is_none());
}

/// The href of the page's "next page" link, if it has one.
fn next_link(page: &str) -> Option<String> {
    let pager = &page[page.find("class=\"pager\"")?..];
    let next = pager.find("下一页")?;
    let href_start = pager[..next].rfind("href=\"")? + "href=\"".len();
    let href_end = href_start + pager[href_start..].find('"')?;
    Some(pager[href_start..href_end].replace("&amp;", "&"))
}

async fn guessing_app() -> (TestApp, String) {
    let app = sqlite_app_with(|s| {
        s.limits.lookup_free_failures = 3;
        s.limits.track_burst = 100;
        s.limits.track_per_minute = 6000;
    })
    .await;
    let real = submit(
        &app,
        json!({"category": "other", "description": "猜码者自己的举报", "anonymous": true}),
    )
    .await
    .code;
    (app, real)
}

#[tokio::test]
async fn a_guesser_checking_their_own_real_code_between_guesses_still_meets_the_waits() {
    let (app, real) = guessing_app().await;
    let guesser = "203.0.113.66";
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let guess = tipoff::crypto::new_tracking_code();
        statuses.push(
            app.post_track(guess.digits(), guesser)
                .await
                .status()
                .as_u16(),
        );
        statuses.push(app.post_track(&real, guesser).await.status().as_u16());
    }
    assert_eq!(
        &statuses[..6],
        &[404, 200, 404, 200, 404, 429],
        "the third failure starts the wait, hits in between notwithstanding"
    );
    assert!(statuses[6..].iter().all(|s| *s == 429), "{statuses:?}");
    app.advance(3);
    assert_eq!(
        app.post_track(&real, guesser).await.status(),
        200,
        "a wait, never a lock"
    );
}

#[tokio::test]
async fn guessing_from_many_addresses_of_one_ipv6_slash_64_meets_the_waits() {
    let (app, real) = guessing_app().await;
    for n in 1..=3 {
        let guess = tipoff::crypto::new_tracking_code();
        let from = format!("2001:db8:5:1::{n:x}");
        assert_eq!(app.post_track(guess.digits(), &from).await.status(), 404);
    }
    assert_eq!(
        app.post_track(&real, "2001:db8:5:1::ffff").await.status(),
        429,
        "another address of the same /64 is the same guesser"
    );
    assert_eq!(
        app.post_track(&real, "2001:db8:5:2::1").await.status(),
        200,
        "the next /64 is someone else"
    );
}

#[tokio::test]
async fn a_client_past_its_budget_is_refused_before_its_body_is_read() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let app = sqlite_app_with(|s| {
        s.limits.submit_burst = 1;
        s.limits.submit_per_minute = 1;
    })
    .await;
    let flooder = "203.0.113.77";
    let body =
        json!({"category": "other", "description": "先用掉这个客户端的额度", "anonymous": true});
    let spent = app.post_json("/api/v1/reports", &body, flooder).await;
    assert_eq!(spent.status(), 201);
    let host = app.address.trim_start_matches("http://").to_string();
    for content_type in ["application/json", "multipart/form-data; boundary=XyZ"] {
        // A body announced but never sent: only a refusal that reads none of it can answer.
        let mut stream = tokio::net::TcpStream::connect(&host).await.unwrap();
        let head = format!(
            "POST /api/v1/reports HTTP/1.1\r\nHost: {host}\r\nX-Forwarded-For: {flooder}\r\n\
             Content-Type: {content_type}\r\nContent-Length: 5000\r\n\r\n{{\"cat"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        let mut buf = [0u8; 1024];
        let read = tokio::time::timeout(std::time::Duration::from_secs(3), async {
            while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = stream.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                answer.extend_from_slice(&buf[..n]);
            }
        })
        .await;
        assert!(
            read.is_ok(),
            "{content_type}: no answer while the body was pending"
        );
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.starts_with("HTTP/1.1 429"),
            "{content_type}: {answer}"
        );
        assert!(
            answer.to_ascii_lowercase().contains("retry-after"),
            "{answer}"
        );
    }
}
