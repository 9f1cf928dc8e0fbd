//! The consumer's side of the ring: it claims its side with a
//! compare-and-swap, takes bytes at `TAIL`, never trusts the producer's
//! words, and learns from [`super::end`] when the stream is over.

use std::ops::Range;
use std::os::fd::BorrowedFd;
use std::sync::atomic::{fence, Ordering};
use std::time::Duration;

use nix::errno::Errno;

use super::end::{self, Outcome};
use super::layout::{state, word};
use super::shared::{
    advance, capacity, span, Abort, BeatWatch, DrainError, Heartbeat, Holder, Peer, Side,
    StreamError, BEAT,
};
use super::wait::{sleep_on, wake_peer, Backoff};
use crate::protocol::header::{self, Content, Kind};
use crate::protocol::text;
use crate::transport::view::{ReadView, WriteView};

const SIDE: Side = Side::Consumer;

/// The consumer's side; one per stream, claimed with a compare-and-swap.
#[derive(Debug)]
pub struct Consumer<'a> {
    view: WriteView<'a>,
    cap: u64,
    tail: u64,
    /// `tail` modulo `cap`.
    at: u64,
    head: u64,
    /// The producer's heartbeat, watched.
    peer_beat: BeatWatch,
}

/// What the consumer that holds the stream in `read` is doing, told apart
/// by the stream's liveness rule: an active one is dead when its heartbeat
/// stands still for [`end::DEAD_AFTER`], which this waits out (so
/// [`Consumer::attach`], which never blocks, leaves it to its caller).
pub fn watch_holder(read: ReadView<'_>) -> Holder {
    let watch = BeatWatch::default();
    let first = read.load(SIDE.beat());
    loop {
        match SIDE.read(read, &watch) {
            Peer::Done => return Holder::Finished,
            Peer::Aborted => return Holder::StoppedEarly,
            peer @ Peer::Active { .. } if end::gone(peer).is_some() => return Holder::Dead,
            Peer::Active { .. } if read.load(SIDE.beat()) != first => return Holder::Active,
            Peer::Active { .. } => std::thread::sleep(BEAT / 4),
            // Released meanwhile, or corrupt: it is taken all the same.
            Peer::Absent | Peer::Corrupt(_) => return Holder::Active,
        }
    }
}

/// The longest a new segment may stay empty before
/// [`Consumer::attach_when_ready`] refuses it.
pub const SETUP: Duration = Duration::from_millis(2000);

impl<'a> Consumer<'a> {
    /// [`Consumer::attach`], waiting while a producer that has just made
    /// the segment sets it up (microseconds; one that stays empty for
    /// [`SETUP`] is refused), and, before refusing a stream that another
    /// consumer holds, watching that it is alive ([`watch_holder`]).
    pub fn attach_when_ready(view: WriteView<'a>, pid: u32) -> Result<Self, StreamError> {
        let since = std::time::Instant::now();
        loop {
            match Self::attach(view, pid) {
                Err(StreamError::NotReady) if since.elapsed() < SETUP => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(StreamError::Busy {
                    pid,
                    holder: Holder::Active,
                }) => {
                    let holder = watch_holder(view.read());
                    return Err(StreamError::Busy { pid, holder });
                }
                other => return other,
            }
        }
    }

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
                holder: Holder::of_state(read.load_acquire(SIDE.state())),
            });
        }
        view.store(word::CONSUMER_PID, u64::from(pid));
        Heartbeat::new(view, SIDE).beat();
        let tail = read.load_acquire(word::TAIL);
        Ok(Self {
            view,
            cap,
            tail,
            at: tail % cap,
            head: tail,
            peer_beat: BeatWatch::default(),
        })
    }

    /// This side's heartbeat, for a thread that beats it while this one
    /// copies (or blocks writing).
    pub fn heartbeat(&self) -> Heartbeat<'a> {
        Heartbeat::new(self.view, SIDE)
    }

    /// A handle that stops this side early from another thread (a stop
    /// signal's), even while this one is blocked writing.
    pub fn abort_handle(&self) -> Abort<'a> {
        Abort::new(self.view, SIDE)
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
            self.release()?;
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
        self.release().map_err(DrainError::Stream)?;
        Ok(n)
    }

    fn take(&mut self, n: usize) {
        self.tail += n as u64;
        self.at = advance(self.at, n as u64, self.cap);
    }

    fn release(&self) -> Result<(), StreamError> {
        self.view.store_release(word::TAIL, self.tail);
        fence(Ordering::SeqCst);
        wake_peer(self.view, SIDE)
    }

    /// The segment's memory, load-only (to write ranges out from it).
    pub fn view(&self) -> ReadView<'a> {
        self.view.read()
    }

    /// What the producer is doing, as its words say.
    pub fn producer(&self) -> Peer {
        SIDE.peer().read(self.view.read(), &self.peer_beat)
    }

    /// The producer's pid, as it wrote it (for messages).
    pub fn producer_pid(&self) -> u32 {
        self.view.read().load(word::PRODUCER_PID) as u32
    }

    /// Whether the producer has gone: stopped early, or killed or frozen
    /// (by [`super::end`]'s liveness rule).
    pub fn is_abandoned(&self) -> bool {
        end::gone(self.producer()).is_some()
    }

    /// Whether the stream is over, by [`super::end`]'s rules, asked once
    /// the ring looked empty: `None` while it goes on (or while bytes
    /// committed before the producer's end are still to be taken: read
    /// again); `Complete` once every byte is taken and the producer's
    /// recorded length agrees; `Interrupted` when the producer has gone
    /// and every byte it committed is taken. A producer state word this
    /// build does not know, or a length that is not what was taken, is an
    /// error.
    ///
    /// Then [`conclude`](Self::conclude) with it.
    pub fn outcome(&self) -> Result<Option<Outcome>, StreamError> {
        let producer = self.producer();
        // After the state: bytes committed before the end show in `HEAD`.
        let drained = self.view.read().load_acquire(word::HEAD) == self.tail;
        let final_len = self.view.read().load(word::FINAL);
        end::for_consumer(producer, drained, final_len, self.tail)
    }

    /// Conclude the stream with `outcome`: first, where
    /// [`Outcome::removes_segment`] says so, `remove` marks the segment for
    /// removal (before the producer learns the end, so that the segment
    /// goes with the last detach even if the producer dies meanwhile), then
    /// record the end ([`end`](Self::end)).
    pub fn conclude(&self, outcome: Outcome, remove: impl FnOnce()) -> Result<(), StreamError> {
        if outcome.removes_segment() {
            remove();
        }
        self.end(outcome)
    }

    /// Record how this side ended (the producer of a complete stream then
    /// exits and removes the segment), and wake the producer.
    pub fn end(&self, outcome: Outcome) -> Result<(), StreamError> {
        match outcome {
            Outcome::Complete => SIDE.set_state(self.view, state::DONE),
            Outcome::Interrupted(_) => self.abort(),
        }
    }

    /// Stop before the end (an error, a refusal).
    pub fn abort(&self) -> Result<(), StreamError> {
        self.abort_handle().abort()
    }

    /// Wait for the producer to commit more, when the ring is still empty:
    /// spin while `backoff` allows, then sleep (at most `timeout`).
    pub fn wait_for_data(
        &self,
        backoff: &mut Backoff,
        timeout: Duration,
    ) -> Result<(), StreamError> {
        if backoff.spin() {
            return Ok(());
        }
        sleep_on(self.view, SIDE, self.tail, timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::super::end::StreamEnd;
    use super::super::layout::DATA;
    use super::super::producer::Producer;
    use super::super::shared::test_segment as segment;
    use super::*;

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
            StreamError::Busy {
                pid: 2,
                holder: Holder::Active
            }
        );
        // Nobody beats the first consumer's heartbeat here: it is dead.
        assert_eq!(watch_holder(view.read()), Holder::Dead);
        consumer.abort().unwrap();
        assert_eq!(
            Consumer::attach(view, 3).unwrap_err(),
            StreamError::Busy {
                pid: 2,
                holder: Holder::StoppedEarly
            }
        );
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

    #[test]
    fn an_aborted_producer_ends_the_stream_once_its_bytes_are_taken() {
        let seg = segment(DATA + 64);
        let view = WriteView::new(&seg);
        let mut producer = Producer::create(view, 1);
        let mut consumer = Consumer::attach(view, 2).unwrap();
        assert_eq!(consumer.outcome(), Ok(None));
        assert!(!consumer.is_abandoned());
        producer.write(b"some").unwrap();
        producer.abort_handle().abort().unwrap();
        assert!(consumer.is_abandoned());
        // Four bytes are still to be taken.
        assert_eq!(consumer.outcome(), Ok(None));
        assert_eq!(consumer.read(&mut [0; 8]), Ok(4));
        let ended = consumer.outcome().unwrap().unwrap();
        assert_eq!(ended, Outcome::Interrupted(StreamEnd::PeerStopped));
        assert!(!ended.removes_segment());
        let mut removed = false;
        consumer.conclude(ended, || removed = true).unwrap();
        assert!(!removed, "the producer stopped: it removes its segment");
        assert_eq!(
            producer.outcome(),
            Ok(Some(Outcome::Interrupted(StreamEnd::PeerStopped)))
        );
    }

    #[test]
    fn a_final_length_that_is_not_what_was_sent_is_corrupt() {
        let seg = segment(DATA + 64);
        let view = WriteView::new(&seg);
        let mut producer = Producer::create(view, 1);
        let mut consumer = Consumer::attach(view, 2).unwrap();
        producer.write(b"abc").unwrap();
        producer.finish().unwrap();
        view.store(word::FINAL, 2);
        assert_eq!(consumer.read(&mut [0; 8]), Ok(3));
        assert!(matches!(consumer.outcome(), Err(StreamError::Corrupt(_))));
    }
}
