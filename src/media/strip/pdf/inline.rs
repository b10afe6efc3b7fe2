//! Inline images (`BI … ID … EI` inside a page's content): a JPEG or JPEG 2000 written
//! there keeps its own metadata and cannot be cleaned in place, so such a PDF is refused.
//! The first look (`scan`) asks this of every content stream it decodes anyway.

use super::scan::find;

/// Filter names (full and abbreviated, as inline images may use) whose data carries its
/// own metadata.
const CODECS_WITH_METADATA: [&[u8]; 4] = [b"DCTDecode", b"DCT", b"JPXDecode", b"JPX"];

/// Whether a stream, by its dictionary as written, holds page content: a page's
/// `/Contents` or a form XObject. Images, fonts, object streams, metadata and embedded files
/// carry a `Type`, a `Subtype` other than `Form` or a font program's lengths.
pub(super) fn is_content(dict: &[u8]) -> bool {
    if find(dict, b"/Subtype").is_some() {
        return find(dict, b"/Form").is_some();
    }
    [b"/Type".as_slice(), b"/Length1", b"/Length2", b"/Length3"]
        .iter()
        .all(|key| find(dict, key).is_none())
}

fn is_white(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | b'\0')
}

fn is_delimiter(byte: u8) -> bool {
    is_white(byte) || b"()<>[]{}/%".contains(&byte)
}

/// Whether `content[at..]` starts the operator `op` standing as a token of its own.
fn operator_at(content: &[u8], at: usize, op: &[u8]) -> bool {
    content[at..].starts_with(op)
        && (at == 0 || is_delimiter(content[at - 1]))
        && content.get(at + op.len()).is_none_or(|b| is_delimiter(*b))
}

/// Scans content for `BI <entries> ID <data> EI`, true when an image's entries name a codec
/// that keeps metadata. Strings and comments are passed over, and image data is skipped up
/// to its `EI`, so that bytes inside them are not read as operators.
pub(super) fn has_inline_codec(content: &[u8]) -> bool {
    let mut at = 0;
    while at < content.len() {
        match content[at] {
            b'(' => at = after_string(content, at),
            b'%' => {
                at = content[at..]
                    .iter()
                    .position(|b| matches!(b, b'\r' | b'\n'))
                    .map_or(content.len(), |end| at + end)
            }
            _ if operator_at(content, at, b"BI") => {
                let entries_start = at + 2;
                let Some(id) =
                    (entries_start..content.len()).find(|&i| operator_at(content, i, b"ID"))
                else {
                    return false;
                };
                let entries = &content[entries_start..id];
                if names_in(entries).any(|name| CODECS_WITH_METADATA.contains(&name)) {
                    return true;
                }
                // One white-space byte follows `ID`, then the data, then white space and `EI`.
                at = (id + 3..content.len())
                    .find(|&i| is_white(content[i - 1]) && operator_at(content, i, b"EI"))
                    .map_or(content.len(), |ei| ei + 2);
            }
            _ => at += 1,
        }
    }
    false
}

/// Where a literal string opened at `open` ends: balanced parentheses, backslash escapes.
fn after_string(content: &[u8], open: usize) -> usize {
    let mut depth = 0usize;
    let mut at = open;
    while at < content.len() {
        match content[at] {
            b'\\' => at += 1,
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return at + 1;
                }
            }
            _ => {}
        }
        at += 1;
    }
    content.len()
}

/// The names (`/Name`) written in a run of dictionary entries, without their slash.
fn names_in(entries: &[u8]) -> impl Iterator<Item = &[u8]> {
    entries.split(|b| *b == b'/').skip(1).map(|rest| {
        let end = rest
            .iter()
            .position(|b| is_delimiter(*b))
            .unwrap_or(rest.len());
        &rest[..end]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_inline_jpeg_is_found_by_its_filter_full_or_abbreviated() {
        assert!(has_inline_codec(
            b"q BI /W 1 /H 1 /CS /G /BPC 8 /F /DCT ID \xff\xd8\xff\xe1Exif EI Q"
        ));
        assert!(has_inline_codec(
            b"BI /W 1 /H 1 /Filter [/AHx /DCTDecode] ID 00 EI"
        ));
        assert!(has_inline_codec(b"BI/W 1/H 1/F/JPX ID x EI"));
    }

    #[test]
    fn content_streams_are_told_by_their_dictionary() {
        assert!(is_content(b"/Length 40 /Filter /FlateDecode"));
        assert!(is_content(b"/Type /XObject /Subtype /Form /BBox [0 0 9 9]"));
        assert!(!is_content(b"/Type /XObject /Subtype /Image /Width 4"));
        assert!(!is_content(b"/Length 300 /Length1 280"));
        assert!(!is_content(b"/Type /ObjStm /N 3 /First 12"));
    }

    #[test]
    fn pixel_images_text_and_image_data_are_not_mistaken_for_one() {
        assert!(!has_inline_codec(
            b"BI /W 2 /H 1 /CS /G /BPC 8 ID \x00\xff EI"
        ));
        // Image data that looks like a second inline image is data, not an operator.
        assert!(!has_inline_codec(
            b"BI /W 4 /H 1 /BPC 8 /CS /G ID BI /F /DCT ID EI Q"
        ));
        assert!(!has_inline_codec(b"BT /F1 12 Tf (BI /F /DCT ID) Tj ET"));
        assert!(!has_inline_codec(b"/OBI /DCT gs"));
        assert!(!has_inline_codec(
            b"(a \\) BI /F /DCT ID ) Tj % BI /F /DCT ID x EI"
        ));
    }
}
