//! The latest value: publish `--value TEXT`, or each line of stdin (all of
//! it with `--binary`), keep it alive with a heartbeat, and stop on a
//! signal (or at the end of input with `--exit-at-eof`).

use std::io::{Read, Seek};
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
use shm_common::session::hand_over::{self as handing, Handed};
use shm_common::transport::signals::{Signal, StopSignals, Wake};

use crate::claim::Protocol;
use crate::flags::Value;
use crate::lines::Lines;
use crate::Failure;

/// The value's protocol, for the claim.
const VALUE: Protocol = Protocol::of(&spec::SPEC, "a value");

/// Where values come from.
enum Source {
    /// One fixed value (`--value`), or all of stdin (`--binary`).
    Fixed,
    /// Lines of stdin.
    Lines(Lines),
}

/// Run the value writer.
pub fn run(args: &Value, signals: &StopSignals) -> Result<(), Failure> {
    let size = if args.value.is_none() {
        VALUE.check_size(&args.claim)? // Before reading any input.
    } else {
        VALUE.size(&args.claim)
    };
    let capacity = capacity(size);
    let (first, mut source) = first_value(args, signals, capacity)?;
    let Some(first) = first else {
        if ended(&source) {
            // Not an error (as for `cat` or `sort`), but readers would wait
            // for this writer: say why there is none.
            console::say(&messages::empty_input(
                "shm_write",
                &args.claim.key.key_file,
            ))?;
        }
        return Ok(()); // Stopped, or no input at all, before a first value.
    };
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
                Ok(End::InputEnded) => {
                    let handed = hand_over(claim, &publisher, signals);
                    publisher.stop();
                    let _ = publisher.wake();
                    return handed;
                }
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
fn first_value(
    args: &Value,
    signals: &StopSignals,
    limit: usize,
) -> Result<(Option<Vec<u8>>, Source), Failure> {
    if let Some(text) = &args.value {
        return Ok((Some(text.clone().into_bytes()), Source::Fixed));
    }
    if args.binary {
        return Ok((read_all(limit, args, signals)?, Source::Fixed));
    }
    let mut source = Source::Lines(Lines::new(limit));
    loop {
        match next_line(&mut source, signals, Duration::from_secs(3600), args)? {
            Input::Line(line) => return Ok((Some(line), source)),
            Input::Stop(_) => return Ok((None, source)),
            Input::Nothing if ended(&source) => return Ok((None, source)),
            Input::Nothing => {}
        }
    }
}

/// All of stdin, as one value of at most `limit` bytes: a longer input is
/// refused without reading more than one byte past the limit (of a file,
/// without reading it at all: its length says it). A stop signal while
/// waiting for input ends it: `None`.
fn read_all(limit: usize, args: &Value, signals: &StopSignals) -> Result<Option<Vec<u8>>, Failure> {
    let stdin = std::io::stdin();
    let left = file_left(&stdin);
    if let Some(len) = left.filter(|&len| len > limit) {
        return Err(too_large(
            TooLarge {
                len,
                capacity: limit,
            },
            args,
        ));
    }
    let mut all = Vec::new();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        match signals.wait_readable(stdin.as_fd(), Duration::from_secs(3600)) {
            Ok(Wake::Readable) => {}
            Ok(Wake::Timeout) => continue,
            Ok(Wake::Signal(signal)) => {
                console::say(&messages::stopping("shm_write", signal))?;
                return Ok(None);
            }
            Err(e) => return Err((Exit::Failure, format!("waiting for input failed: {e}"))),
        }
        let want = (limit + 1 - all.len()).min(buf.len());
        match stdin.lock().read(&mut buf[..want]) {
            Ok(0) => return Ok(Some(all)),
            Ok(n) => all.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err((Exit::Failure, format!("cannot read standard input: {e}"))),
        }
        if all.len() > limit {
            // Not a file, or one that grew while read: its length is unknown.
            return Err(input_too_large(false, all.len(), args));
        }
    }
}

/// The bytes left to read when stdin is a regular file.
fn file_left(stdin: &std::io::Stdin) -> Option<usize> {
    let mut file = std::fs::File::from(stdin.as_fd().try_clone_to_owned().ok()?);
    let meta = file.metadata().ok().filter(std::fs::Metadata::is_file)?;
    let at = file.stream_position().ok()?;
    usize::try_from(meta.len().saturating_sub(at)).ok()
}

/// Why serving a segment ended.
enum End {
    Stopped,
    /// `--exit-at-eof`, and the input ended: the last value is published.
    InputEnded,
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
            Source::Lines(lines) if !lines.eof => match next_line(source, signals, wait, args)? {
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
        // A fixed value with --exit-at-eof is a --binary one, read whole.
        if args.exit_at_eof && (ended(source) || matches!(source, Source::Fixed)) {
            return Ok(End::InputEnded);
        }
    }
}

/// Before stopping at the end of input: let every reader attached take the
/// last value ([`session::hand_over`](shm_common::session::hand_over)),
/// and stop at once on a stop signal.
fn hand_over(
    claim: &Claim,
    publisher: &Publisher<'_>,
    signals: &StopSignals,
) -> Result<(), Failure> {
    let handed = handing::hand_over(claim, publisher, |pause| match signals.sleep(pause) {
        Ok(None) => None,
        Ok(Some(signal)) => Some(Ok(signal)),
        Err(e) => Some(Err(e)),
    });
    match wake_with(handed)? {
        Handed::Done => Ok(()),
        Handed::Interrupted(Ok(signal)) => stopping(signal).map(drop),
        Handed::Interrupted(Err(e)) => Err((Exit::Failure, messages::signals_failed(e))),
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

/// Whether the lines of stdin have all been read.
fn ended(source: &Source) -> bool {
    matches!(source, Source::Lines(lines) if lines.eof)
}

/// The next complete line of stdin, waiting at most `wait`. The last line
/// of an input without a final newline counts once the input ends. A line
/// that grows past what a segment holds is refused at once.
fn next_line(
    source: &mut Source,
    signals: &StopSignals,
    wait: Duration,
    args: &Value,
) -> Result<Input, Failure> {
    let Source::Lines(lines) = source else {
        return Ok(Input::Nothing);
    };
    if let Some(line) = lines.take() {
        return Ok(Input::Line(line));
    }
    if lines.eof {
        return Ok(Input::Nothing);
    }
    let stdin = std::io::stdin();
    match signals.wait_readable(stdin.as_fd(), wait) {
        Ok(Wake::Readable) => {
            let mut buf = [0u8; 64 * 1024];
            match stdin.lock().read(&mut buf) {
                Ok(0) => lines.eof = true,
                Ok(n) => lines.extend(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err((Exit::Failure, format!("cannot read standard input: {e}"))),
            }
            match lines.take() {
                Some(line) => Ok(Input::Line(line)),
                None => match lines.overlong() {
                    Some(seen) => Err(input_too_large(true, seen, args)),
                    None => Ok(Input::Nothing),
                },
            }
        }
        Ok(Wake::Signal(signal)) => Ok(Input::Stop(signal)),
        Ok(Wake::Timeout) => Ok(Input::Nothing),
        Err(e) => Err((Exit::Failure, format!("waiting for input failed: {e}"))),
    }
}

fn writer(claim: &Claim) -> Writer {
    Writer {
        pid: claim.beacon().pid,
        ipc_ns: claim.beacon().ipc_ns.0,
    }
}

fn wake(publisher: &Publisher<'_>) -> Result<(), Failure> {
    wake_with(publisher.wake())
}

fn wake_with<T>(woken: Result<T, impl std::fmt::Display>) -> Result<T, Failure> {
    woken.map_err(|e| (Exit::Failure, format!("waking readers failed: {e}")))
}

/// Standard input went on past what a segment holds, and was not read
/// further: `seen` bytes of one `line`, or of all of it (`--binary`).
fn input_too_large(line: bool, seen: usize, args: &Value) -> Failure {
    let size = VALUE.size(&args.claim);
    (
        Exit::Usage,
        messages::input_too_large(line, seen, capacity(size), size),
    )
}

fn too_large(e: TooLarge, args: &Value) -> Failure {
    (
        Exit::Usage,
        messages::value_too_large(e.len, e.capacity, VALUE.size(&args.claim)),
    )
}
