//! The public site in a real browser: a resident on a phone, with and without JavaScript, and
//! at a desktop in English.

use crate::helpers::browser::{Browser, BrowserOptions, Viewport};
use crate::helpers::browser::{GROUPED_CODE, report_anonymously, track};
use crate::helpers::sqlite_app;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_on_a_360_px_phone_reports_anonymously_and_reads_the_code() {
    let app = sqlite_app().await;
    let Some(browser) = Browser::phone(&app).await else {
        return;
    };
    let code = report_anonymously(&browser).await;
    assert_eq!(browser.viewport_width().await, 360, "a 360-px phone");

    let text = browser.page_text().await;
    assert!(
        text.contains("只显示这一次"),
        "warned to write the code down"
    );
    assert!(
        browser.glyphs_render("举报已收到").await,
        "Chinese text renders as glyphs, not as empty boxes"
    );
    assert!(
        browser.is_displayed("#print").await,
        "with JavaScript the print button appears"
    );
    let shot = browser.screenshot("receipt").await;
    let size = std::fs::metadata(&shot).unwrap().len();
    assert!(
        size > 20_000,
        "a receipt screenshot of {size} bytes is nearly blank"
    );

    assert_eq!(track(&browser, &code).await, "已收到");
    browser.assert_no_script_trouble().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_without_javascript_still_reports_and_tracks() {
    let app = sqlite_app().await;
    let Some(browser) = Browser::phone_without_javascript(&app).await else {
        return;
    };

    let code = report_anonymously(&browser).await;
    assert!(
        !browser.is_displayed("#print").await,
        "no page script ran: the print button stays hidden"
    );

    // Typed the way it is often copied: without the spaces.
    let digits: String = code.split_whitespace().collect();
    assert_eq!(track(&browser, &digits).await, "已收到");
    browser.assert_no_script_trouble().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_pages_load_nothing_from_another_origin() {
    let app = sqlite_app().await;
    let Some(browser) = Browser::desktop(&app).await else {
        return;
    };
    let origin = format!("{}/", browser.origin());

    let mut loaded = Vec::new();
    for path in ["/", "/report", "/track", "/results"] {
        browser.goto(path).await;
        loaded.extend(browser.resource_urls().await);
    }
    report_anonymously(&browser).await;
    let on_receipt = browser.resource_urls().await;
    assert!(
        on_receipt
            .iter()
            .any(|url| url.ends_with("/static/print.js")),
        "the receipt's own script is among its resources: {on_receipt:?}"
    );
    loaded.extend(on_receipt);

    assert!(
        loaded.iter().any(|url| url.ends_with("/static/style.css")),
        "the stylesheet is among the resources: {loaded:?}"
    );
    let foreign: Vec<&String> = loaded
        .iter()
        .filter(|url| !url.starts_with(&origin))
        .collect();
    assert!(foreign.is_empty(), "requests left {origin}: {foreign:?}");
    browser.assert_no_script_trouble().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_at_a_desktop_in_english_reports_by_name() {
    let app = sqlite_app().await;
    let mut options = BrowserOptions::new(Viewport::Desktop);
    options.accept_language = "en-US,en".to_string();
    let Some(browser) = Browser::launch(&app, options).await else {
        return;
    };

    browser.goto("/").await;
    assert_eq!(browser.viewport_width().await, 1280, "a desktop window");
    browser.click_link("Make a report").await;
    browser.wait_for_text("How you report").await;
    browser
        .choose(
            "#category",
            "Support for relatives or friends of cadres or caseworkers",
        )
        .await;
    browser
        .fill(
            "#description",
            "The village head's nephew drives a new car and still draws dibao.",
        )
        .await;
    browser
        .click("input[name='anonymous'][value='false']")
        .await;
    browser.fill("#reporter_name", "李四").await;
    browser.fill("#reporter_phone", "13912345678").await;
    browser
        .click_and_wait_for_page("form button[type='submit']")
        .await;

    browser.wait_for_text("Your report was received").await;
    assert!(
        browser
            .page_text()
            .await
            .contains("This is a real-name report"),
        "the receipt says the name was kept"
    );
    let code = browser.text_of("#tracking-code").await;
    assert!(regex::Regex::new(GROUPED_CODE).unwrap().is_match(&code));

    browser.goto("/track").await;
    browser.fill("#tracking_code", &code).await;
    browser
        .click_and_wait_for_page("form button[type='submit']")
        .await;
    assert_eq!(browser.text_of("strong.status").await, "Received");
    browser.assert_no_script_trouble().await;
}
