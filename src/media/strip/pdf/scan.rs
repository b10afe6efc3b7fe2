//! The first look at a PDF, before any parser touches it: how deep its object syntax nests
//! (at the top level and inside every object stream, where the parser recurses too), and
//! whether its streams, every filter of every chain counted, stay within a budget — and,
//! from the same decoded data, whether a page's content draws a JPEG inline.

use super::filters::{self, Budget, Data, Filter};
use super::inline;

/// What the first look found.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Scan {
    /// The deepest nesting of `[` and `<<`, in the file's syntax or an object stream's.
    pub nesting: usize,
    /// A stream's data went past the budget.
    pub over_budget: bool,
    /// A stream names a filter that cannot be decoded or cleaned.
    pub unknown_filter: bool,
    /// A page's content draws a JPEG or JPEG 2000 image inline, which cannot be cleaned.
    pub inline_codec: bool,
}

/// Scans `b` with `budget` bytes for everything its streams decode to.
pub(super) fn scan(b: &[u8], budget: u64) -> Scan {
    let mut budget = Budget(budget);
    let mut found = Scan {
        nesting: 0,
        over_budget: false,
        unknown_filter: false,
        inline_codec: false,
    };
    let mut syntax = Nesting::default();
    let mut at = 0;
    while at < b.len() {
        let Some(closed) = syntax.step(b, &mut at) else {
            continue;
        };
        // A dictionary closed: a stream follows it when the next token is `stream`.
        let mut next = at;
        while b.get(next).is_some_and(u8::is_ascii_whitespace) {
            next += 1;
        }
        if !b[next..].starts_with(b"stream") {
            continue;
        }
        let dict = &b[closed..at];
        let (data, end) = stream_data(b, next + 6, dict);
        at = end;
        // A cross-reference table may point into stream data as if it were an object: what
        // nests there in valid syntax counts too.
        found.nesting = found.nesting.max(hidden_nesting(data));
        let Some(chain) = chain_of(dict) else {
            found.unknown_filter = true;
            continue;
        };
        let decoded = if is_object_stream(dict) {
            budget.capped(super::OBJECT_STREAM_MAX, |b| {
                filters::decode(data, &chain, b)
            })
        } else {
            filters::decode(data, &chain, &mut budget)
        };
        match decoded {
            Err(filters::OverBudget) => {
                found.over_budget = true;
                break;
            }
            Ok(decoded) if is_object_stream(dict) => {
                let mut inner = Nesting::default();
                let mut i = 0;
                while i < decoded.len() {
                    inner.step(&decoded, &mut i);
                }
                found.nesting = found.nesting.max(inner.deepest);
            }
            Ok(decoded) => {
                found.inline_codec |=
                    inline::is_content(dict) && inline::has_inline_codec(&decoded);
            }
        }
    }
    found.nesting = found.nesting.max(syntax.deepest);
    found
}

/// The nesting of arrays and dictionaries in object syntax, skipping comments, strings and
/// names, token by token.
#[derive(Default)]
struct Nesting {
    depth: usize,
    deepest: usize,
    /// Where each open dictionary began.
    dicts: Vec<usize>,
    /// Parentheses nested in strings do not count: binary data read as syntax, where the
    /// parser's own cap on string nesting holds and parentheses pair up at random.
    strings_flat: bool,
}

impl Nesting {
    /// Reads one token at `*at` and moves past it; returns where a dictionary began when
    /// this token closed it.
    fn step(&mut self, b: &[u8], at: &mut usize) -> Option<usize> {
        let start = *at;
        *at += 1;
        match b[start] {
            b'%' => {
                while *at < b.len() && b[*at] != b'\n' && b[*at] != b'\r' {
                    *at += 1;
                }
            }
            b'/' => {
                // A name runs to the next delimiter or white space: `/xstream` is a name.
                while *at < b.len() && !is_delimiter(b[*at]) && !b[*at].is_ascii_whitespace() {
                    *at += 1;
                }
            }
            b'(' => {
                // A literal string: balanced parentheses, backslash escapes. The parser
                // recurses for each parenthesis nested inside, on top of the arrays and
                // dictionaries around the string, so those count as nesting too.
                let (mut open, mut deepest) = (1usize, 1usize);
                while *at < b.len() && open > 0 {
                    match b[*at] {
                        b'\\' => *at += 1,
                        b'(' => {
                            open += 1;
                            deepest = deepest.max(open);
                        }
                        b')' => open -= 1,
                        _ => {}
                    }
                    *at += 1;
                }
                if !self.strings_flat {
                    self.deepest = self.deepest.max(self.depth + deepest - 1);
                }
            }
            b'[' => self.open(),
            b']' => self.depth = self.depth.saturating_sub(1),
            b'<' if b.get(start + 1) == Some(&b'<') => {
                *at += 1;
                self.open();
                self.dicts.push(start);
            }
            b'<' => {
                // A hexadecimal string.
                while *at < b.len() && b[*at] != b'>' {
                    *at += 1;
                }
                *at += 1;
            }
            b'>' if b.get(start + 1) == Some(&b'>') => {
                *at += 1;
                self.depth = self.depth.saturating_sub(1);
                return self.dicts.pop();
            }
            _ => {}
        }
        None
    }

    fn open(&mut self) {
        self.depth += 1;
        self.deepest = self.deepest.max(self.depth);
    }
}

/// The deepest nesting in `data` read as object syntax, where any byte that cannot stand
/// outside a string in object syntax ends it: in binary data (a picture, compressed text)
/// such runs are a few bytes long, while a parser pointed into the data would recurse
/// through a long run of openers.
fn hidden_nesting(data: &[u8]) -> usize {
    let flat = || Nesting {
        strings_flat: true,
        ..Nesting::default()
    };
    let mut syntax = flat();
    let mut at = 0;
    while at < data.len() {
        let c = data[at];
        if !(c.is_ascii_graphic() || c.is_ascii_whitespace()) {
            syntax = Nesting {
                deepest: syntax.deepest,
                ..flat()
            };
            at += 1;
            continue;
        }
        syntax.step(data, &mut at);
    }
    syntax.deepest
}

fn is_delimiter(c: u8) -> bool {
    matches!(
        c,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

/// A stream's data after its `stream` keyword at `from`, and where scanning goes on: the
/// direct `/Length` when `endstream` stands there, else up to the first `endstream`.
fn stream_data<'a>(b: &'a [u8], from: usize, dict: &[u8]) -> (&'a [u8], usize) {
    let start = if b[from..].starts_with(b"\r\n") {
        from + 2
    } else if b[from..].starts_with(b"\n") || b[from..].starts_with(b"\r") {
        from + 1
    } else {
        from
    };
    let by_length = direct_length(dict).and_then(|len| {
        let end = start.checked_add(len)?;
        let after = b.get(end..)?;
        let after = &after[after.iter().take_while(|c| c.is_ascii_whitespace()).count()..];
        after.starts_with(b"endstream").then_some(end)
    });
    let end = by_length.unwrap_or_else(|| {
        find(&b[start..], b"endstream").map_or(b.len(), |offset| start + offset)
    });
    (&b[start..end], (end + 9).min(b.len()))
}

/// `/Length 123` written directly (not a reference) in a stream's dictionary.
fn direct_length(dict: &[u8]) -> Option<usize> {
    let at = find(dict, b"/Length")? + 7;
    let rest = &dict[at..];
    let rest = &rest[rest.iter().take_while(|c| c.is_ascii_whitespace()).count()..];
    let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    let after = &rest[digits..];
    let after = &after[after.iter().take_while(|c| c.is_ascii_whitespace()).count()..];
    // `5 0 R` is a reference, not a length.
    if after.first().is_some_and(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
}

/// The data filters a stream's dictionary names, up to the first image codec (whose output
/// is pixels, not syntax); `None` when one is unknown.
fn chain_of(dict: &[u8]) -> Option<Vec<Data>> {
    let Some(at) = find(dict, b"/Filter") else {
        return Some(Vec::new());
    };
    let rest = &dict[at + 7..];
    let rest = &rest[rest.iter().take_while(|c| c.is_ascii_whitespace()).count()..];
    let names: &[u8] = if rest.first() == Some(&b'[') {
        let end = rest.iter().position(|&c| c == b']').unwrap_or(rest.len());
        &rest[1..end]
    } else {
        let end = rest[1.min(rest.len())..]
            .iter()
            .position(|&c| c == b'/' || c == b'>' || c.is_ascii_whitespace())
            .map_or(rest.len(), |p| p + 1);
        &rest[..end]
    };
    let mut chain = Vec::new();
    for name in names
        .split(|&c| c == b'/' || c.is_ascii_whitespace())
        .filter(|n| !n.is_empty())
    {
        match Filter::named(name) {
            Filter::Data(data) => chain.push(data),
            Filter::Dct | Filter::Bilevel => break,
            Filter::Unknown => return None,
        }
    }
    Some(chain)
}

fn is_object_stream(dict: &[u8]) -> bool {
    find(dict, b"/ObjStm").is_some()
}

pub(super) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::super::filters::tests::zlib;
    use super::*;

    fn nesting(b: &[u8]) -> usize {
        scan(b, 1 << 20).nesting
    }

    #[test]
    fn nesting_is_measured_token_by_token() {
        assert_eq!(nesting(b"<< /A [ [ 1 ] ] >>"), 3);
        // Brackets inside a string are text; parentheses nested in it are not.
        assert_eq!(nesting(b"(a[[[[b) << >>"), 1);
        assert_eq!(nesting(b"(((([[[[))))) << >>"), 3);
        assert_eq!(nesting(b"[ [ (a (b (c)) d) ] ]"), 4);
        assert_eq!(nesting(b"[ (a \\( b) ]"), 1);
        // Stream data is not the file's syntax, but what nests there counts (see below).
        assert_eq!(nesting(b"<< /Length 4 >>\nstream\n[[[[\nendstream"), 4);
        assert_eq!(nesting(b"<< /Length 4 >>\nstream\n[\x80[[\nendstream"), 2);
        // A name that ends in "stream" does not start stream data.
        assert_eq!(nesting(b"<< /xstream [[[[ 1 ]]]] >>"), 5);
        // Neither does a comment that says "endstream" end one early or late.
        assert_eq!(nesting(b"[ % endstream\n [ [ ] ] ]"), 3);
        assert_eq!(nesting(b"<A0> <<>> [<<>>]"), 2);
    }

    #[test]
    fn nesting_hidden_in_stream_data_counts_but_binary_data_does_not() {
        let mut file = b"3 0 obj\n<< /Length 2000 >>\nstream\n".to_vec();
        file.extend_from_slice(&b"[".repeat(2000));
        file.extend_from_slice(b"\nendstream\nendobj\n");
        assert_eq!(nesting(&file), 2000);
        // Pseudo-random bytes, as compressed data looks: openers run short.
        let mut state = 0x2545_f491_u32;
        let noise: Vec<u8> = (0..1 << 20)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state as u8
            })
            .collect();
        assert!(hidden_nesting(&noise) < 8, "{}", hidden_nesting(&noise));
    }

    #[test]
    fn nesting_inside_a_compressed_object_stream_counts() {
        let deep = format!("1 0 {}", "[".repeat(5000));
        let data = zlib(deep.as_bytes());
        let file = object_stream("/N 1 /First 4 /Filter /FlateDecode", &data);
        assert_eq!(nesting(&file), 5000);
        // Behind a chain of filters too.
        let file = object_stream("/Filter [/FlateDecode /FlateDecode]", &zlib(&data));
        assert_eq!(nesting(&file), 5000);
    }

    /// A PDF holding one object stream with `entries` in its dictionary and `data` inside.
    fn object_stream(entries: &str, data: &[u8]) -> Vec<u8> {
        let mut file = format!(
            "%PDF-1.5\n3 0 obj\n<< /Type /ObjStm {entries} /Length {} >>\nstream\n",
            data.len()
        )
        .into_bytes();
        file.extend_from_slice(data);
        file.extend_from_slice(b"\nendstream\nendobj\n");
        file
    }

    #[test]
    fn filters_are_read_from_the_stream_dictionary() {
        assert_eq!(chain_of(b"<< /Length 3 >>"), Some(vec![]));
        assert_eq!(
            chain_of(b"<</Filter/FlateDecode/Length 3>>"),
            Some(vec![Data::Flate])
        );
        assert_eq!(
            chain_of(b"<< /Filter [ /ASCII85Decode /LZWDecode ] >>"),
            Some(vec![Data::Ascii85, Data::Lzw])
        );
        assert_eq!(
            chain_of(b"<< /Filter [/FlateDecode /DCTDecode] >>"),
            Some(vec![Data::Flate])
        );
        assert_eq!(chain_of(b"<< /Filter /JPXDecode >>"), None);
        assert_eq!(chain_of(b"<< /Filter /Crypt >>"), None);
        assert_eq!(direct_length(b"<< /Length 12 >>"), Some(12));
        assert_eq!(direct_length(b"<< /Length 12 0 R >>"), None);
    }

    #[test]
    fn a_chain_that_inflates_past_the_budget_is_caught() {
        let inner = zlib(&vec![0u8; 3 * 1024 * 1024]);
        let outer = zlib(&inner);
        let mut file =
            b"%PDF-1.5\n1 0 obj\n<< /Type /ObjStm /Filter [/FlateDecode /FlateDecode] >>\nstream\n"
                .to_vec();
        file.extend_from_slice(&outer);
        file.extend_from_slice(b"\nendstream\nendobj\n");
        assert!(scan(&file, 1024 * 1024).over_budget);
        assert!(!scan(&file, 8 * 1024 * 1024).over_budget);
        // An object stream has a cap of its own, however much the file may still decode:
        // the parser would spend minutes in a bomb the file's budget lets through.
        let bomb = zlib(&zlib(&vec![
            b' ';
            2 * super::super::OBJECT_STREAM_MAX as usize
        ]));
        let file_with = |dict: &str| {
            let mut file = format!("%PDF-1.5\n1 0 obj\n<< {dict} >>\nstream\n").into_bytes();
            file.extend_from_slice(&bomb);
            file.extend_from_slice(b"\nendstream\nendobj\n");
            file
        };
        let chain = "/Filter [/FlateDecode /FlateDecode]";
        let object_stream = file_with(&format!("/Type /ObjStm /N 1 /First 4 {chain}"));
        assert!(scan(&object_stream, 1 << 30).over_budget);
        let picture = file_with(chain);
        assert!(
            !scan(&picture, 1 << 30).over_budget,
            "other streams use the file's budget"
        );
    }
}
