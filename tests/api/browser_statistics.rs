//! The statistics, the summary and the public results in real Chromium, on a 360-px phone and at a
//! 1280-px desk, on screen and in print: the charts drawn, inside the page, in Chinese glyphs,
//! beside their numbers. Screenshots go to `target/browser-shots/`.

use tipoff::domain::Role;

use crate::helpers::browser::{
    Browser, BrowserOptions, Viewport, assert_no_sideways_scroll, sign_in_inspector,
};
use crate::helpers::reports::{report_body, report_on_a_cadre, submit};
use crate::helpers::{TestApp, sqlite_app};

/// A campaign's first weeks: reports from three villages, one found substantiated and put
/// right.
async fn campaign(app: &TestApp) {
    app.set_clock("2024-09-02 10:00");
    for (village, n) in [
        ("qingshan-village", 6),
        ("xinmin-village", 3),
        ("dalu-community", 5),
    ] {
        for _ in 0..n {
            submit(app, report_body("favor", village, None)).await;
        }
    }
    app.set_clock("2024-09-12 10:00");
    for _ in 0..4 {
        submit(app, report_body("connection", "qingshan-village", None)).await;
    }
    let case = report_on_a_cadre(app, "policy", "xinmin-village").await;
    let inspector = app.signed_in("li.jc", "李监察", Role::Inspector).await;
    inspector.conclude(case.id, "substantiated", "属实").await;
    let path = |what: &str| format!("/staff/cases/{}/{what}", case.id);
    inspector
        .post_for(
            &path("rectification"),
            &[
                ("measure", "停发"),
                ("responsible", "民政岗"),
                ("due", "2024-09-30"),
            ],
            303,
        )
        .await;
    let recovered = [
        ("measure", "1"),
        ("kind", "funds_recovered"),
        ("on", "2024-09-12"),
        ("amount", "3600"),
    ];
    assert_eq!(
        inspector
            .post(&path("rectification/results"), &recovered)
            .await
            .status(),
        303
    );
    app.set_clock("2024-09-20 10:00");
}

/// Every chart on the page is shown, and none is wider than the viewport.
async fn charts_fit(browser: &Browser, width: u64) {
    let widths = browser
        .eval(
            "return [...document.querySelectorAll('svg.chart')] \
               .map(s => { const r = s.getBoundingClientRect(); return [r.width, r.right]; })",
        )
        .await;
    let widths = widths.as_array().unwrap();
    assert_eq!(widths.len(), 7, "seven charts");
    for pair in widths {
        let (w, right) = (pair[0].as_f64().unwrap(), pair[1].as_f64().unwrap());
        assert!(w > 100.0, "a chart is drawn at {w} px");
        assert!(
            right <= width as f64 + 0.5,
            "a chart ends at {right} px of {width}"
        );
    }
}

async fn the_statistics_render_and_print(viewport: Viewport, width: u64, name: &str) {
    let app = sqlite_app().await;
    campaign(&app).await;
    let Some(browser) = Browser::launch(&app, BrowserOptions::new(viewport)).await else {
        return;
    };
    sign_in_inspector(&browser, "li.jc").await;
    browser
        .goto("/staff/statistics?lang=zh&from=2024-09-01&to=2024-09-30")
        .await;
    assert_eq!(browser.text_of("#fig-received dd").await, "19");
    assert_eq!(browser.text_of("#fig-funds dd").await, "3,600.00");
    assert!(
        browser.glyphs_render("统计分析").await,
        "Chinese glyphs render"
    );
    charts_fit(&browser, width).await;
    assert_no_sideways_scroll(&browser, width).await;
    browser.screenshot(&format!("statistics-{name}")).await;
    browser.print_layout(true).await;
    charts_fit(&browser, width).await;
    assert!(
        !browser.is_displayed("#period").await,
        "the period form is not printed"
    );
    assert_no_sideways_scroll(&browser, width).await;
    browser
        .screenshot(&format!("statistics-{name}-print"))
        .await;
    browser.print_layout(false).await;

    // The summary handed in on 20 October: the same figures and charts, the substantiated
    // case with its rectification, on screen and in print.
    browser.goto("/staff/summary?lang=zh").await;
    assert_eq!(browser.text_of("#fig-received dd").await, "19");
    assert!(browser.is_displayed("#substantiated").await);
    assert!(browser.glyphs_render("整治工作总结").await);
    charts_fit(&browser, width).await;
    assert_no_sideways_scroll(&browser, width).await;
    browser.screenshot(&format!("summary-{name}")).await;
    browser.print_layout(true).await;
    assert!(
        !browser.is_displayed("#summary-form").await,
        "the form is not printed"
    );
    charts_fit(&browser, width).await;
    assert_no_sideways_scroll(&browser, width).await;
    browser.print_layout(false).await;

    // The public page, on the same screen: its table scrolls in its own box.
    browser.goto("/results?lang=zh").await;
    assert!(browser.is_displayed("#monthly").await);
    assert_no_sideways_scroll(&browser, width).await;
    browser.screenshot(&format!("results-{name}")).await;
    browser.assert_no_script_trouble().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_statistics_render_on_a_phone() {
    the_statistics_render_and_print(Viewport::Phone, 360, "360").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_statistics_render_at_a_desk() {
    the_statistics_render_and_print(Viewport::Desktop, 1280, "1280").await;
}
