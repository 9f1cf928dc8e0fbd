//! `--stream`: copy standard input into the ring, straight from `read(2)`
//! into the segment, until its end; exit 0 only once the consumer has
//! received every byte, then remove the segment.

use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use shm_common::cli::console;
use shm_common::cli::exit::Exit;
use shm_common::cli::messages::{self, StreamEnd};
use shm_common::protocol::stream::{
    adopt,
    layout::{word, DEFAULT_SEGMENT_SIZE, MIN_SEGMENT_SIZE},
    ring::{beat, Backoff, Peer, Producer, BEAT, DEAD_AFTER},
};
use shm_common::transport::signals::{StopSignals, Wake};

use crate::claim::Protocol;
use crate::flags::Args;
use crate::Failure;

/// The stream's protocol, for the claim.
const STREAM: Protocol = Protocol {
    publishes: "a stream",
    min_size: MIN_SEGMENT_SIZE,
    room: MIN_SEGMENT_SIZE,
    default_size: DEFAULT_SEGMENT_SIZE,
    rule: adopt::judge,
};

/// Run the producer.
pub fn run(args: &Args) -> Result<(), Failure> {
    let signals =
        StopSignals::install().map_err(|e| (Exit::Failure, messages::signals_setup(e)))?;
    STREAM.run(args, |claim| {
        let view = claim.view();
        let mut producer = Producer::create(view, claim.beacon().pid);
        let stop = AtomicBool::new(false);
        let outcome = std::thread::scope(|s| {
            let beater = s.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    beat(view, word::PRODUCER_BEAT);
                    std::thread::park_timeout(BEAT);
                }
            });
            let outcome = produce(args, &signals, &mut producer);
            // Unparked, the beater ends now rather than after its sleep.
            stop.store(true, Ordering::Relaxed);
            beater.thread().unpark();
            outcome
        });
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

fn produce(args: &Args, signals: &StopSignals, producer: &mut Producer<'_>) -> Result<(), Stop> {
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
            Err(e) => return Err(Err(failure("reading standard input", e))),
        }
    }
    producer
        .finish()
        .map_err(|e| Err(failure("waking the consumer", e)))?;
    // Delivered means received: wait until the consumer has taken it all
    // and seen the end (even of an empty stream).
    while producer.consumer() != Peer::Done {
        progress.check(producer)?;
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

    fn check(&mut self, producer: &Producer<'_>) -> Result<(), Stop> {
        match producer.consumer() {
            Peer::Aborted => return Err(Ok(StreamEnd::PeerStopped)),
            Peer::Active { beat_age } if beat_age > DEAD_AFTER => {
                return Err(Ok(StreamEnd::PeerDied))
            }
            Peer::Done if producer.tail() < producer.head() => {
                return Err(Ok(StreamEnd::PeerStopped))
            }
            Peer::Corrupt(state) => {
                return Err(Err((
                    Exit::BadSegment,
                    format!(
                        "--stream: the consumer's state word holds {state}: the segment is corrupt"
                    ),
                )))
            }
            Peer::Absent | Peer::Active { .. } | Peer::Done => {}
        }
        let tail = producer.tail();
        if tail != self.tail {
            (self.tail, self.since) = (tail, Instant::now());
        } else if self.timeout.is_some_and(|t| self.since.elapsed() >= t) {
            return Err(Ok(StreamEnd::Timeout));
        }
        Ok(())
    }
}
