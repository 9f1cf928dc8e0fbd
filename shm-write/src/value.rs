//! The latest value: publish `--value TEXT`, or each line of stdin (all of
//! it with `--binary`), keep it alive with a heartbeat, and stop on a
//! signal (or at the end of input with `--exit-at-eof`).

use std::io::Read;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use shm_common::cli::console;
use shm_common::cli::exit::Exit;
use shm_common::cli::messages;
use shm_common::protocol::value::{
    layout::{capacity, size_for, MIN_SEGMENT_SIZE},
    live::HEARTBEAT,
    publish::{Publisher, TooLarge, Writer},
    spec,
};
use shm_common::session::claim::Claim;
use shm_common::transport::signals::{Signal, StopSignals, Wake};

use crate::claim::Protocol;
use crate::flags::Value;
use crate::Failure;

/// The value's protocol, for the claim.
const VALUE: Protocol = Protocol::of(&spec::SPEC, "a value");

/// Where values come from.
enum Source {
    /// One fixed value (`--value`), or all of stdin (`--binary`).
    Fixed,
    /// Lines of stdin, with the bytes of a line not yet complete.
    Lines { pending: Vec<u8>, eof: bool },
}

/// Run the value writer.
pub fn run(args: &Value, signals: &StopSignals) -> Result<(), Failure> {
    let (first, mut source) = first_value(args, signals)?;
    let Some(first) = first else {
        return Ok(()); // Stopped, or no input at all, before a first value.
    };
    let size = VALUE.size(&args.claim);
    let capacity = capacity(size);
    if size >= MIN_SEGMENT_SIZE && first.len() > capacity {
        return Err(too_large(
            TooLarge {
                len: first.len(),
                capacity,
            },
            args,
        ));
    }
    let value = Protocol {
        room: size_for(first.len()).max(MIN_SEGMENT_SIZE),
        ..VALUE
    };
    value.run(&args.claim, |claim| {
        let mut current = first;
        loop {
            let mut publisher = Publisher::new(claim.view(), writer(claim), &current, args.binary)
                .map_err(|e| too_large(e, args))?;
            let served = wake(&publisher).and_then(|()| {
                serve(
                    args,
                    signals,
                    claim,
                    &mut publisher,
                    &mut source,
                    &mut current,
                )
            });
            match served {
                Ok(End::SegmentRemoved) => value.recreate(claim)?,
                ended => {
                    // However it ends, readers see the writer stopped.
                    publisher.stop();
                    let _ = publisher.wake();
                    return ended.map(drop);
                }
            }
        }
    })
}

/// The first value, read before the key is claimed so that no reader sees
/// a segment without one. `None` when stopped (or stdin empty) first.
fn first_value(args: &Value, signals: &StopSignals) -> Result<(Option<Vec<u8>>, Source), Failure> {
    if let Some(text) = &args.value {
        return Ok((Some(text.clone().into_bytes()), Source::Fixed));
    }
    if args.binary {
        let mut all = Vec::new();
        std::io::stdin()
            .read_to_end(&mut all)
            .map_err(|e| (Exit::Failure, format!("cannot read standard input: {e}")))?;
        return Ok((Some(all), Source::Fixed));
    }
    let mut source = Source::Lines {
        pending: Vec::new(),
        eof: false,
    };
    loop {
        match next_line(&mut source, signals, Duration::from_secs(3600))? {
            Input::Line(line) => return Ok((Some(line), source)),
            Input::Stop(_) => return Ok((None, source)),
            Input::Nothing if matches!(source, Source::Lines { eof: true, .. }) => {
                return Ok((None, source))
            }
            Input::Nothing => {}
        }
    }
}

/// Why serving a segment ended.
enum End {
    Stopped,
    SegmentRemoved,
}

/// Keep the value alive and publish new lines until a stop.
fn serve(
    args: &Value,
    signals: &StopSignals,
    claim: &Claim,
    publisher: &mut Publisher<'_>,
    source: &mut Source,
    current: &mut Vec<u8>,
) -> Result<End, Failure> {
    let mut beat = Instant::now();
    loop {
        if beat.elapsed() >= HEARTBEAT {
            beat = Instant::now();
            publisher.heartbeat();
            if claim.removed() {
                return Ok(End::SegmentRemoved);
            }
        }
        let wait = HEARTBEAT.saturating_sub(beat.elapsed());
        let line = match source {
            Source::Lines { eof: false, .. } => match next_line(source, signals, wait)? {
                Input::Line(line) => Some(line),
                Input::Nothing => None,
                Input::Stop(signal) => return stopping(signal),
            },
            _ => match signals.sleep(wait) {
                Ok(Some(signal)) => return stopping(signal),
                Ok(None) => None,
                Err(e) => return Err((Exit::Failure, messages::signals_failed(e))),
            },
        };
        if let Some(line) = line {
            publisher
                .publish(&line, false)
                .map_err(|e| too_large(e, args))?;
            wake(publisher)?;
            *current = line;
        }
        if let Some(signal) = signals.pending().ok().flatten() {
            return stopping(signal);
        }
        if matches!(source, Source::Lines { eof: true, .. }) && args.exit_at_eof {
            return Ok(End::Stopped);
        }
    }
}

fn stopping(signal: impl std::fmt::Display) -> Result<End, Failure> {
    console::say(&messages::stopping("shm_write", signal))?;
    Ok(End::Stopped)
}

/// What waiting for stdin brought.
enum Input {
    /// A complete line.
    Line(Vec<u8>),
    /// No line within the wait (or the input ended).
    Nothing,
    /// A stop signal, taken from the signalfd: the caller must stop.
    Stop(Signal),
}

/// The next complete line of stdin, waiting at most `wait`. The last line
/// of an input without a final newline counts once the input ends.
fn next_line(source: &mut Source, signals: &StopSignals, wait: Duration) -> Result<Input, Failure> {
    let Source::Lines { pending, eof } = source else {
        return Ok(Input::Nothing);
    };
    if let Some(line) = take_line(pending, *eof) {
        return Ok(Input::Line(line));
    }
    if *eof {
        return Ok(Input::Nothing);
    }
    let stdin = std::io::stdin();
    match signals.wait_readable(stdin.as_fd(), wait) {
        Ok(Wake::Readable) => {
            let mut buf = [0u8; 64 * 1024];
            match stdin.lock().read(&mut buf) {
                Ok(0) => *eof = true,
                Ok(n) => pending.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err((Exit::Failure, format!("cannot read standard input: {e}"))),
            }
            Ok(take_line(pending, *eof).map_or(Input::Nothing, Input::Line))
        }
        Ok(Wake::Signal(signal)) => Ok(Input::Stop(signal)),
        Ok(Wake::Timeout) => Ok(Input::Nothing),
        Err(e) => Err((Exit::Failure, format!("waiting for input failed: {e}"))),
    }
}

/// Split the first complete line off `pending` (without its newline).
fn take_line(pending: &mut Vec<u8>, eof: bool) -> Option<Vec<u8>> {
    match pending.iter().position(|&b| b == b'\n') {
        Some(i) => {
            let mut line: Vec<u8> = pending.drain(..=i).collect();
            line.pop();
            Some(line)
        }
        None if eof && !pending.is_empty() => Some(std::mem::take(pending)),
        None => None,
    }
}

fn writer(claim: &Claim) -> Writer {
    Writer {
        pid: claim.beacon().pid,
        ipc_ns: claim.beacon().ipc_ns.0,
    }
}

fn wake(publisher: &Publisher<'_>) -> Result<(), Failure> {
    publisher
        .wake()
        .map_err(|e| (Exit::Failure, format!("waking readers failed: {e}")))
}

fn too_large(e: TooLarge, args: &Value) -> Failure {
    (
        Exit::Usage,
        messages::value_too_large(e.len, e.capacity, VALUE.size(&args.claim)),
    )
}

#[cfg(test)]
mod tests {
    use super::take_line;

    #[test]
    fn lines_split_at_newlines_and_the_last_counts_at_eof() {
        let mut pending = b"a\nbc\nd".to_vec();
        assert_eq!(take_line(&mut pending, false), Some(b"a".to_vec()));
        assert_eq!(take_line(&mut pending, false), Some(b"bc".to_vec()));
        assert_eq!(take_line(&mut pending, false), None);
        assert_eq!(take_line(&mut pending, true), Some(b"d".to_vec()));
        assert_eq!(take_line(&mut pending, true), None);
    }
}
