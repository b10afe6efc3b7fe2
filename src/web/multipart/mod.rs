//! Reading form bodies as they stream in: the one multipart reader, for uploads and the CSRF guard.
//!
//! Text fields and evidence files are cut off the moment a limit is passed and held in memory
//! only (nothing is ever written to disk).

mod leading;

use std::cell::{Cell, RefCell};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_multipart::{Field, Multipart};
use actix_web::HttpRequest;
use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::http::header::{CONTENT_TYPE, HeaderMap};
use actix_web::web::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};

use crate::config::Settings;
use crate::domain::attachment::{Upload, clean_name};

pub use leading::{Leading, leading_field};

/// Whether a body with these headers is `multipart/form-data`.
pub fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        })
}

/// Route guard: sends multipart bodies to the handler that streams them.
pub fn multipart_guard(ctx: &actix_web::guard::GuardContext<'_>) -> bool {
    is_multipart(ctx.head().headers())
}

/// A form struct from multipart text fields: the last value of a repeated field wins and
/// unknown fields are ignored, as for a url-encoded form.
pub fn form_from_fields<T: serde::de::DeserializeOwned>(
    fields: Vec<(String, String)>,
) -> Option<T> {
    let fields: serde_json::Map<String, serde_json::Value> = fields
        .into_iter()
        .map(|(k, v)| (k, serde_json::Value::String(v)))
        .collect();
    serde_json::from_value(serde_json::Value::Object(fields)).ok()
}

/// The limits one upload is held to.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_files: usize,
    pub max_file_bytes: u64,
    pub max_total_bytes: u64,
    /// All text fields together: the same limit as a plain form body.
    pub max_text_bytes: u64,
}

/// Room for part headers and boundaries on top of the content limits.
const FRAMING_ALLOWANCE: u64 = 64 * 1024;
/// After a refusal the rest of the body is read and thrown away, so the client (a browser
/// still sending) receives the answer instead of a reset connection — up to this much more
/// than the limits, and for this long.
const DRAIN_FACTOR: u64 = 4;
const DRAIN_TIME: Duration = Duration::from_secs(60);

impl Limits {
    pub fn new(settings: &Settings) -> Limits {
        let files = &settings.attachments;
        Limits {
            max_files: files.max_files,
            max_file_bytes: files.max_file_bytes,
            max_total_bytes: files.max_total_bytes,
            max_text_bytes: settings.server.body_limit as u64,
        }
    }

    /// The most a whole body may carry on the wire.
    fn body_cap(&self) -> u64 {
        self.max_total_bytes + self.max_text_bytes + FRAMING_ALLOWANCE
    }
}

/// What a multipart body carried.
#[derive(Default)]
pub struct Received {
    /// Text fields in the order sent.
    pub fields: Vec<(String, String)>,
    /// The files, when they were kept (see `read`).
    pub files: Vec<Upload>,
    /// How many non-empty files were sent, kept or not.
    pub sent_files: usize,
}

impl Received {
    /// The last value of a text field.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why reading stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cutoff {
    TooManyFiles,
    /// The `index`th file (from 1) passed the size limit for one file.
    FileTooLarge {
        index: usize,
        name: Option<String>,
    },
    TotalTooLarge,
    TextTooLarge,
    /// Not multipart, or broken framing.
    Malformed,
}

impl Cutoff {
    /// 413 for every limit, 400 for a body that is not readable multipart.
    pub fn is_too_large(&self) -> bool {
        !matches!(self, Cutoff::Malformed)
    }
}

/// A body refused part-way: what had been read (text typed before the files, for the
/// re-shown form), and why.
pub struct Refused {
    pub received: Received,
    pub cutoff: Cutoff,
}

/// Reads a multipart body, keeping text fields and (when `keep_files`) the files' bytes.
/// Counting starts with the first byte: the moment a limit is passed, reading stops, so no
/// more than the limits (plus one chunk) is ever held. Without `keep_files` the files are
/// only counted, for a request that will be refused anyway but whose text is shown again.
pub async fn read(
    req: &HttpRequest,
    payload: Payload,
    limits: &Limits,
    keep_files: bool,
) -> Result<Received, Refused> {
    let raw = Rc::new(RefCell::new(payload));
    let tripped = Rc::new(Cell::new(false));
    let ended = Rc::new(Cell::new(false));
    let metered = Metered {
        raw: Rc::clone(&raw),
        seen: 0,
        cap: limits.body_cap(),
        tripped: Rc::clone(&tripped),
        ended: Rc::clone(&ended),
    };
    let mut multipart = Multipart::new(req.headers(), metered);
    let mut received = Received::default();
    let outcome = read_parts(&mut multipart, &ended, limits, keep_files, &mut received).await;
    drop(multipart);
    match outcome {
        Ok(()) => Ok(received),
        Err(cutoff) => {
            let cutoff = if tripped.get() && cutoff == Cutoff::Malformed {
                Cutoff::TotalTooLarge
            } else {
                cutoff
            };
            received.files.clear();
            let _ = tokio::time::timeout(DRAIN_TIME, drain(&raw, DRAIN_FACTOR * limits.body_cap()))
                .await;
            Err(Refused { received, cutoff })
        }
    }
}

async fn read_parts(
    multipart: &mut Multipart,
    ended: &Cell<bool>,
    limits: &Limits,
    keep_files: bool,
    received: &mut Received,
) -> Result<(), Cutoff> {
    let mut file_bytes: u64 = 0;
    let mut text_bytes: u64 = 0;
    while let Some(Part {
        name,
        filename,
        mut field,
    }) = next_part(multipart, ended).await?
    {
        if filename.is_some() || name == "file" {
            let index = received.sent_files + 1;
            let shown_name = filename.as_deref().and_then(clean_name);
            // One growing buffer: the chunks are copied out (holding the parser's own
            // buffers would pin allocations larger than the data in them), and a large
            // buffer grows by remapping its pages rather than copying them.
            let mut bytes: Vec<u8> = Vec::new();
            let mut size: u64 = 0;
            while let Some(chunk) = next_unless_stalled(&mut field, ended).await? {
                let chunk = chunk.map_err(|_| Cutoff::Malformed)?;
                if chunk.is_empty() {
                    continue;
                }
                if size == 0 && received.sent_files >= limits.max_files {
                    return Err(Cutoff::TooManyFiles);
                }
                size += chunk.len() as u64;
                file_bytes += chunk.len() as u64;
                if size > limits.max_file_bytes {
                    return Err(Cutoff::FileTooLarge {
                        index,
                        name: shown_name,
                    });
                }
                if file_bytes > limits.max_total_bytes {
                    return Err(Cutoff::TotalTooLarge);
                }
                if keep_files {
                    bytes.extend_from_slice(&chunk);
                }
            }
            // A file input left empty still sends an empty part.
            if size == 0 {
                continue;
            }
            received.sent_files += 1;
            if keep_files {
                bytes.shrink_to_fit();
                received.files.push(Upload {
                    name: shown_name,
                    bytes,
                });
            }
        } else {
            let value = read_text(&mut field, ended, limits.max_text_bytes - text_bytes).await?;
            text_bytes += value.len() as u64;
            received.fields.push((name, value));
        }
    }
    Ok(())
}

/// One part of a body as the reader takes it: its name, the file name if it is a file, and
/// its contents, still to be read.
struct Part {
    name: String,
    filename: Option<String>,
    field: Field,
}

/// The next part of the body, `None` after the last.
async fn next_part(multipart: &mut Multipart, ended: &Cell<bool>) -> Result<Option<Part>, Cutoff> {
    let Some(field) = next_unless_stalled(multipart, ended).await? else {
        return Ok(None);
    };
    let field = field.map_err(|_| Cutoff::Malformed)?;
    let (name, filename) = match field.content_disposition() {
        Some(cd) => (
            cd.get_name().map(str::to_string),
            cd.get_filename().map(str::to_string),
        ),
        None => return Err(Cutoff::Malformed),
    };
    let name = name.ok_or(Cutoff::Malformed)?;
    Ok(Some(Part {
        name,
        filename,
        field,
    }))
}

/// The value of a text part, refused once it passes `room` bytes.
async fn read_text(field: &mut Field, ended: &Cell<bool>, room: u64) -> Result<String, Cutoff> {
    let mut value = BytesMut::new();
    while let Some(chunk) = next_unless_stalled(field, ended).await? {
        let chunk = chunk.map_err(|_| Cutoff::Malformed)?;
        if (value.len() + chunk.len()) as u64 > room {
            return Err(Cutoff::TextTooLarge);
        }
        value.extend_from_slice(&chunk);
    }
    String::from_utf8(value.to_vec()).map_err(|_| Cutoff::Malformed)
}

/// The next field of the body, or the next chunk of a field. Once the whole body has arrived
/// the parser has all it will ever get, yet actix-multipart answers "not yet" for some bodies
/// cut off inside a boundary — and nothing would ever wake it: such a body is malformed.
async fn next_unless_stalled<S: Stream + Unpin>(
    stream: &mut S,
    ended: &Cell<bool>,
) -> Result<Option<S::Item>, Cutoff> {
    futures_util::future::poll_fn(|cx| match stream.poll_next_unpin(cx) {
        Poll::Ready(item) => Poll::Ready(Ok(item)),
        Poll::Pending if ended.get() => Poll::Ready(Err(Cutoff::Malformed)),
        Poll::Pending => Poll::Pending,
    })
    .await
}

/// The request body with a running count: past `cap` bytes it fails, so the multipart parser
/// (which buffers a part's headers until they end) cannot be made to hold more. `ended` is
/// set once the body has been read to its end.
struct Metered {
    raw: Rc<RefCell<Payload>>,
    seen: u64,
    cap: u64,
    tripped: Rc<Cell<bool>>,
    ended: Rc<Cell<bool>>,
}

impl Stream for Metered {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.tripped.get() {
            return Poll::Ready(Some(Err(PayloadError::Overflow)));
        }
        let polled = Pin::new(&mut *this.raw.borrow_mut()).poll_next(cx);
        match polled {
            Poll::Ready(Some(Ok(chunk))) => {
                this.seen += chunk.len() as u64;
                if this.seen > this.cap {
                    this.tripped.set(true);
                    Poll::Ready(Some(Err(PayloadError::Overflow)))
                } else {
                    Poll::Ready(Some(Ok(chunk)))
                }
            }
            Poll::Ready(None) => {
                this.ended.set(true);
                Poll::Ready(None)
            }
            other => other,
        }
    }
}

/// Reads and discards what is left of the body, up to `cap` bytes.
async fn drain(raw: &Rc<RefCell<Payload>>, cap: u64) {
    let mut drained: u64 = 0;
    loop {
        let next =
            futures_util::future::poll_fn(|cx| Pin::new(&mut *raw.borrow_mut()).poll_next(cx))
                .await;
        match next {
            Some(Ok(chunk)) => {
                drained += chunk.len() as u64;
                if drained > cap {
                    return;
                }
            }
            _ => return,
        }
    }
}

/// Reads a plain (url-encoded) body of at most `limit` bytes.
pub async fn read_small(payload: Payload, limit: usize) -> Result<Bytes, Cutoff> {
    let mut payload = payload;
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| Cutoff::Malformed)?;
        if body.len() + chunk.len() > limit {
            return Err(Cutoff::TextTooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

#[cfg(test)]
mod properties {
    use super::*;
    use crate::fuzzing::multipart::{BOUNDARY, LIMITS, read_body};
    use proptest::prelude::*;

    /// One part of a generated body: a text field, or a file with the name a device gave it.
    #[derive(Debug, Clone)]
    pub(super) enum Part {
        Text(String, String),
        File(String, Vec<u8>),
    }

    pub(super) fn part() -> impl Strategy<Value = Part> {
        let field = prop::sample::select(vec!["csrf", "description", "subject", "报告"]);
        let filename = prop::sample::select(vec![
            "a.jpg",
            "DCIM/Camera/IMG_0001.jpg",
            "../../etc/passwd",
            "  录音 1.m4a ",
            "/",
            "",
        ]);
        prop_oneof![
            // Any text but a carriage return, which the parser may take for a boundary.
            (field, "[^\r]{0,120}").prop_map(|(n, v)| Part::Text(n.into(), v)),
            (filename, prop::collection::vec(any::<u8>(), 0..80))
                .prop_map(|(n, b)| Part::File(n.into(), b)),
        ]
    }

    pub(super) fn body_of(parts: &[Part]) -> Vec<u8> {
        let mut body = Vec::new();
        for part in parts {
            body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
            let (headers, value) = match part {
                Part::Text(name, value) => (
                    format!("Content-Disposition: form-data; name=\"{name}\""),
                    value.as_bytes(),
                ),
                Part::File(name, bytes) => (
                    format!(
                        "Content-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream"
                    ),
                    bytes.as_slice(),
                ),
            };
            body.extend_from_slice(headers.as_bytes());
            body.extend_from_slice(b"\r\n\r\n");
            body.extend_from_slice(value);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        body
    }

    proptest! {
        /// The reader returns exactly what was sent — text in order, non-empty files with
        /// their cleaned names — whenever the body is within every limit, refuses it (keeping
        /// no file) whenever it is not, and does not care how the network split it.
        #[test]
        fn what_is_sent_within_the_limits_is_read_back_exactly(
            parts in prop::collection::vec(part(), 1..5),
            chunk in 1usize..200,
        ) {
            let body = body_of(&parts);
            // A file may hold anything but what the parser takes for a boundary.
            let delimiter = format!("--{BOUNDARY}");
            prop_assume!(!parts.iter().any(|p| matches!(p, Part::File(_, b)
                if b.windows(delimiter.len()).any(|w| w == delimiter.as_bytes()))));

            let files: Vec<&Part> = parts
                .iter()
                .filter(|p| matches!(p, Part::File(_, b) if !b.is_empty()))
                .collect();
            let size = |p: &Part| match p {
                Part::File(_, b) => b.len() as u64,
                Part::Text(..) => 0,
            };
            let text: usize = parts
                .iter()
                .map(|p| match p {
                    Part::Text(_, v) => v.len(),
                    Part::File(..) => 0,
                })
                .sum();
            let within = files.len() <= LIMITS.max_files
                && files.iter().all(|f| size(f) <= LIMITS.max_file_bytes)
                && files.iter().map(|f| size(f)).sum::<u64>() <= LIMITS.max_total_bytes
                && text as u64 <= LIMITS.max_text_bytes;

            match read_body(&body, chunk) {
                Ok(received) => {
                    prop_assert!(within, "a body past the limits was accepted");
                    let texts: Vec<(String, String)> = parts
                        .iter()
                        .filter_map(|p| match p {
                            Part::Text(n, v) => Some((n.clone(), v.clone())),
                            Part::File(..) => None,
                        })
                        .collect();
                    prop_assert_eq!(&received.fields, &texts);
                    prop_assert_eq!(received.files.len(), files.len());
                    for (got, sent) in received.files.iter().zip(&files) {
                        let Part::File(name, bytes) = sent else { unreachable!() };
                        prop_assert_eq!(&got.bytes, bytes);
                        prop_assert_eq!(got.name.clone(), clean_name(name));
                    }
                }
                Err(refused) => {
                    prop_assert!(!within, "a body within the limits was refused: {:?}", refused.cutoff);
                    prop_assert!(refused.cutoff.is_too_large());
                    prop_assert!(refused.received.files.is_empty());
                }
            }
        }
    }
}
