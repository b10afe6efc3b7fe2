//! What a file worker is asked and what it answers, on the wire and in-process.
//!
//! A request is one line of JSON (the job) followed by the file's bytes up to the end of
//! input; an answer is one line of JSON (the outcome) followed by the prepared content. The
//! same `run` serves the worker process and the fuzz targets, so both parse with the same
//! code and the same in-process bounds.

use serde::{Deserialize, Serialize};

use crate::domain::attachment::{Attachment, Kind, Refusal, Upload};

/// One file to look at.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Job {
    /// Sniff, and strip unless the details are kept: `prepare_file`.
    Prepare {
        seq: usize,
        strip: bool,
        name: Option<String>,
    },
    /// The PNG an inspector is shown of an image attachment.
    Preview { kind: String },
}

/// What a job came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A prepared attachment (its content follows the header on the wire).
    Prepared(Attachment),
    /// A preview PNG.
    Preview(Vec<u8>),
    Refused(Refusal),
}

/// The header line of an answer.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
enum Header {
    Prepared {
        kind: String,
        name: String,
        stripped: bool,
    },
    Preview,
    Refused {
        reason: String,
    },
}

/// Does the job in this process: what the worker runs once its limits are set.
pub fn run(job: Job, bytes: Vec<u8>) -> Outcome {
    match job {
        Job::Prepare { seq, strip, name } => {
            match crate::media::prepare_file(seq, Upload { name, bytes }, strip) {
                Ok(file) => Outcome::Prepared(file),
                Err(refusal) => Outcome::Refused(refusal),
            }
        }
        Job::Preview { kind } => match Kind::parse(&kind) {
            Some(kind) => match crate::media::preview_png(kind, &bytes) {
                Ok(png) => Outcome::Preview(png),
                Err(refusal) => Outcome::Refused(refusal),
            },
            None => Outcome::Refused(Refusal::Unsupported),
        },
    }
}

/// The request as written to a worker's input.
pub fn encode_request(job: &Job, bytes: &[u8]) -> Vec<u8> {
    let mut out = header_line(job);
    out.extend_from_slice(bytes);
    out
}

/// A request read back: `None` when it is not one.
pub fn decode_request(input: Vec<u8>) -> Option<(Job, Vec<u8>)> {
    let (job, at) = split_header(&input)?;
    let mut input = input;
    input.drain(..at);
    Some((job, input))
}

/// The answer as the worker writes it.
pub fn encode_answer(outcome: &Outcome) -> Vec<u8> {
    let (header, content): (Header, &[u8]) = match outcome {
        Outcome::Prepared(file) => (
            Header::Prepared {
                kind: file.kind.code().to_string(),
                name: file.name.clone(),
                stripped: file.stripped,
            },
            &file.content,
        ),
        Outcome::Preview(png) => (Header::Preview, png),
        Outcome::Refused(refusal) => (
            Header::Refused {
                reason: refusal.key().to_string(),
            },
            &[],
        ),
    };
    let mut out = header_line(&header);
    out.extend_from_slice(content);
    out
}

/// An answer read back: `None` when the worker wrote something that is not one.
pub fn decode_answer(output: Vec<u8>) -> Option<Outcome> {
    let (header, at): (Header, usize) = split_header(&output)?;
    let mut content = output;
    content.drain(..at);
    Some(match header {
        Header::Prepared {
            kind,
            name,
            stripped,
        } => Outcome::Prepared(Attachment {
            kind: Kind::parse(&kind)?,
            name,
            content,
            stripped,
        }),
        Header::Preview => Outcome::Preview(content),
        Header::Refused { reason } => Outcome::Refused(Refusal::from_key(&reason)?),
    })
}

/// The longest header line read: a job or an answer is a few hundred bytes.
const HEADER_MAX: usize = 4096;

fn header_line(value: &impl Serialize) -> Vec<u8> {
    // A job or an answer is strings, numbers and booleans: it always serialises.
    let mut line = serde_json::to_vec(value).unwrap_or_default();
    line.push(b'\n');
    line
}

fn split_header<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Option<(T, usize)> {
    let end = bytes.iter().take(HEADER_MAX).position(|&b| b == b'\n')?;
    let value = serde_json::from_slice(&bytes[..end]).ok()?;
    Some((value, end + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_and_answers_read_back_as_written() {
        let job = Job::Prepare {
            seq: 2,
            strip: true,
            name: Some("王五\n照片.jpg".into()),
        };
        let wire = encode_request(&job, b"\n{\"op\":1}\nbytes");
        assert_eq!(
            decode_request(wire),
            Some((job, b"\n{\"op\":1}\nbytes".to_vec()))
        );
        for outcome in [
            Outcome::Prepared(Attachment {
                kind: Kind::Pdf,
                name: "附件2.pdf".into(),
                content: b"%PDF\n\n".to_vec(),
                stripped: true,
            }),
            Outcome::Preview(vec![0x89, b'P', b'N', b'G', b'\n']),
            Outcome::Refused(Refusal::CannotStrip),
            Outcome::Refused(Refusal::Unchecked),
        ] {
            assert_eq!(decode_answer(encode_answer(&outcome)), Some(outcome));
        }
        assert_eq!(decode_answer(b"garbage without a newline".to_vec()), None);
        assert_eq!(decode_answer(b"{\"answer\":\"what\"}\n".to_vec()), None);
    }
}
