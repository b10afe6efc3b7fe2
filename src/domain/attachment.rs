//! Evidence files as a report carries them: the accepted kinds, a file as it arrived, why one
//! is refused, and the copy that is stored (`crate::media` checks and strips them).

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
    /// The file could not be checked: its worker died, overran its limits or its time.
    Unchecked,
}

impl Refusal {
    pub const ALL: [Refusal; 6] = [
        Refusal::Empty,
        Refusal::Unsupported,
        Refusal::Damaged,
        Refusal::NotAudio,
        Refusal::CannotStrip,
        Refusal::Unchecked,
    ];

    /// The refusal whose `key()` this is.
    pub fn from_key(key: &str) -> Option<Refusal> {
        Refusal::ALL.into_iter().find(|r| r.key() == key)
    }

    pub fn key(self) -> &'static str {
        match self {
            Refusal::Empty => "attach.empty",
            Refusal::Unsupported => "attach.unsupported",
            Refusal::Damaged => "attach.damaged",
            Refusal::NotAudio => "attach.not_audio",
            Refusal::CannotStrip => "attach.cannot_strip",
            Refusal::Unchecked => "attach.unchecked",
        }
    }
}

/// A file ready to be sealed and stored.
#[derive(Clone, PartialEq, Eq)]
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
}
