//! The two sides of the ring. Cursors are byte counts that only grow: the
//! producer's `HEAD` (committed) and the consumer's `TAIL` (consumed); the
//! ring holds `HEAD - TAIL` bytes, at positions taken modulo its capacity.
//!
//! Orderings: the producer copies bytes in, then stores `HEAD` with
//! release; the consumer loads `HEAD` with acquire, copies the bytes out,
//! then stores `TAIL` with release, which the producer loads with acquire
//! before reusing the space. Each side's cursor sits on a cache line only
//! that side stores to; the two "sleeping" flags, stored only around
//! sleeps, share a third.
//! Wake-ups follow [`crate::protocol::notify`]'s rule: a sleeper raises its
//! flag, fences, re-checks the cursor and sleeps on it; a side that moved
//! its cursor fences and wakes only when the other's flag is up. The
//! producer's small writes put that fence off until it pauses
//! ([`Producer::write`]): a fence waits for the cursor's cache line to come
//! back from the consumer, which would cost more than the write itself.

use std::ops::Range;
use std::os::fd::BorrowedFd;
use std::sync::atomic::{fence, Ordering};
use std::time::Duration;

use nix::errno::Errno;

use super::layout::{state, word, DATA};
use crate::protocol::clock::Timestamp;
use crate::protocol::header::{self, Content, HeaderError, Kind};
use crate::protocol::text;
use crate::transport::view::{ReadView, WriteView};

/// What the other side is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// Not there yet.
    Absent,
    /// Producing or consuming; its last heartbeat was this long ago (zero
    /// when the clock says it lies ahead).
    Active {
        /// Age of its heartbeat.
        beat_age: Duration,
    },
    /// The producer finished its input; the consumer received everything.
    Done,
    /// Stopped before the end.
    Aborted,
    /// A state word this build does not know: a corrupt segment.
    Corrupt(u64),
}

fn peer(view: ReadView<'_>, state_word: usize, beat_word: usize) -> Peer {
    match view.load_acquire(state_word) {
        state::NONE => Peer::Absent,
        state::ACTIVE => Peer::Active {
            beat_age: Timestamp::from_word(view.load(beat_word))
                .age(Timestamp::now())
                .unwrap_or_default(),
        },
        state::DONE => Peer::Done,
        state::ABORTED => Peer::Aborted,
        other => Peer::Corrupt(other),
    }
}

/// Why a segment cannot be used as a stream.
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
    #[error("the stream already has a consumer (pid {pid} in its own pid namespace)")]
    Busy {
        /// That consumer's pid, as it wrote it.
        pid: u32,
    },
    /// The producer's words contradict the segment.
    #[error("the stream is corrupt: {0}")]
    Corrupt(&'static str),
}

/// Why bytes could not be passed on.
#[derive(Debug, thiserror::Error)]
pub enum DrainError {
    /// The ring is not one to trust.
    #[error(transparent)]
    Stream(StreamError),
    /// Writing them out failed.
    #[error(transparent)]
    Output(std::io::Error),
}

/// The longest either side sleeps before looking around, and how often the
/// producer beats its heartbeat (at least: `shm_read`'s consumer beats on
/// its stop watcher's shorter tick).
pub const BEAT: Duration = Duration::from_millis(200);
/// A side whose heartbeat is older than this is gone (killed, or frozen).
pub const DEAD_AFTER: Duration = Duration::from_secs(1);

/// The ring's capacity in a segment of `bytes`.
pub fn capacity(bytes: usize) -> u64 {
    bytes.saturating_sub(DATA) as u64
}

/// Store a wall-clock heartbeat in `beat_word`.
pub fn beat(view: WriteView<'_>, beat_word: usize) {
    view.store_release(beat_word, Timestamp::now().to_word());
}

/// Looks at the other side's cursor before sleeping on it: a peer in full
/// flow moves it within microseconds, sooner than a sleep and a wake-up.
const SPINS: u32 = 64;
/// `pause`s between two looks: a side that looks without pausing keeps
/// pulling the cursor's cache line away from the side about to store to
/// it, which halves the rate of small writes.
const PAUSES: u32 = 32;

/// How a side waits for the other: a few dozen looks spaced by pauses
/// (some tens of microseconds in all), then bounded sleeps on the futex.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    spins: u32,
    left: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new(SPINS)
    }
}

impl Backoff {
    /// Look `spins` times before sleeping (0: sleep at once).
    pub fn new(spins: u32) -> Self {
        Self { spins, left: spins }
    }

    /// The other side moved: spin again next time.
    pub fn reset(&mut self) {
        self.left = self.spins;
    }

    /// Pause before the next look; false once it is time to sleep.
    fn spin(&mut self) -> bool {
        if self.left == 0 {
            return false;
        }
        self.left -= 1;
        for _ in 0..PAUSES {
            std::hint::spin_loop();
        }
        true
    }
}

/// The contiguous part of the ring from offset `at` (a cursor modulo the
/// capacity) on, at most `len` bytes, as a byte range of the segment.
fn span(at: u64, len: u64, cap: u64) -> Range<usize> {
    let n = len.min(cap - at);
    DATA + at as usize..DATA + (at + n) as usize
}

/// The offset `n` bytes after `at`: kept incrementally, since a division
/// per message would cost more than the rest of a small write.
fn advance(at: u64, n: u64, cap: u64) -> u64 {
    let next = at + n;
    if next >= cap {
        next - cap
    } else {
        next
    }
}

/// The producer's side; exactly one per stream (the key-file lock).
#[derive(Debug)]
pub struct Producer<'a> {
    view: WriteView<'a>,
    cap: u64,
    head: u64,
    /// `head` modulo `cap`.
    at: u64,
    tail: u64,
}

impl<'a> Producer<'a> {
    /// Set up a fresh ring in `view` (a segment just created, or a
    /// leftover ring adopted) and stamp the header. `pid` is for people
    /// only.
    pub fn create(view: WriteView<'a>, pid: u32) -> Self {
        let cap = capacity(view.read().bytes());
        if !view.read().is_zero() {
            // A leftover ring: its header goes first, then its text, so
            // that a consumer arriving meanwhile finds "not set up yet" and
            // waits for the new ring instead of claiming the old one.
            view.store(header::word::MAGIC, 0);
            fence(Ordering::SeqCst);
            view.clear();
        }
        view.store(word::CAPACITY, cap);
        view.store(word::PRODUCER_PID, u64::from(pid));
        beat(view, word::PRODUCER_BEAT);
        view.store_release(word::PRODUCER_STATE, state::ACTIVE);
        header::stamp(view, Kind::Stream);
        // After the stamp: until then the text stays zero, which with no
        // header a consumer takes for "not set up yet".
        text::write(
            view,
            &text::encode(b"a shm_write --stream ring: read it with shm_read --stream"),
        );
        Self {
            view,
            cap,
            head: 0,
            at: 0,
            tail: 0,
        }
    }

    /// Bytes committed so far.
    pub fn head(&self) -> u64 {
        self.head
    }

    /// Bytes the consumer has taken so far.
    pub fn tail(&self) -> u64 {
        self.view.read().load_acquire(word::TAIL)
    }

    /// The ring's capacity.
    pub fn capacity(&self) -> u64 {
        self.cap
    }

    /// The free part of the ring where the next bytes go (contiguous, so
    /// possibly shorter than all that is free); empty when the ring is full.
    pub fn space(&mut self) -> Range<usize> {
        if self.head - self.tail == self.cap {
            // Clamp: a consumer's word is never trusted beyond what was committed.
            self.tail = self.tail().clamp(self.tail, self.head);
        }
        span(self.at, self.cap - (self.head - self.tail), self.cap)
    }

    /// Copy as much of `bytes` as fits into the ring and commit it; the
    /// count copied.
    ///
    /// Built for many small writes, it makes no fence: a consumer asleep
    /// is woken at once, but one falling asleep at this very moment may be
    /// woken only by the next `write`, [`flush`](Self::flush),
    /// [`wait_for_space`](Self::wait_for_space) or
    /// [`finish`](Self::finish) (or its bounded wait): call `flush` before
    /// pausing.
    pub fn write(&mut self, bytes: &[u8]) -> Result<usize, Errno> {
        let mut done = 0;
        while done < bytes.len() {
            let range = self.space();
            if range.is_empty() {
                break;
            }
            let n = range.len().min(bytes.len() - done);
            self.view.copy_in(range.start, &bytes[done..done + n]);
            done += n;
            self.commit(n);
        }
        if done > 0 {
            self.view.store_release(word::HEAD, self.head);
            self.wake_sleeper()?;
        }
        Ok(done)
    }

    /// Make sure a consumer that fell asleep during the last
    /// [`write`](Self::write)s is woken.
    pub fn flush(&self) -> Result<(), Errno> {
        fence(Ordering::SeqCst);
        self.wake_sleeper()
    }

    /// `read(2)` from `fd` straight into the free part of the ring and
    /// commit what came; the count (0 at the end of input, or when the
    /// ring is full).
    pub fn fill_from(&mut self, fd: BorrowedFd<'_>) -> std::io::Result<usize> {
        let range = self.space();
        if range.is_empty() {
            return Ok(0);
        }
        let n = loop {
            match self.view.read_from(fd, range.clone()) {
                Err(Errno::EINTR) => continue,
                other => break other?,
            }
        };
        self.commit(n);
        self.publish()?;
        Ok(n)
    }

    fn commit(&mut self, n: usize) {
        self.head += n as u64;
        self.at = advance(self.at, n as u64, self.cap);
    }

    fn publish(&self) -> Result<(), Errno> {
        self.view.store_release(word::HEAD, self.head);
        self.flush()
    }

    fn wake_sleeper(&self) -> Result<(), Errno> {
        if self.view.read().load(word::CONSUMER_SLEEPING) != 0 {
            self.view.wake(word::HEAD)?;
        }
        Ok(())
    }

    /// The whole input is in: record its length and say so.
    pub fn finish(&self) -> Result<(), Errno> {
        self.view.store(word::FINAL, self.head);
        self.set_state(state::DONE)
    }

    /// Stop before the end (a signal, an error).
    pub fn abort(&self) -> Result<(), Errno> {
        self.set_state(state::ABORTED)
    }

    fn set_state(&self, value: u64) -> Result<(), Errno> {
        self.view.store_release(word::PRODUCER_STATE, value);
        fence(Ordering::SeqCst);
        self.view.wake(word::HEAD)
    }

    /// What the consumer is doing.
    pub fn consumer(&self) -> Peer {
        peer(self.view.read(), word::CONSUMER_STATE, word::CONSUMER_BEAT)
    }

    /// The consumer's pid, as it wrote it (for messages).
    pub fn consumer_pid(&self) -> u32 {
        self.view.read().load(word::CONSUMER_PID) as u32
    }

    /// Wait for the consumer to take bytes, when the ring is still full:
    /// spin while `backoff` allows, then sleep (at most `timeout`).
    pub fn wait_for_space(&self, backoff: &mut Backoff, timeout: Duration) -> Result<(), Errno> {
        if backoff.spin() {
            return Ok(());
        }
        self.flush()?;
        sleep_on(
            self.view,
            word::PRODUCER_SLEEPING,
            word::TAIL,
            self.tail,
            timeout,
        )
    }
}

/// Raise `flag`, fence, and sleep on `cursor` while it still reads `seen`.
fn sleep_on(
    view: WriteView<'_>,
    flag: usize,
    cursor: usize,
    seen: u64,
    timeout: Duration,
) -> Result<(), Errno> {
    view.store(flag, 1);
    fence(Ordering::SeqCst);
    let result = if view.read().load(cursor) == seen {
        view.read().wait(cursor, seen as u32, timeout)
    } else {
        Ok(())
    };
    view.store(flag, 0);
    result
}

/// The consumer's side; one per stream, claimed with a compare-and-swap.
#[derive(Debug)]
pub struct Consumer<'a> {
    view: WriteView<'a>,
    cap: u64,
    tail: u64,
    /// `tail` modulo `cap`.
    at: u64,
    head: u64,
}

impl<'a> Consumer<'a> {
    /// Check that `view` holds a stream and claim its consumer's side.
    pub fn attach(view: WriteView<'a>, pid: u32) -> Result<Self, StreamError> {
        let read = view.read();
        match header::identify(read)? {
            Content::Ours(Kind::Stream) => {}
            Content::Ours(kind) => return Err(StreamError::NotAStream(kind.name())),
            // The producer writes its C text last, after the header.
            Content::Foreign if read.slice(text::WORDS).is_zero() => {
                return Err(StreamError::NotReady)
            }
            Content::Foreign => return Err(StreamError::NotAStream("no shm_write header")),
        }
        let cap = capacity(read.bytes());
        if cap == 0 || read.load(word::CAPACITY) != cap {
            return Err(StreamError::Corrupt(
                "the capacity does not match the segment",
            ));
        }
        if let Err(_taken) = view.compare_exchange(word::CONSUMER_STATE, state::NONE, state::ACTIVE)
        {
            return Err(StreamError::Busy {
                pid: read.load(word::CONSUMER_PID) as u32,
            });
        }
        view.store(word::CONSUMER_PID, u64::from(pid));
        beat(view, word::CONSUMER_BEAT);
        let tail = read.load_acquire(word::TAIL);
        Ok(Self {
            view,
            cap,
            tail,
            at: tail % cap,
            head: tail,
        })
    }

    /// Bytes received so far.
    pub fn tail(&self) -> u64 {
        self.tail
    }

    /// The committed bytes not yet taken (contiguous, so possibly fewer
    /// than all there are); empty when the ring is empty. A producer's
    /// cursor outside what the ring can hold is refused, never followed.
    pub fn available(&mut self) -> Result<Range<usize>, StreamError> {
        if self.head == self.tail {
            let head = self.view.read().load_acquire(word::HEAD);
            if head < self.tail || head - self.tail > self.cap {
                return Err(StreamError::Corrupt(
                    "the producer's cursor is outside the ring",
                ));
            }
            self.head = head;
        }
        Ok(span(self.at, self.head - self.tail, self.cap))
    }

    /// Copy up to `buf.len()` bytes out and take them; the count.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize, StreamError> {
        let mut done = 0;
        while done < buf.len() {
            let range = self.available()?;
            if range.is_empty() {
                break;
            }
            let n = range.len().min(buf.len() - done);
            self.view
                .read()
                .copy_out(range.start, &mut buf[done..done + n]);
            done += n;
            self.take(n);
        }
        if done > 0 {
            self.release()
                .map_err(|_| StreamError::Corrupt("futex wake failed"))?;
        }
        Ok(done)
    }

    /// `write(2)` committed bytes to `fd` straight from the ring and take
    /// what was written; the count (0 when the ring is empty).
    pub fn drain_to(&mut self, fd: BorrowedFd<'_>) -> Result<usize, DrainError> {
        let range = self.available().map_err(DrainError::Stream)?;
        if range.is_empty() {
            return Ok(0);
        }
        let n = loop {
            match self.view.read().write_to(fd, range.clone()) {
                Err(Errno::EINTR) => continue,
                other => break other.map_err(|e| DrainError::Output(e.into()))?,
            }
        };
        self.take(n);
        self.release().map_err(|e| DrainError::Output(e.into()))?;
        Ok(n)
    }

    fn take(&mut self, n: usize) {
        self.tail += n as u64;
        self.at = advance(self.at, n as u64, self.cap);
    }

    fn release(&self) -> Result<(), Errno> {
        self.view.store_release(word::TAIL, self.tail);
        fence(Ordering::SeqCst);
        if self.view.read().load(word::PRODUCER_SLEEPING) != 0 {
            self.view.wake(word::TAIL)?;
        }
        Ok(())
    }

    /// The segment's memory, load-only (to write ranges out from it).
    pub fn view(&self) -> ReadView<'a> {
        self.view.read()
    }

    /// What the producer is doing.
    pub fn producer(&self) -> Peer {
        peer(self.view.read(), word::PRODUCER_STATE, word::PRODUCER_BEAT)
    }

    /// The producer's pid, as it wrote it (for messages).
    pub fn producer_pid(&self) -> u32 {
        self.view.read().load(word::PRODUCER_PID) as u32
    }

    /// The stream's length, once the producer has finished (never trusted
    /// beyond what it committed).
    pub fn final_length(&self) -> u64 {
        self.view.read().load(word::FINAL)
    }

    /// Everything the producer committed has been taken.
    pub fn drained(&self) -> bool {
        self.view.read().load_acquire(word::HEAD) == self.tail
    }

    /// Say how this side ended: received everything, or stopped early.
    pub fn end(&self, complete: bool) {
        let value = if complete {
            state::DONE
        } else {
            state::ABORTED
        };
        self.view.store_release(word::CONSUMER_STATE, value);
        fence(Ordering::SeqCst);
        let _ = self.view.wake(word::TAIL);
    }

    /// Wait for the producer to commit more, when the ring is still empty:
    /// spin while `backoff` allows, then sleep (at most `timeout`).
    pub fn wait_for_data(&self, backoff: &mut Backoff, timeout: Duration) -> Result<(), Errno> {
        if backoff.spin() {
            return Ok(());
        }
        sleep_on(
            self.view,
            word::CONSUMER_SLEEPING,
            word::HEAD,
            self.tail,
            timeout,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    fn segment(bytes: usize) -> Vec<AtomicU64> {
        (0..bytes / 8).map(|_| AtomicU64::new(0)).collect()
    }

    #[test]
    fn bytes_wrap_around_a_tiny_ring_in_order() {
        let seg = segment(DATA + 64);
        let view = WriteView::new(&seg);
        let mut producer = Producer::create(view, 1);
        let mut consumer = Consumer::attach(view, 2).unwrap();
        let input: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let (mut sent, mut got) = (0, Vec::new());
        let mut buf = [0u8; 37];
        while got.len() < input.len() {
            sent += producer
                .write(&input[sent..(sent + 23).min(input.len())])
                .unwrap();
            let n = consumer.read(&mut buf).unwrap();
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, input);
        assert_eq!(
            Consumer::attach(view, 3).unwrap_err(),
            StreamError::Busy { pid: 2 }
        );
    }

    #[test]
    fn a_leftover_ring_is_made_anew() {
        let seg = segment(DATA + 64);
        let view = WriteView::new(&seg);
        let mut old = Producer::create(view, 1);
        old.write(b"left over").unwrap();
        Consumer::attach(view, 2).unwrap().end(true);
        old.abort().unwrap();
        let fresh = Producer::create(view, 3);
        assert_eq!((fresh.head(), fresh.tail()), (0, 0));
        assert_eq!(fresh.consumer(), Peer::Absent);
        let mut consumer = Consumer::attach(view, 4).unwrap();
        assert!(consumer.available().unwrap().is_empty());
    }

    #[test]
    fn a_ring_being_set_up_is_not_ready_and_a_c_text_is_not_a_stream() {
        let seg = segment(DATA + 64);
        let view = WriteView::new(&seg);
        // What Producer::create has stored before its header.
        view.store(word::CAPACITY, 64);
        view.store(word::PRODUCER_STATE, state::ACTIVE);
        assert_eq!(
            Consumer::attach(view, 2).unwrap_err(),
            StreamError::NotReady
        );
        text::write(view, &text::encode(b"1700000000"));
        assert_eq!(
            Consumer::attach(view, 2).unwrap_err(),
            StreamError::NotAStream("no shm_write header")
        );
    }

    #[test]
    fn a_hostile_head_is_refused() {
        let seg = segment(DATA + 64);
        let view = WriteView::new(&seg);
        Producer::create(view, 1);
        let mut consumer = Consumer::attach(view, 2).unwrap();
        view.store(word::HEAD, 65);
        assert!(matches!(consumer.available(), Err(StreamError::Corrupt(_))));
    }

    #[test]
    fn a_time_segment_is_not_a_stream() {
        let seg = segment(4096);
        let view = WriteView::new(&seg);
        header::stamp(view, Kind::Time);
        assert_eq!(
            Consumer::attach(view, 2).unwrap_err(),
            StreamError::NotAStream("time record")
        );
    }
}
