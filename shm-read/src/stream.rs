//! `--stream`: find the producer's ring (explaining its absence as the
//! reader does), claim the consumer's side, and copy the ring to standard
//! output, straight from the segment with `write(2)`, until the producer's
//! end of input; report an early end with the byte count.

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use shm_common::cli::console;
use shm_common::cli::exit::Exit;
use shm_common::cli::messages::{self, Side};
use shm_common::protocol::stream::consumer::Consumer;
use shm_common::protocol::stream::end::{Outcome, StreamEnd};
use shm_common::protocol::stream::shared::{DrainError, StreamError, BEAT};
use shm_common::protocol::stream::wait::Backoff;
use shm_common::session::find::{Access, Finder};
use shm_common::transport::file_events::FileWatch;
use shm_common::transport::key::Key;
use shm_common::transport::segment::Segment;
use shm_common::transport::signals::{StopSignals, Wake};
use shm_common::transport::view::WriteView;

use crate::flags::Stream;
use crate::report::{Condition, Reporter};
use crate::stop;
use crate::Failure;

/// A consumer waiting for a producer is woken by the key file's events
/// (the producer creates it, then its segment, then writes its beacon into
/// it) and otherwise looks again after a sleep that doubles from
/// [`FIRST_LOOK`] up to this: the latest it notices a producer where no
/// event comes (no inotify on the key file's filesystem).
const CHECK: Duration = Duration::from_secs(1);
/// The first sleep, and the sleep after each event: a segment follows its
/// key file within milliseconds.
const FIRST_LOOK: Duration = Duration::from_millis(5);

/// Run the consumer.
pub fn run(args: &Stream, signals: &StopSignals) -> Result<Exit, Failure> {
    let mut finder = Finder::new(
        args.key.key_file.clone(),
        args.key.proj_id,
        Access::PreferWritable,
    );
    let segment = find(args, signals, &mut finder)?;
    let Some(segment) = segment else {
        return Ok(Exit::Interrupted);
    };
    let info = *segment.info();
    let view = segment.write_view().ok_or_else(|| {
        (
            Exit::Permission,
            messages::stream_needs_write(info.key, info.mode, info.uid),
        )
    })?;
    let mut consumer = attach(view, info.key)?;
    let (heartbeat, abort) = (consumer.heartbeat(), consumer.abort_handle());
    // The heartbeat runs beside the copy; a stop signal ends the stream
    // even while the copy is blocked writing to a full pipe.
    stop::watched(
        signals,
        || heartbeat.beat(),
        |_| {
            let (received, pid) = (abort.cursor(), abort.peer_pid());
            let _ = abort.abort();
            let said = console::say(&format!(
                "shm_read: {}",
                messages::stream_consumer_ended(StreamEnd::Signal, received, pid)
            ));
            said.map_or(Exit::Output, |()| Exit::Interrupted)
        },
        |_| consume(&mut consumer, segment),
    )
}

/// Claim the consumer's side (waiting while the producer sets it up).
fn attach(view: WriteView<'_>, key: Key) -> Result<Consumer<'_>, Failure> {
    Consumer::attach_when_ready(view, std::process::id()).map_err(|e| refused(&e, key, 0))
}

/// Wait for the producer's segment, saying why it is not there; asleep
/// between looks (see [`CHECK`]).
fn find<'f>(
    args: &Stream,
    signals: &StopSignals,
    finder: &'f mut Finder,
) -> Result<Option<&'f Segment>, Failure> {
    let mut reporter = Reporter::new(Side::Consumer, args.explain);
    let since = Instant::now();
    let watch = FileWatch::new(finder.key_file()).ok();
    let mut pause = FIRST_LOOK;
    loop {
        match finder.look().map_err(Failure::from)? {
            Ok(_) => break,
            Err(absent) => {
                let (kind, message) = (Condition::absent(&absent.why), reporter.absent(&absent));
                if let Some(limit) = args.timeout.filter(|t| since.elapsed() >= *t) {
                    return Err((Exit::NoWriter, reporter.gave_up(limit, kind, &message)));
                }
                reporter.report(kind, &message)?;
            }
        }
        let mut next = Instant::now() + pause;
        if let Some(limit) = args.timeout {
            next = next.min(since + limit);
        }
        pause = (pause * 2).min(CHECK);
        while let Some(left) = next.checked_duration_since(Instant::now()) {
            let woke = match &watch {
                Some(watch) => signals.wait_readable(watch.fd(), left),
                None => signals
                    .sleep(left)
                    .map(|s| s.map_or(Wake::Timeout, Wake::Signal)),
            };
            match woke {
                Ok(Wake::Signal(_)) => return Ok(None),
                Ok(Wake::Readable) if watch.as_ref().is_some_and(FileWatch::changed) => {
                    pause = FIRST_LOOK;
                    break;
                }
                Ok(Wake::Readable | Wake::Timeout) => {}
                Err(_) => std::thread::sleep(left),
            }
        }
    }
    Ok(finder.look().ok().and_then(Result::ok))
}

fn consume(consumer: &mut Consumer<'_>, segment: &Segment) -> Result<Exit, Failure> {
    let outcome = match copy(consumer, segment.info().key) {
        Ok(outcome) => outcome,
        Err(failure) => {
            let _ = consumer.abort();
            return Err(failure);
        }
    };
    let _ = consumer.conclude(outcome, || {
        let _ = segment.mark_for_removal();
    });
    match outcome {
        Outcome::Complete => Ok(Exit::Ok),
        Outcome::Interrupted(end) => Err((
            Exit::Interrupted,
            messages::stream_consumer_ended(end, consumer.tail(), consumer.producer_pid()),
        )),
    }
}

/// Copy the ring to stdout until the stream is over; how it ended.
fn copy(consumer: &mut Consumer<'_>, key: Key) -> Result<Outcome, Failure> {
    let stdout = std::io::stdout();
    let mut backoff = Backoff::default();
    loop {
        match consumer.drain_to(stdout.as_fd()) {
            Ok(0) => {}
            Ok(_) => {
                backoff.reset();
                continue;
            }
            Err(DrainError::Stream(e)) => return Err(refused(&e, key, consumer.tail())),
            Err(DrainError::Output(e)) => {
                return Err((
                    Exit::Output,
                    messages::stream_output_failed(&e, consumer.tail()),
                ))
            }
        }
        // The ring is empty: has the producer finished, stopped or died?
        match consumer.outcome() {
            Ok(Some(outcome)) => return Ok(outcome),
            Ok(None) => consumer
                .wait_for_data(&mut backoff, BEAT)
                .map_err(|e| refused(&e, key, consumer.tail()))?,
            Err(e) => return Err(refused(&e, key, consumer.tail())),
        }
    }
}

/// A stream this consumer cannot go on with, after `bytes` of it: its
/// status and sentence.
fn refused(e: &StreamError, key: Key, bytes: u64) -> Failure {
    match e {
        StreamError::Futex(_) => (Exit::Failure, messages::stream_futex_failed(e, bytes)),
        StreamError::Busy { .. } => (Exit::Conflict, messages::stream_refused(e, key)),
        _ => (Exit::BadSegment, messages::stream_refused(e, key)),
    }
}
