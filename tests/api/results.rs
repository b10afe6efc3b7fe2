//! The public results page (阳光公开): per month, aggregates only; a cell of one reads
//! "fewer than N", a month one report away from a published month is a range, a total over a
//! masked month is not published, small villages are grouped, and money made up by one case
//! is not published. Linked from the home page, no cookie, light.

use serde_json::json;
use tipoff::domain::Role;

use crate::helpers::TestApp;
use crate::helpers::reports::submit;
use crate::on_both_backends;

on_both_backends!(the_results_page_publishes_nothing_that_points_at_one_report);

/// The cells (months, then the total) of the row headed `label` in the table `id`.
fn row(page: &str, id: &str, label: &str) -> Vec<String> {
    let table = &page[page.find(&format!("id=\"{id}\"")).unwrap()..];
    let table = &table[..table.find("</table>").unwrap()];
    let at = table
        .find(&format!("<th scope=\"row\">{label}</th>"))
        .unwrap_or_else(|| panic!("{label} in {table}"));
    let line = &table[at..table[at..].find("</tr>").unwrap() + at];
    line.split("<td>")
        .skip(1)
        .map(|cell| cell.split_once("</td>").unwrap().0.to_string())
        .collect()
}

async fn the_results_page_publishes_nothing_that_points_at_one_report(app: TestApp) {
    assert_eq!(app.state.settings.counts.min_shown, 5);
    let report = |village: &str| {
        json!({
            "category": "favor",
            "village": village,
            "description": "村干部给亲戚违规办理低保",
            "anonymous": true
        })
    };
    // August (the campaign starts on the 30th): one report. September: eleven, one of them
    // from a village with no other. October: twelve, one more than September.
    app.set_clock("2024-08-30 10:00");
    submit(&app, report("qingshan-village")).await;
    app.set_clock("2024-09-10 10:00");
    let mut september = Vec::new();
    for village in ["qingshan-village", "dalu-community"] {
        for _ in 0..5 {
            september.push(submit(&app, report(village)).await.report);
        }
    }
    submit(&app, report("xinmin-village")).await;
    app.set_clock("2024-10-08 10:00");
    for _ in 0..12 {
        submit(&app, report("qingshan-village")).await;
    }

    // One September case is accepted, found substantiated and put right in October.
    app.set_clock("2024-10-08 11:00");
    let inspector = app.signed_in("li.jc", "李监察", Role::Inspector).await;
    let case = september[0].id;
    inspector.conclude(case, "substantiated", "属实").await;
    for (what, fields) in [
        (
            "rectification",
            vec![
                ("measure", "停发"),
                ("responsible", "民政岗"),
                ("due", "2024-10-30"),
            ],
        ),
        (
            "rectification/results",
            vec![
                ("measure", "1"),
                ("kind", "support_stopped"),
                ("on", "2024-10-08"),
            ],
        ),
        (
            "rectification/results",
            vec![
                ("measure", "1"),
                ("kind", "funds_recovered"),
                ("on", "2024-10-08"),
                ("amount", "3600"),
            ],
        ),
    ] {
        let done = inspector
            .post(&format!("/staff/cases/{case}/{what}"), &fields)
            .await;
        assert_eq!(done.status(), 303, "{what} {fields:?}");
    }

    app.set_clock("2024-10-09 09:00");
    let home = app.get("/").await.text().await.unwrap();
    assert!(
        home.contains("href=\"/results?lang=zh\""),
        "the home page links to it"
    );
    let response = app.get("/results").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("set-cookie").is_none());
    let page = response.text().await.unwrap();
    assert!(page.len() < 24 * 1024, "light: {} bytes", page.len());
    assert!(
        !page.contains("<img") && !page.contains("<script"),
        "nothing else to load"
    );
    for month in ["2024年8月", "2024年9月", "2024年10月"] {
        assert!(page.contains(month), "{month}");
    }

    // Received: 1 (masked), 11, 12 (one away from 11: a range); no total over a masked month.
    assert_eq!(
        row(&page, "monthly", "收到线索"),
        ["少于5", "11", "10–14", "不公布"]
    );
    assert_eq!(
        row(&page, "monthly", "已受理"),
        ["0", "少于5", "0", "不公布"]
    );
    assert_eq!(
        row(&page, "monthly", "核查属实"),
        ["0", "少于5", "0", "不公布"]
    );
    assert_eq!(row(&page, "monthly", "核查不属实"), ["0", "0", "0", "0"]);
    assert_eq!(
        row(&page, "monthly", "停发救助（户）"),
        ["0", "0", "少于5", "不公布"]
    );
    let one_case = "涉及少于5件，不公布";
    assert_eq!(
        row(&page, "monthly", "追回资金（元）"),
        ["0.00", "0.00", one_case, one_case]
    );
    assert!(!page.contains("3,600") && !page.contains("3600"));

    // Villages: the one with a single report is grouped, and the group widened to five.
    assert_eq!(row(&page, "villages", "青山村"), ["18"]);
    assert_eq!(row(&page, "villages", "其他村（社区）合计"), ["6"]);
    assert!(
        !page.contains("新民村") && !page.contains("大路社区"),
        "{page}"
    );
    assert!(!page.contains("村干部给亲戚"), "no content");

    let english = app.get("/results?lang=en").await.text().await.unwrap();
    assert_eq!(
        row(&english, "monthly", "Reports received"),
        ["fewer than 5", "11", "10–14", "not published"]
    );
    assert!(english.contains("Oct 2024"));
}
