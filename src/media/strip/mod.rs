//! Removing what could identify a sender from each kind of file, without re-encoding it:
//! photo metadata (EXIF with GPS and device, XMP, IPTC, ICC, thumbnails), PDF document info
//! and XMP, audio tags and MP4 creation times. Every parser here reads hostile bytes: it
//! checks every length and never panics or recurses without bound.

mod audio;
mod jpeg;
mod pdf;
mod png;
mod webp;

use crate::domain::attachment::{Kind, Refusal};

/// The copy of `bytes` (already sniffed as `kind`) that keeps the content and nothing else.
pub(super) fn strip(kind: Kind, bytes: &[u8]) -> Result<Vec<u8>, Refusal> {
    match kind {
        Kind::Jpeg => jpeg::jpeg(bytes),
        Kind::Png => png::png(bytes),
        Kind::Webp => webp::webp(bytes),
        Kind::Pdf => pdf::pdf(bytes),
        Kind::M4a => audio::m4a(bytes),
        Kind::Mp3 | Kind::Aac => audio::mpeg_audio(kind, bytes),
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

/// Any few bytes: what a generated segment or chunk holds.
#[cfg(test)]
fn body() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
    proptest::collection::vec(proptest::arbitrary::any::<u8>(), 0..40)
}
