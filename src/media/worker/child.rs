//! The worker process: `tipoff media-worker`, started by the service for each file. It sets
//! its own limits before it reads a byte, reads one job from standard input, answers on
//! standard output and exits. Nothing it does reaches a disk, the network or a log.

use std::io::{Read, Write};

use super::job;
use crate::domain::attachment::Refusal;

/// What one worker may use: set from the service's settings on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Address space, in MiB: every allocation past it fails, and the worker dies of it.
    pub memory_mb: u64,
    /// Processor time, in seconds (the kernel kills the worker past it).
    pub cpu_seconds: u64,
    /// The largest request read, in bytes.
    pub input_max: u64,
}

/// The stack of the thread that parses: parsers that recurse meet its end, which kills this
/// process and nothing else.
pub const STACK_BYTES: usize = 8 * 1024 * 1024;

/// Runs one job from standard input to standard output. The exit code says only whether an
/// answer was written; a refusal is an answer.
pub fn serve(limits: Limits) -> std::process::ExitCode {
    if let Err(e) = apply(limits) {
        eprintln!("media worker: cannot set its limits: {e}");
        return std::process::ExitCode::FAILURE;
    }
    let mut input = Vec::new();
    let read = std::io::stdin()
        .lock()
        .take(limits.input_max + 4096)
        .read_to_end(&mut input);
    let outcome = match read.ok().and_then(|_| job::decode_request(input)) {
        Some((job, bytes)) => std::thread::Builder::new()
            .stack_size(STACK_BYTES)
            .spawn(move || job::run(job, bytes))
            .ok()
            .and_then(|parser| parser.join().ok())
            // A parser that panicked on a hostile file: the file is damaged.
            .unwrap_or(job::Outcome::Refused(Refusal::Damaged)),
        None => job::Outcome::Refused(Refusal::Unchecked),
    };
    let mut out = std::io::stdout().lock();
    match out
        .write_all(&job::encode_answer(&outcome))
        .and_then(|()| out.flush())
    {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(_) => std::process::ExitCode::FAILURE,
    }
}

/// The kernel's limits on this process, set before any untrusted byte is read.
fn apply(limits: Limits) -> nix::Result<()> {
    use nix::sys::resource::{Resource, setrlimit};
    let memory = limits.memory_mb.saturating_mul(1024 * 1024);
    setrlimit(Resource::RLIMIT_AS, memory, memory)?;
    setrlimit(Resource::RLIMIT_CPU, limits.cpu_seconds, limits.cpu_seconds)?;
    // Nothing is written to a file, and no core dump holds a reporter's file.
    setrlimit(Resource::RLIMIT_FSIZE, 0, 0)?;
    setrlimit(Resource::RLIMIT_CORE, 0, 0)?;
    Ok(())
}
