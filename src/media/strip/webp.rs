//! WebP: the RIFF chunks that carry the picture, with the flags for what is gone cleared.

use super::le32;
use crate::domain::attachment::Refusal;

/// WebP: the RIFF chunks that carry the picture (and its animation) are kept; EXIF, XMP,
/// ICCP and unknown chunks are dropped and the extended header's flags for them cleared.
pub(super) fn webp(b: &[u8]) -> Result<Vec<u8>, Refusal> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}

#[cfg(test)]
mod properties {
    use super::tests::riff_chunk;
    use super::*;
    use crate::media::strip::body;
    use proptest::prelude::*;

    proptest! {
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
    }
}
