//! Sound recordings: MP3 and raw AAC without their tags, M4A with its metadata blanked in place.

use super::{be32, le32};
use crate::domain::attachment::{Kind, Refusal};
use crate::media::sniff::{id3v2_prefix_len, mpeg_frame_len, syncsafe};

/// MP3 and raw AAC: ID3v2 tags at the start, and ID3v1, APEv2, Lyrics3 and appended ID3v2
/// tags at the end, are cut off; what remains must start with an audio frame.
pub(super) fn mpeg_audio(kind: Kind, b: &[u8]) -> Result<Vec<u8>, Refusal> {
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
pub(super) fn m4a(b: &[u8]) -> Result<Vec<u8>, Refusal> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mp3_loses_id3_and_ape_tags() {
        let frames = crate::media::sniff::mp3_frames(2, 0x11);
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

    fn tiny_m4a(handler: &[u8; 4]) -> Vec<u8> {
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
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// One MPEG-1 layer III frame, 128 kbit/s at 44.1 kHz: 417 bytes.
    fn mp3_frame(fill: u8) -> Vec<u8> {
        let mut frame = vec![0xFF, 0xFB, 0x90, 0x64];
        frame.resize(417, fill);
        frame
    }

    proptest! {
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
