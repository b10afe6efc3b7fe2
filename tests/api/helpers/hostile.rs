//! Whole hostile files, built the way an attacker would: PDFs that make a parser recurse
//! until its stack ends or inflate to gigabytes through a chain of filters, and the files a
//! reporter's phone really makes, with the reporter planted in them.

use std::io::Write;
use std::sync::OnceLock;

use lopdf::{Document, Object, Stream, dictionary};

/// `data` as a zlib (FlateDecode) stream.
pub fn zlib(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// `n` zero bytes, deflated as they stream by (never held whole).
fn zlib_of_zeros(n: usize) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..n / chunk.len() {
        encoder.write_all(&chunk).unwrap();
    }
    encoder.finish().unwrap()
}

/// A PDF written by hand: `objects` as (number, body between `obj` and `endobj`), a
/// cross-reference table pointing at each, and the catalog `root`. `extra` entries point
/// the table at other offsets: (number, offset of a marker inside the file).
fn raw_pdf(objects: &[(u32, Vec<u8>)], root: u32, extra: &[(u32, &[u8])]) -> Vec<u8> {
    let mut out = b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (number, body) in objects {
        offsets.push((*number, out.len()));
        out.extend_from_slice(format!("{number} 0 obj\n").as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    for (number, marker) in extra {
        let at = out
            .windows(marker.len())
            .position(|w| w == *marker)
            .expect("marker in file");
        offsets.push((*number, at));
    }
    offsets.sort();
    let size = offsets.last().map_or(0, |(n, _)| n + 1);
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {size}\n0000000000 65535 f \n").as_bytes());
    for number in 1..size {
        match offsets.iter().find(|(n, _)| *n == number) {
            Some((_, at)) => out.extend_from_slice(format!("{at:010} 00000 n \n").as_bytes()),
            None => out.extend_from_slice(b"0000000000 65535 f \n"),
        }
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {size} /Root {root} 0 R >>\nstartxref\n{xref}\n%%EOF\n")
            .as_bytes(),
    );
    out
}

/// A catalog (1) and an empty page tree (2): the objects every hand-written PDF here has.
fn catalog() -> Vec<(u32, Vec<u8>)> {
    vec![
        (1, b"<< /Type /Catalog /Pages 2 0 R >>".to_vec()),
        (2, b"<< /Type /Pages /Kids [] /Count 0 >>".to_vec()),
    ]
}

/// A stream object's body: its dictionary entries and data.
fn stream(entries: &str, data: &[u8]) -> Vec<u8> {
    let mut body = format!("<< {entries} /Length {} >>\nstream\n", data.len()).into_bytes();
    body.extend_from_slice(data);
    body.extend_from_slice(b"\nendstream");
    body
}

/// An object stream (3) of `data`, behind `filters`, holding one object (4).
fn object_stream_pdf(filters: &str, data: &[u8]) -> Vec<u8> {
    let mut objects = catalog();
    objects.push((
        3,
        stream(
            &format!("/Type /ObjStm /N 1 /First 4 /Filter {filters}"),
            data,
        ),
    ));
    raw_pdf(&objects, 1, &[])
}

/// Under 2 KB: a compressed object stream whose object is an array nested a million deep.
/// The parser recurses once per level.
pub fn pdf_nested_in_object_stream() -> Vec<u8> {
    let deep = format!("4 0 {}", "[".repeat(1_000_000));
    object_stream_pdf("/FlateDecode", &zlib(deep.as_bytes()))
}

/// A PDF the first look cannot see into: the cross-reference table points object 4 into the
/// middle of another object's stream data, where an array nests a million deep. Only a
/// parser's own stack ends it.
pub fn pdf_nested_behind_stream_data() -> Vec<u8> {
    let mut data = b"4 0 obj\n".to_vec();
    data.extend_from_slice(&b"[".repeat(1_000_000));
    let mut objects = catalog();
    objects.push((3, stream("", &data)));
    raw_pdf(&objects, 1, &[(4, b"4 0 obj\n[[[[")])
}

/// About 2 KB that inflate to 1 GiB: an object stream behind `[/FlateDecode /FlateDecode]`.
pub fn pdf_flate_chain_bomb() -> Vec<u8> {
    static FILE: OnceLock<Vec<u8>> = OnceLock::new();
    FILE.get_or_init(|| {
        let inner = zlib_of_zeros(1 << 30);
        object_stream_pdf("[/FlateDecode /FlateDecode]", &zlib(&inner))
    })
    .clone()
}

/// The same gigabyte behind ASCII85 and two layers of Flate.
pub fn pdf_ascii85_chain_bomb() -> Vec<u8> {
    static FILE: OnceLock<Vec<u8>> = OnceLock::new();
    FILE.get_or_init(|| {
        let inner = zlib_of_zeros(1 << 30);
        let text = ascii85(&inner);
        object_stream_pdf("[/FlateDecode /ASCII85Decode /FlateDecode]", &zlib(&text))
    })
    .clone()
}

/// A real page whose content stream inflates to `mib` MiB of spaces: a legal document that
/// needs that much memory to check.
pub fn pdf_with_large_content(mib: usize) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let chunk = vec![b' '; 1 << 20];
    for _ in 0..mib {
        encoder.write_all(&chunk).unwrap();
    }
    let data = encoder.finish().unwrap();
    let mut objects = vec![
        (1, b"<< /Type /Catalog /Pages 2 0 R >>".to_vec()),
        (2, b"<< /Type /Pages /Kids [5 0 R] /Count 1 >>".to_vec()),
        (3, stream("/Filter /FlateDecode", &data)),
    ];
    objects.push((
        5,
        b"<< /Type /Page /Parent 2 0 R /Contents 3 0 R /MediaBox [0 0 200 200] >>".to_vec(),
    ));
    raw_pdf(&objects, 1, &[])
}

fn ascii85(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() * 5 / 4 + 2);
    for chunk in data.chunks(4) {
        let mut group = [0u8; 4];
        group[..chunk.len()].copy_from_slice(chunk);
        let mut value = u32::from_be_bytes(group);
        if value == 0 && chunk.len() == 4 {
            out.push(b'z');
            continue;
        }
        let mut digits = [0u8; 5];
        for d in digits.iter_mut().rev() {
            *d = (value % 85) as u8 + b'!';
            value /= 85;
        }
        out.extend_from_slice(&digits[..chunk.len() + 1]);
    }
    out.extend_from_slice(b"~>");
    out
}

/// What each reporter-made PDF plants: found anywhere in a file after stripping, it gives
/// the reporter away.
pub const PLANTED: &[&str] = &[
    "HUAWEI",
    "Mate 60 Pro",
    "Canary Commenter Wang",
    "D:20260611091300+08'00'",
    "canary-attached-ledger.xlsx",
    "CANARY ATTACHED FILE CONTENT",
    "Canary Page Edit",
];

/// A one-page document around `page` entries, saved with lopdf.
fn document(
    page: lopdf::Dictionary,
    extra: impl FnOnce(&mut Document, lopdf::ObjectId),
) -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let content_id = doc.add_object(Stream::new(
        dictionary! {},
        b"q 200 0 0 200 0 0 cm /Im0 Do Q".to_vec(),
    ));
    let mut page = page;
    page.set("Type", "Page");
    page.set("Parent", pages_id);
    page.set("Contents", content_id);
    page.set("MediaBox", vec![0.into(), 0.into(), 200.into(), 200.into()]);
    let page_id = doc.add_object(page);
    doc.objects.insert(
        pages_id,
        Object::Dictionary(
            dictionary! {"Type" => "Pages", "Kids" => vec![page_id.into()], "Count" => 1},
        ),
    );
    let catalog_id = doc.add_object(dictionary! {"Type" => "Catalog", "Pages" => pages_id});
    doc.trailer.set("Root", catalog_id);
    extra(&mut doc, page_id);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

/// A phone's "scan to PDF": the page is a JPEG photo that keeps its EXIF (GPS, phone model).
pub fn pdf_phone_scan(jpeg_with_gps: &[u8]) -> Vec<u8> {
    let image = Stream::new(
        dictionary! {
            "Type" => "XObject", "Subtype" => "Image", "Width" => 64, "Height" => 48,
            "ColorSpace" => "DeviceRGB", "BitsPerComponent" => 8, "Filter" => "DCTDecode",
        },
        jpeg_with_gps.to_vec(),
    );
    let out = document(dictionary! {}, |doc, page_id| {
        let image_id = doc.add_object(image);
        if let Ok(Object::Dictionary(p)) = doc.get_object_mut(page_id) {
            p.set(
                "Resources",
                dictionary! {"XObject" => dictionary! {"Im0" => image_id}},
            );
            p.set(
                "LastModified",
                Object::string_literal("D:20260611091300+08'00'"),
            );
        }
    });
    assert!(
        contains(&out, b"Mate 60 Pro"),
        "the fixture carries the phone's EXIF"
    );
    out
}

/// A page that draws a JPEG photo, EXIF and all, inline (`BI … ID … EI`) in its compressed
/// content rather than as an image object.
pub fn pdf_inline_jpeg(jpeg_with_gps: &[u8]) -> Vec<u8> {
    document(dictionary! {}, |doc, page_id| {
        let mut content =
            b"q 200 0 0 200 0 0 cm BI /W 64 /H 48 /CS /RGB /BPC 8 /F /DCT ID ".to_vec();
        content.extend_from_slice(jpeg_with_gps);
        content.extend_from_slice(b"\nEI Q");
        let content = doc.add_object(Stream::new(
            dictionary! {"Filter" => "FlateDecode"},
            zlib(&content),
        ));
        if let Ok(Object::Dictionary(p)) = doc.get_object_mut(page_id) {
            p.set("Contents", content);
        }
    })
}

/// A commented PDF: a sticky note and a highlight signed by their author, with dates, and
/// the page's own edit record.
pub fn pdf_commented() -> Vec<u8> {
    document(dictionary! {}, |doc, page_id| {
        let note = doc.add_object(dictionary! {
            "Type" => "Annot", "Subtype" => "Text", "Rect" => vec![10.into(), 10.into(), 30.into(), 30.into()],
            "Contents" => Object::string_literal("见第二页"),
            "T" => Object::string_literal("Canary Commenter Wang"),
            "M" => Object::string_literal("D:20260611091300+08'00'"),
            "CreationDate" => Object::string_literal("D:20260611091300+08'00'"),
            "P" => page_id,
        });
        let highlight = doc.add_object(dictionary! {
            "Type" => "Annot", "Subtype" => "Highlight", "Rect" => vec![40.into(), 40.into(), 90.into(), 50.into()],
            "T" => Object::string_literal("Canary Commenter Wang"),
            "M" => Object::string_literal("D:20260611091300+08'00'"),
        });
        if let Ok(Object::Dictionary(p)) = doc.get_object_mut(page_id) {
            p.set("Annots", vec![note.into(), highlight.into()]);
            p.set(
                "PieceInfo",
                dictionary! {"Canary" => dictionary! {"Private" => Object::string_literal("Canary Page Edit")}},
            );
        }
    })
}

/// A PDF carrying a file: in the document's embedded files and as a file-attachment
/// annotation on the page.
pub fn pdf_with_attached_file() -> Vec<u8> {
    document(dictionary! {}, |doc, page_id| {
        let file = doc.add_object(Stream::new(
            dictionary! {"Type" => "EmbeddedFile", "Params" => dictionary! {
                "ModDate" => Object::string_literal("D:20260611091300+08'00'"),
            }},
            b"CANARY ATTACHED FILE CONTENT".to_vec(),
        ));
        let spec = doc.add_object(dictionary! {
            "Type" => "Filespec",
            "F" => Object::string_literal("canary-attached-ledger.xlsx"),
            "UF" => Object::string_literal("canary-attached-ledger.xlsx"),
            "EF" => dictionary! {"F" => file},
        });
        let annot = doc.add_object(dictionary! {
            "Type" => "Annot", "Subtype" => "FileAttachment",
            "Rect" => vec![0.into(), 0.into(), 20.into(), 20.into()],
            "FS" => spec, "T" => Object::string_literal("Canary Commenter Wang"),
        });
        if let Ok(Object::Dictionary(p)) = doc.get_object_mut(page_id) {
            p.set("Annots", vec![annot.into()]);
        }
        let names = doc.add_object(dictionary! {"EmbeddedFiles" => dictionary! {
            "Names" => vec![Object::string_literal("canary-attached-ledger.xlsx"), spec.into()],
        }});
        if let Ok(catalog) = doc.catalog_mut() {
            catalog.set("Names", names);
            catalog.set("AF", vec![spec.into()]);
        }
    })
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every byte a PDF holds, its streams decoded where they can be: where a planted value
/// would be found, compressed or not.
pub fn pdf_text(bytes: &[u8]) -> Vec<u8> {
    let mut all = bytes.to_vec();
    if let Ok(doc) = Document::load_mem(bytes) {
        for object in doc.objects.values() {
            if let Object::Stream(stream) = object
                && let Ok(decoded) = stream.decompressed_content()
            {
                all.extend_from_slice(&decoded);
            }
        }
    }
    all
}
