//! Removing what could identify a sender from each kind of file, without re-encoding it:
//! photo metadata (EXIF with GPS and device, XMP, IPTC, ICC, thumbnails), PDF document info
//! and XMP, audio tags and MP4 creation times. Every parser here reads hostile bytes: it
//! checks every length and never panics or recurses without bound.

use std::collections::HashSet;

use super::sniff::{id3v2_prefix_len, mpeg_frame_len, syncsafe};
use super::{Kind, Refusal};

/// The copy of `bytes` (already sniffed as `kind`) that keeps the content and nothing else.
pub(super) fn strip(kind: Kind, bytes: &[u8]) -> Result<Vec<u8>, Refusal> {
    match kind {
        Kind::Jpeg => jpeg(bytes),
        Kind::Png => png(bytes),
        Kind::Webp => webp(bytes),
        Kind::Pdf => pdf(bytes),
        Kind::M4a => m4a(bytes),
        Kind::Mp3 | Kind::Aac => mpeg_audio(kind, bytes),
        // AMR is bare frames after its magic: there is nothing to remove.
        Kind::Amr => Ok(bytes.to_vec()),
    }
}

fn be16(b: &[u8], at: usize) -> Option<usize> {
    Some(usize::from(u16::from_be_bytes(
        b.get(at..at + 2)?.try_into().ok()?,
    )))
}

fn be32(b: &[u8], at: usize) -> Option<usize> {
    usize::try_from(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?)).ok()
}

fn le32(b: &[u8], at: usize) -> Option<usize> {
    usize::try_from(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?)).ok()
}

/// The JFIF header's length without a thumbnail: identifier, version, units, densities and
/// the thumbnail's width and height.
const JFIF_HEADER: usize = 14;

/// JPEG: every segment is copied except APP1–APP15 (EXIF with its thumbnail and GPS, XMP,
/// ICC, IPTC/Photoshop, maker data), a JFIF extension (thumbnail) and comments. The JFIF
/// header (less any thumbnail in it) and Adobe's colour-transform marker stay: decoders
/// need them and they say nothing about the sender. Anything after the end-of-image marker
/// (other pictures, appended data) is dropped.
fn jpeg(b: &[u8]) -> Result<Vec<u8>, Refusal> {
    const DAMAGED: Refusal = Refusal::Damaged;
    if !b.starts_with(&[0xFF, 0xD8]) {
        return Err(DAMAGED);
    }
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(&[0xFF, 0xD8]);
    let mut at = 2;
    let mut frame = false;
    let mut scan = false;
    loop {
        if b.get(at) != Some(&0xFF) {
            return Err(DAMAGED);
        }
        while b.get(at) == Some(&0xFF) {
            at += 1;
        }
        let marker = *b.get(at).ok_or(DAMAGED)?;
        at += 1;
        match marker {
            0xD9 => {
                if !(frame && scan) {
                    return Err(DAMAGED);
                }
                out.extend_from_slice(&[0xFF, 0xD9]);
                return Ok(out);
            }
            0x00 | 0xD8 => return Err(DAMAGED),
            0x01 | 0xD0..=0xD7 => out.extend_from_slice(&[0xFF, marker]),
            _ => {
                let len = be16(b, at).ok_or(DAMAGED)?;
                let segment = b.get(at..at + len).ok_or(DAMAGED)?;
                if len < 2 {
                    return Err(DAMAGED);
                }
                let body = &segment[2..];
                let keep = match marker {
                    0xE0 => body.starts_with(b"JFIF\0"),
                    0xEE => body.starts_with(b"Adobe"),
                    0xE1..=0xEF | 0xFE => false,
                    _ => true,
                };
                if matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF) {
                    frame = true;
                }
                if keep && marker == 0xE0 && body.len() > JFIF_HEADER {
                    // The JFIF header without the thumbnail it may carry: a picture of the
                    // picture, perhaps taken before it was cropped.
                    out.extend_from_slice(&[0xFF, 0xE0, 0, JFIF_HEADER as u8 + 2]);
                    out.extend_from_slice(&body[..JFIF_HEADER - 2]);
                    out.extend_from_slice(&[0, 0]);
                } else if keep {
                    out.extend_from_slice(&[0xFF, marker]);
                    out.extend_from_slice(segment);
                }
                at += len;
                if marker == 0xDA {
                    if !frame {
                        return Err(DAMAGED);
                    }
                    scan = true;
                    // Entropy-coded data runs to the next marker that is neither a stuffed
                    // 0xFF00 nor a restart marker.
                    let start = at;
                    loop {
                        match (b.get(at), b.get(at + 1)) {
                            (Some(0xFF), Some(0x00 | 0xD0..=0xD7)) => at += 2,
                            (Some(0xFF), Some(_)) => break,
                            (Some(_), _) => at += 1,
                            (None, _) => return Err(DAMAGED),
                        }
                    }
                    out.extend_from_slice(&b[start..at]);
                }
            }
        }
    }
}

/// PNG: only the chunks needed to show the picture are kept; text (tEXt, zTXt, iTXt — XMP
/// lives there), eXIf, tIME, iCCP and anything unknown are dropped, and so is anything
/// after IEND.
fn png(b: &[u8]) -> Result<Vec<u8>, Refusal> {
    const KEEP: [&[u8; 4]; 11] = [
        b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"sBIT", b"bKGD",
        b"pHYs",
    ];
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(&b[..8]);
    let mut at = 8;
    let mut first = true;
    loop {
        let len = be32(b, at).ok_or(Refusal::Damaged)?;
        let kind = b.get(at + 4..at + 8).ok_or(Refusal::Damaged)?;
        let end = at
            .checked_add(12)
            .and_then(|x| x.checked_add(len))
            .ok_or(Refusal::Damaged)?;
        let chunk = b.get(at..end).ok_or(Refusal::Damaged)?;
        if first && kind != b"IHDR" {
            return Err(Refusal::Damaged);
        }
        first = false;
        if KEEP.iter().any(|k| k.as_slice() == kind) {
            out.extend_from_slice(chunk);
        }
        at = end;
        if kind == b"IEND" {
            return Ok(out);
        }
    }
}

/// WebP: the RIFF chunks that carry the picture (and its animation) are kept; EXIF, XMP,
/// ICCP and unknown chunks are dropped and the extended header's flags for them cleared.
fn webp(b: &[u8]) -> Result<Vec<u8>, Refusal> {
    const KEEP: [&[u8; 4]; 6] = [b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF"];
    let riff_len = le32(b, 4).ok_or(Refusal::Damaged)?;
    let end = riff_len
        .checked_add(8)
        .filter(|e| *e <= b.len())
        .ok_or(Refusal::Damaged)?;
    let mut out = Vec::with_capacity(end);
    out.extend_from_slice(b"RIFF\0\0\0\0WEBP");
    let mut at = 12;
    let mut picture = false;
    while at < end {
        let kind = b.get(at..at + 4).ok_or(Refusal::Damaged)?;
        let len = le32(b, at + 4).ok_or(Refusal::Damaged)?;
        let padded = len.checked_add(len & 1).ok_or(Refusal::Damaged)?;
        let chunk_end = (at + 8).checked_add(padded).ok_or(Refusal::Damaged)?;
        let chunk = b.get(at..chunk_end.min(end)).ok_or(Refusal::Damaged)?;
        if chunk_end > end && chunk_end - end > 1 {
            return Err(Refusal::Damaged);
        }
        if KEEP.iter().any(|k| k.as_slice() == kind) {
            let from = out.len();
            out.extend_from_slice(chunk);
            if chunk.len() < 8 + len {
                // A final odd chunk whose padding byte was left off.
                out.push(0);
            }
            if kind == b"VP8X" {
                // ICC (0x20), EXIF (0x08) and XMP (0x04) are gone.
                if let Some(flags) = out.get_mut(from + 8) {
                    *flags &= !(0x20 | 0x08 | 0x04);
                }
            }
            picture |= matches!(kind, b"VP8 " | b"VP8L" | b"ANMF");
        }
        at = chunk_end;
    }
    if !picture {
        return Err(Refusal::Damaged);
    }
    let size = u32::try_from(out.len() - 8).map_err(|_| Refusal::Damaged)?;
    out[4..8].copy_from_slice(&size.to_le_bytes());
    Ok(out)
}

/// MP3 and raw AAC: ID3v2 tags at the start, and ID3v1, APEv2, Lyrics3 and appended ID3v2
/// tags at the end, are cut off; what remains must start with an audio frame.
fn mpeg_audio(kind: Kind, b: &[u8]) -> Result<Vec<u8>, Refusal> {
    let start = id3v2_prefix_len(b);
    let mut end = b.len();
    loop {
        let body = b.get(start..end).ok_or(Refusal::Damaged)?;
        let before = end;
        if body.len() >= 128 && body[body.len() - 128..].starts_with(b"TAG") {
            end -= 128;
            // An extended "TAG+" block sits right before the ID3v1 tag.
            if body.len() >= 355 && body[body.len() - 355..].starts_with(b"TAG+") {
                end -= 227;
            }
        } else if body.len() >= 32 && body[body.len() - 32..].starts_with(b"APETAGEX") {
            let footer = &body[body.len() - 32..];
            let size = le32(footer, 12).ok_or(Refusal::Damaged)?;
            let flags = le32(footer, 20).ok_or(Refusal::Damaged)?;
            let header = if flags & 0x8000_0000 != 0 { 32 } else { 0 };
            end = end
                .checked_sub(size + header)
                .filter(|e| *e >= start)
                .ok_or(Refusal::Damaged)?;
        } else if body.len() >= 15 && body.ends_with(b"LYRICS200") {
            let digits = std::str::from_utf8(&body[body.len() - 15..body.len() - 9])
                .ok()
                .and_then(|d| d.parse::<usize>().ok())
                .ok_or(Refusal::Damaged)?;
            end = end
                .checked_sub(digits + 15)
                .filter(|e| *e >= start)
                .ok_or(Refusal::Damaged)?;
        } else if body.len() >= 10 && body[body.len() - 10..].starts_with(b"3DI") {
            let size = syncsafe(&body[body.len() - 4..]).ok_or(Refusal::Damaged)?;
            end = end
                .checked_sub(size + 20)
                .filter(|e| *e >= start)
                .ok_or(Refusal::Damaged)?;
        }
        if end == before {
            break;
        }
    }
    let audio = &b[start..end];
    let framed = match kind {
        Kind::Mp3 => mpeg_frame_len(audio).is_some(),
        _ => audio.len() >= 7 && audio[0] == 0xFF && audio[1] & 0xF6 == 0xF0,
    };
    if !framed {
        return Err(Refusal::Damaged);
    }
    Ok(audio.to_vec())
}

/// M4A (ISO BMFF): user data, metadata and uuid boxes (iTunes tags, GPS `©xyz`, 3GPP
/// location, XMP, recorder names) and existing padding are overwritten in place with an
/// empty `free` box of the same size, and the creation and modification times in the movie,
/// track and media headers are zeroed. Sizes and offsets are unchanged, so the sample
/// tables still point at the right audio. The file must hold sound and no picture.
fn m4a(b: &[u8]) -> Result<Vec<u8>, Refusal> {
    let mut out = b.to_vec();
    let mut tracks = Tracks::default();
    walk_boxes(&mut out, 0, b.len(), 0, &mut tracks)?;
    if !tracks.moov || !tracks.sound || tracks.picture {
        return Err(if tracks.moov {
            Refusal::NotAudio
        } else {
            Refusal::Damaged
        });
    }
    Ok(out)
}

#[derive(Default)]
struct Tracks {
    moov: bool,
    sound: bool,
    picture: bool,
}

const BOX_DEPTH_MAX: usize = 12;

fn walk_boxes(
    buf: &mut [u8],
    start: usize,
    end: usize,
    depth: usize,
    tracks: &mut Tracks,
) -> Result<(), Refusal> {
    if depth > BOX_DEPTH_MAX {
        return Err(Refusal::Damaged);
    }
    let mut at = start;
    while at < end {
        if end - at < 8 {
            // Trailing bytes too short to be a box: only tolerated at the very end.
            return if depth == 0 {
                Ok(())
            } else {
                Err(Refusal::Damaged)
            };
        }
        let small = be32(buf, at).ok_or(Refusal::Damaged)?;
        let (size, header) = match small {
            0 => (end - at, 8),
            1 => {
                let large = buf.get(at + 8..at + 16).ok_or(Refusal::Damaged)?;
                let large = u64::from_be_bytes(large.try_into().map_err(|_| Refusal::Damaged)?);
                (usize::try_from(large).map_err(|_| Refusal::Damaged)?, 16)
            }
            n => (n, 8),
        };
        let box_end = at.checked_add(size).ok_or(Refusal::Damaged)?;
        if size < header || box_end > end {
            return Err(Refusal::Damaged);
        }
        let kind: [u8; 4] = buf[at + 4..at + 8]
            .try_into()
            .map_err(|_| Refusal::Damaged)?;
        let body = at + header;
        match &kind {
            b"moov" | b"trak" | b"mdia" | b"minf" | b"stbl" | b"edts" | b"dinf" => {
                if &kind == b"moov" {
                    tracks.moov = true;
                }
                walk_boxes(buf, body, box_end, depth + 1, tracks)?;
            }
            b"udta" | b"meta" | b"uuid" | b"free" | b"skip" | b"ilst" | b"Xtra" => {
                buf[at + 4..at + 8].copy_from_slice(b"free");
                buf[body..box_end].fill(0);
            }
            b"mvhd" | b"tkhd" | b"mdhd" => {
                let version = *buf.get(body).ok_or(Refusal::Damaged)?;
                let times = if version == 1 { 16 } else { 8 };
                buf.get_mut(body + 4..body + 4 + times)
                    .ok_or(Refusal::Damaged)?
                    .fill(0);
            }
            b"hdlr" => {
                match buf.get(body + 8..body + 12) {
                    Some(b"soun") => tracks.sound = true,
                    Some(b"vide") => tracks.picture = true,
                    _ => {}
                }
                // The handler's name is free text a recorder may fill: blank it.
                if let Some(name) = buf.get_mut(body + 24..box_end) {
                    name.fill(0);
                }
            }
            _ => {}
        }
        at = box_end;
    }
    Ok(())
}

/// The deepest nesting of arrays and dictionaries accepted in a PDF: real documents stay in
/// single digits, and the PDF parser recurses once per level.
const PDF_NESTING_MAX: usize = 64;

/// PDF: the trailer keeps only its root (its /Info with author, producer and dates, its /ID
/// and anything else go), every /Metadata (XMP) and /PieceInfo (application data) is
/// removed, objects nothing refers to any more (older revisions' info dictionaries among
/// them) are dropped, and the file is written anew — which also drops incremental updates —
/// and must read back. An encrypted PDF cannot be cleaned.
fn pdf(b: &[u8]) -> Result<Vec<u8>, Refusal> {
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

    /// A JPEG segment: marker, big-endian length, body.
    pub(super) fn segment(marker: u8, body: &[u8]) -> Vec<u8> {
        let mut s = vec![0xFF, marker];
        s.extend_from_slice(&u16::try_from(body.len() + 2).unwrap().to_be_bytes());
        s.extend_from_slice(body);
        s
    }

    /// A PNG chunk as stored: length, type, data, (unchecked) CRC.
    pub(super) fn png_chunk(kind: &[u8], data: &[u8]) -> Vec<u8> {
        let mut c = u32::try_from(data.len()).unwrap().to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(data);
        c.extend_from_slice(&[0; 4]);
        c
    }

    /// A WebP chunk: type, little-endian length, data and its padding byte.
    pub(super) fn riff_chunk(kind: &[u8], data: &[u8]) -> Vec<u8> {
        let mut c = kind.to_vec();
        c.extend_from_slice(&u32::try_from(data.len()).unwrap().to_le_bytes());
        c.extend_from_slice(data);
        if data.len() % 2 == 1 {
            c.push(0);
        }
        c
    }

    #[test]
    fn jpeg_loses_app_segments_comments_and_trailing_data() {
        let mut file = vec![0xFF, 0xD8];
        file.extend(segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"));
        file.extend(segment(0xE1, b"Exif\0\0GPS-SECRET"));
        file.extend(segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0XMP-SECRET"));
        file.extend(segment(0xED, b"Photoshop 3.0\0IPTC-SECRET"));
        file.extend(segment(0xFE, b"COMMENT-SECRET"));
        file.extend(segment(0xDB, &[0; 65]));
        file.extend(segment(0xC0, &[8, 0, 1, 0, 1, 1, 1, 0x11, 0]));
        file.extend(segment(0xDA, &[1, 1, 0, 0, 0x3F, 0]));
        file.extend_from_slice(&[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56]);
        file.extend_from_slice(&[0xFF, 0xD9]);
        file.extend_from_slice(b"<script>alert(1)</script>");
        let out = jpeg(&file).unwrap();
        let text = String::from_utf8_lossy(&out);
        for secret in ["GPS", "XMP", "IPTC", "COMMENT", "script"] {
            assert!(!text.contains(secret), "{secret} removed");
        }
        assert!(text.contains("JFIF"));
        assert!(out.ends_with(&[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56, 0xFF, 0xD9]));
        // An HTML page wearing JPEG magic is not a JPEG.
        assert_eq!(
            jpeg(b"\xFF\xD8\xFF<html><script>alert(1)</script>"),
            Err(Refusal::Damaged)
        );
        assert_eq!(jpeg(&file[..40]), Err(Refusal::Damaged));
    }

    #[test]
    fn jpeg_keeps_the_jfif_header_but_not_its_thumbnail() {
        let mut file = vec![0xFF, 0xD8];
        // A 2×1 thumbnail: six bytes of RGB after the header.
        file.extend(segment(
            0xE0,
            b"JFIF\0\x01\x02\x01\0\x48\0\x48\x02\x01THUMBS",
        ));
        file.extend(segment(0xC0, &[8, 0, 1, 0, 1, 1, 1, 0x11, 0]));
        file.extend(segment(0xDA, &[1, 1, 0, 0, 0x3F, 0]));
        file.extend_from_slice(&[0x12, 0xFF, 0xD9]);
        let out = jpeg(&file).unwrap();
        assert_eq!(&out[..4], &[0xFF, 0xD8, 0xFF, 0xE0]);
        assert_eq!(
            &out[4..20],
            b"\0\x10JFIF\0\x01\x02\x01\0\x48\0\x48\0\0",
            "header kept, thumbnail size zeroed"
        );
        assert!(!String::from_utf8_lossy(&out).contains("THUMBS"));
        assert_eq!(jpeg(&out).unwrap(), out, "nothing more to remove");
    }

    #[test]
    fn png_keeps_picture_chunks_only() {
        let mut file = b"\x89PNG\r\n\x1a\n".to_vec();
        file.extend(png_chunk(b"IHDR", &[0; 13]));
        file.extend(png_chunk(b"tEXt", b"Author\0SECRET"));
        file.extend(png_chunk(b"eXIf", b"MM\0*SECRET"));
        file.extend(png_chunk(b"IDAT", b"pixels"));
        file.extend(png_chunk(b"IEND", b""));
        file.extend_from_slice(b"SECRET trailer");
        let out = png(&file).unwrap();
        assert!(!String::from_utf8_lossy(&out).contains("SECRET"));
        assert!(String::from_utf8_lossy(&out).contains("pixels"));
        assert_eq!(png(&file[..30]), Err(Refusal::Damaged));
    }

    #[test]
    fn webp_loses_exif_xmp_and_their_flags() {
        let mut body = b"WEBP".to_vec();
        body.extend(riff_chunk(b"VP8X", &[0x2C, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
        body.extend(riff_chunk(b"VP8L", b"pixels!"));
        body.extend(riff_chunk(b"EXIF", b"SECRET"));
        body.extend(riff_chunk(b"XMP ", b"SECRET"));
        let mut file = b"RIFF".to_vec();
        file.extend_from_slice(&u32::try_from(body.len()).unwrap().to_le_bytes());
        file.extend(body);
        let out = webp(&file).unwrap();
        assert!(!String::from_utf8_lossy(&out).contains("SECRET"));
        assert_eq!(out[20], 0, "VP8X flags for ICC, EXIF and XMP cleared");
        assert_eq!(le32(&out, 4), Some(out.len() - 8));
    }

    #[test]
    fn mp3_loses_id3_and_ape_tags() {
        let mut frames = Vec::new();
        for _ in 0..2 {
            frames.extend_from_slice(&[0xFF, 0xFB, 0x90, 0x64]);
            frames.extend(std::iter::repeat_n(0x11u8, 413));
        }
        let mut file = b"ID3\x03\0\0\0\0\0\x0aTIT2SECRET".to_vec();
        file.extend_from_slice(&frames);
        let mut ape = b"APETAGEX".to_vec();
        ape.extend_from_slice(&2000u32.to_le_bytes());
        ape.extend_from_slice(&(32u32 + 6).to_le_bytes());
        ape.extend_from_slice(&1u32.to_le_bytes());
        ape.extend_from_slice(&0u32.to_le_bytes());
        ape.extend_from_slice(&[0; 8]);
        file.extend_from_slice(b"SECRET");
        file.extend_from_slice(&ape);
        let mut v1 = b"TAG".to_vec();
        v1.extend_from_slice(b"SECRET");
        v1.resize(128, 0);
        file.extend_from_slice(&v1);
        let out = mpeg_audio(Kind::Mp3, &file).unwrap();
        assert_eq!(out, frames);
    }

    fn mp4_box(kind: &[u8], body: &[u8]) -> Vec<u8> {
        let mut b = u32::try_from(body.len() + 8)
            .unwrap()
            .to_be_bytes()
            .to_vec();
        b.extend_from_slice(kind);
        b.extend_from_slice(body);
        b
    }

    pub(crate) fn tiny_m4a(handler: &[u8; 4]) -> Vec<u8> {
        let mut mvhd = vec![0u8; 100];
        mvhd[4..12].copy_from_slice(b"\x11\x22\x33\x44\x55\x66\x77\x88");
        let mut hdlr = vec![0u8; 24];
        hdlr[8..12].copy_from_slice(handler);
        hdlr.extend_from_slice(b"Huawei Recorder SECRET\0");
        let mdia = mp4_box(b"mdia", &mp4_box(b"hdlr", &hdlr));
        let trak = mp4_box(b"trak", &mdia);
        let udta = mp4_box(
            b"udta",
            &mp4_box(b"meta", &mp4_box(b"ilst", b"\xa9xyz+39.9+116.4/SECRET")),
        );
        let mut moov_body = mp4_box(b"mvhd", &mvhd);
        moov_body.extend(trak);
        moov_body.extend(udta);
        let mut file = mp4_box(b"ftyp", b"M4A \0\0\0\0M4A isom");
        file.extend(mp4_box(b"moov", &moov_body));
        file.extend(mp4_box(b"mdat", b"audio-samples"));
        file
    }

    #[test]
    fn m4a_loses_user_data_times_and_handler_names_in_place() {
        let file = tiny_m4a(b"soun");
        let out = m4a(&file).unwrap();
        assert_eq!(out.len(), file.len(), "offsets unchanged");
        let text = String::from_utf8_lossy(&out);
        assert!(!text.contains("SECRET") && !text.contains("Huawei"));
        assert!(!out.windows(4).any(|w| w == b"\x11\x22\x33\x44"));
        assert!(text.contains("audio-samples"));
        assert_eq!(m4a(&tiny_m4a(b"vide")), Err(Refusal::NotAudio));
        assert_eq!(m4a(&file[..file.len() - 5]), Err(Refusal::Damaged));
    }

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

#[cfg(test)]
mod properties {
    use super::tests::{png_chunk, riff_chunk};
    use super::*;
    use proptest::prelude::*;

    /// A segment of a generated JPEG and whether the stripper must keep it.
    #[derive(Debug, Clone)]
    struct Segment {
        marker: u8,
        body: Vec<u8>,
        kept: bool,
    }

    impl Segment {
        fn bytes(&self) -> Vec<u8> {
            super::tests::segment(self.marker, &self.body)
        }
    }

    fn body() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(any::<u8>(), 0..40)
    }

    /// Tables and Adobe's marker (kept), or metadata: APP1–APP15 (EXIF, XMP, ICC, IPTC…),
    /// a JFIF extension and comments (removed).
    fn segment() -> impl Strategy<Value = Segment> {
        prop_oneof![
            (prop::sample::select(vec![0xDBu8, 0xC4, 0xDD]), body()).prop_map(|(marker, body)| {
                Segment {
                    marker,
                    body,
                    kept: true,
                }
            }),
            body().prop_map(|mut body| {
                body.splice(0..0, *b"Adobe");
                Segment {
                    marker: 0xEE,
                    body,
                    kept: true,
                }
            }),
            (0xE1u8..=0xEF, body()).prop_filter_map("Adobe is kept", |(marker, body)| {
                (marker != 0xEE || !body.starts_with(b"Adobe")).then_some(Segment {
                    marker,
                    body,
                    kept: false,
                })
            }),
            body().prop_map(|body| Segment {
                marker: 0xFE,
                body,
                kept: false
            }),
            body().prop_map(|mut body| {
                body.splice(0..0, *b"JFXX\0");
                Segment {
                    marker: 0xE0,
                    body,
                    kept: false,
                }
            }),
        ]
    }

    /// Entropy-coded data: any bytes, with every 0xFF stuffed and restart markers between.
    fn scan() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(any::<u8>(), 0..200).prop_map(|raw| {
            let mut out = Vec::new();
            for (i, b) in raw.into_iter().enumerate() {
                out.push(b);
                if b == 0xFF {
                    out.push(if i % 7 == 0 {
                        0xD0 + (i % 8) as u8
                    } else {
                        0x00
                    });
                }
            }
            out
        })
    }

    /// One MPEG-1 layer III frame, 128 kbit/s at 44.1 kHz: 417 bytes.
    fn mp3_frame(fill: u8) -> Vec<u8> {
        let mut frame = vec![0xFF, 0xFB, 0x90, 0x64];
        frame.resize(417, fill);
        frame
    }

    proptest! {
        /// Exactly the picture's segments survive, in order, with the scan untouched and
        /// nothing after the end of the image.
        #[test]
        fn a_jpeg_keeps_exactly_its_picture_segments(
            jfif_thumbnail in body(),
            before in prop::collection::vec(segment(), 0..6),
            after in prop::collection::vec(segment(), 0..4),
            data in scan(),
            trailer in body(),
        ) {
            let mut jfif = b"JFIF\0\x01\x02\x01\0\x48\0\x48".to_vec();
            jfif.extend_from_slice(&[u8::from(!jfif_thumbnail.is_empty()), 1]);
            jfif.extend_from_slice(&jfif_thumbnail);
            let frame = Segment { marker: 0xC0, body: vec![8, 0, 1, 0, 1, 1, 1, 0x11, 0], kept: true };
            let scan_header = Segment { marker: 0xDA, body: vec![1, 1, 0, 0, 0x3F, 0], kept: true };
            let segments: Vec<Segment> = before
                .into_iter()
                .chain([frame])
                .chain(after)
                .chain([scan_header])
                .collect();

            let mut file = vec![0xFF, 0xD8];
            file.extend(Segment { marker: 0xE0, body: jfif.clone(), kept: true }.bytes());
            let mut expected = vec![0xFF, 0xD8];
            jfif.truncate(JFIF_HEADER);
            jfif[JFIF_HEADER - 2..].fill(0);
            if jfif_thumbnail.is_empty() {
                jfif[JFIF_HEADER - 2..].copy_from_slice(&[0, 1]);
            }
            expected.extend(Segment { marker: 0xE0, body: jfif, kept: true }.bytes());
            for segment in &segments {
                file.extend(segment.bytes());
                if segment.kept {
                    expected.extend(segment.bytes());
                }
            }
            for out in [&mut file, &mut expected] {
                out.extend_from_slice(&data);
                out.extend_from_slice(&[0xFF, 0xD9]);
            }
            file.extend_from_slice(&trailer);

            let stripped = jpeg(&file).unwrap();
            prop_assert_eq!(&stripped, &expected);
            prop_assert_eq!(jpeg(&stripped).unwrap(), stripped, "a second pass changes nothing");
        }

        /// Exactly the chunks needed to show the picture survive, in order.
        #[test]
        fn a_png_keeps_exactly_its_picture_chunks(
            chunks in prop::collection::vec(
                (
                    prop::sample::select(vec![
                        "PLTE", "IDAT", "tRNS", "gAMA", "pHYs", "sRGB",
                        "tEXt", "zTXt", "iTXt", "eXIf", "tIME", "iCCP", "prVt", "caNv",
                    ]),
                    body(),
                ),
                0..8,
            ),
            trailer in body(),
        ) {
            const PICTURE: [&str; 6] = ["PLTE", "IDAT", "tRNS", "gAMA", "pHYs", "sRGB"];
            let ihdr = png_chunk(b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0]);
            let iend = png_chunk(b"IEND", &[]);
            let mut file = b"\x89PNG\r\n\x1a\n".to_vec();
            file.extend(&ihdr);
            let mut expected = file.clone();
            for (kind, data) in &chunks {
                let chunk = png_chunk(kind.as_bytes(), data);
                file.extend(&chunk);
                if PICTURE.contains(kind) {
                    expected.extend(chunk);
                }
            }
            file.extend(&iend);
            expected.extend(iend);
            file.extend(trailer);
            prop_assert_eq!(png(&file).unwrap(), expected);
        }

        /// The picture's chunks survive with the metadata flags cleared and the RIFF size
        /// corrected; EXIF, XMP, ICC and unknown chunks go.
        #[test]
        fn a_webp_keeps_exactly_its_picture_chunks(
            flags in any::<u8>(),
            chunks in prop::collection::vec(
                (prop::sample::select(vec!["ALPH", "ANIM", "EXIF", "XMP ", "ICCP", "abcd"]), body()),
                0..6,
            ),
            image in body(),
        ) {
            let mut vp8x = vec![flags];
            vp8x.extend_from_slice(&[0; 9]);
            let mut body = b"WEBP".to_vec();
            body.extend(riff_chunk(b"VP8X", &vp8x));
            vp8x[0] = flags & !(0x20 | 0x08 | 0x04);
            let mut kept = b"WEBP".to_vec();
            kept.extend(riff_chunk(b"VP8X", &vp8x));
            for (kind, data) in &chunks {
                let chunk = riff_chunk(kind.as_bytes(), data);
                body.extend(&chunk);
                if matches!(*kind, "ALPH" | "ANIM") {
                    kept.extend(chunk);
                }
            }
            body.extend(riff_chunk(b"VP8L", &image));
            kept.extend(riff_chunk(b"VP8L", &image));
            let riff = |body: Vec<u8>| {
                let mut file = b"RIFF".to_vec();
                file.extend_from_slice(&u32::try_from(body.len()).unwrap().to_le_bytes());
                file.extend(body);
                file
            };
            prop_assert_eq!(webp(&riff(body)).unwrap(), riff(kept));
        }

        /// Only the audio frames survive: ID3v2 in front, ID3v1 (with its extension) and
        /// APEv2 behind, whatever they say.
        #[test]
        fn an_mp3_keeps_exactly_its_frames(
            id3 in prop::collection::vec(prop::collection::vec(0u8..0x80, 0..60), 0..3),
            frames in prop::collection::vec(0u8..0x80, 1..4),
            ape in prop::option::of(prop::collection::vec(any::<u8>(), 0..40)),
            v1 in prop::option::of((prop::collection::vec(any::<u8>(), 125), any::<bool>())),
        ) {
            let mut file = Vec::new();
            for tag in &id3 {
                file.extend_from_slice(b"ID3\x03\x00\x00");
                let n = tag.len();
                file.extend_from_slice(&[0, 0, (n >> 7) as u8, (n & 0x7F) as u8]);
                file.extend_from_slice(tag);
            }
            let audio: Vec<u8> = frames.iter().flat_map(|f| mp3_frame(*f)).collect();
            file.extend(&audio);
            if let Some(items) = ape {
                file.extend(&items);
                let mut footer = b"APETAGEX".to_vec();
                footer.extend_from_slice(&2000u32.to_le_bytes());
                footer.extend_from_slice(&u32::try_from(items.len() + 32).unwrap().to_le_bytes());
                footer.extend_from_slice(&[0; 16]);
                file.extend(footer);
            }
            if let Some((fields, extended)) = v1 {
                if extended {
                    file.extend_from_slice(b"TAG+");
                    file.extend(std::iter::repeat_n(b'x', 223));
                }
                file.extend_from_slice(b"TAG");
                file.extend(fields);
            }
            prop_assert_eq!(mpeg_audio(Kind::Mp3, &file).unwrap(), audio);
        }
    }
}
