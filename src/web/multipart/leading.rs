//! The CSRF guard's look at a multipart body: its first part, read by the multipart reader
//! from as much of the body as has arrived.

use std::cell::Cell;
use std::task::{Context, Poll};

use actix_multipart::Multipart;
use actix_web::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE, HeaderMap, HeaderValue};
use actix_web::web::Bytes;
use futures_util::StreamExt;

use super::{Cutoff, next_part, read_text};

/// What the start of a multipart body says about one field.
#[derive(Debug, PartialEq, Eq)]
pub enum Leading {
    /// The first part is the field, with this value.
    Value(String),
    /// The first part is something else (or the body is not framed as expected).
    Absent,
    /// Not enough of the body yet to tell.
    NeedMore,
}

/// Reads the first part of a multipart body from its first bytes, with the reader the handler
/// reads the whole body with, and without consuming the body: the staff guard checks the CSRF
/// field (first in every staff form) and hands the untouched body on.
///
/// Only the shape browsers send is taken — the body starts with the boundary, the part has
/// one `Content-Disposition: form-data; name="…"` header and no file name, and its value is
/// one line followed by the next boundary — and the value must stand in the bytes exactly as
/// the reader read it: where the reader is lenient (a preamble, a bare CR before a boundary,
/// a part's own Content-Length), the guard takes nothing rather than guess which way the
/// handler will go. An answer, once given on a prefix, stands however the body goes on.
pub fn leading_field(prefix: &[u8], boundary: &str, name: &str) -> Leading {
    let delimiter = format!("--{boundary}\r\n");
    if !prefix.starts_with(delimiter.as_bytes()) {
        return if delimiter.as_bytes().starts_with(prefix) {
            Leading::NeedMore
        } else {
            Leading::Absent
        };
    }
    let Some(headers) = form_headers(boundary) else {
        return Leading::Absent;
    };
    let disposition = format!("form-data; name=\"{name}\"");
    let read = std::pin::pin!(first_value(&headers, prefix, name, &disposition));
    let mut cx = Context::from_waker(futures_util::task::noop_waker_ref());
    let value = match read.poll(&mut cx) {
        // The reader waits for bytes that have not arrived yet.
        Poll::Pending => return Leading::NeedMore,
        Poll::Ready(Ok(Some(value))) => value,
        Poll::Ready(_) => return Leading::Absent,
    };
    // The part as sent: its header lines, then its value up to the next boundary.
    let after = &prefix[delimiter.len()..];
    let Some(end) = find(after, b"\r\n\r\n") else {
        return Leading::Absent;
    };
    let (head, sent) = (&after[..end], &after[end + 4..]);
    if !spelt_as_browsers_do(head, &disposition) {
        return Leading::Absent;
    }
    let closing = format!("\r\n--{boundary}");
    let as_sent = sent
        .strip_prefix(value.as_bytes())
        .is_some_and(|rest| rest.starts_with(closing.as_bytes()));
    if as_sent && !value.contains(['\r', '\n']) {
        Leading::Value(value)
    } else if find(sent, closing.as_bytes()).is_some() {
        Leading::Absent
    } else {
        // The reader ended the part where a browser would not (a bare CR before a boundary,
        // the part's own length): like any other value, it waits for the browser's boundary.
        Leading::NeedMore
    }
}

/// The value of the first part of a body of which `prefix` is all that has arrived, when that
/// part is the text field `name` and `disposition` its only Content-Disposition; else `None`.
async fn first_value(
    headers: &HeaderMap,
    prefix: &[u8],
    name: &str,
    disposition: &str,
) -> Result<Option<String>, Cutoff> {
    // Never ending: the reader waits for the rest instead of taking the prefix for the body.
    let body = futures_util::stream::iter([Ok(Bytes::copy_from_slice(prefix))])
        .chain(futures_util::stream::pending());
    let mut multipart = Multipart::new(headers, body);
    let ended = Cell::new(false);
    let Some(mut part) = next_part(&mut multipart, &ended).await? else {
        return Ok(None);
    };
    let mut dispositions = part.field.headers().get_all(CONTENT_DISPOSITION);
    let alone = dispositions
        .next()
        .is_some_and(|d| d.as_bytes() == disposition.as_bytes())
        && dispositions.next().is_none();
    if !alone || part.name != name || part.filename.is_some() {
        return Ok(None);
    }
    read_text(&mut part.field, &ended, u64::MAX).await.map(Some)
}

/// Whether a part's header lines, as sent, spell its disposition as browsers do: one space
/// after the colon, nothing after the value (the reader takes other spellings too).
fn spelt_as_browsers_do(head: &[u8], disposition: &str) -> bool {
    let line = format!("content-disposition: {disposition}");
    std::str::from_utf8(head)
        .is_ok_and(|head| head.split("\r\n").any(|l| l.eq_ignore_ascii_case(&line)))
}

/// The request headers the reader needs for a form body framed with `boundary`.
fn form_headers(boundary: &str) -> Option<HeaderMap> {
    let value = format!("multipart/form-data; boundary=\"{boundary}\"");
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_str(&value).ok()?);
    Some(headers)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_leading_csrf_field_is_read_from_the_first_bytes() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\ntok-123\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\n\r\n\xFF\xD8";
        assert_eq!(
            leading_field(body, "XyZ", "csrf"),
            Leading::Value("tok-123".into())
        );
        assert_eq!(leading_field(&body[..20], "XyZ", "csrf"), Leading::NeedMore);
        assert_eq!(leading_field(&body[..3], "XyZ", "csrf"), Leading::NeedMore);
        assert_eq!(leading_field(body, "XyZ", "channel"), Leading::Absent);
        assert_eq!(leading_field(body, "Other", "csrf"), Leading::Absent);
        let file_first = b"--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"; filename=\"x\"\r\n\r\ntok\r\n--XyZ--";
        assert_eq!(leading_field(file_first, "XyZ", "csrf"), Leading::Absent);
    }

    #[test]
    fn only_the_shape_browsers_send_is_taken_for_the_csrf_field() {
        let part = |headers: &str, value: &str| {
            format!("--XyZ\r\n{headers}\r\n\r\n{value}\r\n--XyZ--\r\n").into_bytes()
        };
        let plain = "Content-Disposition: form-data; name=\"csrf\"";
        assert_eq!(
            leading_field(&part(plain, "tok"), "XyZ", "csrf"),
            Leading::Value("tok".into())
        );
        assert_eq!(
            leading_field(
                &part("content-disposition: form-data; name=\"csrf\"", "tok"),
                "XyZ",
                "csrf"
            ),
            Leading::Value("tok".into()),
            "header names are case-insensitive"
        );
        for headers in [
            // The parser takes the first name parameter.
            "Content-Disposition: form-data; name=x; name=\"csrf\"",
            // Two dispositions, folded lines, extra parameters.
            "Content-Disposition: form-data; name=\"x\"\r\nContent-Disposition: form-data; name=\"csrf\"",
            "Content-Disposition: form-data;\r\n name=\"csrf\"",
            "Content-Disposition: form-data; name=\"csrf\"; filename=\"\"",
            "Content-Type: text/plain",
        ] {
            assert_eq!(
                leading_field(&part(headers, "tok"), "XyZ", "csrf"),
                Leading::Absent,
                "{headers}"
            );
        }
        // The parser also ends a part at a bare CR before the boundary.
        assert_eq!(
            leading_field(&part(plain, "t\r--XyZok"), "XyZ", "csrf"),
            Leading::Absent
        );
        assert_eq!(
            leading_field(
                b"--XyZ\r\n\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nt\r\n--XyZ",
                "XyZ",
                "csrf"
            ),
            Leading::Absent,
            "a part without headers"
        );
    }

    #[test]
    fn the_guard_takes_no_token_the_reader_would_read_otherwise() {
        // The reader stops at a part's own length, and gives up on a header line without a colon.
        for headers in [
            "Content-Disposition: form-data; name=\"csrf\"\r\nContent-Length: 2",
            "Content-Disposition: form-data; name=\"csrf\"\r\nno colon here",
        ] {
            let body = format!("--XyZ\r\n{headers}\r\n\r\ntok\r\n--XyZ--\r\n");
            assert_eq!(
                leading_field(body.as_bytes(), "XyZ", "csrf"),
                Leading::Absent,
                "{headers}"
            );
        }
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use crate::fuzzing::multipart::BOUNDARY;
    use crate::web::multipart::properties::{Part, body_of, part};
    use proptest::prelude::*;

    proptest! {
        /// The CSRF guard finds a one-line token in front of any body, and until the token has
        /// fully arrived it asks for more instead of guessing.
        #[test]
        fn the_guard_reads_the_leading_token_from_any_prefix(
            token in "[A-Za-z0-9_-]{0,64}",
            rest in prop::collection::vec(part(), 0..3),
        ) {
            let mut body = body_of(&[Part::Text("csrf".into(), token.clone())]);
            body.truncate(body.len() - format!("--{BOUNDARY}--\r\n").len());
            body.extend(body_of(&rest));
            let full = leading_field(&body, BOUNDARY, "csrf");
            prop_assert_eq!(&full, &Leading::Value(token.clone()));
            for end in 0..body.len() {
                let partial = leading_field(&body[..end], BOUNDARY, "csrf");
                prop_assert!(partial == Leading::NeedMore || partial == full, "{} bytes: {:?}", end, partial);
            }
            // The same body starting with another field has no leading token.
            let other = body_of(&[Part::Text("subject".into(), token)]);
            prop_assert_eq!(leading_field(&other, BOUNDARY, "csrf"), Leading::Absent);
        }
    }
}
