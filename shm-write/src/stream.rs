//! `--stream`: copy standard input into the ring, straight from `read(2)`
//! into the segment, until its end; exit 0 only once the consumer has
//! received every byte, then remove the segment.

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use shm_common::cli::console;
use shm_common::cli::exit::Exit;
use shm_common::cli::messages;
use shm_common::protocol::stream::{
    end::{Outcome, StreamEnd},
    producer::Producer,
    shared::{FillError, StreamError, BEAT},
    spec,
    wait::Backoff,
};
use shm_common::protocol::watch::beating_beside;
use shm_common::transport::signals::{StopSignals, Wake};

use crate::claim::Protocol;
use crate::flags::Stream;
use crate::Failure;

/// The stream's protocol, for the claim.
const STREAM: Protocol = Protocol::of(&spec::SPEC, "a stream");

/// Run the producer.
pub fn run(args: &Stream, signals: &StopSignals) -> Result<(), Failure> {
    STREAM.run(&args.claim, |claim| {
        let view = claim.view();
        let mut producer = Producer::create(view, claim.beacon().pid);
        let heartbeat = producer.heartbeat();
        let outcome = beating_beside(
            BEAT,
            || heartbeat.beat(),
            || produce(args, signals, &mut producer),
        );
        let (sent, received, consumer) =
            (producer.head(), producer.tail(), producer.consumer_pid());
        match outcome {
            Ok(()) => {
                console::say(&messages::stream_delivered("shm_write", sent))?;
                Ok(())
            }
            Err(ended) => {
                let _ = producer.abort();
                Err(match ended {
                    Ok(end) => (
                        Exit::Interrupted,
                        messages::stream_producer_ended(end, sent, received, consumer),
                    ),
                    Err(failure) => failure,
                })
            }
        }
    })
}

/// Why producing stopped before delivery: an ending to report, or a failure.
type Stop = Result<StreamEnd, Failure>;

fn produce(args: &Stream, signals: &StopSignals, producer: &mut Producer<'_>) -> Result<(), Stop> {
    let stdin = std::io::stdin();
    let mut progress = Progress::new(args.timeout, producer.tail());
    let mut backoff = Backoff::default();
    loop {
        if producer.space().is_empty() {
            progress.check(producer)?;
            producer
                .wait_for_space(&mut backoff, BEAT)
                .map_err(|e| Err(failure("waiting for the consumer", e)))?;
            stopped(signals)?;
            continue;
        }
        backoff.reset();
        match signals.wait_readable(stdin.as_fd(), BEAT) {
            Ok(Wake::Readable) => {}
            Ok(Wake::Signal(_)) => return Err(Ok(StreamEnd::Signal)),
            Ok(Wake::Timeout) => {
                progress.check(producer)?;
                continue;
            }
            Err(e) => return Err(Err(failure("waiting for input", e))),
        }
        match producer.fill_from(stdin.as_fd()) {
            Ok(0) => break,
            Ok(_) => {}
            Err(FillError::Input(e)) => return Err(Err(failure("reading standard input", e))),
            Err(FillError::Stream(e)) => return Err(Err(failure("waking the consumer", e))),
        }
    }
    producer
        .finish()
        .map_err(|e| Err(failure("waking the consumer", e)))?;
    // Delivered means received: wait until the consumer has taken it all
    // and seen the end (even of an empty stream).
    while !progress.check(producer)? {
        producer
            .wait_for_space(&mut backoff, BEAT)
            .map_err(|e| Err(failure("waiting for the consumer", e)))?;
        stopped(signals)?;
    }
    Ok(())
}

fn failure(what: &str, e: impl std::fmt::Display) -> Failure {
    (Exit::Failure, format!("--stream: {what} failed: {e}"))
}

/// A stop signal that has arrived ends the stream.
fn stopped(signals: &StopSignals) -> Result<(), Stop> {
    match signals.pending() {
        Ok(None) => Ok(()),
        Ok(Some(_)) => Err(Ok(StreamEnd::Signal)),
        Err(e) => Err(Err(failure("waiting for signals", e))),
    }
}

/// Whether the consumer is still there and still taking bytes.
struct Progress {
    timeout: Option<Duration>,
    tail: u64,
    since: Instant,
}

impl Progress {
    fn new(timeout: Option<Duration>, tail: u64) -> Self {
        Self {
            timeout,
            tail,
            since: Instant::now(),
        }
    }

    /// Whether the consumer received every byte and saw the end (only
    /// ever after [`Producer::finish`]); an end before that, the
    /// consumer's or `--timeout`'s, stops the stream.
    fn check(&mut self, producer: &Producer<'_>) -> Result<bool, Stop> {
        match producer.outcome() {
            Ok(Some(Outcome::Complete)) => return Ok(true),
            Ok(Some(Outcome::Interrupted(end))) => return Err(Ok(end)),
            Ok(None) => {}
            Err(StreamError::UnknownState { value, .. }) => {
                return Err(Err((
                    Exit::BadSegment,
                    format!(
                        "--stream: the consumer's state word holds {value}: the segment is corrupt"
                    ),
                )))
            }
            Err(e @ StreamError::Futex(_)) => {
                return Err(Err(failure("looking at the consumer", e)))
            }
            Err(e) => return Err(Err((Exit::BadSegment, format!("--stream: {e}")))),
        }
        let tail = producer.tail();
        if tail != self.tail {
            (self.tail, self.since) = (tail, Instant::now());
        } else if self.timeout.is_some_and(|t| self.since.elapsed() >= t) {
            return Err(Ok(StreamEnd::Timeout));
        }
        Ok(false)
    }
}
