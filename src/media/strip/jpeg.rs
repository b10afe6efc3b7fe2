//! JPEG: the picture's segments, without the metadata segments around them.

use super::be16;
use crate::domain::attachment::Refusal;

/// The JFIF header's length without a thumbnail: identifier, version, units, densities and
/// the thumbnail's width and height.
const JFIF_HEADER: usize = 14;

/// JPEG: every segment is copied except APP1–APP15 (EXIF with its thumbnail and GPS, XMP,
/// ICC, IPTC/Photoshop, maker data), a JFIF extension (thumbnail) and comments. The JFIF
/// header (less any thumbnail in it) and Adobe's colour-transform marker stay: decoders
/// need them and they say nothing about the sender. Anything after the end-of-image marker
/// (other pictures, appended data) is dropped.
pub(super) fn jpeg(b: &[u8]) -> Result<Vec<u8>, Refusal> {
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
                } else if marker == 0xE1
                    && let Some(turn) = orientation(body)
                {
                    // The one detail kept of EXIF: which way up the picture is. It names no
                    // one, and without it a portrait photo arrives on its side.
                    out.extend_from_slice(&orientation_segment(turn));
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

/// The EXIF Orientation (1–8) of an APP1 segment's body, from its first image directory.
fn orientation(body: &[u8]) -> Option<u16> {
    let tiff = body.strip_prefix(b"Exif\0\0")?;
    let big = match tiff.get(..4)? {
        b"MM\0*" => true,
        b"II*\0" => false,
        _ => return None,
    };
    let u16_at = |at: usize| -> Option<u16> {
        let b: [u8; 2] = tiff.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(if big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    };
    let u32_at = |at: usize| -> Option<usize> {
        let b: [u8; 4] = tiff.get(at..at.checked_add(4)?)?.try_into().ok()?;
        usize::try_from(if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
        .ok()
    };
    let ifd = u32_at(4)?;
    let entries = usize::from(u16_at(ifd)?);
    (0..entries).find_map(|i| {
        let entry = ifd + 2 + 12 * i;
        // Tag 0x0112, type SHORT, one value.
        (u16_at(entry)? == 0x0112 && u16_at(entry + 2)? == 3 && u32_at(entry + 4)? == 1)
            .then(|| u16_at(entry + 8))
            .flatten()
            .filter(|turn| (1..=8).contains(turn))
    })
}

/// An APP1 segment holding an EXIF directory with the Orientation tag alone.
fn orientation_segment(turn: u16) -> Vec<u8> {
    let mut body = b"Exif\0\0MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01".to_vec();
    body.extend_from_slice(&turn.to_be_bytes());
    body.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    let mut segment = vec![0xFF, 0xE1];
    segment.extend_from_slice(&u16::try_from(body.len() + 2).unwrap_or(0).to_be_bytes());
    segment.extend_from_slice(&body);
    segment
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

    #[test]
    fn the_orientation_alone_survives_of_exif() {
        // Little-endian EXIF: Make first, then Orientation 6 (turned 90° clockwise).
        let mut tiff = b"II*\0\x08\0\0\0\x02\0".to_vec();
        tiff.extend_from_slice(&[0x0F, 0x01, 2, 0, 8, 0, 0, 0, b'C', b'a', b'n', b'a']);
        tiff.extend_from_slice(&[0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0]);
        tiff.extend_from_slice(&[0, 0, 0, 0]);
        let mut body = b"Exif\0\0".to_vec();
        body.extend_from_slice(&tiff);
        assert_eq!(orientation(&body), Some(6));
        let kept = orientation_segment(6);
        assert_eq!(orientation(&kept[4..]), Some(6));
        assert_eq!(orientation(b"Exif\0\0MM\0*\0\0\0\x08\0\x01"), None);
        assert_eq!(orientation(b"Exif\0\0II*\0\xff\xff\xff\xff"), None);
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
}

#[cfg(test)]
mod properties {
    use super::*;
    use crate::media::strip::body;
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
            tagged(0xEE, b"Adobe", true),
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
            tagged(0xE0, b"JFXX\0", false),
        ]
    }

    /// A `marker` segment whose body starts with `tag`.
    fn tagged(marker: u8, tag: &'static [u8], kept: bool) -> impl Strategy<Value = Segment> {
        body().prop_map(move |mut body| {
            body.splice(0..0, tag.iter().copied());
            Segment { marker, body, kept }
        })
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
    }
}
