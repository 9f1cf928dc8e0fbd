//! The value writer's side.

use nix::errno::Errno;

use super::layout::{capacity, flags, state, word};
use crate::protocol::clock::Timestamp;
use crate::protocol::header::{self, Content, Kind};
use crate::protocol::notify;
use crate::protocol::seqlock::SeqWriter;
use crate::protocol::text;
use crate::transport::view::WriteView;

/// The futex words of a value segment.
pub const NOTIFY: notify::Words = notify::Words {
    seq: word::SEQ,
    waiters: word::WAITERS,
};

/// A payload too large for the segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a value of {len} bytes does not fit the {capacity} bytes a segment of this size holds")]
pub struct TooLarge {
    /// The payload's length.
    pub len: usize,
    /// What the segment holds.
    pub capacity: usize,
}

/// Who publishes, repeated in every record (informational: liveness comes
/// from the heartbeat, never from pids).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Writer {
    /// The writer's pid in its own pid namespace.
    pub pid: u32,
    /// Inode of the writer's IPC namespace.
    pub ipc_ns: u64,
}

/// The writer's side of a value segment; exactly one per segment.
#[derive(Debug)]
pub struct Publisher<'a> {
    view: WriteView<'a>,
    seq: SeqWriter<'a>,
    writer: Writer,
    counter: u64,
    sweep: notify::Sweep,
}

impl<'a> Publisher<'a> {
    /// Take over `view` (at least [`super::layout::MIN_SEGMENT_SIZE`]
    /// bytes), publish `first` and stamp the header last.
    pub fn new(
        view: WriteView<'a>,
        writer: Writer,
        first: &[u8],
        binary: bool,
    ) -> Result<Self, TooLarge> {
        if header::identify(view.read()) != Ok(Content::Ours(Kind::Value)) {
            view.store(word::SEQ, 0);
        }
        let mut publisher = Self {
            view,
            seq: SeqWriter::resume(view, word::SEQ),
            writer,
            counter: 0,
            sweep: notify::Sweep::default(),
        };
        publisher.publish(first, binary)?;
        header::stamp(view, Kind::Value);
        Ok(publisher)
    }

    /// Publish `value` as the new latest one, refresh the heartbeat and the
    /// C text (its first 127 bytes), and wake sleeping readers.
    pub fn publish(&mut self, value: &[u8], binary: bool) -> Result<(), TooLarge> {
        let capacity = capacity(self.view.read().bytes());
        if value.len() > capacity {
            return Err(TooLarge {
                len: value.len(),
                capacity,
            });
        }
        let now = Timestamp::now();
        self.counter += 1;
        text::write(self.view, &text::encode(value));
        let (counter, writer) = (self.counter, self.writer);
        let flag_bits = if binary { flags::BINARY } else { 0 };
        self.seq.write(|v| {
            v.store(word::PUBLISHED, now.to_word());
            v.store(
                word::STATE_FLAGS,
                u64::from(state::RUNNING) | u64::from(flag_bits) << 32,
            );
            v.store(word::COUNTER, counter);
            v.store(word::LEN, value.len() as u64);
            v.store(word::WRITER_PID, u64::from(writer.pid));
            v.store(word::WRITER_IPC_NS, writer.ipc_ns);
            v.store_bytes(word::PAYLOAD, value);
        });
        self.heartbeat_at(now);
        Ok(())
    }

    /// Say "still here" without publishing anything new, and take back the waiters count of readers that died counted
    /// ([`notify::Sweep`]).
    pub fn heartbeat(&self) {
        self.heartbeat_at(Timestamp::now());
        self.sweep
            .look(self.view, NOTIFY, self.view.read().load(word::SEQ));
    }

    fn heartbeat_at(&self, now: Timestamp) {
        self.view.store_release(word::HEARTBEAT, now.to_word());
    }

    /// Mark the writer stopped (the value stays readable until removal).
    pub fn stop(&mut self) {
        let stopped = u64::from(state::STOPPED);
        let current = self.view.read().load(word::STATE_FLAGS);
        self.seq
            .write(|v| v.store(word::STATE_FLAGS, current & !0xffff_ffff | stopped));
    }

    /// Wake readers asleep in `--on-change`, if any (no system call when
    /// none sleeps).
    pub fn wake(&self) -> Result<(), Errno> {
        notify::wake(self.view, NOTIFY)
    }

    /// Wake every reader asleep on the sequence, registered or not (a
    /// reader attached read-only cannot register, and [`Publisher::wake`]
    /// leaves it to its bounded sleep).
    pub fn wake_all(&self) -> Result<(), Errno> {
        self.view.wake(word::SEQ)
    }

    /// How many readers sleep on the latest value's sequence, counted by the
    /// kernel without waking them. The kernel lets a reader sleep only on the
    /// value it has read, so after [`Publisher::wake_all`] each one counted
    /// here has read the latest value (and an `--on-change` reader has
    /// printed it).
    pub fn asleep_on_latest(&self) -> Result<usize, Errno> {
        let seq = self.view.read().load(word::SEQ);
        self.view.read().sleepers(word::SEQ, seq as u32)
    }

    /// Values published so far.
    pub fn counter(&self) -> u64 {
        self.counter
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;
    use std::time::{Duration, Instant};

    #[test]
    fn readers_asleep_on_the_latest_value_are_counted_without_waking_them() {
        let words: Vec<AtomicU64> = (0..40).map(|_| AtomicU64::new(0)).collect();
        let v = WriteView::new(&words);
        let writer = Writer { pid: 7, ipc_ns: 9 };
        let mut p = Publisher::new(v, writer, b"first", false).unwrap();
        assert_eq!(p.asleep_on_latest(), Ok(0));
        let seen = v.read().load(word::SEQ);
        let deadline = Instant::now() + Duration::from_secs(20);
        std::thread::scope(|s| {
            let reader = s
                .spawn(|| notify::wait(v.read(), Some(v), NOTIFY, seen, deadline - Instant::now()));
            while p.asleep_on_latest() != Ok(1) {
                assert!(Instant::now() < deadline, "the reader never slept");
                std::thread::sleep(Duration::from_millis(1));
            }
            // Counting woke nobody.
            std::thread::sleep(Duration::from_millis(50));
            assert_eq!(p.asleep_on_latest(), Ok(1));
            assert!(!reader.is_finished());
            p.publish(b"second", false).unwrap();
            p.wake_all().unwrap();
            assert_eq!(reader.join().unwrap(), Ok(()));
            assert!(
                Instant::now() < deadline,
                "the reader slept through the wake-up"
            );
        });
        assert_eq!(p.asleep_on_latest(), Ok(0));
        assert_eq!(v.read().load(word::WAITERS), 0);
    }
}
