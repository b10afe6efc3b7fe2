//! Posting sites: the household rule, reports attributed through a site's QR code, the CLI,
//! QR codes that decode back to the site's address, the notice, and counts that point at
//! nobody.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use sea_orm::EntityTrait;
use serde_json::json;
use tipoff::domain::{Channel, RawReport, ReportDraft, Role, SiteKind};
use tipoff::entities::report;
use tipoff::qr;
use tipoff::services::ServiceError;
use tipoff::services::intake::Origin;
use tipoff::services::sites::{self, CountRules, Shown, Site};
use uuid::Uuid;

use crate::helpers::browser::{Browser, sign_in};
use crate::helpers::cli::{BASE_URL, assert_ran, assert_refused, cli_add_site, run_cli, said};
use crate::helpers::sites::{add_site, site_is_enabled, try_add_site};
use crate::helpers::storage::audit_entries;
use crate::helpers::{TestApp, body_with, hidden_value, sqlite_app};
use crate::on_both_backends;

/// The village the posted sites below are in.
const QINGSHAN: Option<&str> = Some("qingshan-village");

on_both_backends!(
    sites_are_created_listed_and_disabled_and_households_share_one_site_per_village,
    a_report_through_a_sites_code_is_attributed_to_that_site,
    an_unknown_or_disabled_code_still_opens_the_form_and_the_report_is_kept_unattributed,
    the_cli_adds_lists_disables_and_writes_qr_codes_that_lead_to_each_site,
    an_admin_manages_sites_and_prints_a_notice_whose_code_leads_to_the_site,
    counts_are_per_fixed_period_and_masked_below_the_threshold,
    inspectors_see_masked_counts_but_cannot_manage_sites,
);

/// Stores an anonymous report as the intake would, at `now`, through `site` (a token).
async fn report_at(app: &TestApp, site: Option<&str>, now: DateTime<Utc>) {
    let raw = RawReport {
        category: Some("connection".into()),
        description: Some("村主任的亲戚开着小车还在吃低保".into()),
        anonymous: Some(true),
        site: site.map(str::to_string),
        ..RawReport::default()
    };
    let draft = ReportDraft::parse(raw, &app.state.villages).expect("valid draft");
    app.state
        .intake()
        .store(draft, Origin::public(Channel::Web), now)
        .await
        .expect("report stored");
}

async fn stored_site_ids(app: &TestApp) -> Vec<Option<Uuid>> {
    report::Entity::find()
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.site_id)
        .collect()
}

/// Every QR code found in a greyscale image, decoded.
pub fn decode_qr(image: image::GrayImage) -> Vec<String> {
    let mut prepared = rqrr::PreparedImage::prepare(image);
    prepared
        .detect_grids()
        .into_iter()
        .filter_map(|grid| grid.decode().ok().map(|(_, content)| content))
        .collect()
}

fn decode_png(png: &[u8]) -> Vec<String> {
    decode_qr(image::load_from_memory(png).expect("a PNG").to_luma8())
}

/// Rasterizes the rectangles of a QR code's SVG path and decodes the result.
fn decode_svg(svg: &str) -> Vec<String> {
    let size = regex::Regex::new(r#"viewBox="0 0 (\d+) (\d+)""#)
        .unwrap()
        .captures(svg)
        .expect("a viewBox");
    let (w, h): (u32, u32) = (size[1].parse().unwrap(), size[2].parse().unwrap());
    let mut image = image::GrayImage::from_pixel(w, h, image::Luma([255]));
    let rect = regex::Regex::new(r"M(\d+) (\d+)h(\d+)v(\d+)H\d+V\d+").unwrap();
    let mut drawn = 0;
    for c in rect.captures_iter(svg) {
        let [x, y, dx, dy]: [u32; 4] = std::array::from_fn(|i| c[i + 1].parse().unwrap());
        for px in x..x + dx {
            for py in y..y + dy {
                image.put_pixel(px, py, image::Luma([0]));
            }
        }
        drawn += 1;
    }
    assert!(drawn > 50, "the SVG draws the code's modules");
    decode_qr(image)
}

#[test]
fn a_sites_qr_png_and_svg_decode_back_to_its_address() {
    let url = "https://jubao.example.gov.cn/r/Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6";
    assert_eq!(decode_png(&qr::png(url).unwrap()), vec![url.to_string()]);
    assert_eq!(decode_svg(&qr::svg(url).unwrap()), vec![url.to_string()]);
}

async fn sites_are_created_listed_and_disabled_and_households_share_one_site_per_village(
    app: TestApp,
) {
    let board = add_site(
        &app,
        SiteKind::VillageBoard,
        "  青山村村务公开栏 ",
        QINGSHAN,
    )
    .await;
    assert_eq!(board.name, "青山村村务公开栏");
    assert!(board.enabled);
    assert!(board.token.len() >= 43, "256 random bits");
    let website = add_site(&app, SiteKind::Website, "街道政府网站", None).await;
    assert_ne!(board.token, website.token);

    let create = |kind, name: &'static str, village: Option<&'static str>| {
        try_add_site(&app, kind, name, village)
    };
    let household = |village, name| create(SiteKind::Household, name, Some(village));
    assert!(matches!(
        create(SiteKind::Household, "入户告知", None).await,
        Err(ServiceError::Invalid("staff.sites.household_needs_village"))
    ));
    assert!(matches!(
        create(SiteKind::VillageBoard, "别处公开栏", Some("atlantis")).await,
        Err(ServiceError::Invalid("staff.sites.bad_village"))
    ));
    assert!(matches!(
        create(SiteKind::StationMarket, "   ", None).await,
        Err(ServiceError::Invalid("staff.sites.bad_name"))
    ));
    let households = household("qingshan-village", "青山村入户告知")
        .await
        .unwrap();
    // A second household site in the same village would let one code stand for fewer homes.
    match household("qingshan-village", "青山村三组入户").await {
        Err(ServiceError::Invalid(key)) => assert_eq!(key, "staff.sites.household_exists"),
        other => panic!("second household site in a village: {other:?}"),
    }
    // Another village gets its own.
    household("xinmin-village", "新民村入户告知").await.unwrap();

    let listed = sites::list_sites(app.db()).await.unwrap();
    assert_eq!(listed.len(), 4);
    assert_eq!(
        listed[0].kind,
        SiteKind::VillageBoard,
        "listed in the plan's order"
    );
    assert_eq!(listed[3].kind, SiteKind::Website);
    assert_eq!(
        sites::find_by_token(app.db(), &households.token)
            .await
            .unwrap()
            .map(|s| s.id),
        Some(households.id)
    );
    assert_eq!(
        sites::find_by_token_or_id(app.db(), &households.id.to_string())
            .await
            .unwrap()
            .map(|s| s.id),
        Some(households.id)
    );
    assert!(
        sites::find_by_token(app.db(), "no-such-token")
            .await
            .unwrap()
            .is_none()
    );

    let disabled =
        sites::disable_site(app.db(), &app.state.keyring, households.id, None, app.now())
            .await
            .unwrap();
    assert!(!disabled.enabled);
    // Disabling again changes nothing and is no error.
    sites::disable_site(app.db(), &app.state.keyring, households.id, None, app.now())
        .await
        .unwrap();
    assert!(matches!(
        sites::disable_site(
            app.db(),
            &app.state.keyring,
            Uuid::new_v4(),
            None,
            app.now()
        )
        .await,
        Err(ServiceError::NotFound)
    ));
    // A disabled household site can be replaced (a leaked or damaged code).
    let replacement = household("qingshan-village", "青山村入户告知（新）")
        .await
        .unwrap();
    assert_ne!(replacement.token, households.token);

    let audited = audit_entries(&app, "site_change").await;
    assert_eq!(
        audited.len(),
        6,
        "five creations and one real disabling are audited; refusals and no-ops are not"
    );
    assert!(audited.iter().all(|e| !e.detail.contains(&board.token)));
}

/// The report form reached through `/r/{token}`, submitted as the resident would.
async fn submit_through(app: &TestApp, token: &str, client_ip: &str) -> reqwest::Response {
    let page = app.get(&format!("/r/{token}")).await;
    assert_eq!(page.status(), 200, "the form always opens");
    let html = page.text().await.unwrap();
    let site = hidden_value(&html, "site");
    assert_eq!(site, token, "the form carries the token");
    let form_token = hidden_value(&html, "form_token");
    app.post_form(
        "/report",
        &[
            ("form_token", form_token.as_str()),
            ("site", site.as_str()),
            ("category", "favor"),
            ("village", "qingshan-village"),
            ("description", "组长家亲戚不符合条件也吃上了低保"),
            ("anonymous", "true"),
        ],
        client_ip,
    )
    .await
}

async fn a_report_through_a_sites_code_is_attributed_to_that_site(app: TestApp) {
    let board = add_site(&app, SiteKind::GroupBoard, "青山村三组公示栏", QINGSHAN).await;
    let response = submit_through(&app, &board.token, "198.51.100.1").await;
    assert!(body_with(response, 200).await.contains("tracking-code"));
    assert_eq!(stored_site_ids(&app).await, vec![Some(board.id)]);

    // The JSON API takes the same token.
    let website = add_site(&app, SiteKind::Website, "政府网站", None).await;
    let response = app
        .post_json(
            "/api/v1/reports",
            &json!({
                "category": "nepotism",
                "description": "村干部优亲厚友，亲戚都评上了",
                "anonymous": true,
                "site": website.token,
            }),
            "198.51.100.2",
        )
        .await;
    assert_eq!(response.status(), 201);
    let mut ids = stored_site_ids(&app).await;
    ids.sort();
    let mut expected = vec![Some(board.id), Some(website.id)];
    expected.sort();
    assert_eq!(ids, expected);
}

async fn an_unknown_or_disabled_code_still_opens_the_form_and_the_report_is_kept_unattributed(
    app: TestApp,
) {
    let response = submit_through(&app, "made-up-token-from-a-fake-poster", "198.51.100.3").await;
    assert_eq!(response.status(), 200, "a resident is never turned away");
    assert!(response.text().await.unwrap().contains("tracking-code"));
    assert_eq!(stored_site_ids(&app).await, vec![None]);

    let station = add_site(&app, SiteKind::StationMarket, "大路车站", None).await;
    sites::disable_site(app.db(), &app.state.keyring, station.id, None, app.now())
        .await
        .unwrap();
    let response = submit_through(&app, &station.token, "198.51.100.4").await;
    assert!(body_with(response, 200).await.contains("tracking-code"));
    assert_eq!(stored_site_ids(&app).await, vec![None, None]);
}

async fn the_cli_adds_lists_disables_and_writes_qr_codes_that_lead_to_each_site(app: TestApp) {
    let added = cli_add_site(&app, "village_board", "Qingshan board", QINGSHAN).await;
    assert_ran(&added);
    let board = sites::list_sites(app.db()).await.unwrap().remove(0);
    assert_eq!(board.name, "Qingshan board");
    assert!(said(&added).contains(&format!("{BASE_URL}/r/{}", board.token)));

    let refused = cli_add_site(&app, "household", "入户告知", None).await;
    assert_refused(&refused, "needs a village");
    let refused = cli_add_site(&app, "billboard", "x", None).await;
    assert_refused(&refused, "unknown kind");

    let added = cli_add_site(&app, "household", "青山村入户告知", QINGSHAN).await;
    assert_ran(&added);
    let station = cli_add_site(&app, "station_market", "大路车站", None).await;
    assert_ran(&station);

    let listed = run_cli(&app, &["site", "list"]).await;
    assert_ran(&listed);
    let all = sites::list_sites(app.db()).await.unwrap();
    assert_eq!(all.len(), 3);
    for site in &all {
        assert!(said(&listed).contains(&site.id.to_string()));
        assert!(said(&listed).contains(&site.url(BASE_URL)));
    }
    let station = all
        .iter()
        .find(|s| s.kind == SiteKind::StationMarket)
        .unwrap()
        .clone();
    let household = all
        .iter()
        .find(|s| s.kind == SiteKind::Household)
        .unwrap()
        .clone();

    let disabled = run_cli(&app, &["site", "disable", &station.token]).await;
    assert_ran(&disabled);
    assert!(!site_is_enabled(&app, station.id).await);
    let unknown = run_cli(&app, &["site", "disable", "no-such-site"]).await;
    assert_eq!(unknown.status.code(), Some(1));

    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("qr");
    let written = run_cli(&app, &["site", "qr", "--out", dir.to_str().unwrap()]).await;
    assert_ran(&written);
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let household_stem = format!("household-{}", household.id);
    assert_eq!(
        files,
        vec![
            format!("{household_stem}.png"),
            format!("{household_stem}.svg"),
            "village_board-qingshan-board.png".to_string(),
            "village_board-qingshan-board.svg".to_string(),
        ],
        "every enabled site, and no disabled one"
    );
    for (stem, site) in [
        ("village_board-qingshan-board", &board),
        (household_stem.as_str(), &household),
    ] {
        let url = site.url(BASE_URL);
        let png = std::fs::read(dir.join(format!("{stem}.png"))).unwrap();
        assert_eq!(decode_png(&png), vec![url.clone()]);
        let svg = std::fs::read_to_string(dir.join(format!("{stem}.svg"))).unwrap();
        assert_eq!(decode_svg(&svg), vec![url]);
    }
}

async fn an_admin_manages_sites_and_prints_a_notice_whose_code_leads_to_the_site(app: TestApp) {
    let admin = app.signed_in("admin", "管理员", Role::Admin).await;
    let add_household = async |name: &str, village: &str| {
        let fields = [("kind", "household"), ("name", name), ("village", village)];
        admin.post("/staff/sites", &fields).await
    };

    let page = add_household("青山村入户告知", "").await;
    assert_eq!(page.status(), 422);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("入户告知必须选择所在村")
    );

    let page = add_household("青山村入户告知", "qingshan-village").await;
    let html = body_with(page, 200).await;
    assert!(html.contains("已新增张贴点"));
    let site = sites::list_sites(app.db()).await.unwrap().remove(0);
    let url = site.url(&app.state.settings.server.base_url);
    assert!(html.contains(&url), "the list shows the code's address");

    let again = add_household("青山村二组入户", "qingshan-village").await;
    assert!(body_with(again, 422).await.contains("已有入户告知张贴点"));

    let png = admin.get(&format!("/staff/sites/{}/qr.png", site.id)).await;
    assert_eq!(png.status(), 200);
    assert_eq!(png.headers()["content-type"], "image/png");
    assert!(
        png.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(&format!("household-{}.png", site.id))
    );
    assert_eq!(decode_png(&png.bytes().await.unwrap()), vec![url.clone()]);
    let svg = admin.get(&format!("/staff/sites/{}/qr.svg", site.id)).await;
    assert_eq!(svg.status(), 200);
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    assert_eq!(decode_svg(&svg.text().await.unwrap()), vec![url.clone()]);

    let notice = admin.get(&format!("/staff/sites/{}/notice", site.id)).await;
    assert_eq!(notice.status(), 200);
    let csp = notice.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
    let html = notice.text().await.unwrap();
    let campaign = &app.state.settings.campaign;
    let today = app.now().with_timezone(&Shanghai).date_naive();
    for expected in [
        campaign.title_zh.as_str(),
        campaign.office_zh.as_str(),
        campaign.hotline.as_str(),
        "人情保：靠人情关系吃低保",
        "优亲厚友",
        "匿名举报不记录您的姓名",
        // The day it was issued, the collection period and where the boxes are.
        "2024年8月28日",
        "线索征集时间：2024年8月30日至2024年10月20日",
        campaign.report_box_zh.as_str(),
        "<svg",
        "/static/notice.css",
    ] {
        assert!(html.contains(expected), "the notice shows {expected}");
    }
    assert!(!html.contains("<script") && !html.contains("style="));
    assert!(
        !html.contains(&today.format("%Y年%-m月%-d日").to_string()),
        "not the day it was printed"
    );
    // The inline code is the site's code.
    let start = html.find("<svg").unwrap();
    let end = html[start..].find("</svg>").unwrap() + start + 6;
    assert_eq!(decode_svg(&html[start..end]), vec![url.clone()]);
    let css = app.get("/static/notice.css").await.text().await.unwrap();
    assert!(css.contains("@page { size: A4; margin: 15mm; }"));

    let english = admin
        .page(&format!("/staff/sites/{}/notice?lang=en", site.id))
        .await;
    assert!(english.contains(&campaign.title_en) && english.contains("Supervision hotline"));

    assert_eq!(
        admin
            .get(&format!("/staff/sites/{}/notice", Uuid::new_v4()))
            .await
            .status(),
        404
    );
    assert_eq!(
        admin.get("/staff/sites/not-a-uuid/qr.png").await.status(),
        404
    );

    let disabled = admin
        .post_for(&format!("/staff/sites/{}/disable", site.id), &[], 200)
        .await;
    assert!(disabled.contains("已停用张贴点"));
    assert!(!site_is_enabled(&app, site.id).await);
    let audited = audit_entries(&app, "site_change").await;
    assert_eq!(audited.len(), 2);
    assert!(audited.iter().all(|e| e.actor_id.is_some()));
}

/// The public boards of Qingshan and of Xinmin.
async fn two_village_boards(app: &TestApp) -> (Site, Site) {
    let qingshan = add_site(app, SiteKind::VillageBoard, "青山村公开栏", QINGSHAN).await;
    let xinmin = add_site(
        app,
        SiteKind::VillageBoard,
        "新民村公开栏",
        Some("xinmin-village"),
    )
    .await;
    (qingshan, xinmin)
}

fn shanghai(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Shanghai
        .with_ymd_and_hms(y, m, d, 10, 0, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

async fn counts_are_per_fixed_period_and_masked_below_the_threshold(app: TestApp) {
    let (a, b) = two_village_boards(&app).await;
    let c = add_site(&app, SiteKind::Household, "青山村入户告知", QINGSHAN).await;
    let d = add_site(&app, SiteKind::StationMarket, "大路车站", None).await;

    // "Today" is Wednesday 18 March 2026: the week is 16–22 March.
    let today = shanghai(2026, 3, 18);
    for _ in 0..2 {
        report_at(&app, Some(&a.token), today).await;
    }
    for day in [16, 17, 18, 20, 22] {
        report_at(&app, Some(&b.token), shanghai(2026, 3, day)).await;
    }
    // Station: three in February, four earlier this month, none this week.
    for day in [3, 10, 27] {
        report_at(&app, Some(&d.token), shanghai(2026, 2, day)).await;
    }
    for day in [2, 5, 9, 15] {
        report_at(&app, Some(&d.token), shanghai(2026, 3, day)).await;
    }
    // Before the campaign: counted nowhere.
    report_at(&app, Some(&b.token), shanghai(2025, 12, 20)).await;
    // Unattributed: no site, an unknown token.
    report_at(&app, None, today).await;
    report_at(&app, Some("a-token-nobody-issued"), today).await;

    let rules = CountRules {
        min_shown: 5,
        campaign_start: date(2026, 1, 1),
        campaign_end: date(2026, 6, 30),
    };
    let counts = sites::counts(app.db(), &rules, today).await.unwrap();
    assert_eq!(counts.periods[0].first, date(2026, 3, 16));
    assert_eq!(counts.periods[0].last, date(2026, 3, 22));
    assert_eq!(counts.periods[1].first, date(2026, 3, 1));
    assert_eq!(counts.periods[1].last, date(2026, 3, 31));

    let site = |id: Uuid| counts.sites.iter().find(|r| r.key.id == id).unwrap().counts;
    let fewer = Shown::FewerThan(5);
    assert_eq!(
        site(a.id),
        [fewer, fewer, fewer],
        "2 reports are never shown as 2"
    );
    assert_eq!(site(b.id), [Shown::Exact(5); 3], "5 is shown as it is");
    assert_eq!(site(c.id), [Shown::Exact(0); 3]);
    assert_eq!(site(d.id), [Shown::Exact(0), fewer, Shown::Exact(7)]);

    let village = |id: &str| counts.villages.iter().find(|r| r.key == id).unwrap().counts;
    // Qingshan has only site A's two reports (and C's none): masked as a village too.
    assert_eq!(village("qingshan-village"), [fewer, fewer, fewer]);
    assert_eq!(village("xinmin-village"), [Shown::Exact(5); 3]);

    let kind = |k: SiteKind| counts.kinds.iter().find(|r| r.key == k).unwrap().counts;
    // 5 + 2 is not shown as 7: subtracting B's 5 would give A's 2 back.
    let partly = Shown::Partly {
        exact: 5,
        masked: 1,
        below: 5,
    };
    assert_eq!(kind(SiteKind::VillageBoard), [partly; 3]);
    assert_eq!(kind(SiteKind::StationMarket), site(d.id));
    assert_eq!(kind(SiteKind::Household), [Shown::Exact(0); 3]);
    assert_eq!(kind(SiteKind::Website), [Shown::Exact(0); 3]);
    assert_eq!(counts.unattributed, [fewer; 3]);

    // A lower threshold shows what the higher one hid.
    let rules = CountRules {
        min_shown: 2,
        ..rules
    };
    let counts = sites::counts(app.db(), &rules, today).await.unwrap();
    let kind = counts
        .kinds
        .iter()
        .find(|r| r.key == SiteKind::VillageBoard)
        .unwrap();
    assert_eq!(kind.counts, [Shown::Exact(7); 3]);
    assert_eq!(counts.unattributed, [Shown::Exact(2); 3]);
}

async fn inspectors_see_masked_counts_but_cannot_manage_sites(app: TestApp) {
    let inspector = app.signed_in("li.jc", "李监察", Role::Inspector).await;
    let (a, b) = two_village_boards(&app).await;
    let now = app.now();
    for _ in 0..2 {
        report_at(&app, Some(&a.token), now).await;
    }
    for _ in 0..6 {
        report_at(&app, Some(&b.token), now).await;
    }

    let page = inspector.get("/staff/counts").await;
    let html = body_with(page, 200).await;
    let row = |name: &str| {
        let start = html.find(name).unwrap_or_else(|| panic!("{name} row"));
        let end = html[start..].find("</tr>").unwrap() + start;
        html[start..end].to_string()
    };
    // This week and this month always hold today; the campaign may not (its dates are config).
    let qingshan_site = row("青山村公开栏");
    assert!(
        qingshan_site.matches("少于5件").count() >= 2,
        "{qingshan_site}"
    );
    assert!(!qingshan_site.contains(">2<"));
    let kind = row("村（社区）公示栏");
    assert!(kind.matches("6件，另有1处各少于5件").count() >= 2, "{kind}");
    assert!(!kind.contains(">8<"));
    let village_section =
        &html[html.find("counts-villages").unwrap()..html.find("counts-sites").unwrap()];
    assert!(village_section.contains("少于5件") && !village_section.contains(">2<"));
    assert!(html.contains("少于5件的只显示"));

    for path in [
        "/staff/sites",
        "/staff/sites/00000000-0000-0000-0000-000000000000/notice",
    ] {
        assert_eq!(inspector.get(path).await.status(), 403, "{path}");
    }
    let refused = inspector
        .post("/staff/sites", &[("kind", "website"), ("name", "网站")])
        .await;
    assert_eq!(refused.status(), 403);
    let operator = app.signed_in("op", "话务员", Role::Operator).await;
    assert_eq!(operator.get("/staff/counts").await.status(), 403);
    assert_eq!(sites::list_sites(app.db()).await.unwrap().len(), 2);
}

/// The notice as Chromium draws it (real fonts, real layout, print CSS loaded) carries a QR
/// code that a phone would read as this site's address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_notice_rendered_in_chromium_carries_a_code_that_leads_to_the_site() {
    let app = sqlite_app().await;
    let Some(browser) = Browser::desktop(&app).await else {
        return;
    };
    app.create_staff("admin", "管理员", &[Role::Admin], &[])
        .await;
    let site = add_site(&app, SiteKind::VillageBoard, "青山村村务公开栏", QINGSHAN).await;
    let url = site.url(&app.state.settings.server.base_url);

    sign_in(&browser, "admin").await;
    browser
        .goto(&format!("/staff/sites/{}/notice", site.id))
        .await;
    assert!(
        browser.glyphs_render("可以反映的问题").await,
        "Chinese text renders as glyphs, not as empty boxes"
    );
    // The print stylesheet is in force (it sizes the code), not blocked by the CSP.
    let width = browser
        .eval("return document.querySelector('#qr svg').getBoundingClientRect().width")
        .await
        .as_f64()
        .unwrap();
    assert!(width > 200.0, "the code is drawn large: {width} CSS px");
    browser
        .eval("document.getElementById('qr').scrollIntoView({block: 'center'}); return true")
        .await;
    let shot = browser.screenshot("notice").await;
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(
        decode_png(&png),
        vec![url],
        "the code in the screenshot leads to the site"
    );
    browser.assert_no_script_trouble().await;
}

/// Tokens are URL-safe base64, so about one in 64 begins with `-`: the CLI must still take
/// it as the site to disable, not as an option.
#[tokio::test]
async fn the_cli_disables_a_site_whose_token_begins_with_a_hyphen() {
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    let app = sqlite_app().await;
    let site = add_site(&app, SiteKind::StationMarket, "菜市场门口", None).await;
    let token = format!("-{}", &site.token[1..]);
    tipoff::entities::site::ActiveModel {
        id: Set(site.id),
        token: Set(token.clone()),
        ..Default::default()
    }
    .update(app.db())
    .await
    .unwrap();

    let disabled = run_cli(&app, &["site", "disable", &token]).await;
    assert_ran(&disabled);
    assert!(!site_is_enabled(&app, site.id).await);
}
