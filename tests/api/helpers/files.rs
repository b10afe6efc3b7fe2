//! Evidence files as a browser or a client sends them: multipart bodies, photos with GPS
//! EXIF, posted to the public form or the API. No hostile input may ever get a 5xx.

use std::io::Cursor;

use sea_orm::{EntityTrait, PaginatorTrait};
use tipoff::domain::Role;
use tipoff::entities::{attachment, report};
use uuid::Uuid;

use super::reports::report_form;
use super::{Staff, TestApp};

pub const CANARY_NAME: &str = "zhangsan-home-gps-7731.jpg";
pub const LATITUDE: [(u32, u32); 3] = [(39, 1), (54, 1), (2712, 100)];

/// Fails the test on any server error: nothing here may ever yield a 5xx.
pub fn no_5xx(response: &reqwest::Response) {
    assert!(
        !response.status().is_server_error(),
        "{} answered {}",
        response.url(),
        response.status()
    );
}

/// A small real JPEG (encoded with `image`) carrying an EXIF APP1 segment with GPS position
/// and the phone's make and model, inserted right after SOI.
pub fn jpeg_with_gps() -> Vec<u8> {
    jpeg_with_gps_turned(None)
}

/// `jpeg_with_gps`, with an EXIF Orientation (6: the phone was held upright, the picture
/// must be turned 90° clockwise to show it so).
pub fn jpeg_with_gps_turned(orientation: Option<u16>) -> Vec<u8> {
    use exif::{Field, In, Rational, Tag, Value};
    let pixels = image::RgbImage::from_fn(64, 48, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 5) as u8, 128])
    });
    let mut plain = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, 90)
        .encode_image(&pixels)
        .unwrap();
    let rational = |v: &[(u32, u32)]| {
        Value::Rational(
            v.iter()
                .map(|(n, d)| Rational { num: *n, denom: *d })
                .collect(),
        )
    };
    let fields = [
        Field {
            tag: Tag::Make,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"HUAWEI".to_vec()]),
        },
        Field {
            tag: Tag::Model,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"Mate 60 Pro".to_vec()]),
        },
        Field {
            tag: Tag::GPSLatitudeRef,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"N".to_vec()]),
        },
        Field {
            tag: Tag::GPSLatitude,
            ifd_num: In::PRIMARY,
            value: rational(&LATITUDE),
        },
        Field {
            tag: Tag::GPSLongitudeRef,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"E".to_vec()]),
        },
        Field {
            tag: Tag::GPSLongitude,
            ifd_num: In::PRIMARY,
            value: rational(&[(116, 1), (23, 1), (1744, 100)]),
        },
    ];
    let turned = orientation.map(|turn| Field {
        tag: Tag::Orientation,
        ifd_num: In::PRIMARY,
        value: Value::Short(vec![turn]),
    });
    let mut writer = exif::experimental::Writer::new();
    for field in fields.iter().chain(turned.iter()) {
        writer.push_field(field);
    }
    let mut tiff = Cursor::new(Vec::new());
    writer.write(&mut tiff, false).unwrap();
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff.into_inner());
    let mut jpeg = plain[..2].to_vec();
    jpeg.extend_from_slice(&[0xFF, 0xE1]);
    jpeg.extend_from_slice(&u16::try_from(app1.len() + 2).unwrap().to_be_bytes());
    jpeg.extend_from_slice(&app1);
    jpeg.extend_from_slice(&plain[2..]);
    let parsed = exif_of(&jpeg).expect("the fixture carries EXIF");
    assert!(
        parsed.get_field(Tag::GPSLatitude, In::PRIMARY).is_some(),
        "the fixture carries GPS"
    );
    jpeg
}

pub fn exif_of(bytes: &[u8]) -> Option<exif::Exif> {
    exif::Reader::new()
        .read_from_container(&mut Cursor::new(bytes))
        .ok()
}

pub fn has_gps(bytes: &[u8]) -> bool {
    exif_of(bytes).is_some_and(|e| {
        e.get_field(exif::Tag::GPSLatitude, exif::In::PRIMARY)
            .is_some()
    })
}

/// A file part: (file name, declared type, bytes).
pub type FilePart<'a> = (&'a str, &'a str, &'a [u8]);

pub const BOUNDARY: &str = "----tipoffTestBoundary7MA4YWxkTrZu0gW";

/// A multipart/form-data body: text fields first, then files, as a browser sends a form.
pub fn multipart(fields: &[(&str, &str)], files: &[FilePart<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for (filename, content_type, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

pub async fn post_multipart(
    app: &TestApp,
    path: &str,
    body: impl Into<reqwest::Body>,
    client_ip: &str,
    cookie: Option<&str>,
) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url(path))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header("x-forwarded-for", client_ip)
        .body(body);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = request.send().await.expect("POST multipart");
    no_5xx(&response);
    response
}

/// Sends the public form with files, as a browser would after loading it.
pub async fn submit_with_files(
    app: &TestApp,
    fields: &[(&str, &str)],
    files: &[FilePart<'_>],
    client_ip: &str,
) -> reqwest::Response {
    let token = app.form_token().await;
    let all = report_form(&token, "村主任的亲戚开着小车还在吃低保，照片为证", fields);
    post_multipart(
        app,
        "/report?lang=en",
        multipart(&all, files),
        client_ip,
        None,
    )
    .await
}

/// `submit_with_files` with one file and the form as it comes.
pub async fn submit_file(app: &TestApp, file: FilePart<'_>, client_ip: &str) -> reqwest::Response {
    submit_with_files(app, &[], &[file], client_ip).await
}

pub async fn inspector(app: &TestApp) -> Staff<'_> {
    app.signed_in("insp", "检查员甲", Role::Inspector).await
}

/// An inspector signed in to look at the only report stored, and that report.
pub async fn inspector_and_the_report(app: &TestApp) -> (Staff<'_>, report::Model) {
    let stored = only_report(app).await;
    (inspector(app).await, stored)
}

pub async fn only_report(app: &TestApp) -> report::Model {
    let mut all = report::Entity::find().all(app.db()).await.unwrap();
    assert_eq!(all.len(), 1, "exactly one report stored");
    all.remove(0)
}

pub async fn counts(app: &TestApp) -> (u64, u64) {
    (
        report::Entity::find().count(app.db()).await.unwrap(),
        attachment::Entity::find().count(app.db()).await.unwrap(),
    )
}

pub async fn staff_get(staff: &Staff<'_>, path: &str) -> reqwest::Response {
    let response = staff.get(path).await;
    no_5xx(&response);
    response
}

/// The page of case `id` as `staff` is shown it (`staff_get`).
pub async fn case_page(staff: &Staff<'_>, id: Uuid) -> String {
    let path = format!("/staff/cases/{id}");
    staff_get(staff, &path).await.text().await.unwrap()
}

/// The bytes `staff` is served for case `id`'s first attachment (`staff_get`).
pub async fn first_attachment(staff: &Staff<'_>, id: Uuid) -> Vec<u8> {
    let path = format!("/staff/cases/{id}/attachments/1");
    staff_get(staff, &path)
        .await
        .bytes()
        .await
        .unwrap()
        .to_vec()
}
