//! Taking in a report's files: each checked for what it really is and, unless its details
//! are kept, stripped of what identifies its sender.

use super::sniff;
use super::worker::{Busy, Job, Outcome, Workers};
use crate::domain::attachment::{Attachment, Kind, Refusal, Upload, clean_name, neutral_name};

/// Checks what the file really is and, when `strip` is set, removes everything in it that
/// could identify its sender (and its name). `seq` counts from 1 within the report.
///
/// A file is read by the remover even when its details are kept: a file that cannot be
/// parsed as the kind it claims to be is refused either way.
pub fn prepare_file(seq: usize, upload: Upload, strip: bool) -> Result<Attachment, Refusal> {
    if upload.bytes.is_empty() {
        return Err(Refusal::Empty);
    }
    let kind = sniff(&upload.bytes).ok_or(Refusal::Unsupported)?;
    let stripped = super::strip::strip(kind, &upload.bytes);
    if strip {
        return Ok(Attachment {
            kind,
            name: neutral_name(seq, kind),
            content: stripped?,
            stripped: true,
        });
    }
    match stripped {
        Ok(_) | Err(Refusal::CannotStrip) => Ok(Attachment {
            kind,
            name: upload
                .name
                .as_deref()
                .and_then(clean_name)
                .unwrap_or_else(|| neutral_name(seq, kind)),
            content: upload.bytes,
            stripped: false,
        }),
        Err(other) => Err(other),
    }
}

/// A file that was not accepted: its place among the files sent, its name, and why.
#[derive(Debug, Clone)]
pub struct FileProblem {
    pub index: usize,
    pub name: Option<String>,
    pub refusal: Refusal,
}

/// Why a report's files were not all taken.
#[derive(Debug, Clone)]
pub enum NotPrepared {
    /// Each refused file with its reason.
    Files(Vec<FileProblem>),
    /// No worker was free in time: the report is refused whole, to be sent again.
    Busy(std::time::Duration),
}

/// Checks and (where `strip`) strips every file, each in a worker process of its own: a
/// parser that dies or overruns on a hostile file refuses that file, nothing more.
pub async fn prepare(
    workers: &Workers,
    files: Vec<Upload>,
    strip: bool,
) -> Result<Vec<Attachment>, NotPrepared> {
    let mut accepted = Vec::new();
    let mut problems = Vec::new();
    for (i, upload) in files.into_iter().enumerate() {
        let job = Job::Prepare {
            seq: i + 1,
            strip,
            name: upload.name.clone(),
        };
        let refusal = match workers.run(&job, &upload.bytes).await {
            Err(Busy(wait)) => return Err(NotPrepared::Busy(wait)),
            Ok(Outcome::Prepared(file)) => {
                accepted.push(file);
                continue;
            }
            Ok(Outcome::Refused(refusal)) => refusal,
            Ok(Outcome::Preview(_)) => Refusal::Unchecked,
        };
        problems.push(FileProblem {
            index: i + 1,
            name: upload.name,
            refusal,
        });
    }
    if problems.is_empty() {
        Ok(accepted)
    } else {
        Err(NotPrepared::Files(problems))
    }
}

/// The preview PNG of an image attachment, made in a worker.
pub async fn preview(workers: &Workers, kind: Kind, bytes: &[u8]) -> Result<Vec<u8>, NotPrepared> {
    let job = Job::Preview {
        kind: kind.code().to_string(),
    };
    match workers.run(&job, bytes).await {
        Err(Busy(wait)) => Err(NotPrepared::Busy(wait)),
        Ok(Outcome::Preview(png)) => Ok(png),
        Ok(Outcome::Refused(refusal)) => Err(NotPrepared::Files(vec![FileProblem {
            index: 1,
            name: None,
            refusal,
        }])),
        Ok(Outcome::Prepared(_)) => Err(NotPrepared::Files(vec![FileProblem {
            index: 1,
            name: None,
            refusal: Refusal::Unchecked,
        }])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_judged_by_its_bytes_not_its_name() {
        use lopdf::{Document, Object, dictionary};
        let mut doc = Document::with_version("1.4");
        let pages = doc.new_object_id();
        doc.objects.insert(
            pages,
            Object::Dictionary(
                dictionary! {"Type" => "Pages", "Kids" => Vec::<Object>::new(), "Count" => 0},
            ),
        );
        let catalog = doc.add_object(dictionary! {"Type" => "Catalog", "Pages" => pages});
        doc.trailer.set("Root", catalog);
        let mut pdf = Vec::new();
        doc.save_to(&mut pdf).unwrap();
        let upload = Upload {
            name: Some("photo.jpg".into()),
            bytes: pdf,
        };
        let stored = prepare_file(3, upload, true).unwrap();
        assert_eq!(stored.kind, Kind::Pdf);
        assert_eq!(stored.name, "附件3.pdf");
        assert!(stored.stripped);

        let html = Upload {
            name: Some("photo.jpg".into()),
            bytes: b"<html><script>alert(1)</script></html>".to_vec(),
        };
        assert_eq!(
            prepare_file(1, html, false).err(),
            Some(Refusal::Unsupported)
        );
        let empty = Upload {
            name: None,
            bytes: Vec::new(),
        };
        assert_eq!(prepare_file(1, empty, true).err(), Some(Refusal::Empty));
    }
}
