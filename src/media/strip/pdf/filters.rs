//! A PDF stream's filters, decoded with a budget: every filter of a chain counts, so a
//! small file cannot expand to gigabytes however its layers are stacked.

/// A filter the stripper can decode (the data filters of ISO 32000-1, 7.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Data {
    Flate,
    Lzw,
    Ascii85,
    AsciiHex,
    RunLength,
}

/// What a filter name stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Filter {
    Data(Data),
    /// A JPEG image: its bytes go through the JPEG stripper.
    Dct,
    /// An image codec whose data holds no metadata (fax, JBIG2): kept as it is.
    Bilevel,
    /// Anything else, JPEG 2000 among them (its boxes can carry XML): cannot be cleaned.
    Unknown,
}

impl Filter {
    /// The filter named `name` (without its slash), full names and the abbreviations
    /// allowed in inline images.
    pub(super) fn named(name: &[u8]) -> Filter {
        match name {
            b"FlateDecode" | b"Fl" => Filter::Data(Data::Flate),
            b"LZWDecode" | b"LZW" => Filter::Data(Data::Lzw),
            b"ASCII85Decode" | b"A85" => Filter::Data(Data::Ascii85),
            b"ASCIIHexDecode" | b"AHx" => Filter::Data(Data::AsciiHex),
            b"RunLengthDecode" | b"RL" => Filter::Data(Data::RunLength),
            b"DCTDecode" | b"DCT" => Filter::Dct,
            b"CCITTFaxDecode" | b"CCF" | b"JBIG2Decode" => Filter::Bilevel,
            _ => Filter::Unknown,
        }
    }
}

/// What a file's streams may still expand to, shared by every decode of the file.
#[derive(Debug)]
pub(super) struct Budget(pub u64);

/// The budget ran out: the file expands past what any real document does.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct OverBudget;

impl Budget {
    fn spend(&mut self, n: usize) -> Result<(), OverBudget> {
        self.0 = self.0.checked_sub(n as u64).ok_or(OverBudget)?;
        Ok(())
    }

    /// Runs `decode` with at most `cap` of this budget, and spends here what it spent.
    pub(super) fn capped<T>(&mut self, cap: u64, decode: impl FnOnce(&mut Budget) -> T) -> T {
        let lent = cap.min(self.0);
        let mut own = Budget(lent);
        let done = decode(&mut own);
        self.0 -= lent - own.0;
        done
    }
}

/// `data` decoded through every filter of `chain`, in order. A damaged stream yields what
/// decodes before the damage (a lenient reader would use that too).
pub(super) fn decode(
    data: &[u8],
    chain: &[Data],
    budget: &mut Budget,
) -> Result<Vec<u8>, OverBudget> {
    let mut current = data.to_vec();
    for filter in chain {
        current = decode_one(*filter, &current, budget)?;
    }
    Ok(current)
}

fn decode_one(filter: Data, input: &[u8], budget: &mut Budget) -> Result<Vec<u8>, OverBudget> {
    let mut out = Vec::new();
    match filter {
        Data::Flate => {
            // Everything up to a fault in the data is kept, as the PDF parser keeps it: a
            // reader that dropped the block holding the fault would judge less than the
            // parser goes on to parse (an object stream nesting arrays thousands deep just
            // before a corrupt code passed the first look as empty).
            let mut inflater = flate2::Decompress::new(true);
            loop {
                out.reserve(64 * 1024);
                let (read, written) = (inflater.total_in(), inflater.total_out());
                let rest = input.get(read as usize..).unwrap_or_default();
                let status = inflater.decompress_vec(rest, &mut out, flate2::FlushDecompress::None);
                budget.spend((inflater.total_out() - written) as usize)?;
                let moved = inflater.total_in() > read || inflater.total_out() > written;
                match status {
                    Ok(flate2::Status::Ok) if moved => {}
                    _ => break,
                }
            }
        }
        Data::Lzw => {
            // PDF's LZW codes grow one code early, as TIFF's do.
            let mut decoder =
                weezl::decode::Decoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8);
            let mut buf = vec![0u8; 64 * 1024];
            let mut rest = input;
            loop {
                let step = decoder.decode_bytes(rest, &mut buf);
                budget.spend(step.consumed_out)?;
                out.extend_from_slice(&buf[..step.consumed_out]);
                rest = &rest[step.consumed_in..];
                match step.status {
                    Ok(weezl::LzwStatus::Ok) if step.consumed_in + step.consumed_out > 0 => {}
                    _ => break,
                }
            }
        }
        Data::Ascii85 => {
            let mut group = [0u8; 5];
            let mut filled = 0;
            for &c in input {
                match c {
                    b'~' => break,
                    b'z' if filled == 0 => {
                        budget.spend(4)?;
                        out.extend_from_slice(&[0; 4]);
                    }
                    b'!'..=b'u' => {
                        group[filled] = c - b'!';
                        filled += 1;
                        if filled == 5 {
                            budget.spend(4)?;
                            out.extend_from_slice(&base85(&group));
                            filled = 0;
                        }
                    }
                    _ => {}
                }
            }
            if filled > 1 {
                group[filled..].fill(84);
                budget.spend(filled - 1)?;
                out.extend_from_slice(&base85(&group)[..filled - 1]);
            }
        }
        Data::AsciiHex => {
            let mut high = None;
            for &c in input {
                let digit = match c {
                    b'>' => break,
                    b'0'..=b'9' => c - b'0',
                    b'a'..=b'f' => c - b'a' + 10,
                    b'A'..=b'F' => c - b'A' + 10,
                    _ => continue,
                };
                match high.take() {
                    None => high = Some(digit),
                    Some(h) => {
                        budget.spend(1)?;
                        out.push(h << 4 | digit);
                    }
                }
            }
            if let Some(h) = high {
                budget.spend(1)?;
                out.push(h << 4);
            }
        }
        Data::RunLength => {
            let mut at = 0;
            while let Some(&length) = input.get(at) {
                match length {
                    128 => break,
                    0..=127 => {
                        let run = input.get(at + 1..at + 2 + usize::from(length));
                        let run = run.unwrap_or(input.get(at + 1..).unwrap_or(&[]));
                        budget.spend(run.len())?;
                        out.extend_from_slice(run);
                        at += 2 + usize::from(length);
                    }
                    _ => {
                        let Some(&byte) = input.get(at + 1) else {
                            break;
                        };
                        let n = 257 - usize::from(length);
                        budget.spend(n)?;
                        out.resize(out.len() + n, byte);
                        at += 2;
                    }
                }
            }
        }
    }
    Ok(out)
}

fn base85(group: &[u8; 5]) -> [u8; 4] {
    let value = group
        .iter()
        .fold(0u64, |acc, &d| acc * 85 + u64::from(d))
        .min(u64::from(u32::MAX));
    u32::try_from(value).unwrap_or(u32::MAX).to_be_bytes()
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use std::io::Write;

    /// `data` compressed as a FlateDecode stream holds it.
    pub(in super::super) fn zlib(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    /// The PDF parser keeps what a Flate stream decoded before a fault; the first look must
    /// see at least that much, or it judges less than the parser goes on to parse.
    #[test]
    fn a_flate_stream_that_turns_corrupt_yields_at_least_what_the_parser_keeps() {
        let file: &[u8] =
            include_bytes!("../../../../fuzz/corpus/metadata_strip/pdf-objstm-deep-then-corrupt");
        let start = file.windows(7).position(|w| w == b"stream\n").unwrap() + 7;
        let data = file[start..start + 998].to_vec();
        let mut dict = lopdf::Dictionary::new();
        dict.set("Filter", lopdf::Object::Name(b"FlateDecode".to_vec()));
        let parsers = lopdf::Stream::new(dict, data.clone())
            .decompressed_content()
            .unwrap();
        assert!(parsers.len() > 40_000, "{}", parsers.len());
        let ours = decode(&data, &[Data::Flate], &mut Budget(1 << 20)).unwrap();
        assert!(
            ours.len() >= parsers.len(),
            "{} < {}",
            ours.len(),
            parsers.len()
        );
        assert!(ours.starts_with(&parsers));
    }

    #[test]
    fn each_filter_decodes_what_its_encoder_wrote() {
        let text = b"[1 0 R /Type /Page] << /Kids [2 0 R] >>".repeat(20);
        let mut budget = Budget(1 << 20);
        assert_eq!(
            decode(&zlib(&text), &[Data::Flate], &mut budget).unwrap(),
            text
        );
        let lzw = weezl::encode::Encoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8)
            .encode(&text)
            .unwrap();
        assert_eq!(decode(&lzw, &[Data::Lzw], &mut budget).unwrap(), text);
        assert_eq!(
            decode(b"87cURD]i,\"Ebo80~>", &[Data::Ascii85], &mut budget).unwrap(),
            b"Hello World!"
        );
        assert_eq!(
            decode(b"48 65 6c6C6f>", &[Data::AsciiHex], &mut budget).unwrap(),
            b"Hello"
        );
        assert_eq!(
            decode(
                &[2, b'a', b'b', b'c', 254, b'z', 128],
                &[Data::RunLength],
                &mut budget
            )
            .unwrap(),
            b"abczzz"
        );
    }

    #[test]
    fn every_layer_of_a_chain_counts_against_one_budget() {
        let inner = zlib(&vec![0u8; 4 * 1024 * 1024]);
        let outer = zlib(&inner);
        assert!(outer.len() < 16 * 1024, "a small file");
        let chain = [Data::Flate, Data::Flate];
        let mut budget = Budget(1024 * 1024);
        assert_eq!(decode(&outer, &chain, &mut budget), Err(OverBudget));
        let mut budget = Budget(8 * 1024 * 1024);
        assert_eq!(
            decode(&outer, &chain, &mut budget).unwrap().len(),
            4 * 1024 * 1024
        );
        assert!(budget.0 < 4 * 1024 * 1024, "both layers were counted");
        // Run-length: 2 bytes of input stand for 128 of output.
        let runs = [129u8, 0].repeat(64 * 1024);
        assert_eq!(
            decode(&runs, &[Data::RunLength], &mut Budget(1 << 20)),
            Err(OverBudget)
        );
    }
}
