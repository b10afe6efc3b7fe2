//! PNG: the chunks that show the picture, and nothing else.

use super::be32;
use crate::domain::attachment::Refusal;

/// PNG: only the chunks needed to show the picture are kept; text (tEXt, zTXt, iTXt — XMP
/// lives there), eXIf, tIME, iCCP and anything unknown are dropped, and so is anything
/// after IEND.
pub(super) fn png(b: &[u8]) -> Result<Vec<u8>, Refusal> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A PNG chunk as stored: length, type, data, (unchecked) CRC.
    pub(super) fn png_chunk(kind: &[u8], data: &[u8]) -> Vec<u8> {
        let mut c = u32::try_from(data.len()).unwrap().to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(data);
        c.extend_from_slice(&[0; 4]);
        c
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
}

#[cfg(test)]
mod properties {
    use super::tests::png_chunk;
    use super::*;
    use crate::media::strip::body;
    use proptest::prelude::*;

    proptest! {
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
    }
}
