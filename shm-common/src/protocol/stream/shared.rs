//! What both sides of the ring share: the cursors' arithmetic, which words are whose (`Side`), what the other side is doing
//! ([`Peer`]), the handles a side lends its other threads ([`Heartbeat`],
//! [`Abort`]) and the errors.
//!
//! Cursors are byte counts that only grow: the producer's `HEAD`
//! (committed) and the consumer's `TAIL` (consumed); the ring holds
//! `HEAD - TAIL` bytes, at positions taken modulo its capacity.
//!
//! Orderings: the producer copies bytes in, then stores `HEAD` with
//! release; the consumer loads `HEAD` with acquire, copies the bytes out,
//! then stores `TAIL` with release, which the producer loads with acquire
//! before reusing the space. Each side's cursor sits on a cache line only
//! that side stores to; the two "sleeping" flags, stored only around
//! sleeps, share a third.
//! Wake-ups (in [`super::wait`]) follow [`crate::protocol::notify`]'s rule: a sleeper raises its
//! flag, fences, re-checks the cursor and sleeps on it; a side that moved
//! its cursor fences and wakes only when the other's flag is up. The
//! producer's small writes put that fence off until it pauses
//! ([`super::producer::Producer::write`]): a fence waits for the cursor's
//! cache line to come back from the consumer, which would cost more than
//! the write itself.

use std::cell::Cell;
use std::ops::Range;
use std::sync::atomic::{fence, Ordering};
use std::time::{Duration, Instant};

use nix::errno::Errno;

use super::layout::{state, word, DATA};
use crate::protocol::clock::Timestamp;
use crate::protocol::header::HeaderError;
use crate::transport::view::{ReadView, WriteView};

/// One side of the stream, and the words that are its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    Producer,
    Consumer,
}

impl Side {
    /// The other side.
    pub(super) fn peer(self) -> Side {
        match self {
            Side::Producer => Side::Consumer,
            Side::Consumer => Side::Producer,
        }
    }

    /// Its state word.
    pub(super) fn state(self) -> usize {
        match self {
            Side::Producer => word::PRODUCER_STATE,
            Side::Consumer => word::CONSUMER_STATE,
        }
    }

    /// Its heartbeat word.
    pub(super) fn beat(self) -> usize {
        match self {
            Side::Producer => word::PRODUCER_BEAT,
            Side::Consumer => word::CONSUMER_BEAT,
        }
    }

    /// Its cursor: the futex word the other side sleeps on.
    pub(super) fn cursor(self) -> usize {
        match self {
            Side::Producer => word::HEAD,
            Side::Consumer => word::TAIL,
        }
    }

    /// Its pid word (for people).
    pub(super) fn pid(self) -> usize {
        match self {
            Side::Producer => word::PRODUCER_PID,
            Side::Consumer => word::CONSUMER_PID,
        }
    }

    /// Its "sleeping" flag.
    pub(super) fn sleeping(self) -> usize {
        match self {
            Side::Producer => word::PRODUCER_SLEEPING,
            Side::Consumer => word::CONSUMER_SLEEPING,
        }
    }

    /// What this side is doing, from its words; its heartbeat as `watch`
    /// (the looking side's) has seen it change.
    pub(super) fn read(self, view: ReadView<'_>, watch: &BeatWatch) -> Peer {
        match view.load_acquire(self.state()) {
            state::NONE => Peer::Absent,
            state::ACTIVE => Peer::Active {
                beat_age: watch.age(view.load(self.beat()), Instant::now()),
            },
            state::DONE => Peer::Done,
            state::ABORTED => Peer::Aborted,
            other => Peer::Corrupt(other),
        }
    }

    /// Store this side's state and wake the other side, asleep on this
    /// side's cursor.
    pub(super) fn set_state(self, view: WriteView<'_>, value: u64) -> Result<(), StreamError> {
        view.store_release(self.state(), value);
        fence(Ordering::SeqCst);
        view.wake(self.cursor()).map_err(StreamError::Futex)
    }
}

/// How long ago one side saw the other's heartbeat word change, by its own
/// monotonic clock: the word holds the other side's wall-clock time, which
/// is never compared with this side's clock (a clock stepped in between
/// would end every stream), only watched for change. The first look counts
/// as a change: a side that has just attached gives the other the whole
/// bound.
#[derive(Debug, Default)]
pub(super) struct BeatWatch(Cell<Option<(u64, Instant)>>);

impl BeatWatch {
    /// The heartbeat word reads `word` at `now`: how long it has read so.
    pub(super) fn age(&self, word: u64, now: Instant) -> Duration {
        match self.0.get() {
            Some((last, since)) if last == word => now.saturating_duration_since(since),
            _ => {
                self.0.set(Some((word, now)));
                Duration::ZERO
            }
        }
    }
}

/// What the other side is doing, as its words say (judged by
/// [`super::end`]'s liveness rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// Not there yet.
    Absent,
    /// Producing or consuming; its heartbeat was last seen to change this
    /// long ago, by the looking side's monotonic clock.
    Active {
        /// Time since its heartbeat last changed.
        beat_age: Duration,
    },
    /// The producer finished its input; the consumer received everything.
    Done,
    /// Stopped before the end.
    Aborted,
    /// A state word this build does not know: a corrupt segment.
    Corrupt(u64),
}

/// What the consumer that holds a stream is doing, as another consumer
/// finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    /// Consuming, as its state word says (watched: its heartbeat moves).
    Active,
    /// Its heartbeat stood still for the stream's liveness bound: killed,
    /// or frozen.
    Dead,
    /// It received the whole stream.
    Finished,
    /// It stopped before the end.
    StoppedEarly,
}

impl Holder {
    /// What the holder's state word says, without watching it: an active
    /// one may be dead ([`super::consumer::watch_holder`] tells).
    pub(super) fn of_state(word: u64) -> Self {
        match word {
            state::DONE => Holder::Finished,
            state::ABORTED => Holder::StoppedEarly,
            _ => Holder::Active,
        }
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Holder::Active => "is consuming it",
            Holder::Dead => "stopped responding (killed, or frozen)",
            Holder::Finished => "received all of it",
            Holder::StoppedEarly => "stopped before the end",
        })
    }
}

/// Why a side cannot go on with a stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    /// Not a header of ours, or a newer one.
    #[error(transparent)]
    Header(#[from] HeaderError),
    /// Another kind, or no header.
    #[error("the segment holds {0}, not a stream")]
    NotAStream(&'static str),
    /// No header and no C text: a producer that has just made the segment
    /// and is still setting it up (or a segment nobody writes).
    #[error("the segment is still empty")]
    NotReady,
    /// Another consumer has (or had) this stream.
    #[error(
        "the stream already has a consumer (pid {pid} in its own pid namespace), which {holder}"
    )]
    Busy {
        /// That consumer's pid, as it wrote it.
        pid: u32,
        /// What it is doing.
        holder: Holder,
    },
    /// The other side's words contradict the segment.
    #[error("the stream is corrupt: {0}")]
    Corrupt(&'static str),
    /// The other side's state word holds a value this build does not know.
    #[error("the stream is corrupt: the {peer}'s state word is unknown")]
    UnknownState {
        /// "producer" or "consumer".
        peer: &'static str,
        /// What the word holds.
        value: u64,
    },
    /// A futex wait or wake-up failed: a system failure, not the stream's.
    #[error("a futex call on the stream failed: {0}")]
    Futex(Errno),
}

impl StreamError {
    pub(super) fn unknown_state(peer: Side, value: u64) -> Self {
        StreamError::UnknownState {
            peer: match peer {
                Side::Producer => "producer",
                Side::Consumer => "consumer",
            },
            value,
        }
    }
}

/// Why bytes could not be passed on from the ring to a file descriptor.
#[derive(Debug, thiserror::Error)]
pub enum DrainError {
    /// The ring is not one to trust, or a wake-up failed.
    #[error(transparent)]
    Stream(StreamError),
    /// Writing them out failed.
    #[error(transparent)]
    Output(std::io::Error),
}

/// Why bytes could not be taken from a file descriptor into the ring.
#[derive(Debug, thiserror::Error)]
pub enum FillError {
    /// Reading them failed.
    #[error(transparent)]
    Input(std::io::Error),
    /// Waking the consumer failed.
    #[error(transparent)]
    Stream(StreamError),
}

/// The longest either side sleeps before looking around, and how often the
/// producer beats its heartbeat (at least: `shm_read`'s consumer beats on
/// its stop watcher's shorter tick).
pub const BEAT: Duration = Duration::from_millis(200);

/// The ring's capacity in a segment of `bytes`.
pub fn capacity(bytes: usize) -> u64 {
    bytes.saturating_sub(DATA) as u64
}

/// A side's heartbeat, lent to the thread that beats it (the side itself
/// is busy copying). Obtained from `Producer::heartbeat` or
/// `Consumer::heartbeat`.
#[derive(Debug, Clone, Copy)]
pub struct Heartbeat<'a> {
    view: WriteView<'a>,
    side: Side,
}

impl<'a> Heartbeat<'a> {
    pub(super) fn new(view: WriteView<'a>, side: Side) -> Self {
        Self { view, side }
    }

    /// The producer's heartbeat in `view`, for a thread that holds the
    /// segment but not the side (the side borrows it elsewhere).
    pub fn producer(view: WriteView<'a>) -> Self {
        Self::new(view, Side::Producer)
    }

    /// The consumer's heartbeat in `view`, as [`Heartbeat::producer`].
    pub fn consumer(view: WriteView<'a>) -> Self {
        Self::new(view, Side::Consumer)
    }

    /// Store a heartbeat for this side: the wall clock's nanoseconds, which
    /// the other side only watches for change (readers before that rule
    /// judge its age).
    pub fn beat(&self) {
        self.view
            .store_release(self.side.beat(), Timestamp::now().to_word());
    }
}

/// A side's way to stop early from another thread (a signal's), while the
/// side itself may be blocked. Obtained from `Producer::abort_handle` or
/// `Consumer::abort_handle`.
#[derive(Debug, Clone, Copy)]
pub struct Abort<'a> {
    view: WriteView<'a>,
    side: Side,
}

impl<'a> Abort<'a> {
    pub(super) fn new(view: WriteView<'a>, side: Side) -> Self {
        Self { view, side }
    }

    /// End this side as stopped before the end, and wake the other side.
    pub fn abort(&self) -> Result<(), StreamError> {
        self.side.set_state(self.view, state::ABORTED)
    }

    /// This side's cursor as the segment holds it: the bytes the producer
    /// has committed, or the consumer has taken.
    pub fn cursor(&self) -> u64 {
        self.view.read().load(self.side.cursor())
    }

    /// The other side's pid, as it wrote it (for messages).
    pub fn peer_pid(&self) -> u32 {
        self.view.read().load(self.side.peer().pid()) as u32
    }
}

/// The contiguous part of the ring from offset `at` (a cursor modulo the
/// capacity) on, at most `len` bytes, as a byte range of the segment.
pub(super) fn span(at: u64, len: u64, cap: u64) -> Range<usize> {
    let n = len.min(cap - at);
    DATA + at as usize..DATA + (at + n) as usize
}

/// The offset `n` bytes after `at`: kept incrementally, since a division
/// per message would cost more than the rest of a small write.
pub(super) fn advance(at: u64, n: u64, cap: u64) -> u64 {
    let next = at + n;
    if next >= cap {
        next - cap
    } else {
        next
    }
}

/// A zeroed segment of `bytes` for the sides' unit tests.
#[cfg(test)]
pub(super) fn test_segment(bytes: usize) -> Vec<std::sync::atomic::AtomicU64> {
    (0..bytes / 8)
        .map(|_| std::sync::atomic::AtomicU64::new(0))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_stop_at_the_end_of_the_ring_and_offsets_wrap() {
        assert_eq!(span(60, 10, 64), DATA + 60..DATA + 64);
        assert_eq!(span(0, 10, 64), DATA..DATA + 10);
        assert_eq!(advance(60, 4, 64), 0);
        assert_eq!(advance(60, 10, 64), 6);
        assert_eq!(advance(1, 2, 64), 3);
    }

    #[test]
    fn a_heartbeat_is_judged_by_its_changes_not_its_value() {
        let (t0, watch) = (Instant::now(), BeatWatch::default());
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        assert_eq!(watch.age(5, at(0)), Duration::ZERO);
        assert_eq!(watch.age(5, at(700)), Duration::from_millis(700));
        // An hour back: still a beat.
        assert_eq!(
            watch.age(5u64.wrapping_sub(3_600_000_000_000), at(800)),
            Duration::ZERO
        );
        assert_eq!(
            watch.age(5u64.wrapping_sub(3_600_000_000_000), at(1900)),
            Duration::from_millis(1100)
        );
    }

    #[test]
    fn each_side_owns_its_words_and_the_peers_are_each_other() {
        for side in [Side::Producer, Side::Consumer] {
            assert_eq!(side.peer().peer(), side);
            assert_ne!(side.cursor(), side.peer().cursor());
        }
        assert_eq!(Side::Consumer.peer().cursor(), word::HEAD);
    }
}
