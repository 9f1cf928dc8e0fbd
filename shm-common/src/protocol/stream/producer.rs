//! The producer's side of the ring: it commits bytes at `HEAD`, records
//! the stream's length at the end of its input, and learns from
//! [`super::end`] when the consumer has everything, or has gone.

use std::ops::Range;
use std::os::fd::BorrowedFd;
use std::sync::atomic::{fence, Ordering};
use std::time::Duration;

use nix::errno::Errno;

use super::end::{self, Outcome};
use super::layout::{state, word};
use super::shared::{
    advance, capacity, span, Abort, BeatWatch, FillError, Heartbeat, Peer, Side, StreamError,
};
use super::wait::{sleep_on, wake_peer, Backoff};
use crate::protocol::header::{self, Kind};
use crate::protocol::text;
use crate::transport::view::WriteView;

const SIDE: Side = Side::Producer;

/// The producer's side; exactly one per stream (the key-file lock).
#[derive(Debug)]
pub struct Producer<'a> {
    view: WriteView<'a>,
    cap: u64,
    head: u64,
    /// `head` modulo `cap`.
    at: u64,
    tail: u64,
    /// The end of the input is recorded.
    finished: bool,
    /// The consumer's heartbeat, watched.
    peer_beat: BeatWatch,
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
        Heartbeat::new(view, SIDE).beat();
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
            finished: false,
            peer_beat: BeatWatch::default(),
        }
    }

    /// This side's heartbeat, for a thread that beats it every
    /// [`super::shared::BEAT`] while this one copies.
    pub fn heartbeat(&self) -> Heartbeat<'a> {
        Heartbeat::new(self.view, SIDE)
    }

    /// A handle that stops this side early from another thread.
    pub fn abort_handle(&self) -> Abort<'a> {
        Abort::new(self.view, SIDE)
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
    pub fn write(&mut self, bytes: &[u8]) -> Result<usize, StreamError> {
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
            wake_peer(self.view, SIDE)?;
        }
        Ok(done)
    }

    /// Make sure a consumer that fell asleep during the last
    /// [`write`](Self::write)s is woken.
    pub fn flush(&self) -> Result<(), StreamError> {
        fence(Ordering::SeqCst);
        wake_peer(self.view, SIDE)
    }

    /// `read(2)` from `fd` straight into the free part of the ring and
    /// commit what came; the count (0 at the end of input, or when the
    /// ring is full).
    pub fn fill_from(&mut self, fd: BorrowedFd<'_>) -> Result<usize, FillError> {
        let range = self.space();
        if range.is_empty() {
            return Ok(0);
        }
        let n = loop {
            match self.view.read_from(fd, range.clone()) {
                Err(Errno::EINTR) => continue,
                other => break other.map_err(|e| FillError::Input(e.into()))?,
            }
        };
        self.commit(n);
        self.view.store_release(word::HEAD, self.head);
        self.flush().map_err(FillError::Stream)?;
        Ok(n)
    }

    fn commit(&mut self, n: usize) {
        self.head += n as u64;
        self.at = advance(self.at, n as u64, self.cap);
    }

    /// The whole input is in: record its length and say so.
    pub fn finish(&mut self) -> Result<(), StreamError> {
        self.view.store(word::FINAL, self.head);
        self.finished = true;
        SIDE.set_state(self.view, state::DONE)
    }

    /// Stop before the end (a signal, an error).
    pub fn abort(&self) -> Result<(), StreamError> {
        self.abort_handle().abort()
    }

    /// What the consumer is doing, as its words say.
    pub fn consumer(&self) -> Peer {
        SIDE.peer().read(self.view.read(), &self.peer_beat)
    }

    /// Whether the consumer has gone: stopped early, or killed or frozen
    /// (by [`super::end`]'s liveness rule).
    pub fn is_abandoned(&self) -> bool {
        end::gone(self.consumer()).is_some()
    }

    /// Whether the stream is over, by [`super::end`]'s rules: `None` while
    /// it goes on; `Complete` once, after [`finish`](Self::finish), the
    /// consumer has taken every byte and seen the end; `Interrupted` when
    /// the consumer has gone. A consumer state word this build does not
    /// know is an error.
    pub fn outcome(&self) -> Result<Option<Outcome>, StreamError> {
        end::for_producer(self.consumer(), self.finished, self.head, self.tail())
    }

    /// The consumer's pid, as it wrote it (for messages).
    pub fn consumer_pid(&self) -> u32 {
        self.view.read().load(word::CONSUMER_PID) as u32
    }

    /// Wait for the consumer to take bytes, when the ring is still full:
    /// spin while `backoff` allows, then sleep (at most `timeout`).
    pub fn wait_for_space(
        &self,
        backoff: &mut Backoff,
        timeout: Duration,
    ) -> Result<(), StreamError> {
        if backoff.spin() {
            return Ok(());
        }
        self.flush()?;
        sleep_on(self.view, SIDE, self.tail, timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::super::consumer::Consumer;
    use super::super::layout::DATA;
    use super::super::shared::test_segment as segment;
    use super::*;

    #[test]
    fn a_leftover_ring_is_made_anew() {
        let seg = segment(DATA + 64);
        let view = WriteView::new(&seg);
        let mut old = Producer::create(view, 1);
        old.write(b"left over").unwrap();
        Consumer::attach(view, 2).unwrap().abort().unwrap();
        old.abort().unwrap();
        let fresh = Producer::create(view, 3);
        assert_eq!((fresh.head(), fresh.tail()), (0, 0));
        assert_eq!(fresh.consumer(), Peer::Absent);
        let mut consumer = Consumer::attach(view, 4).unwrap();
        assert!(consumer.available().unwrap().is_empty());
    }

    #[test]
    fn the_stream_is_complete_once_the_consumer_has_seen_the_end() {
        let seg = segment(DATA + 64);
        let view = WriteView::new(&seg);
        let mut producer = Producer::create(view, 1);
        assert_eq!(producer.outcome(), Ok(None));
        let mut consumer = Consumer::attach(view, 2).unwrap();
        producer.write(b"twelve bytes").unwrap();
        producer.finish().unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(consumer.read(&mut buf), Ok(12));
        assert_eq!(producer.outcome(), Ok(None));
        let ended = consumer.outcome().unwrap().unwrap();
        assert_eq!(ended, Outcome::Complete);
        let mut removed = false;
        consumer.conclude(ended, || removed = true).unwrap();
        assert!(
            removed,
            "a complete stream's segment goes with the last detach"
        );
        assert_eq!(producer.outcome(), Ok(Some(Outcome::Complete)));
        assert!(!producer.is_abandoned());
    }

    #[test]
    fn a_consumer_stopped_from_its_abort_handle_abandons_the_producer() {
        let seg = segment(DATA + 64);
        let view = WriteView::new(&seg);
        let producer = Producer::create(view, 1);
        let consumer = Consumer::attach(view, 2).unwrap();
        let (abort, beat) = (consumer.abort_handle(), consumer.heartbeat());
        std::thread::scope(|s| {
            s.spawn(move || {
                beat.beat();
                abort.abort().unwrap();
            });
        });
        assert!(producer.is_abandoned());
        assert_eq!(
            producer.outcome(),
            Ok(Some(Outcome::Interrupted(end::StreamEnd::PeerStopped)))
        );
        assert_eq!(abort.peer_pid(), 1);
    }
}
