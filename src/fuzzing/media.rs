//! Targets for evidence files: what a file is taken to be, the copy stored without what
//! identifies its sender, and the re-encoded preview inspectors see.

use image::ImageDecoder;

use crate::domain::attachment::{Attachment, Kind, Refusal, Upload, neutral_name};
use crate::media::sniff;
use crate::media::worker::{Job, Outcome, STACK_BYTES, run};

/// What a file is taken to be, judged by its bytes alone.
///
/// Checked: a file sniffed as an accepted kind is never refused as unsupported (only as
/// damaged, or as a video), one that is not is always refused as unsupported, whatever its
/// name; and nothing accepted begins the way markup does.
pub fn file_sniff(data: &[u8]) {
    let sniffed = sniff(data);
    for (name, strip) in [
        (Some("证据.jpg"), false),
        (Some("page.html"), true),
        (None, true),
    ] {
        let prepared = prepare_file_as_worker(1, upload(data, name), strip);
        match (sniffed, &prepared) {
            (_, Err(Refusal::Empty)) => assert!(data.is_empty()),
            (None, outcome) => assert_eq!(outcome.as_ref().err(), Some(&Refusal::Unsupported)),
            (Some(kind), Ok(file)) => {
                assert_eq!(file.kind, kind);
                assert!(
                    !file.content.starts_with(b"<")
                        && !file.content.first().is_some_and(u8::is_ascii_whitespace),
                    "an accepted {kind:?} begins like markup"
                );
            }
            (Some(kind), Err(refusal)) => assert_ne!(
                *refusal,
                Refusal::Unsupported,
                "sniffed as {kind:?} but refused as unsupported"
            ),
        }
    }
}

/// The copy of a file an anonymous report stores.
///
/// Checked: the stored copy is the same kind under a neutral name, no longer than the upload
/// (an M4A keeps its exact size: it is blanked in place), has nothing left to strip (a
/// second pass changes nothing), and carries no EXIF, XMP, IPTC or ICC data an image decoder
/// can find; a PDF keeps no document info, ID or XMP. Keeping details instead stores the
/// upload unchanged, and accepts whatever stripping accepts.
pub fn metadata_strip(data: &[u8]) {
    let stripped = prepare_file_as_worker(2, upload(data, Some("王五/IMG_0001.jpg")), true);
    let kept = prepare_file_as_worker(2, upload(data, Some("王五/IMG_0001.jpg")), false);
    if let Ok(file) = &kept {
        assert!(!file.stripped);
        assert_eq!(file.content, data, "a kept file was changed");
        assert_eq!(file.name, "IMG_0001.jpg");
    }
    let file = match stripped {
        Ok(file) => file,
        Err(Refusal::CannotStrip) => {
            assert!(
                kept.is_ok(),
                "a file refused for its details is refused kept too"
            );
            return;
        }
        Err(refusal) => {
            assert_eq!(
                kept.err(),
                Some(refusal),
                "kept and stripped refused differently"
            );
            return;
        }
    };
    assert!(kept.is_ok(), "a file accepted stripped is refused kept");
    assert!(file.stripped);
    assert_eq!(file.name, neutral_name(2, file.kind));
    assert_eq!(sniff(&file.content), Some(file.kind));
    match file.kind {
        Kind::M4a => assert_eq!(file.content.len(), data.len()),
        // A WebP's last chunk may gain its missing padding byte.
        Kind::Webp => assert!(file.content.len() <= data.len() + 1),
        Kind::Pdf => check_pdf_is_clean(&file.content),
        _ => assert!(file.content.len() <= data.len(), "stripping added bytes"),
    }
    if file.kind.is_image() {
        check_image_is_clean(file.kind, &file.content);
    }

    let again = prepare_file_as_worker(2, upload(&file.content, None), true)
        .unwrap_or_else(|refusal| panic!("a stripped {:?} is refused: {refusal:?}", file.kind));
    assert_eq!(again.kind, file.kind);
    // A PDF is written anew each time (object numbers may move); every other kind is cut,
    // never rewritten, so a second pass finds nothing to cut.
    if file.kind != Kind::Pdf {
        assert!(again.content == file.content, "a second pass stripped more");
    }
}

/// The preview of an image attachment, re-encoded from its pixels.
///
/// Checked: a preview is a PNG that fits the preview box, has pixels, and holds nothing the
/// stripper would remove.
pub fn image_preview(data: &[u8]) {
    let Some(kind) = sniff(data).filter(|k| k.is_image()) else {
        assert_eq!(
            preview_as_worker(Kind::Pdf, data),
            Err(Refusal::Unsupported)
        );
        return;
    };
    let Ok(png) = preview_as_worker(kind, data) else {
        return;
    };
    let decoded = image::load_from_memory_with_format(&png, image::ImageFormat::Png)
        .unwrap_or_else(|e| panic!("a preview does not decode: {e}"));
    assert!(decoded.width() >= 1 && decoded.height() >= 1);
    assert!(decoded.width() <= 1600 && decoded.height() <= 1600);
    let restripped = prepare_file_as_worker(1, upload(&png, None), true)
        .unwrap_or_else(|refusal| panic!("a preview is refused: {refusal:?}"));
    assert_eq!(restripped.kind, Kind::Png);
    assert!(
        restripped.content == png,
        "a preview carried chunks the stripper removes"
    );
}

/// The parser thread's stack here: eight times the worker's. A file whose parse needs more
/// than the worker's stack kills its worker and is refused, as designed; what the fuzzer
/// hunts is recursion without a bound, which no stack survives (libFuzzer reports a stack
/// overflow as a bare SIGSEGV, without the input).
const FUZZ_STACK_BYTES: usize = 8 * STACK_BYTES;

/// A job on a thread of its own, as the worker runs it; a panic is the fuzzer's to see.
fn run_as_worker(job: Job, bytes: Vec<u8>) -> Outcome {
    std::thread::Builder::new()
        .stack_size(FUZZ_STACK_BYTES)
        .spawn(move || run(job, bytes))
        .map(|parser| parser.join())
        .unwrap_or_else(|e| panic!("no parser thread: {e}"))
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// `prepare_file` as the file worker runs it: the same job, the same in-process bounds.
fn prepare_file_as_worker(seq: usize, upload: Upload, strip: bool) -> Result<Attachment, Refusal> {
    let job = Job::Prepare {
        seq,
        strip,
        name: upload.name,
    };
    match run_as_worker(job, upload.bytes) {
        Outcome::Prepared(file) => Ok(file),
        Outcome::Refused(refusal) => Err(refusal),
        Outcome::Preview(_) => panic!("a prepare job answered with a preview"),
    }
}

/// `preview_png` as the file worker runs it.
fn preview_as_worker(kind: Kind, data: &[u8]) -> Result<Vec<u8>, Refusal> {
    let job = Job::Preview {
        kind: kind.code().to_string(),
    };
    match run_as_worker(job, data.to_vec()) {
        Outcome::Preview(png) => Ok(png),
        Outcome::Refused(refusal) => Err(refusal),
        Outcome::Prepared(_) => panic!("a preview job answered with a file"),
    }
}

fn upload(data: &[u8], name: Option<&str>) -> Upload {
    Upload {
        name: name.map(str::to_string),
        bytes: data.to_vec(),
    }
}

/// No metadata an image decoder reads survives stripping. Files the decoder cannot open are
/// left to the preview target.
fn check_image_is_clean(kind: Kind, bytes: &[u8]) {
    let format = match kind {
        Kind::Jpeg => image::ImageFormat::Jpeg,
        Kind::Png => image::ImageFormat::Png,
        _ => image::ImageFormat::WebP,
    };
    let reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), format);
    let Ok(mut decoder) = reader.into_decoder() else {
        return;
    };
    // The one EXIF detail kept is which way up the picture is: a directory holding the
    // Orientation tag alone.
    let exif = decoder.exif_metadata().ok().flatten();
    assert!(
        exif.as_deref()
            .is_none_or(|e| e.len() == 26
                && e.starts_with(b"MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01")),
        "EXIF survived: {exif:?}"
    );
    assert_eq!(decoder.xmp_metadata().ok().flatten(), None, "XMP survived");
    assert_eq!(
        decoder.iptc_metadata().ok().flatten(),
        None,
        "IPTC survived"
    );
    assert_eq!(decoder.icc_profile().ok().flatten(), None, "ICC survived");
}

/// A stripped PDF reads back without document info, file ID, XMP or application data.
fn check_pdf_is_clean(bytes: &[u8]) {
    let doc = lopdf::Document::load_mem(bytes)
        .unwrap_or_else(|e| panic!("a stripped PDF does not read back: {e}"));
    assert!(!doc.trailer.has(b"Info"), "document info survived");
    assert!(!doc.trailer.has(b"ID"), "the file ID survived");
    for object in doc.objects.values() {
        let dict = match object {
            lopdf::Object::Dictionary(dict) => dict,
            lopdf::Object::Stream(stream) => &stream.dict,
            _ => continue,
        };
        assert!(!dict.has(b"Metadata"), "XMP survived");
        assert!(!dict.has(b"PieceInfo"), "application data survived");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::fuzzing::tests::seed;

    /// The checks above only bite on files that are accepted: the seeds must be.
    #[test]
    fn the_saved_seeds_are_accepted_files_of_every_kind() {
        let accepted = [
            ("jpeg-exif-gps", Kind::Jpeg),
            ("jpeg-jfif-thumbnail-comment-trailer", Kind::Jpeg),
            ("png-text-xmp-exif", Kind::Png),
            ("webp-exif", Kind::Webp),
            ("webp-lossless", Kind::Webp),
            ("pdf-info-xmp", Kind::Pdf),
            ("mp3-id3", Kind::Mp3),
            ("aac-adts", Kind::Aac),
            ("m4a-udta", Kind::M4a),
            ("amr", Kind::Amr),
        ];
        for (name, kind) in accepted {
            let data = seed("metadata_strip", name);
            let file = prepare_file_as_worker(1, upload(&data, None), true)
                .unwrap_or_else(|refusal| panic!("{name}: {refusal:?}"));
            assert_eq!(file.kind, kind, "{name}");
            assert!(file.content.len() <= data.len(), "{name}");
        }
        let refused = [
            ("mp4-video", Refusal::NotAudio),
            ("html", Refusal::Unsupported),
            ("jpeg-html-polyglot", Refusal::Damaged),
        ];
        for (name, refusal) in refused {
            let data = seed("metadata_strip", name);
            let outcome = prepare_file_as_worker(1, upload(&data, None), true);
            assert_eq!(outcome.err(), Some(refusal), "{name}");
        }
        for name in ["jpeg", "png-wide", "webp-lossy", "webp-alpha"] {
            let data = seed("image_preview", name);
            let kind = sniff(&data).unwrap();
            assert!(preview_as_worker(kind, &data).is_ok(), "{name}");
        }
    }

    /// The seeds carry what must be removed, so the checks have something to find.
    #[test]
    fn the_checks_find_metadata_left_in_a_file() {
        let jpeg = seed("metadata_strip", "jpeg-exif-gps");
        assert!(std::panic::catch_unwind(|| check_image_is_clean(Kind::Jpeg, &jpeg)).is_err());
        let png = seed("metadata_strip", "png-text-xmp-exif");
        assert!(std::panic::catch_unwind(|| check_image_is_clean(Kind::Png, &png)).is_err());
        let pdf = seed("metadata_strip", "pdf-info-xmp");
        assert!(std::panic::catch_unwind(|| check_pdf_is_clean(&pdf)).is_err());
    }
}
