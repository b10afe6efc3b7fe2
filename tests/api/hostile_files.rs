//! Files made to harm the service or to give a reporter away: a PDF that kills its parser
//! costs one file and nothing else, bombs are refused while the server stays small, each
//! worker is held by its own memory limit, and what a reporter's PDF or photo says of them
//! is gone after upload — while a portrait photo still arrives upright.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::files::*;
use crate::helpers::hostile::*;
use crate::helpers::{TestApp, body_with, free_port, sqlite_app, sqlite_app_with};
use crate::on_both_backends;

on_both_backends!(pdfs_from_anonymous_reporters_carry_nothing_of_them);

/// Posts one file on an anonymous API report.
async fn api_report_with(app: &TestApp, files: &[FilePart<'_>], ip: &str) -> reqwest::Response {
    let report =
        json!({"category": "favor", "description": "低保名单公示的扫描件", "anonymous": true});
    let body = multipart(&[("report", &report.to_string())], files);
    post_multipart(app, "/api/v1/reports", body, ip, None).await
}

#[tokio::test]
async fn a_file_that_kills_its_worker_costs_one_file_and_nothing_else() {
    // A worker too small for the file: it dies of it, as one would on a parser's bug. (96
    // MiB: room for the worker itself and a photo, not for a page inflating to 100 MiB.)
    let app = sqlite_app_with(|s| s.attachments.worker_memory_mb = 96).await;
    let killer = pdf_with_large_content(100);
    let response = submit_file(
        &app,
        ("名单.pdf", "application/pdf", &killer),
        "198.51.100.20",
    )
    .await;
    let page = body_with(response, 422).await;
    assert!(
        page.contains("could not be checked"),
        "says the file could not be checked"
    );
    assert!(page.contains("照片为证"), "everything typed is kept");
    assert_eq!(counts(&app).await, (0, 0), "nothing stored");

    let started = Instant::now();
    let next = app.get("/report").await;
    assert_eq!(next.status(), 200);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "the service answers at once"
    );
    // And takes the next report, with a real file.
    let photo = jpeg_with_gps();
    let response = submit_file(&app, ("p.jpg", "image/jpeg", &photo), "198.51.100.21").await;
    assert_eq!(response.status(), 200);
    assert_eq!(counts(&app).await, (1, 1));
}

#[tokio::test]
async fn nesting_and_filter_chain_bombs_are_refused_as_damaged() {
    let app = sqlite_app().await;
    for (i, file) in [
        pdf_nested_in_object_stream(),
        pdf_nested_behind_stream_data(),
        pdf_flate_chain_bomb(),
        pdf_ascii85_chain_bomb(),
    ]
    .iter()
    .enumerate()
    {
        assert!(
            file.len() < 2 << 20,
            "bomb {i} is small: {} bytes",
            file.len()
        );
        let response = api_report_with(
            &app,
            &[("a.pdf", "application/pdf", file)],
            &format!("198.51.100.{}", 30 + i),
        )
        .await;
        assert_eq!(response.status(), 422, "bomb {i}");
        let answer = response.text().await.unwrap();
        assert!(answer.contains("文件已损坏"), "bomb {i}: {answer}");
    }
    assert_eq!(counts(&app).await, (0, 0));
}

/// The peak resident memory of process `pid`, in KiB.
fn vm_hwm_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

/// The real server, as `tipoff serve`, in the test profile on a database of its own.
struct Server {
    child: std::process::Child,
    address: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_tipoff"))
        .arg("serve")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("TIPOFF_PROFILE", "test")
        .env("TIPOFF__SERVER__PORT", port.to_string())
        .env("TIPOFF__KEYS__FILE", dir.path().join("keys.toml"))
        .env("TIPOFF__MAIL__FILE_DIR", dir.path().join("mail"))
        .env("TIPOFF__LOG__LEVEL", "warn")
        .env(
            "TIPOFF__DATABASE__URL",
            format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display()),
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start tipoff serve");
    let address = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..600 {
        if client
            .get(format!("{address}/healthz"))
            .send()
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Server {
        child,
        address,
        _dir: dir,
    }
}

#[tokio::test]
async fn five_bombs_at_once_leave_the_server_small() {
    let server = start_server().await;
    let bombs = [
        pdf_nested_in_object_stream(),
        pdf_nested_behind_stream_data(),
        pdf_flate_chain_bomb(),
        pdf_ascii85_chain_bomb(),
        pdf_with_large_content(200),
    ];
    let client = reqwest::Client::new();
    let sends = bombs.iter().enumerate().map(|(i, bomb)| {
        let report =
            json!({"category": "favor", "description": "低保名单公示的扫描件", "anonymous": true});
        let body = multipart(
            &[("report", &report.to_string())],
            &[("a.pdf", "application/pdf", bomb)],
        );
        client
            .post(format!("{}/api/v1/reports", server.address))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .header("x-forwarded-for", format!("203.0.113.{}", 40 + i))
            .body(body)
            .send()
    });
    let answers = futures_util::future::join_all(sends).await;
    for (i, answer) in answers.into_iter().enumerate() {
        let answer = answer.expect("the server answers");
        assert_eq!(answer.status(), 422, "bomb {i}");
        let answer = answer.text().await.unwrap();
        assert!(
            answer.contains("file[1]"),
            "bomb {i}: the file was refused: {answer}"
        );
    }
    let health = client
        .get(format!("{}/healthz", server.address))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "still serving");
    let peak = vm_hwm_kb(server.child.id());
    eprintln!("server peak RSS while five bombs were checked: {peak} KiB");
    assert!(peak < 256 * 1024, "server peak {peak} KiB");
}

/// Runs one worker on `file` under `memory_mb`: whether it answered.
fn run_worker(file: &[u8], memory_mb: u64) -> bool {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_tipoff"))
        .args([
            "media-worker",
            &format!("--memory-mb={memory_mb}"),
            "--cpu-seconds=30",
            "--input-max=10485760",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut request = b"{\"op\":\"prepare\",\"seq\":1,\"strip\":true,\"name\":null}\n".to_vec();
    request.extend_from_slice(file);
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&request);
    });
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    output.status.success() && output.stdout.starts_with(b"{\"answer\":\"prepared\"")
}

#[test]
fn each_worker_is_held_by_its_own_memory_limit() {
    // A legal page whose content inflates to 100 MiB: checking it needs that much memory.
    let file = pdf_with_large_content(100);
    assert!(
        run_worker(&file, 1024),
        "with room enough, the file is checked"
    );
    assert!(
        !run_worker(&file, 64),
        "past its own limit the worker gives up"
    );
}

async fn pdfs_from_anonymous_reporters_carry_nothing_of_them(app: TestApp) {
    let scan = pdf_phone_scan(&jpeg_with_gps());
    let commented = pdf_commented();
    let attached = pdf_with_attached_file();
    for (planted, file) in [
        (&scan, "scan"),
        (&commented, "commented"),
        (&attached, "attached"),
    ]
    .map(|(bytes, name)| (pdf_text(bytes), name))
    {
        assert!(
            PLANTED.iter().any(|p| contains(&planted, p.as_bytes())),
            "the {file} fixture plants something"
        );
    }
    let response = api_report_with(
        &app,
        &[
            ("scan.pdf", "application/pdf", &scan),
            ("commented.pdf", "application/pdf", &commented),
            ("attached.pdf", "application/pdf", &attached),
        ],
        "198.51.100.50",
    )
    .await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let (staff, stored) = inspector_and_the_report(&app).await;
    for seq in 1..=3 {
        let download = staff_get(
            &staff,
            &format!("/staff/cases/{}/attachments/{seq}", stored.id),
        )
        .await;
        assert_eq!(download.status(), 200);
        let served = download.bytes().await.unwrap();
        let text = pdf_text(&served);
        for planted in PLANTED {
            assert!(
                !contains(&text, planted.as_bytes()),
                "file {seq} still holds {planted}"
            );
        }
        let doc = lopdf::Document::load_mem(&served).expect("still a PDF");
        assert_eq!(doc.get_pages().len(), 1, "file {seq} keeps its page");
    }
    // The scanned photo is still there, a JPEG that decodes.
    let download = staff_get(&staff, &format!("/staff/cases/{}/attachments/1", stored.id)).await;
    let doc = lopdf::Document::load_mem(&download.bytes().await.unwrap()).unwrap();
    let photo = doc
        .objects
        .values()
        .find_map(|o| match o {
            lopdf::Object::Stream(s)
                if s.dict.get(b"Subtype").and_then(lopdf::Object::as_name).ok()
                    == Some(b"Image") =>
            {
                Some(s.content.clone())
            }
            _ => None,
        })
        .expect("the page's image");
    assert!(!has_gps(&photo));
    image::load_from_memory_with_format(&photo, image::ImageFormat::Jpeg).expect("a JPEG still");

    // What cannot be cleaned is refused, not passed on as stripped: JPEG 2000.
    let jpx = String::from_utf8_lossy(&scan).replace("/DCTDecode", "/JPXDecode");
    let response = api_report_with(
        &app,
        &[("j.pdf", "application/pdf", jpx.as_bytes())],
        "198.51.100.51",
    )
    .await;
    assert_eq!(response.status(), 422);

    // Nor can a JPEG drawn inline in a page's content: refused, saying why.
    let inline = pdf_inline_jpeg(&jpeg_with_gps());
    assert!(contains(&pdf_text(&inline), b"Mate 60 Pro"));
    let response = api_report_with(
        &app,
        &[("i.pdf", "application/pdf", &inline)],
        "198.51.100.52",
    )
    .await;
    assert_eq!(response.status(), 422);
    let answer = response.text().await.unwrap();
    assert!(
        answer.contains("无法去除文件中可能暴露身份的信息"),
        "{answer}"
    );
}

#[tokio::test]
async fn a_portrait_photo_arrives_upright_without_its_gps() {
    let app = sqlite_app().await;
    let photo = jpeg_with_gps_turned(Some(6));
    let response = submit_file(
        &app,
        ("IMG_0001.jpg", "image/jpeg", &photo),
        "198.51.100.60",
    )
    .await;
    assert_eq!(response.status(), 200);
    let (staff, stored) = inspector_and_the_report(&app).await;
    let download = staff_get(&staff, &format!("/staff/cases/{}/attachments/1", stored.id)).await;
    let served = download.bytes().await.unwrap();
    assert!(!has_gps(&served), "GPS removed");
    let exif = exif_of(&served).expect("the orientation is kept");
    let turn = exif
        .get_field(exif::Tag::Orientation, exif::In::PRIMARY)
        .expect("Orientation");
    assert_eq!(turn.value.get_uint(0), Some(6));
    assert!(
        exif.get_field(exif::Tag::Make, exif::In::PRIMARY).is_none(),
        "nothing else kept"
    );
    let preview = staff_get(
        &staff,
        &format!("/staff/cases/{}/attachments/1/preview", stored.id),
    )
    .await;
    assert_eq!(preview.status(), 200);
    let shown = image::load_from_memory(&preview.bytes().await.unwrap()).unwrap();
    // 64 × 48 as taken, shown turned upright.
    assert_eq!((shown.width(), shown.height()), (48, 64));
}
