//! The tools' only way to stdout and stderr. `println!` and `eprintln!`
//! panic when a write fails, on a full disk or a pipe whose reader has gone
//! (Rust ignores SIGPIPE, so that is `EPIPE`); these return the error, so
//! that a tool still cleans up (a writer removes its segment) and exits
//! with [`super::exit::Exit::Output`].

use std::fmt;
use std::io::{self, Write};

/// The stream a write failed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

impl fmt::Display for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        })
    }
}

/// A write to stdout or stderr failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot write to {stream}: {source}")]
pub struct OutputError {
    /// Where.
    pub stream: Stream,
    /// Why.
    pub source: io::Error,
}

impl OutputError {
    /// Stdout was a pipe whose reader has gone (`| head -n 2`): the normal
    /// end of a pipeline, not a failure.
    pub fn is_closed_pipe(&self) -> bool {
        self.stream == Stream::Stdout && self.source.kind() == io::ErrorKind::BrokenPipe
    }
}

/// Write `text` to stdout as it is, and flush it.
pub fn print(text: &str) -> Result<(), OutputError> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(failed(Stream::Stdout))
}

/// Write to stdout piece by piece, as `write` makes it, through one buffer,
/// flushed at the end: for output too long to build in memory first (a hex
/// dump of a whole segment).
pub fn print_streamed(
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), OutputError> {
    let mut out = io::BufWriter::with_capacity(64 << 10, io::stdout().lock());
    write(&mut out)
        .and_then(|()| out.flush())
        .map_err(failed(Stream::Stdout))
}

/// Write `line` and a newline to stdout, flushed: stdout buffers up to the
/// newline, so a reader of the pipe gets the whole line in one write. The
/// line's bytes go out as they are: text, or a value's raw bytes.
pub fn print_line(line: impl AsRef<[u8]>) -> Result<(), OutputError> {
    let mut out = io::stdout().lock();
    out.write_all(line.as_ref())
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
        .map_err(failed(Stream::Stdout))
}

/// Write `line` and a newline to stderr, which does not buffer, in one write.
pub fn say(line: &str) -> Result<(), OutputError> {
    io::stderr()
        .lock()
        .write_all(format!("{line}\n").as_bytes())
        .map_err(failed(Stream::Stderr))
}

fn failed(stream: Stream) -> impl FnOnce(io::Error) -> OutputError {
    move |source| OutputError { stream, source }
}
