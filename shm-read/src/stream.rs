//! `--stream`: find the producer's ring (explaining its absence as the
//! reader does), claim the consumer's side, and copy the ring to standard
//! output, straight from the segment with `write(2)`, until the producer's
//! end of input; report an early end with the byte count.

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use shm_common::cli::console;
use shm_common::cli::exit::Exit;
use shm_common::cli::messages::{self, StreamEnd};
use shm_common::protocol::stream::layout::{state, word};
use shm_common::protocol::stream::ring::{
    beat, Backoff, Consumer, DrainError, Peer, StreamError, BEAT, DEAD_AFTER,
};
use shm_common::session::find::{Access, Finder};
use shm_common::transport::key::Key;
use shm_common::transport::segment::Segment;
use shm_common::transport::signals::StopSignals;
use shm_common::transport::view::WriteView;

use crate::flags::Args;
use crate::report::{Condition, Reporter};
use crate::stop;
use crate::Failure;

/// The longest a new segment may stay empty before it is refused.
const SETUP: Duration = Duration::from_secs(2);

/// Run the consumer.
pub fn run(args: &Args) -> Result<Exit, Failure> {
    let signals =
        StopSignals::install().map_err(|e| (Exit::Failure, messages::signals_setup(e)))?;
    let mut finder = Finder::new(
        args.key.key_file.clone(),
        args.key.proj_id,
        Access::PreferWritable,
    );
    let segment = find(args, &signals, &mut finder)?;
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
    // The heartbeat runs beside the copy; a stop signal ends the stream
    // even while the copy is blocked writing to a full pipe.
    stop::watched(
        &signals,
        || beat(view, word::CONSUMER_BEAT),
        |_| {
            let received = view.read().load(word::TAIL);
            let pid = view.read().load(word::PRODUCER_PID) as u32;
            view.store_release(word::CONSUMER_STATE, state::ABORTED);
            let _ = view.wake(word::TAIL);
            let said = console::say(&format!(
                "shm_read: {}",
                messages::stream_consumer_ended(StreamEnd::Signal, received, pid)
            ));
            said.map_or(Exit::Output, |()| Exit::Interrupted)
        },
        |_| consume(&mut consumer, segment),
    )
}

/// Claim the consumer's side, waiting while a producer that has just made
/// the segment sets it up (microseconds; an empty segment that stays empty
/// is refused).
fn attach(view: WriteView<'_>, key: Key) -> Result<Consumer<'_>, Failure> {
    let since = Instant::now();
    loop {
        match Consumer::attach(view, std::process::id()) {
            Ok(consumer) => return Ok(consumer),
            Err(StreamError::NotReady) if since.elapsed() < SETUP => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => {
                let exit = match e {
                    StreamError::Busy { .. } => Exit::Conflict,
                    _ => Exit::BadSegment,
                };
                return Err((exit, messages::stream_refused(&e, key)));
            }
        }
    }
}

/// Wait for the producer's segment, saying why it is not there.
fn find<'f>(
    args: &Args,
    signals: &StopSignals,
    finder: &'f mut Finder,
) -> Result<Option<&'f Segment>, Failure> {
    let mut reporter = Reporter::default();
    let since = Instant::now();
    loop {
        match finder.look().map_err(Failure::from)? {
            Ok(_) => break,
            Err(absent) => {
                let message = messages::absent(&absent);
                if let Some(limit) = args.timeout.filter(|t| since.elapsed() >= *t) {
                    return Err((Exit::NoWriter, messages::gave_up(limit, &message)));
                }
                reporter.report(Condition::absent(&absent.why), &message)?;
            }
        }
        if let Ok(Some(_)) = signals.sleep(BEAT) {
            return Ok(None);
        }
    }
    Ok(finder.look().ok().and_then(Result::ok))
}

fn consume(consumer: &mut Consumer<'_>, segment: &Segment) -> Result<Exit, Failure> {
    let stdout = std::io::stdout();
    let mut backoff = Backoff::default();
    loop {
        match consumer.drain_to(stdout.as_fd()) {
            Ok(0) => {}
            Ok(_) => {
                backoff.reset();
                continue;
            }
            Err(DrainError::Stream(e)) => {
                consumer.end(false);
                return Err((
                    Exit::BadSegment,
                    messages::stream_refused(&e, segment.info().key),
                ));
            }
            Err(DrainError::Output(e)) => {
                consumer.end(false);
                return Err((
                    Exit::Output,
                    messages::stream_output_failed(&e, consumer.tail()),
                ));
            }
        }
        // The ring is empty: has the producer finished, stopped or died?
        let end = match consumer.producer() {
            Peer::Done => None,
            Peer::Aborted => Some(StreamEnd::PeerStopped),
            Peer::Active { beat_age } if beat_age > DEAD_AFTER => Some(StreamEnd::PeerDied),
            Peer::Corrupt(_) => {
                consumer.end(false);
                return Err((
                    Exit::BadSegment,
                    messages::stream_refused(
                        &StreamError::Corrupt("the producer's state word is unknown"),
                        segment.info().key,
                    ),
                ));
            }
            Peer::Absent | Peer::Active { .. } => {
                let _ = consumer.wait_for_data(&mut backoff, BEAT);
                continue;
            }
        };
        // Bytes committed before the end may have come in meanwhile.
        if !consumer.drained() {
            continue;
        }
        return match end {
            None if consumer.final_length() == consumer.tail() => {
                // Nobody needs the segment any more: marked now, it goes
                // with the last detach even if the producer dies before
                // removing it.
                let _ = segment.mark_for_removal();
                consumer.end(true);
                Ok(Exit::Ok)
            }
            None => {
                consumer.end(false);
                Err((
                    Exit::BadSegment,
                    messages::stream_refused(
                        &StreamError::Corrupt("the producer's final length is not what it sent"),
                        segment.info().key,
                    ),
                ))
            }
            Some(end) => {
                consumer.end(false);
                // The producer cannot clear up after itself any more.
                if end == StreamEnd::PeerDied {
                    let _ = segment.mark_for_removal();
                }
                Err((
                    Exit::Interrupted,
                    messages::stream_consumer_ended(end, consumer.tail(), consumer.producer_pid()),
                ))
            }
        };
    }
}
