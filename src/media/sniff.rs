//! Recognising an accepted kind of file from its first bytes.

use crate::domain::attachment::Kind;

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// The accepted kind these bytes are, or `None`. Only the content counts: a PDF named
/// `photo.jpg` is a PDF, and an HTML page is nothing at all.
pub fn sniff(bytes: &[u8]) -> Option<Kind> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some(Kind::Jpeg);
    }
    if bytes.starts_with(PNG_SIGNATURE) {
        return Some(Kind::Png);
    }
    if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Some(Kind::Webp);
    }
    if bytes.starts_with(b"%PDF-") {
        return Some(Kind::Pdf);
    }
    if bytes.starts_with(b"#!AMR\n") || bytes.starts_with(b"#!AMR-WB\n") {
        return Some(Kind::Amr);
    }
    if is_mp4_audio_brand(bytes) {
        return Some(Kind::M4a);
    }
    let audio = bytes.get(id3v2_prefix_len(bytes)..)?;
    if adts_frames(audio) {
        return Some(Kind::Aac);
    }
    if mpeg_audio_frames(audio) {
        return Some(Kind::Mp3);
    }
    None
}

/// An ISO BMFF file whose `ftyp` names a brand phones and recorders use for audio. Whether it
/// really holds sound (and no picture) is checked when it is read in full.
fn is_mp4_audio_brand(bytes: &[u8]) -> bool {
    if bytes.len() < 12 || &bytes[4..8] != b"ftyp" {
        return false;
    }
    matches!(
        &bytes[8..12],
        b"M4A " | b"M4B " | b"mp42" | b"mp41" | b"isom" | b"iso2" | b"3gp4" | b"3gp5" | b"3gp6"
    )
}

/// The length of the ID3v2 tags at the start of an MP3 or AAC file (several may follow
/// each other), 0 when there are none.
pub(super) fn id3v2_prefix_len(bytes: &[u8]) -> usize {
    let mut at = 0;
    while let Some(len) = bytes.get(at..).and_then(id3v2_len) {
        at += len;
    }
    at
}

/// The full length of an ID3v2 tag at the start of `bytes`, footer included.
fn id3v2_len(bytes: &[u8]) -> Option<usize> {
    if bytes.len() < 10 || &bytes[0..3] != b"ID3" || bytes[3] == 0xFF || bytes[4] == 0xFF {
        return None;
    }
    let size = syncsafe(&bytes[6..10])?;
    let footer = if bytes[5] & 0x10 != 0 { 10 } else { 0 };
    Some(10 + size + footer)
}

pub(super) fn syncsafe(b: &[u8]) -> Option<usize> {
    if b.len() != 4 || b.iter().any(|x| x & 0x80 != 0) {
        return None;
    }
    Some(b.iter().fold(0usize, |acc, x| (acc << 7) | usize::from(*x)))
}

/// Raw AAC: an ADTS frame header, and a second one where the first frame says it ends (when
/// the file is that long).
fn adts_frames(bytes: &[u8]) -> bool {
    two_frames(bytes, 7, adts_frame_len)
}

/// A frame header at the start, and a second one where the first frame ends when at least
/// `header` bytes are left there.
fn two_frames(bytes: &[u8], header: usize, frame_len: fn(&[u8]) -> Option<usize>) -> bool {
    let Some(first) = frame_len(bytes) else {
        return false;
    };
    match bytes.get(first..) {
        Some(rest) if rest.len() >= header => frame_len(rest).is_some(),
        _ => true,
    }
}

fn adts_frame_len(h: &[u8]) -> Option<usize> {
    if h.len() < 7 || h[0] != 0xFF || h[1] & 0xF6 != 0xF0 {
        return None;
    }
    let sampling = (h[2] >> 2) & 0x0F;
    if sampling > 12 {
        return None;
    }
    let len = (usize::from(h[3] & 0x03) << 11) | (usize::from(h[4]) << 3) | usize::from(h[5] >> 5);
    (len >= 7).then_some(len)
}

/// MPEG audio (MP3 and its layer I/II cousins): a valid frame header, and a second one where
/// the first frame ends (when the file is that long).
fn mpeg_audio_frames(bytes: &[u8]) -> bool {
    two_frames(bytes, 4, mpeg_frame_len)
}

/// The length of the MPEG audio frame whose header starts `h`, or `None` if it is not one.
pub(super) fn mpeg_frame_len(h: &[u8]) -> Option<usize> {
    if h.len() < 4 || h[0] != 0xFF || h[1] & 0xE0 != 0xE0 {
        return None;
    }
    let version = (h[1] >> 3) & 0x03; // 0: 2.5, 1: reserved, 2: 2, 3: 1
    let layer = (h[1] >> 1) & 0x03; // 1: III, 2: II, 3: I
    let bitrate_index = usize::from(h[2] >> 4);
    let rate_index = usize::from((h[2] >> 2) & 0x03);
    let padding = usize::from((h[2] >> 1) & 0x01);
    if version == 1 || layer == 0 || bitrate_index == 0 || bitrate_index == 15 || rate_index == 3 {
        return None;
    }
    const V1: [[u32; 15]; 3] = [
        [
            0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448,
        ],
        [
            0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384,
        ],
        [
            0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
        ],
    ];
    const V2: [[u32; 15]; 2] = [
        [
            0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256,
        ],
        [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
    ];
    const RATES: [u32; 3] = [44_100, 48_000, 32_000];
    let mpeg1 = version == 3;
    let kbps = match (mpeg1, layer) {
        (true, 3) => V1[0][bitrate_index],
        (true, 2) => V1[1][bitrate_index],
        (true, _) => V1[2][bitrate_index],
        (false, 3) => V2[0][bitrate_index],
        (false, _) => V2[1][bitrate_index],
    };
    let divisor = match version {
        3 => 1,
        2 => 2,
        _ => 4,
    };
    let rate = RATES[rate_index] / divisor;
    let bits = kbps as usize * 1000;
    let rate = rate as usize;
    let len = match layer {
        3 => (12 * bits / rate + padding) * 4,
        1 if !mpeg1 => 72 * bits / rate + padding,
        _ => 144 * bits / rate + padding,
    };
    (len >= 4).then_some(len)
}

/// `n` MPEG-1 layer III frames (128 kbit/s, 44.1 kHz: 417 bytes each) of `fill`, for tests.
#[cfg(test)]
pub(super) fn mp3_frames(n: usize, fill: u8) -> Vec<u8> {
    let mut mp3 = Vec::new();
    for _ in 0..n {
        mp3.extend_from_slice(&[0xFF, 0xFB, 0x90, 0x64]);
        mp3.extend(std::iter::repeat_n(fill, 413));
    }
    mp3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_bytes_decide() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0rest"), Some(Kind::Jpeg));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Some(Kind::Png));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(Kind::Webp));
        assert_eq!(sniff(b"%PDF-1.7\n"), Some(Kind::Pdf));
        assert_eq!(sniff(b"#!AMR\n\x3c"), Some(Kind::Amr));
        assert_eq!(sniff(b"\0\0\0\x1cftypM4A \0\0\0\0"), Some(Kind::M4a));
        assert_eq!(sniff(b"\0\0\0\x1cftypqt  \0\0\0\0"), None);
        assert_eq!(sniff(b"<!DOCTYPE html><script>"), None);
        assert_eq!(sniff(b"GIF89a"), None);
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(b"\xFF"), None);
    }

    #[test]
    fn mpeg_audio_needs_a_real_frame_header_and_id3_is_skipped() {
        let mp3 = mp3_frames(3, 0);
        assert_eq!(mpeg_frame_len(&mp3), Some(417));
        assert_eq!(sniff(&mp3), Some(Kind::Mp3));
        let mut tagged = b"ID3\x04\0\0\0\0\0\x05hello".to_vec();
        tagged.extend_from_slice(&mp3);
        assert_eq!(sniff(&tagged), Some(Kind::Mp3));
        // A frame whose successor is garbage is not MPEG audio.
        let mut broken = mp3[..417].to_vec();
        broken.extend_from_slice(b"<html>");
        assert_eq!(sniff(&broken), None);
        // ADTS (AAC) frames.
        let frame = [0xFF, 0xF1, 0x50, 0x80, 0x01, 0x3F, 0xFC, 0, 0];
        let mut aac = frame.to_vec();
        aac.extend_from_slice(&frame);
        assert_eq!(sniff(&aac), Some(Kind::Aac));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// The first bytes each kind must start with (the M4A brand is checked at 8..12).
    fn has_magic(kind: Kind, b: &[u8]) -> bool {
        match kind {
            Kind::Jpeg => b.starts_with(&[0xFF, 0xD8, 0xFF]),
            Kind::Png => b.starts_with(PNG_SIGNATURE),
            Kind::Webp => b.starts_with(b"RIFF") && b.get(8..12) == Some(b"WEBP"),
            Kind::Pdf => b.starts_with(b"%PDF-"),
            Kind::Amr => b.starts_with(b"#!AMR"),
            Kind::M4a => b.get(4..8) == Some(b"ftyp"),
            Kind::Aac | Kind::Mp3 => b.starts_with(b"ID3") || b.first() == Some(&0xFF),
        }
    }

    fn magic() -> impl Strategy<Value = (Kind, Vec<u8>)> {
        prop::sample::select(vec![
            (Kind::Jpeg, b"\xFF\xD8\xFF".to_vec()),
            (Kind::Png, PNG_SIGNATURE.to_vec()),
            (Kind::Webp, b"RIFF\x10\0\0\0WEBP".to_vec()),
            (Kind::Pdf, b"%PDF-".to_vec()),
            (Kind::Amr, b"#!AMR\n".to_vec()),
            (Kind::M4a, b"\0\0\0\x18ftypM4A ".to_vec()),
        ])
    }

    proptest! {
        #[test]
        fn whatever_is_recognised_starts_as_its_kind_does(
            bytes in prop::collection::vec(any::<u8>(), 0..64),
        ) {
            if let Some(kind) = sniff(&bytes) {
                prop_assert!(has_magic(kind, &bytes), "{:?} without its magic", kind);
            }
        }

        #[test]
        fn the_first_bytes_decide_whatever_follows(
            (kind, head) in magic(),
            tail in prop::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut bytes = head;
            bytes.extend(tail);
            prop_assert_eq!(sniff(&bytes), Some(kind));
        }

        /// Markup never passes for an accepted kind, whatever follows its first character.
        #[test]
        fn what_starts_like_markup_or_text_is_nothing(
            start in prop::sample::select(vec!["<", " <", "\n<", "\u{FEFF}<", "\t", "{"]),
            rest in any::<String>(),
        ) {
            prop_assert_eq!(sniff(format!("{start}{rest}").as_bytes()), None);
        }
    }
}
