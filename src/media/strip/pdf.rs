//! PDF: the document written anew without its info, IDs and XMP, after a bounded first look.

use std::collections::HashSet;

use crate::domain::attachment::Refusal;

/// The deepest nesting of arrays and dictionaries accepted in a PDF: real documents stay in
/// single digits, and the PDF parser recurses once per level.
const PDF_NESTING_MAX: usize = 64;

/// PDF: the trailer keeps only its root (its /Info with author, producer and dates, its /ID
/// and anything else go), every /Metadata (XMP) and /PieceInfo (application data) is
/// removed, objects nothing refers to any more (older revisions' info dictionaries among
/// them) are dropped, and the file is written anew — which also drops incremental updates —
/// and must read back. An encrypted PDF cannot be cleaned.
pub(super) fn pdf(b: &[u8]) -> Result<Vec<u8>, Refusal> {
    let scan = pdf_scan(b, PDF_INFLATED_MAX);
    if scan.nesting > PDF_NESTING_MAX || scan.inflated > PDF_INFLATED_MAX {
        return Err(Refusal::Damaged);
    }
    let mut doc = lopdf::Document::load_mem(b).map_err(|_| Refusal::Damaged)?;
    if doc.trailer.has(b"Encrypt") {
        return Err(Refusal::CannotStrip);
    }
    // A new trailer with the root alone: /Info, /ID and whatever else a writer put there go.
    let root = doc
        .trailer
        .get(b"Root")
        .map_err(|_| Refusal::Damaged)?
        .clone();
    doc.trailer = lopdf::Dictionary::new();
    doc.trailer.set("Root", root);
    for object in doc.objects.values_mut() {
        let dict = match object {
            lopdf::Object::Dictionary(dict) => dict,
            lopdf::Object::Stream(stream) => &mut stream.dict,
            _ => continue,
        };
        dict.remove(b"Metadata");
        dict.remove(b"PieceInfo");
    }
    let reachable = reachable_objects(&doc);
    doc.objects.retain(|id, _| reachable.contains(id));
    if doc.catalog().is_err() {
        return Err(Refusal::Damaged);
    }
    // The cross-reference table is written up to `max_id`, which a damaged trailer may
    // understate: objects past it would be written but not found again.
    doc.max_id = doc.objects.keys().map(|(id, _)| *id).max().unwrap_or(0);
    let mut out = Vec::with_capacity(b.len());
    doc.save_to(&mut out).map_err(|_| Refusal::Damaged)?;
    // Only a file that reads back is stored: the writer leaves out some kinds of object
    // (cross-reference streams, object streams) a damaged file may have used as its root.
    let written = lopdf::Document::load_mem(&out).map_err(|_| Refusal::Damaged)?;
    if written.catalog().is_err() {
        return Err(Refusal::Damaged);
    }
    Ok(out)
}

/// The objects reachable from the trailer, found without recursion and in linear time.
fn reachable_objects(doc: &lopdf::Document) -> HashSet<lopdf::ObjectId> {
    let mut seen = HashSet::new();
    let mut stack: Vec<&lopdf::Object> = doc.trailer.iter().map(|(_, v)| v).collect();
    while let Some(object) = stack.pop() {
        match object {
            lopdf::Object::Reference(id) => {
                if seen.insert(*id)
                    && let Some(target) = doc.objects.get(id)
                {
                    stack.push(target);
                }
            }
            lopdf::Object::Array(items) => stack.extend(items.iter()),
            lopdf::Object::Dictionary(dict) => stack.extend(dict.iter().map(|(_, v)| v)),
            lopdf::Object::Stream(stream) => stack.extend(stream.dict.iter().map(|(_, v)| v)),
            _ => {}
        }
    }
    seen
}

/// What all of a PDF's streams may expand to together (the PDF parser inflates object
/// streams whole): a 10 MB file that would inflate to gigabytes is refused instead.
const PDF_INFLATED_MAX: u64 = 128 * 1024 * 1024;

/// What a first pass over a PDF's bytes finds, before any parser touches it.
struct PdfScan {
    /// The deepest nesting of `[` and `<<` in the object syntax.
    nesting: usize,
    /// What its zlib streams inflate to, counted up to just past the bound given.
    inflated: u64,
}

/// Inflates `data` (if it is a zlib stream) into nothing, counting at most `budget` bytes —
/// including what a damaged or truncated stream yields before its error, since a lenient
/// reader would use that too.
fn inflated_len(data: &[u8], budget: u64) -> u64 {
    use std::io::Read;
    let mut decoder = flate2::read::ZlibDecoder::new(data);
    let mut buf = vec![0u8; 64 * 1024];
    let mut total: u64 = 0;
    while total < budget {
        match decoder.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n as u64,
        }
    }
    total.min(budget)
}

/// The nesting of arrays and dictionaries in a PDF's object syntax (skipping comments,
/// strings and stream data), so a hostile file cannot make the parser recurse until the stack
/// ends, and what its compressed streams expand to.
fn pdf_scan(b: &[u8], inflate_max: u64) -> PdfScan {
    let mut depth: usize = 0;
    let mut deepest = 0;
    let mut inflated: u64 = 0;
    let mut at = 0;
    while at < b.len() {
        match b[at] {
            b'%' => {
                while at < b.len() && b[at] != b'\n' && b[at] != b'\r' {
                    at += 1;
                }
            }
            b'(' => {
                // A literal string: balanced parentheses, backslash escapes.
                let mut open = 0usize;
                while at < b.len() {
                    match b[at] {
                        b'\\' => at += 1,
                        b'(' => open += 1,
                        b')' => {
                            open -= 1;
                            if open == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    at += 1;
                }
            }
            b'[' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' => depth = depth.saturating_sub(1),
            b'<' if b.get(at + 1) == Some(&b'<') => {
                depth += 1;
                deepest = deepest.max(depth);
                at += 1;
            }
            b'>' if b.get(at + 1) == Some(&b'>') => {
                depth = depth.saturating_sub(1);
                at += 1;
            }
            b's' if b[at..].starts_with(b"stream") && !b[..at].ends_with(b"end") => {
                // Stream data is opaque bytes up to `endstream`.
                let start = at + 6;
                let Some(offset) = find(&b[start..], b"endstream") else {
                    break;
                };
                let data = &b[start..start + offset];
                let data = data
                    .strip_prefix(b"\r\n")
                    .or_else(|| data.strip_prefix(b"\n"))
                    .unwrap_or(data);
                inflated += inflated_len(data, inflate_max + 1 - inflated.min(inflate_max));
                if inflated > inflate_max {
                    break;
                }
                at = start + offset + 8;
            }
            _ => {}
        }
        at += 1;
    }
    PdfScan {
        nesting: deepest,
        inflated,
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdf_nesting_is_measured_outside_strings_and_streams() {
        let nesting = |b: &[u8]| pdf_scan(b, PDF_INFLATED_MAX).nesting;
        assert_eq!(nesting(b"<< /A [ [ 1 ] ] >>"), 3);
        assert_eq!(nesting(b"(((([[[[))))) << >>"), 1);
        assert_eq!(nesting(b"<< /Length 4 >>\nstream\n[[[[\nendstream"), 1);
        let deep = format!("%PDF-1.4\n{}", "[".repeat(100_000));
        assert_eq!(pdf(deep.as_bytes()), Err(Refusal::Damaged));
    }

    #[test]
    fn a_pdf_whose_streams_inflate_past_the_bound_is_refused() {
        use std::io::Write;
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&vec![0u8; 3 * 1024 * 1024]).unwrap();
        let bomb = encoder.finish().unwrap();
        assert!(bomb.len() < 64 * 1024, "a small stream");
        let mut file =
            b"%PDF-1.5\n1 0 obj\n<< /Type /ObjStm /Filter /FlateDecode >>\nstream\n".to_vec();
        file.extend_from_slice(&bomb);
        file.extend_from_slice(b"\nendstream\nendobj\n");
        // Scaled down: 3 MiB against a 1 MiB bound stands for gigabytes against 128 MiB.
        assert!(pdf_scan(&file, 1024 * 1024).inflated > 1024 * 1024);
        assert_eq!(pdf_scan(&file, 4 * 1024 * 1024).inflated, 3 * 1024 * 1024);
        let truncated = &bomb[..bomb.len() / 2];
        assert!(
            inflated_len(truncated, u64::MAX) > 0,
            "a truncated stream still counts"
        );
    }
}
