//! Untrusted files are parsed in worker processes, never in the service: a parser that
//! overflows its stack, runs away with memory or never ends takes down one worker, and that
//! file is refused ("could not be checked") while every other request carries on.
//!
//! Each file gets a fresh process of the same binary (`tipoff media-worker`), with its own
//! address-space and processor-time limits, a wall-clock deadline, and pipes for input and
//! answer. At most `parallel` files are in workers at once; the others wait for a slot, and
//! one that waits too long is answered `Busy`.

mod child;
mod job;

pub use child::{Limits, STACK_BYTES, serve};
pub use job::{Job, Outcome, run};

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Semaphore;

use crate::config::AttachmentSettings;
use crate::domain::attachment::Refusal;

/// The subcommand that runs a worker.
pub const SUBCOMMAND: &str = "media-worker";

/// No free worker slot came in time: the caller is told to come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy(pub Duration);

/// The service's side of the workers.
pub struct Workers {
    program: PathBuf,
    limits: Limits,
    deadline: Duration,
    queue_wait: Duration,
    slots: Semaphore,
}

impl Workers {
    /// Workers of `program` (the running executable unless the settings name another).
    pub fn new(settings: &AttachmentSettings) -> std::io::Result<Workers> {
        let program = match &settings.worker_program {
            Some(program) => program.clone(),
            None => std::env::current_exe()?,
        };
        Ok(Workers {
            program,
            limits: Limits {
                memory_mb: settings.worker_memory_mb,
                cpu_seconds: settings.worker_cpu_seconds,
                input_max: settings.max_file_bytes,
            },
            deadline: Duration::from_secs(settings.worker_seconds),
            queue_wait: Duration::from_secs(settings.worker_queue_seconds),
            slots: Semaphore::new(settings.worker_parallel.max(1)),
        })
    }

    /// Runs `job` on `bytes` in a worker of its own. A worker that dies, overruns or
    /// answers nonsense refuses the file as `Unchecked`.
    pub async fn run(&self, job: &Job, bytes: &[u8]) -> Result<Outcome, Busy> {
        // The slots are never closed: an error here cannot happen, and would mean "busy".
        let _slot = tokio::time::timeout(self.queue_wait, self.slots.acquire())
            .await
            .ok()
            .and_then(Result::ok)
            .ok_or(Busy(self.queue_wait))?;
        let answer = tokio::time::timeout(self.deadline, self.exchange(job, bytes)).await;
        Ok(match answer {
            Ok(Ok(Some(outcome))) => outcome,
            // Killed by its limits, timed out, or an answer that does not parse.
            Ok(Ok(None) | Err(_)) | Err(_) => Outcome::Refused(Refusal::Unchecked),
        })
    }

    /// One worker, start to exit: the request in, the answer out. The child is killed when
    /// this future is dropped (the deadline passed).
    async fn exchange(&self, job: &Job, bytes: &[u8]) -> std::io::Result<Option<Outcome>> {
        let mut child = tokio::process::Command::new(&self.program)
            .arg(SUBCOMMAND)
            .arg(format!("--memory-mb={}", self.limits.memory_mb))
            .arg(format!("--cpu-seconds={}", self.limits.cpu_seconds))
            .arg(format!("--input-max={}", self.limits.input_max))
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Ok(None);
        };
        let request = job::encode_request(job, bytes);
        let write = async move {
            // A worker that died early closes its end: its exit status tells why.
            let _ = stdin.write_all(&request).await;
            drop(stdin);
        };
        let mut answer = Vec::new();
        let mut stdout = stdout.take(self.answer_max());
        let read = stdout.read_to_end(&mut answer);
        let ((), read) = tokio::join!(write, read);
        read?;
        let status = child.wait().await?;
        Ok(status
            .success()
            .then(|| job::decode_answer(answer))
            .flatten())
    }

    /// The longest answer read: a rewritten PDF can outgrow its upload (object streams
    /// written out), a preview is a PNG of at most 1600 × 1600 pixels.
    fn answer_max(&self) -> u64 {
        self.limits.input_max.saturating_mul(4) + 16 * 1024 * 1024
    }
}

impl std::fmt::Debug for Workers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workers")
            .field("program", &self.program)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}
