//! Opening a case's evidence files: always as a download (never rendered by the browser),
//! sandboxed, uncached and audited; images also as a re-encoded PNG preview.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, web};

use uuid::Uuid;

use super::{Desk, path_id};
use crate::domain::attachment::Kind;
use crate::error::{AppError, ErrorKind};
use crate::media::NotPrepared;
use crate::services::attachments::{OpenedAttachment, Opening, open_attachment};

/// Nothing in a served file may run, load or frame anything, whatever a browser makes of it.
const SANDBOX: &str = "sandbox; default-src 'none'";

fn not_found() -> AppError {
    AppError::bare(ErrorKind::NotFound)
}

/// `attachment; filename="attachment-1.pdf"; filename*=UTF-8''%E9%99%84%E4%BB%B61.pdf`:
/// an ASCII name for old clients, the real (neutral) name per RFC 5987 for the rest. The
/// extension always comes from the sniffed kind.
fn disposition(kind: &str, seq: i32, ext: &str) -> String {
    let name = format!("附件{seq}.{ext}");
    let encoded: String = name
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("{kind}; filename=\"attachment-{seq}.{ext}\"; filename*=UTF-8''{encoded}")
}

fn served(content_type: &str, disposition: String, body: Vec<u8>) -> HttpResponse {
    let mut response = HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CONTENT_DISPOSITION, disposition))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CONTENT_SECURITY_POLICY, SANDBOX))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        // Already compressed (or sealed evidence): sent as stored.
        .insert_header((header::CONTENT_ENCODING, "identity"))
        .body(body);
    response.headers_mut().insert(
        header::HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// The case and its file named by the path (`{id}/attachments/{n}`, n from 1), the file
/// opened and the opening audited.
async fn open(
    desk: &Desk,
    (id, seq): &(String, String),
    opening: Opening,
) -> Result<(Uuid, OpenedAttachment), AppError> {
    let id = path_id(id)?;
    let seq = seq
        .parse::<i32>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(not_found)?;
    let file = open_attachment(desk.caller(), id, seq, opening)
        .await?
        .ok_or_else(not_found)?;
    Ok((id, file))
}

/// The stored file as a download under its neutral name and sniffed type.
pub async fn download_attachment(
    desk: Desk,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (_, file) = open(&desk, &path, Opening::Download).await?;
    Ok(served(
        file.kind.media_type(),
        disposition("attachment", file.seq, file.kind.extension()),
        file.content.to_vec(),
    ))
}

/// An image attachment decoded and re-encoded as PNG: what the browser shows is pixels the
/// server produced, never the bytes that were uploaded.
pub async fn preview_attachment(
    desk: Desk,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (case, file) = open(&desk, &path, Opening::Preview).await?;
    let (seq, kind): (i32, Kind) = (file.seq, file.kind);
    let png = crate::media::preview(&desk.state.media, kind, &file.content).await;
    match png {
        Ok(png) => Ok(served("image/png", disposition("inline", seq, "png"), png)),
        Err(NotPrepared::Busy(wait)) => Err(AppError::bare(ErrorKind::RateLimited(wait))),
        Err(_) => {
            tracing::warn!(case = %case, seq, "attachment preview could not be decoded");
            Err(not_found())
        }
    }
}
