//! What is taken out of every object of a loaded PDF: metadata, dates, authors, attached
//! files, signature details; and what JPEG images carry inside them.

use lopdf::{Dictionary, Object, ObjectId};

use super::filters::{self, Budget, Data, Filter};
use crate::domain::attachment::Refusal;

/// Keys removed from every dictionary: XMP, application data, modification and creation
/// dates, associated files and the embedded files of file specifications and name trees.
const EVERYWHERE: &[&[u8]] = &[
    b"Metadata",
    b"PieceInfo",
    b"LastModified",
    b"CreationDate",
    b"ModDate",
    b"AF",
    b"EF",
    b"EmbeddedFiles",
    b"Collection",
];

/// Keys of an annotation that say who made it and when (`T` is the author of a comment; a
/// form field's widget keeps its `T`, which is the field's name).
const ANNOTATION: &[&[u8]] = &[b"M", b"NM", b"CreationDate"];

/// Keys of a signature that name the signer, where and when.
const SIGNATURE: &[&[u8]] = &[
    b"Name",
    b"M",
    b"Location",
    b"ContactInfo",
    b"Reason",
    b"Cert",
    b"Contents",
    b"Prop_Build",
];

/// The annotation subtypes of ISO 32000-1, 12.5.6.
const ANNOTATION_SUBTYPES: &[&[u8]] = &[
    b"Text",
    b"Link",
    b"FreeText",
    b"Line",
    b"Square",
    b"Circle",
    b"Polygon",
    b"PolyLine",
    b"Highlight",
    b"Underline",
    b"Squiggly",
    b"StrikeOut",
    b"Stamp",
    b"Caret",
    b"Ink",
    b"Popup",
    b"FileAttachment",
    b"Sound",
    b"Movie",
    b"Widget",
    b"Screen",
    b"PrinterMark",
    b"TrapNet",
    b"Watermark",
    b"3D",
    b"Redact",
    b"RichMedia",
    b"Projection",
];

/// Cleans every object of `doc` in place. File-attachment annotations become nulls (what
/// pointed at them then points at nothing, and the files they held are dropped as
/// unreachable); JPEG images are stripped within `budget`.
pub(super) fn clean(doc: &mut lopdf::Document, budget: &mut Budget) -> Result<(), Refusal> {
    let attachments: Vec<ObjectId> = doc
        .objects
        .iter()
        .filter(|(_, object)| dict_of(object).is_some_and(is_file_attachment))
        .map(|(id, _)| *id)
        .collect();
    for id in attachments {
        doc.objects.insert(id, Object::Null);
    }
    for object in doc.objects.values_mut() {
        match object {
            Object::Stream(stream) => {
                clean_dict(&mut stream.dict);
                if stream.dict.get(b"Subtype").and_then(Object::as_name).ok() == Some(b"Image") {
                    clean_image(stream, budget)?;
                }
            }
            Object::Dictionary(dict) => clean_dict(dict),
            Object::Array(items) => clean_items(items),
            _ => {}
        }
    }
    Ok(())
}

fn dict_of(object: &Object) -> Option<&Dictionary> {
    match object {
        Object::Dictionary(dict) => Some(dict),
        Object::Stream(stream) => Some(&stream.dict),
        _ => None,
    }
}

fn name_of<'a>(dict: &'a Dictionary, key: &[u8]) -> Option<&'a [u8]> {
    dict.get(key).and_then(Object::as_name).ok()
}

fn is_file_attachment(dict: &Dictionary) -> bool {
    name_of(dict, b"Subtype") == Some(b"FileAttachment")
}

fn is_annotation(dict: &Dictionary) -> bool {
    name_of(dict, b"Type") == Some(b"Annot")
        || name_of(dict, b"Subtype").is_some_and(|s| ANNOTATION_SUBTYPES.contains(&s))
            && (dict.has(b"Rect") || dict.has(b"P") || dict.has(b"Parent"))
}

/// Cleans one dictionary and every dictionary written directly inside it.
fn clean_dict(dict: &mut Dictionary) {
    for key in EVERYWHERE {
        dict.remove(key);
    }
    if is_annotation(dict) {
        for key in ANNOTATION {
            dict.remove(key);
        }
        if name_of(dict, b"Subtype") != Some(b"Widget") {
            dict.remove(b"T");
        }
    }
    if dict.has(b"ByteRange") || name_of(dict, b"Type") == Some(b"Sig") {
        for key in SIGNATURE {
            dict.remove(key);
        }
    }
    for (_, value) in dict.iter_mut() {
        match value {
            Object::Dictionary(inner) => clean_dict(inner),
            Object::Array(items) => clean_items(items),
            _ => {}
        }
    }
}

/// Cleans the dictionaries of an array, and drops file-attachment annotations written in it.
fn clean_items(items: &mut Vec<Object>) {
    items.retain(|item| !matches!(item, Object::Dictionary(d) if is_file_attachment(d)));
    for item in items.iter_mut() {
        match item {
            Object::Dictionary(inner) => clean_dict(inner),
            Object::Array(inner) => clean_items(inner),
            _ => {}
        }
    }
}

/// The filters of a stream, as named in its dictionary (a name or an array of names).
fn filters_of(dict: &Dictionary) -> Vec<Filter> {
    match dict.get(b"Filter") {
        Ok(Object::Name(name)) => vec![Filter::named(name)],
        Ok(Object::Array(names)) => names
            .iter()
            .map(|n| n.as_name().map_or(Filter::Unknown, Filter::named))
            .collect(),
        Ok(_) => vec![Filter::Unknown],
        Err(_) => Vec::new(),
    }
}

/// The data filters of a stream whose every filter is a data filter: `None` otherwise.
pub(super) fn data_chain(dict: &Dictionary) -> Option<Vec<Data>> {
    filters_of(dict)
        .into_iter()
        .map(|f| match f {
            Filter::Data(data) => Some(data),
            _ => None,
        })
        .collect()
}

/// A JPEG image (`DCTDecode`, after any data filters) is decoded to its JPEG bytes,
/// stripped, and stored behind `DCTDecode` alone. Other codecs hold pixels only; JPEG 2000
/// and unknown filters cannot be cleaned.
fn clean_image(stream: &mut lopdf::Stream, budget: &mut Budget) -> Result<(), Refusal> {
    let chain = filters_of(&stream.dict);
    let Some((last, before)) = chain.split_last() else {
        return Ok(());
    };
    let mut data = Vec::new();
    for filter in before {
        match filter {
            Filter::Data(d) => data.push(*d),
            _ => return Err(Refusal::CannotStrip),
        }
    }
    match last {
        Filter::Dct => {
            let jpeg =
                filters::decode(&stream.content, &data, budget).map_err(|_| Refusal::Damaged)?;
            let stripped = super::super::jpeg::jpeg(&jpeg)?;
            stream
                .dict
                .set("Filter", Object::Name(b"DCTDecode".to_vec()));
            stream.dict.remove(b"DecodeParms");
            stream.set_content(stripped);
            Ok(())
        }
        Filter::Data(_) | Filter::Bilevel => Ok(()),
        Filter::Unknown => Err(Refusal::CannotStrip),
    }
}
