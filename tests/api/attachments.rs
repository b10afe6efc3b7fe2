//! Evidence files: photos lose their GPS and device details and their names on anonymous
//! reports, files are judged by content, hostile files are refused or served inert, limits
//! cut an upload off while it streams (memory stays flat), nothing is half-stored, and no
//! hostile input ever gets a 5xx.

use std::io::Cursor;
use std::time::Duration;

use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use tipoff::domain::Role;
use tipoff::entities::{audit_entry, report};

use crate::helpers::files::*;
use crate::helpers::staff::account;
use crate::helpers::storage::{contains_bytes, stored_bytes};
use crate::helpers::{TestApp, body_with, code_in, header, hidden_value, json_with, sqlite_app};
use crate::on_both_backends;

on_both_backends!(
    an_anonymous_photo_loses_its_gps_device_and_name,
    a_pdf_named_jpg_is_stored_and_served_as_a_pdf_without_its_author,
    html_files_and_polyglots_are_refused_or_served_inert,
    limits_refuse_too_many_and_too_large_files_and_store_nothing,
    sql_metacharacters_in_fields_and_file_names_are_stored_and_shown_literally,
    a_real_name_reporter_may_keep_file_details_as_evidence,
    an_operator_attaches_a_recording_to_a_phoned_report,
    hostile_multipart_bodies_get_4xx_never_5xx,
);

/// Uploads big enough to move the process's peak memory run one at a time, so the
/// memory test measures its own upload only.
static BIG_UPLOADS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn tiny_png() -> Vec<u8> {
    let pixels = image::RgbImage::from_pixel(4, 4, image::Rgb([200, 10, 10]));
    let mut out = Cursor::new(Vec::new());
    pixels.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A one-page PDF whose document info names its author and the producing software.
fn pdf_with_author() -> Vec<u8> {
    use lopdf::{Document, Object, Stream, dictionary};
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let content_id = doc.add_object(Stream::new(dictionary! {}, b"BT ET".to_vec()));
    let page_id = doc.add_object(dictionary! {
        "Type" => "Page",
        "Parent" => pages_id,
        "Contents" => content_id,
        "MediaBox" => vec![0.into(), 0.into(), 200.into(), 200.into()],
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => vec![page_id.into()],
            "Count" => 1,
        }),
    );
    let catalog_id = doc.add_object(dictionary! {"Type" => "Catalog", "Pages" => pages_id});
    doc.trailer.set("Root", catalog_id);
    let info_id = doc.add_object(dictionary! {
        "Author" => Object::string_literal("Canary Author Zhang"),
        "Producer" => Object::string_literal("Canary Producer 9.1"),
    });
    doc.trailer.set("Info", info_id);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    assert!(String::from_utf8_lossy(&out).contains("Canary Author Zhang"));
    out
}

/// Sends an anonymous report saying `description` with `files` through the JSON API, which
/// must refuse it as too large, and returns the error body.
async fn too_large_for_the_api(
    app: &TestApp,
    description: &str,
    files: &[FilePart<'_>],
    client_ip: &str,
) -> Value {
    let report = json!({"category": "favor", "description": description, "anonymous": true});
    let body = multipart(&[("report", &report.to_string())], files);
    let response = post_multipart(app, "/api/v1/reports?lang=en", body, client_ip, None).await;
    json_with(response, 413).await
}

/// What an API error says about the files.
fn files_reason(error: &Value) -> &str {
    error["error"]["fields"]["files"]
        .as_str()
        .expect("the files are named")
}

/// The headers that make a served file inert whatever it contains.
fn assert_served_inert(response: &reqwest::Response, extension: &str) {
    let disposition = header(response, "content-disposition");
    assert!(
        disposition.starts_with("attachment;"),
        "a download: {disposition}"
    );
    assert!(
        disposition.ends_with(&format!("%E9%99%84%E4%BB%B61.{extension}")),
        "RFC 5987 name 附件1.{extension}: {disposition}"
    );
    assert_eq!(header(response, "x-content-type-options"), "nosniff");
    let csp = header(response, "content-security-policy");
    assert!(
        csp.contains("sandbox") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    assert!(header(response, "cache-control").contains("no-store"));
}

async fn an_anonymous_photo_loses_its_gps_device_and_name(app: TestApp) {
    let photo = jpeg_with_gps();
    let response = submit_file(&app, (CANARY_NAME, "image/jpeg", &photo), "198.51.100.1").await;
    let status = response.status();
    let receipt = response.text().await.unwrap();
    assert_eq!(status, 200, "{receipt}");
    assert!(receipt.contains("without location, device"), "{receipt}");
    let (staff, stored) = inspector_and_the_report(&app).await;
    let case = staff_get(&staff, &format!("/staff/cases/{}", stored.id)).await;
    let page = case.text().await.unwrap();
    assert!(page.contains("附件1.jpg"), "listed under a neutral name");
    assert!(page.contains("details removed") || page.contains("已去除文件信息"));
    assert!(!page.contains(CANARY_NAME));

    let download = staff_get(&staff, &format!("/staff/cases/{}/attachments/1", stored.id)).await;
    assert_eq!(download.status(), 200);
    assert_eq!(header(&download, "content-type"), "image/jpeg");
    assert_served_inert(&download, "jpg");
    for (_, value) in download.headers() {
        assert!(!String::from_utf8_lossy(value.as_bytes()).contains("zhangsan"));
    }
    let served = download.bytes().await.unwrap();
    assert!(exif_of(&served).is_none(), "no EXIF at all is left");
    assert!(!has_gps(&served));
    assert!(
        !String::from_utf8_lossy(&served).contains("HUAWEI"),
        "no device name"
    );
    let decoded = image::load_from_memory(&served).expect("still a picture");
    assert_eq!((decoded.width(), decoded.height()), (64, 48));

    let preview = staff_get(
        &staff,
        &format!("/staff/cases/{}/attachments/1/preview", stored.id),
    )
    .await;
    assert_eq!(preview.status(), 200);
    assert_eq!(header(&preview, "content-type"), "image/png");
    assert_eq!(header(&preview, "x-content-type-options"), "nosniff");
    let png = preview.bytes().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a re-encoded copy");
    assert_ne!(png.as_ref(), served.as_ref());
    let decoded = image::load_from_memory(&png).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (64, 48));

    // Each opening is audited.
    let openings = audit_entry::Entity::find()
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "open_attachment" && e.report_id == Some(stored.id))
        .count();
    assert_eq!(openings, 2, "the download and the preview");

    let disk = stored_bytes(&app).await;
    for needle in ["zhangsan", "HUAWEI", "Mate 60"] {
        assert!(
            !contains_bytes(&disk, needle.as_bytes()),
            "{needle} never stored"
        );
    }
    // Not an image: no preview; unknown files and recused inspectors get 404 like the case.
    let missing = staff_get(&staff, &format!("/staff/cases/{}/attachments/2", stored.id)).await;
    assert_eq!(missing.status(), 404);
    let other = staff_get(
        &staff,
        &format!("/staff/cases/{}/attachments/1", uuid::Uuid::new_v4()),
    )
    .await;
    assert_eq!(other.status(), 404);
    // A colleague keeps the case in sight once this inspector steps aside.
    app.create_staff("colleague", "吴敏", &[Role::Inspector], &[])
        .await;
    staff
        .post_for(
            &format!("/staff/cases/{}/recusals", stored.id),
            &[
                ("user", &staff_id(&app, "insp").await),
                ("reason", "亲属"),
                ("confirmed", "yes"),
            ],
            303,
        )
        .await;
    let recused = staff_get(&staff, &format!("/staff/cases/{}/attachments/1", stored.id)).await;
    assert_eq!(recused.status(), 404, "a recused inspector cannot open it");
}

async fn staff_id(app: &TestApp, username: &str) -> String {
    account(app, username).await.id.to_string()
}

async fn a_pdf_named_jpg_is_stored_and_served_as_a_pdf_without_its_author(app: TestApp) {
    let pdf = pdf_with_author();
    let report =
        json!({"category": "favor", "description": "低保名单公示的扫描件", "anonymous": true});
    let body = multipart(
        &[("report", &report.to_string())],
        &[("scan.jpg", "image/jpeg", &pdf)],
    );
    let response = post_multipart(&app, "/api/v1/reports", body, "198.51.100.2", None).await;
    let answer = json_with(response, 201).await;
    assert_eq!(answer["attachments"][0]["kind"], "pdf", "{answer}");
    assert_eq!(answer["attachments"][0]["name"], "附件1.pdf");
    assert_eq!(answer["attachments"][0]["stripped"], true);
    let (staff, stored) = inspector_and_the_report(&app).await;
    let download = staff_get(&staff, &format!("/staff/cases/{}/attachments/1", stored.id)).await;
    assert_eq!(download.status(), 200);
    assert_eq!(header(&download, "content-type"), "application/pdf");
    assert_served_inert(&download, "pdf");
    let served = download.bytes().await.unwrap();
    assert!(served.starts_with(b"%PDF-"));
    let text = String::from_utf8_lossy(&served);
    assert!(!text.contains("Canary"), "author and producer removed");
    let doc = lopdf::Document::load_mem(&served).expect("still a PDF");
    assert!(doc.trailer.get(b"Info").is_err(), "no document info");
    assert_eq!(doc.get_pages().len(), 1);
    // No preview for a document.
    let preview = staff_get(
        &staff,
        &format!("/staff/cases/{}/attachments/1/preview", stored.id),
    )
    .await;
    assert_eq!(preview.status(), 404);
}

async fn html_files_and_polyglots_are_refused_or_served_inert(app: TestApp) {
    let html = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>";
    let response = submit_file(&app, ("evidence.jpg", "image/jpeg", html), "198.51.100.3").await;
    let page = body_with(response, 422).await;
    assert!(page.contains("File 1 (evidence.jpg)"), "names the file");
    assert!(page.contains("not accepted"), "says why");
    assert!(page.contains("照片为证"), "typed text kept");
    assert!(
        page.contains("choose them again"),
        "files must be chosen again"
    );

    // HTML wearing JPEG magic is not a JPEG.
    let mut fake = vec![0xFF, 0xD8, 0xFF];
    fake.extend_from_slice(html);
    let response = submit_file(&app, ("x.jpg", "image/jpeg", &fake), "198.51.100.3").await;
    assert!(body_with(response, 422).await.contains("damaged"));
    assert_eq!(counts(&app).await, (0, 0), "nothing stored");

    // A real JPEG with a script appended: accepted as a picture, stored without the script,
    // and served only as a sandboxed download.
    let mut polyglot = jpeg_with_gps();
    polyglot.extend_from_slice(html);
    let response = submit_file(&app, ("poly.html", "text/html", &polyglot), "198.51.100.4").await;
    assert_eq!(response.status(), 200);
    let (staff, stored) = inspector_and_the_report(&app).await;
    let download = staff_get(&staff, &format!("/staff/cases/{}/attachments/1", stored.id)).await;
    assert_eq!(header(&download, "content-type"), "image/jpeg");
    assert_served_inert(&download, "jpg");
    let served = download.bytes().await.unwrap();
    assert!(!String::from_utf8_lossy(&served).contains("<script>"));
}

/// Peak resident memory of this process, in kB.
fn peak_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

/// A request body generated as it is sent: `head`, then `filler` bytes in 64 KiB chunks,
/// then `tail`. Nothing of it is ever held whole.
fn streamed(head: Vec<u8>, filler: usize, tail: Vec<u8>) -> reqwest::Body {
    const CHUNK: usize = 64 * 1024;
    let chunks = filler.div_ceil(CHUNK);
    let middle = (0..chunks).map(move |i| {
        let len = CHUNK.min(filler - i * CHUNK);
        Ok::<_, std::io::Error>(vec![0x5Au8; len])
    });
    let all = std::iter::once(Ok(head))
        .chain(middle)
        .chain(std::iter::once(Ok(tail)));
    reqwest::Body::wrap_stream(futures_util::stream::iter(all))
}

/// Sends a 50 MB file in the public form, generated as it is sent, and returns the answer's
/// status and page and how much this process's peak memory grew meanwhile.
async fn send_50_mb(app: &TestApp, client_ip: &str) -> (reqwest::StatusCode, String, u64) {
    let token = app.form_token().await;
    let fields = [
        ("form_token", token.as_str()),
        ("category", "connection"),
        ("description", "五十兆的录音文件，超出上限"),
        ("anonymous", "true"),
    ];
    let mut head = multipart(&fields, &[]);
    head.truncate(head.len() - format!("--{BOUNDARY}--\r\n").len());
    head.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.mp3\"\r\nContent-Type: audio/mpeg\r\n\r\n"
        )
        .as_bytes(),
    );
    let tail = format!("\r\n--{BOUNDARY}--\r\n").into_bytes();
    // Start from the current footprint: VmHWM is reset to VmRSS (Linux 4.0 and later).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = peak_kb();
    let response = post_multipart(
        app,
        "/report?lang=en",
        streamed(head, 50 * 1024 * 1024, tail),
        client_ip,
        None,
    )
    .await;
    let grown_mb = peak_kb().saturating_sub(before) / 1024;
    let status = response.status();
    (status, response.text().await.unwrap(), grown_mb)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_50_mb_upload_is_cut_off_with_413_while_peak_memory_stays_flat() {
    let app = sqlite_app().await;
    let _one_at_a_time = BIG_UPLOADS.lock().await;
    // The peak is the whole process's: another test running alongside can add to it. A
    // server that held the upload would exceed the bound every time, so the best of three
    // tries is what counts.
    let mut least = u64::MAX;
    for client in ["198.51.100.5", "198.51.100.15", "198.51.100.25"] {
        let (status, page, grown_mb) = send_50_mb(&app, client).await;
        eprintln!("peak memory grew by {grown_mb} MB while a 50 MB upload was refused");
        assert_eq!(status, 413);
        assert!(page.contains("10 MB"), "says which limit: {page}");
        assert!(page.contains("超出上限"), "typed text kept");
        least = least.min(grown_mb);
        if least < 30 {
            break;
        }
    }
    assert!(
        least < 30,
        "peak memory grew by at least {least} MB for a 50 MB upload"
    );
    assert_eq!(counts(&app).await, (0, 0));
}

async fn limits_refuse_too_many_and_too_large_files_and_store_nothing(app: TestApp) {
    let _one_at_a_time = BIG_UPLOADS.lock().await;
    let png = tiny_png();
    let six: Vec<FilePart<'_>> = (0..6)
        .map(|_| ("p.png", "image/png", png.as_slice()))
        .collect();
    let response = submit_with_files(&app, &[], &six, "198.51.100.6").await;
    let page = body_with(response, 413).await;
    assert!(page.contains("At most 5 files"), "{page}");
    assert!(page.contains("照片为证"), "typed text kept");

    // The same through the API: a JSON error body with the reason.
    let error = too_large_for_the_api(&app, "六个附件太多了", &six, "198.51.100.6").await;
    assert_eq!(error["error"]["code"], "too_large");
    assert!(files_reason(&error).contains("At most 5"), "{error}");

    let mut big = tiny_png();
    big.resize(11 * 1024 * 1024, 0);
    let response = submit_file(&app, ("huge.png", "image/png", &big), "198.51.100.7").await;
    let page = body_with(response, 413).await;
    assert!(
        page.contains("File 1 (huge.png)") && page.contains("10 MB"),
        "{page}"
    );
    drop(big);

    let mut nine = tiny_png();
    nine.resize(9 * 1024 * 1024, 0);
    let three: Vec<FilePart<'_>> = (0..3)
        .map(|_| ("n.png", "image/png", nine.as_slice()))
        .collect();
    let error = too_large_for_the_api(&app, "合计超过上限", &three, "198.51.100.8").await;
    assert!(files_reason(&error).contains("25 MB"), "{error}");
    assert_eq!(counts(&app).await, (0, 0), "nothing stored in any case");

    // Within the limits the same files go in.
    let five: Vec<FilePart<'_>> = (0..5)
        .map(|_| ("p.png", "image/png", png.as_slice()))
        .collect();
    let response = submit_with_files(&app, &[], &five, "198.51.100.9").await;
    assert_eq!(response.status(), 200);
    assert_eq!(counts(&app).await, (1, 5));
}

async fn sql_metacharacters_in_fields_and_file_names_are_stored_and_shown_literally(app: TestApp) {
    let hostile = "'; DROP TABLE reports; -- \" OR 1=1";
    // Browsers send a double quote in a file name as %22, so none here.
    let name = "'; DROP TABLE attachments; -- OR 1=1.png";
    let png = tiny_png();
    let response = submit_with_files(
        &app,
        &[
            ("subject", hostile),
            ("occurred", hostile),
            ("description", &format!("描述 {hostile}")),
            ("anonymous", "false"),
            ("reporter_name", "王五"),
            ("reporter_phone", "13800001111"),
            ("keep_metadata", "true"),
        ],
        &[(name, "image/png", &png)],
        "198.51.100.10",
    )
    .await;
    assert_eq!(response.status(), 200);
    let code = code_in(&response.text().await.unwrap());
    assert!(!code.is_empty());
    let (staff, stored) = inspector_and_the_report(&app).await;
    let page = case_page(&staff, stored.id).await;
    let escaped = |s: &str| {
        s.replace('&', "&#38;")
            .replace('\'', "&#39;")
            .replace('"', "&#34;")
    };
    let shown = |s: &str| page.contains(&escaped(s)) || page.contains(&html_escape_named(s));
    assert!(shown(hostile), "shown literally: {page}");
    assert!(shown(name), "the kept file name shown literally");
    assert_eq!(counts(&app).await, (1, 1), "the tables are still there");
}

/// The other escaping style askama may use (`&quot;`, `&#x27;`).
fn html_escape_named(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('\'', "&#x27;")
        .replace('"', "&quot;")
}

async fn a_real_name_reporter_may_keep_file_details_as_evidence(app: TestApp) {
    let jpeg = jpeg_with_gps();
    let photo = [("现场.jpg", "image/jpeg", jpeg.as_slice())];
    let real_name = [
        ("anonymous", "false"),
        ("reporter_name", "王五"),
        ("reporter_phone", "13800001111"),
    ];
    let mut kept = real_name.to_vec();
    kept.push(("keep_metadata", "true"));
    let response = submit_with_files(&app, &kept, &photo, "198.51.100.11").await;
    assert!(body_with(response, 200).await.contains("as they are"));
    let response = submit_with_files(&app, &real_name, &photo, "198.51.100.12").await;
    assert_eq!(response.status(), 200);
    // Anonymous: the box is ignored.
    let response =
        submit_with_files(&app, &[("keep_metadata", "true")], &photo, "198.51.100.13").await;
    assert_eq!(response.status(), 200);

    let staff = inspector(&app).await;
    let mut seen = Vec::new();
    for stored in report::Entity::find().all(app.db()).await.unwrap() {
        let page = case_page(&staff, stored.id).await;
        let served = first_attachment(&staff, stored.id).await;
        seen.push((
            stored.anonymous,
            has_gps(&served),
            page.contains("现场.jpg"),
        ));
    }
    seen.sort();
    assert_eq!(
        seen,
        vec![
            (false, false, false),
            (false, true, true),
            (true, false, false)
        ],
        "(anonymous, GPS kept, name kept) per report"
    );
}

async fn an_operator_attaches_a_recording_to_a_phoned_report(app: TestApp) {
    let operator = app.signed_in("op", "接线员", Role::Operator).await;
    let form = operator.get("/staff/intake").await.text().await.unwrap();
    assert!(form.contains("enctype=\"multipart/form-data\""));
    let csrf = hidden_value(&form, "csrf");
    // MPEG-1 layer III frames behind an ID3 tag naming the caller.
    let mut mp3 = b"ID3\x03\0\0\0\0\0\x16TIT2\0\0\0\x0c\0\0\0caller-lisi".to_vec();
    for _ in 0..3 {
        mp3.extend_from_slice(&[0xFF, 0xFB, 0x90, 0x64]);
        mp3.extend(std::iter::repeat_n(0x11u8, 413));
    }
    let fields = [
        ("csrf", csrf.as_str()),
        ("channel", "hotline"),
        ("category", "bribery"),
        ("description", "来电反映：办低保要先送两条烟，有录音"),
        ("anonymous", "true"),
    ];
    let recording = [("通话录音.mp3", "audio/mpeg", mp3.as_slice())];
    // Entered as the operator's browser sends the form.
    let enter = |fields: &[(&str, &str)]| {
        let body = multipart(fields, &recording);
        post_multipart(
            &app,
            "/staff/intake",
            body,
            "192.0.2.1",
            Some(&operator.cookie),
        )
    };
    let response = enter(&fields).await;
    assert_eq!(response.status(), 200);
    assert!(!code_in(&response.text().await.unwrap()).is_empty());
    assert_eq!(counts(&app).await, (1, 1));

    // Without the session's CSRF token nothing is read further.
    let response = enter(&fields[1..]).await;
    assert_eq!(response.status(), 403);
    assert_eq!(counts(&app).await, (1, 1));

    let (staff, stored) = inspector_and_the_report(&app).await;
    let served = first_attachment(&staff, stored.id).await;
    assert!(served.starts_with(&[0xFF, 0xFB]), "ID3 tag removed");
    assert!(!String::from_utf8_lossy(&served).contains("caller-lisi"));
}

#[tokio::test]
async fn a_report_and_its_files_are_stored_together_or_not_at_all() {
    use sea_orm::ConnectionTrait;
    use tipoff::domain::attachment::Upload;
    use tipoff::domain::{RawReport, ReportDraft};
    use tipoff::services::intake::Origin;
    let app = sqlite_app().await;
    let raw = RawReport {
        category: Some("favor".into()),
        description: Some("附件写入失败时报告也不能留下".into()),
        anonymous: Some(true),
        ..RawReport::default()
    };
    let file = tipoff::media::prepare_file(
        1,
        Upload {
            name: None,
            bytes: tiny_png(),
        },
        true,
    )
    .unwrap();
    let draft = ReportDraft::parse(raw, &app.state.villages)
        .unwrap()
        .with_attachments(vec![file]);
    // Break the attachments table: the report insert succeeds, the file insert fails.
    app.db()
        .execute_unprepared("ALTER TABLE attachments RENAME TO attachments_gone")
        .await
        .unwrap();
    let result = app
        .state
        .intake()
        .store(
            draft,
            Origin::public(tipoff::domain::Channel::Api),
            app.now(),
        )
        .await;
    assert!(result.is_err());
    assert_eq!(
        report::Entity::find().count(app.db()).await.unwrap(),
        0,
        "no half-stored report"
    );
}

#[tokio::test]
async fn the_openapi_document_describes_uploads_and_their_refusals() {
    let app = sqlite_app().await;
    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    let post = &doc["paths"]["/api/v1/reports"]["post"];
    let content = post["requestBody"]["content"].as_object().unwrap();
    assert!(content.contains_key("application/json"));
    assert!(content.contains_key("multipart/form-data"), "{post}");
    let upload = &doc["components"]["schemas"]["ReportUpload"]["properties"];
    assert!(
        upload["report"].is_object() && upload["file"].is_object(),
        "{upload}"
    );
    let too_large = post["responses"]["413"]["description"].as_str().unwrap();
    assert!(too_large.contains("more than 5 files"), "{too_large}");
}

/// A PDF whose trailer says it is encrypted (a password-protected document).
fn encrypted_pdf() -> Vec<u8> {
    use lopdf::{Object, dictionary};
    let mut doc = lopdf::Document::load_mem(&pdf_with_author()).unwrap();
    let encrypt = doc.add_object(dictionary! {
        "Filter" => "Standard",
        "V" => 1,
        "R" => 2,
        "O" => Object::string_literal(vec![1u8; 32]),
        "U" => Object::string_literal(vec![2u8; 32]),
        "P" => -4,
    });
    doc.trailer.set("Encrypt", encrypt);
    doc.trailer.set(
        "ID",
        vec![
            Object::string_literal(vec![3u8; 16]),
            Object::string_literal(vec![3u8; 16]),
        ],
    );
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

async fn hostile_multipart_bodies_get_4xx_never_5xx(app: TestApp) {
    let report = json!({"category": "favor", "description": "恶意构造的请求体", "anonymous": true});
    let report = report.to_string();
    let send = |content_type: &'static str, body: Vec<u8>, path: &'static str| {
        let request = app
            .client
            .post(app.url(path))
            .header("content-type", content_type)
            // Each body from a client of its own: a malformed body spends its sender's
            // submission budget like any other.
            .header("x-forwarded-for", crate::helpers::reports::next_ip())
            .body(body);
        async move {
            let response = request.send().await.expect("POST");
            no_5xx(&response);
            response.status().as_u16()
        }
    };
    for path in ["/report?lang=en", "/api/v1/reports?lang=en"] {
        // No boundary, garbage, a header that never ends, a body cut off mid-file.
        assert_eq!(
            send("multipart/form-data", b"abc".to_vec(), path).await,
            400
        );
        assert_eq!(
            send(
                "multipart/form-data; boundary=x",
                b"not multipart at all".to_vec(),
                path
            )
            .await,
            400
        );
        let mut endless = b"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n".to_vec();
        endless.extend(std::iter::repeat_n(b'h', 1024 * 1024));
        assert_eq!(
            send("multipart/form-data; boundary=x", endless, path).await,
            400
        );
        let cut = b"--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\n\r\n\xFF\xD8\xFF".to_vec();
        assert_eq!(
            send("multipart/form-data; boundary=x", cut, path).await,
            400
        );
        // Cut off inside a closing boundary: the multipart parser waits for bytes that will
        // never come (found by the multipart_body fuzz target); the answer must not wait.
        for tail in ["\r\n--tipof", "\r"] {
            let body = format!(
                "--tipoffBoundary\r\nContent-Disposition: form-data; name=\"subject\"\r\n\r\nx{tail}"
            );
            let answer = tokio::time::timeout(
                Duration::from_secs(20),
                send(
                    "multipart/form-data; boundary=tipoffBoundary",
                    body.into_bytes(),
                    path,
                ),
            )
            .await;
            assert_eq!(answer.ok(), Some(400), "{tail:?} cut off {path}");
        }
    }
    // Each from its own address: the per-client submit limit is not what is tested here.
    let next_client = std::cell::Cell::new(50u8);
    let api = |parts: &[(&str, &str)], files: &[FilePart<'_>]| {
        let body = multipart(parts, files);
        next_client.set(next_client.get() + 1);
        let client = format!("198.51.100.{}", next_client.get());
        let app = &app;
        async move { post_multipart(app, "/api/v1/reports?lang=en", body, &client, None).await }
    };
    assert_eq!(api(&[("report", "{not json")], &[]).await.status(), 400);
    let png = tiny_png();
    assert_eq!(
        api(&[], &[("p.png", "image/png", &png)]).await.status(),
        422,
        "the report part is required"
    );
    assert_eq!(
        api(&[("report", &report), ("extra", "x")], &[])
            .await
            .status(),
        422,
        "unknown parts are refused"
    );
    let deep = format!("%PDF-1.4\n1 0 obj\n{}", "[".repeat(200_000));
    let response = api(
        &[("report", &report)],
        &[("deep.pdf", "application/pdf", deep.as_bytes())],
    )
    .await;
    let error = json_with(response, 422).await;
    assert!(
        error["error"]["fields"]["file[1]"]
            .as_str()
            .unwrap()
            .contains("damaged")
    );

    let locked = encrypted_pdf();
    let response = api(
        &[("report", &report)],
        &[("locked.pdf", "application/pdf", &locked)],
    )
    .await;
    let error = json_with(response, 422).await;
    let reason = error["error"]["fields"]["file[1]"].as_str().unwrap();
    assert!(reason.contains("cannot be removed"), "{error}");
    assert_eq!(counts(&app).await, (0, 0), "nothing stored");

    // The same file on a real-name report whose reporter keeps file details is accepted as is.
    let kept = json!({"category": "favor", "description": "加密的PDF作为证据", "anonymous": false,
                      "reporter": {"name": "王五", "phone": "13800001111"}, "keep_metadata": true});
    let response = api(
        &[("report", &kept.to_string())],
        &[("locked.pdf", "application/pdf", &locked)],
    )
    .await;
    let answer = json_with(response, 201).await;
    assert_eq!(answer["attachments"][0]["stripped"], false);
    assert_eq!(answer["attachments"][0]["name"], "locked.pdf");
}
