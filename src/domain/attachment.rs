//! Evidence files: what a file really is (sniffed from its bytes, never its name or declared
//! type), and the copy of it that is stored once everything identifying the sender is removed.

mod sniff;
mod strip;

pub use sniff::sniff;

/// The kinds of file a report may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Jpeg,
    Png,
    Webp,
    Pdf,
    /// AAC audio in an ISO BMFF (MP4) container: what most phones record.
    M4a,
    /// Raw AAC in ADTS frames.
    Aac,
    Mp3,
    Amr,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::Jpeg,
        Kind::Png,
        Kind::Webp,
        Kind::Pdf,
        Kind::M4a,
        Kind::Aac,
        Kind::Mp3,
        Kind::Amr,
    ];

    /// What is stored in the `kind` column.
    pub fn code(self) -> &'static str {
        match self {
            Kind::Jpeg => "jpeg",
            Kind::Png => "png",
            Kind::Webp => "webp",
            Kind::Pdf => "pdf",
            Kind::M4a => "m4a",
            Kind::Aac => "aac",
            Kind::Mp3 => "mp3",
            Kind::Amr => "amr",
        }
    }

    pub fn parse(code: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.code() == code)
    }

    pub fn extension(self) -> &'static str {
        match self {
            Kind::Jpeg => "jpg",
            other => other.code(),
        }
    }

    /// The media type a download is served with: always the sniffed one.
    pub fn media_type(self) -> &'static str {
        match self {
            Kind::Jpeg => "image/jpeg",
            Kind::Png => "image/png",
            Kind::Webp => "image/webp",
            Kind::Pdf => "application/pdf",
            Kind::M4a => "audio/mp4",
            Kind::Aac => "audio/aac",
            Kind::Mp3 => "audio/mpeg",
            Kind::Amr => "audio/amr",
        }
    }

    pub fn is_image(self) -> bool {
        matches!(self, Kind::Jpeg | Kind::Png | Kind::Webp)
    }
}

/// A file as it arrived: the name the sender's device gave it (if any) and its bytes.
pub struct Upload {
    pub name: Option<String>,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A file name can identify its sender: never in a log.
        f.debug_struct("Upload")
            .field("len", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

/// Why a file was not accepted. `key()` is the message-catalog key of the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Empty,
    /// Not one of the accepted kinds.
    Unsupported,
    /// Looks like an accepted kind but cannot be read as one.
    Damaged,
    /// An MP4 file that is not a sound recording (video, or no sound track).
    NotAudio,
    /// What identifies the sender cannot be removed (an encrypted PDF): not accepted on an
    /// anonymous report, nor when the reporter did not ask to keep file details.
    CannotStrip,
}

impl Refusal {
    pub fn key(self) -> &'static str {
        match self {
            Refusal::Empty => "attach.empty",
            Refusal::Unsupported => "attach.unsupported",
            Refusal::Damaged => "attach.damaged",
            Refusal::NotAudio => "attach.not_audio",
            Refusal::CannotStrip => "attach.cannot_strip",
        }
    }
}

/// A file ready to be sealed and stored.
#[derive(Clone)]
pub struct Attachment {
    pub kind: Kind,
    /// `附件1.jpg` unless the original is kept, then the sender's own file name.
    pub name: String,
    pub content: Vec<u8>,
    /// Whether metadata was removed (false only when a real-name reporter asked to keep it).
    pub stripped: bool,
}

impl std::fmt::Debug for Attachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attachment")
            .field("kind", &self.kind)
            .field("len", &self.content.len())
            .field("stripped", &self.stripped)
            .finish_non_exhaustive()
    }
}

/// The longest file name kept, in characters.
const NAME_MAX: usize = 200;

/// The neutral name a file is stored and served under: `附件1.pdf`.
pub fn neutral_name(seq: usize, kind: Kind) -> String {
    format!("附件{seq}.{}", kind.extension())
}

/// The last path component of a name a browser or client sent, without control characters.
pub fn clean_name(raw: &str) -> Option<String> {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control())
        .take(NAME_MAX)
        .collect::<String>()
        .trim()
        .to_string();
    (!cleaned.is_empty()).then_some(cleaned)
}

impl Attachment {
    /// Checks what the file really is and, when `strip` is set, removes everything in it that
    /// could identify its sender (and its name). `seq` counts from 1 within the report.
    ///
    /// A file is read by the remover even when its details are kept: a file that cannot be
    /// parsed as the kind it claims to be is refused either way.
    pub fn prepare(seq: usize, upload: Upload, strip: bool) -> Result<Attachment, Refusal> {
        if upload.bytes.is_empty() {
            return Err(Refusal::Empty);
        }
        let kind = sniff(&upload.bytes).ok_or(Refusal::Unsupported)?;
        let stripped = strip::strip(kind, &upload.bytes);
        if strip {
            return Ok(Attachment {
                kind,
                name: neutral_name(seq, kind),
                content: stripped?,
                stripped: true,
            });
        }
        match stripped {
            Ok(_) | Err(Refusal::CannotStrip) => Ok(Attachment {
                kind,
                name: upload
                    .name
                    .as_deref()
                    .and_then(clean_name)
                    .unwrap_or_else(|| neutral_name(seq, kind)),
                content: upload.bytes,
                stripped: false,
            }),
            Err(other) => Err(other),
        }
    }
}

/// The largest image a preview decodes, in pixels per side and in decoded bytes: a small
/// file that expands to gigabytes is refused instead.
const PREVIEW_MAX_SIDE: u32 = 12_000;
const PREVIEW_MAX_ALLOC: u64 = 256 * 1024 * 1024;
/// Previews are scaled to fit this box.
const PREVIEW_BOX: u32 = 1600;

/// A PNG re-encoded from the decoded pixels of an image attachment: nothing of the upload's
/// bytes but its pixels reaches the viewer.
pub fn preview_png(kind: Kind, bytes: &[u8]) -> Result<Vec<u8>, Refusal> {
    let format = match kind {
        Kind::Jpeg => image::ImageFormat::Jpeg,
        Kind::Png => image::ImageFormat::Png,
        Kind::Webp => image::ImageFormat::WebP,
        _ => return Err(Refusal::Unsupported),
    };
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(PREVIEW_MAX_SIDE);
    limits.max_image_height = Some(PREVIEW_MAX_SIDE);
    limits.max_alloc = Some(PREVIEW_MAX_ALLOC);
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), format);
    reader.limits(limits);
    let decoded = reader.decode().map_err(|_| Refusal::Damaged)?;
    let fitted = if decoded.width() > PREVIEW_BOX || decoded.height() > PREVIEW_BOX {
        decoded.thumbnail(PREVIEW_BOX, PREVIEW_BOX)
    } else {
        decoded
    };
    let mut out = std::io::Cursor::new(Vec::new());
    fitted
        .to_rgba8()
        .write_to(&mut out, image::ImageFormat::Png)
        .map_err(|_| Refusal::Damaged)?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_their_paths_and_control_characters() {
        assert_eq!(
            clean_name("C:\\Users\\王五\\照片.jpg").as_deref(),
            Some("照片.jpg")
        );
        assert_eq!(clean_name("a/b/\u{0}x\ny.pdf").as_deref(), Some("xy.pdf"));
        assert_eq!(clean_name("  /  "), None);
        assert_eq!(neutral_name(2, Kind::Jpeg), "附件2.jpg");
    }

    #[test]
    fn a_file_is_judged_by_its_bytes_not_its_name() {
        use lopdf::{Document, Object, dictionary};
        let mut doc = Document::with_version("1.4");
        let pages = doc.new_object_id();
        doc.objects.insert(
            pages,
            Object::Dictionary(
                dictionary! {"Type" => "Pages", "Kids" => Vec::<Object>::new(), "Count" => 0},
            ),
        );
        let catalog = doc.add_object(dictionary! {"Type" => "Catalog", "Pages" => pages});
        doc.trailer.set("Root", catalog);
        let mut pdf = Vec::new();
        doc.save_to(&mut pdf).unwrap();
        let upload = Upload {
            name: Some("photo.jpg".into()),
            bytes: pdf,
        };
        let stored = Attachment::prepare(3, upload, true).unwrap();
        assert_eq!(stored.kind, Kind::Pdf);
        assert_eq!(stored.name, "附件3.pdf");
        assert!(stored.stripped);

        let html = Upload {
            name: Some("photo.jpg".into()),
            bytes: b"<html><script>alert(1)</script></html>".to_vec(),
        };
        assert_eq!(
            Attachment::prepare(1, html, false).err(),
            Some(Refusal::Unsupported)
        );
        let empty = Upload {
            name: None,
            bytes: Vec::new(),
        };
        assert_eq!(
            Attachment::prepare(1, empty, true).err(),
            Some(Refusal::Empty)
        );
    }
}
