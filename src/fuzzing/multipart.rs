//! Targets for multipart bodies: the streaming reader behind the upload forms and the CSRF
//! guard's look at a body's first part.

use actix_web::dev::Payload;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::web::Bytes;

use crate::web::multipart::{Leading, Limits, Received, Refused, leading_field, read};

/// The boundary every fuzzed body is sent with (the seeds use it too).
pub(crate) const BOUNDARY: &str = "tipoffBoundary";

/// Limits small enough for fuzzed inputs (at most a few KiB) to reach every one of them.
pub(crate) const LIMITS: Limits = Limits {
    max_files: 2,
    max_file_bytes: 64,
    max_total_bytes: 100,
    max_text_bytes: 256,
};

/// A multipart body as the upload forms stream it in. The first byte chooses the size of the
/// chunks the rest arrives in, for the reader must not care where the network split it.
///
/// Checked: every limit holds for what is kept; a refused body keeps no file; the body read
/// in one piece and read in chunks gives the same fields and files; and when the CSRF guard
/// finds a leading `csrf` field, the reader reads the same first field.
pub fn multipart_body(data: &[u8]) {
    let Some((&split, body)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(split % 64) + 1;
    let whole = read_body(body, body.len().max(1));
    let chunked = read_body(body, chunk);

    match (&whole, &chunked) {
        (Ok(a), Ok(b)) => {
            check_limits(a);
            assert_eq!(a.fields, b.fields, "fields depend on chunking");
            assert_eq!(
                files_of(a),
                files_of(b),
                "files depend on chunking ({chunk}-byte chunks)"
            );
            assert_eq!(a.sent_files, b.sent_files);
        }
        (Err(a), Err(b)) => {
            assert!(a.received.files.is_empty() && b.received.files.is_empty());
            // Which limit trips first may depend on where chunks end; refusal does not.
            assert_eq!(
                a.cutoff.is_too_large(),
                b.cutoff.is_too_large(),
                "{:?} read whole, {:?} in {chunk}-byte chunks",
                a.cutoff,
                b.cutoff
            );
        }
        _ => panic!(
            "read whole: {}, in {chunk}-byte chunks: {}",
            outcome(&whole),
            outcome(&chunked)
        ),
    }

    if let (Leading::Value(token), Ok(received)) = (leading_field(body, BOUNDARY, "csrf"), &whole) {
        assert_eq!(
            received.fields.first(),
            Some(&("csrf".to_string(), token)),
            "the CSRF guard and the reader disagree on the first field"
        );
    }
}

/// The CSRF guard's reading of a body's first part, as the body streams in.
///
/// Checked: an answer given on a prefix of the body never changes as more arrives (the guard
/// answers as soon as it can); and a well-framed first field holding any one-line value (the
/// fuzzed bytes) is read back exactly, with `NeedMore` on every shorter prefix.
pub fn multipart_leading_field(data: &[u8]) {
    let full = leading_field(data, BOUNDARY, "csrf");
    let step = (data.len() / 256).max(1);
    for end in (0..data.len()).step_by(step) {
        let partial = leading_field(&data[..end], BOUNDARY, "csrf");
        assert!(
            partial == Leading::NeedMore || partial == full,
            "{end} bytes say {partial:?}, the whole body {full:?}"
        );
    }

    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    let closing = format!("\r\n--{BOUNDARY}");
    if value.contains(&closing) {
        return;
    }
    let head = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{value}{closing}"
    );
    let expected = if value.contains(['\r', '\n']) {
        Leading::Absent
    } else {
        Leading::Value(value.to_string())
    };
    assert_eq!(leading_field(head.as_bytes(), BOUNDARY, "csrf"), expected);
    let framed = head.len() - closing.len();
    for end in (0..framed).step_by(step) {
        assert_eq!(
            leading_field(&head.as_bytes()[..end], BOUNDARY, "csrf"),
            Leading::NeedMore,
            "a well-framed field refused after {end} bytes"
        );
    }
}

/// Runs the service's multipart reader over `body`, delivered in `chunk`-byte pieces.
pub(crate) fn read_body(body: &[u8], chunk: usize) -> Result<Received, Refused> {
    let req = actix_web::test::TestRequest::post()
        .insert_header((
            CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        ))
        .to_http_request();
    let pieces: Vec<Result<Bytes, actix_web::error::PayloadError>> = body
        .chunks(chunk)
        .map(|piece| Ok(Bytes::copy_from_slice(piece)))
        .collect();
    let stream: actix_http::BoxedPayloadStream = Box::pin(futures_util::stream::iter(pieces));
    let payload = Payload::from(stream);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap_or_else(|e| panic!("no runtime for the reader: {e}"));
    runtime.block_on(read(&req, payload, &LIMITS, true))
}

fn check_limits(received: &Received) {
    assert_eq!(received.files.len(), received.sent_files);
    assert!(
        received.sent_files <= LIMITS.max_files,
        "too many files kept"
    );
    let mut total = 0;
    for file in &received.files {
        assert!(!file.bytes.is_empty(), "an empty file was kept");
        assert!(file.bytes.len() as u64 <= LIMITS.max_file_bytes);
        total += file.bytes.len() as u64;
        if let Some(name) = &file.name {
            assert!(!name.is_empty() && name.trim() == name);
            assert!(!name.contains(['/', '\\']), "a path survived: {name:?}");
            assert!(!name.chars().any(char::is_control));
        }
    }
    assert!(total <= LIMITS.max_total_bytes, "{total} file bytes kept");
    let text: usize = received.fields.iter().map(|(_, v)| v.len()).sum();
    assert!(
        text as u64 <= LIMITS.max_text_bytes,
        "{text} text bytes kept"
    );
}

fn files_of(received: &Received) -> Vec<(Option<&str>, &[u8])> {
    received
        .files
        .iter()
        .map(|f| (f.name.as_deref(), f.bytes.as_slice()))
        .collect()
}

fn outcome(result: &Result<Received, Refused>) -> String {
    match result {
        Ok(received) => format!(
            "{} fields, {} files",
            received.fields.len(),
            received.files.len()
        ),
        Err(refused) => format!("refused ({:?})", refused.cutoff),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::web::multipart::Cutoff;

    fn seed(name: &str) -> Vec<u8> {
        crate::fuzzing::tests::seed("multipart_leading_field", name)
    }

    /// The checks above only bite when bodies are read: the seeds reach every outcome.
    #[test]
    fn the_saved_seeds_reach_every_outcome_of_the_reader() {
        let read = seed("csrf-then-file");
        for chunk in [1, 7, read.len()] {
            let received = read_body(&read, chunk).ok().expect("a well-formed body");
            assert_eq!(received.fields, [("csrf".into(), "tok123".into())]);
            assert_eq!(received.files.len(), 1);
            assert_eq!(received.files[0].name.as_deref(), Some("IMG_1.jpg"));
        }
        assert_eq!(
            leading_field(&read, BOUNDARY, "csrf"),
            Leading::Value("tok123".into())
        );
        let cutoff = |name: &str| read_body(&seed(name), 5).err().expect(name).cutoff;
        assert_eq!(cutoff("too-many-files"), Cutoff::TooManyFiles);
        assert!(matches!(
            cutoff("file-too-large"),
            Cutoff::FileTooLarge { index: 1, .. }
        ));
        assert_eq!(cutoff("total-too-large"), Cutoff::TotalTooLarge);
        assert_eq!(cutoff("text-too-large"), Cutoff::TextTooLarge);
        assert_eq!(cutoff("bad-utf8"), Cutoff::Malformed);
        assert_eq!(
            leading_field(&seed("not-csrf-first"), BOUNDARY, "csrf"),
            Leading::Absent
        );
        assert_eq!(
            leading_field(&seed("no-closing"), BOUNDARY, "csrf"),
            Leading::NeedMore
        );
    }
}
