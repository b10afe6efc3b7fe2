//! PDF: the document written anew without what identifies its sender, after a bounded first
//! look (`scan`) and a bounded load.

mod clean;
mod filters;
mod inline;
mod scan;

use std::collections::HashSet;

use filters::Budget;

use crate::domain::attachment::Refusal;

/// The deepest nesting of arrays and dictionaries accepted in a PDF: real documents stay in
/// single digits, and the PDF parser recurses once per level.
const PDF_NESTING_MAX: usize = 64;

/// What all of a PDF's streams may decode to together, every filter of every chain counted:
/// a 10 MB file that would expand to gigabytes is refused instead.
const PDF_DECODED_MAX: u64 = 128 * 1024 * 1024;

/// What one object stream may decode to: writers pack a hundred or so small objects in
/// each, a few hundred kilobytes; past this it is a bomb, and parsing it would take minutes.
const OBJECT_STREAM_MAX: u64 = 16 * 1024 * 1024;

/// PDF: the trailer keeps only its root (its /Info with author, producer and dates, its /ID
/// and anything else go); XMP, application data, modification dates, embedded and attached
/// files, annotation authors and dates and signature details are removed from every object;
/// every JPEG image goes through the JPEG stripper; objects nothing refers to any more
/// (older revisions' info dictionaries among them) are dropped, and the file is written
/// anew — which also drops incremental updates — and must read back. What cannot be cleaned
/// (an encrypted PDF, a filter that cannot be decoded, JPEG 2000, a JPEG written inline in
/// a page's content) is `CannotStrip`.
pub(super) fn pdf(b: &[u8]) -> Result<Vec<u8>, Refusal> {
    let first_look = scan::scan(b, PDF_DECODED_MAX);
    if first_look.nesting > PDF_NESTING_MAX || first_look.over_budget {
        return Err(Refusal::Damaged);
    }
    let mut doc = load(b)?;
    if doc.trailer.has(b"Encrypt") {
        return Err(Refusal::CannotStrip);
    }
    if first_look.unknown_filter || first_look.inline_codec {
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
    clean::clean(&mut doc, &mut Budget(PDF_DECODED_MAX))?;
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
    let written = load(&out)?;
    if written.catalog().is_err() {
        return Err(Refusal::Damaged);
    }
    Ok(out)
}

std::thread_local! {
    /// What the object streams of the file being loaded may still decode to, and whether
    /// one of them was refused. The loader takes a plain function, so its state lives here.
    static OBJECT_STREAMS: std::cell::RefCell<(Budget, bool)> =
        const { std::cell::RefCell::new((Budget(0), false)) };
}

/// Loads a PDF, looking into every object stream before the parser does: one that decodes
/// past the budget or nests too deep is emptied, and the file refused.
fn load(b: &[u8]) -> Result<lopdf::Document, Refusal> {
    OBJECT_STREAMS.with_borrow_mut(|state| *state = (Budget(PDF_DECODED_MAX), false));
    let doc = lopdf::Reader {
        buffer: b,
        document: lopdf::Document::new(),
        encryption_state: None,
        raw_objects: std::collections::BTreeMap::new(),
    }
    .read(Some(check_object_stream));
    let refused = OBJECT_STREAMS.with_borrow(|state| state.1);
    match doc {
        Ok(doc) if !refused => Ok(doc),
        _ => Err(Refusal::Damaged),
    }
}

/// The loader's look at each object as it is read (`lopdf::Reader::read`'s filter).
fn check_object_stream(
    id: lopdf::ObjectId,
    object: &mut lopdf::Object,
) -> Option<(lopdf::ObjectId, lopdf::Object)> {
    if let lopdf::Object::Stream(stream) = object
        && stream.dict.has_type(b"ObjStm")
    {
        let safe = OBJECT_STREAMS.with_borrow_mut(|(budget, refused)| {
            let safe = clean::data_chain(&stream.dict)
                .and_then(|chain| {
                    budget
                        .capped(OBJECT_STREAM_MAX, |b| {
                            filters::decode(&stream.content, &chain, b)
                        })
                        .ok()
                })
                .is_some_and(|decoded| scan::scan(&decoded, 0).nesting <= PDF_NESTING_MAX);
            *refused |= !safe;
            safe
        });
        if !safe {
            *object = lopdf::Object::Null;
        }
    }
    Some((id, object.clone()))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A whole PDF (catalog, pages, cross-reference table) whose catalog carries `extra`.
    fn pdf_with(extra: &str) -> Vec<u8> {
        let objects = [
            format!("<< /Type /Catalog /Pages 2 0 R /Extra {extra} >>"),
            "<< /Type /Pages /Kids [] /Count 0 >>".to_string(),
        ];
        let mut file = b"%PDF-1.4\n".to_vec();
        let mut offsets = Vec::new();
        for (n, body) in objects.iter().enumerate() {
            offsets.push(file.len());
            file.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", n + 1).as_bytes());
        }
        let xref = file.len();
        file.extend_from_slice(b"xref\n0 3\n0000000000 65535 f \n");
        for offset in offsets {
            file.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
        }
        file.extend_from_slice(
            format!("trailer\n<< /Size 3 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
        );
        file
    }

    /// An object stream whose Flate data nests arrays tens of thousands deep, then turns
    /// corrupt (a fuzzer's find): the parser keeps what decoded before the fault and
    /// recursed through every level, past even the fuzzer's 16 MiB stack, while the first
    /// look had judged the stream empty, its reader having dropped the block that held the
    /// fault. Both read the same now, and the file is refused before the parser sees it.
    #[test]
    fn an_object_stream_nesting_deep_before_a_corrupt_flate_code_is_refused() {
        let file =
            include_bytes!("../../../../fuzz/corpus/metadata_strip/pdf-objstm-deep-then-corrupt");
        let read = std::thread::Builder::new()
            .stack_size(8 << 20)
            .spawn(move || pdf(file))
            .unwrap()
            .join()
            .expect("the reading thread survives");
        assert_eq!(read, Err(Refusal::Damaged));
    }

    /// The parser recurses for every array and dictionary and again for every parenthesis
    /// nested in a literal string: arrays as deep as allowed holding a string nested as deep
    /// as the parser goes used to pass the first look and take the parser twice as deep as
    /// it allows (a 2 MiB stack overflowed on it). Both count together now, and the file is
    /// refused before it is parsed, on the worker's 8 MiB stack.
    #[test]
    fn strings_nested_inside_deep_arrays_are_refused_before_the_parser_recurses() {
        let deep = format!(
            "{}{}x{}{}",
            "[".repeat(PDF_NESTING_MAX - 4),
            "(".repeat(99),
            ")".repeat(99),
            "]".repeat(PDF_NESTING_MAX - 4)
        );
        let file = pdf_with(&deep);
        let read = std::thread::Builder::new()
            .stack_size(8 << 20)
            .spawn(move || pdf(&file))
            .unwrap()
            .join()
            .expect("the reading thread survives");
        assert_eq!(read, Err(Refusal::Damaged));
        // Shallow strings and arrays are a normal document.
        let fine = pdf_with("[ (a (b) c) [ 1 2 ] ]");
        let stripped = pdf(&fine).expect("a normal document is stripped");
        assert!(lopdf::Document::load_mem(&stripped).is_ok());
    }
}
