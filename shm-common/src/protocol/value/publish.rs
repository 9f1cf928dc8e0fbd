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

    /// Say "still here" without publishing anything new.
    pub fn heartbeat(&self) {
        self.heartbeat_at(Timestamp::now());
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

    /// Values published so far.
    pub fn counter(&self) -> u64 {
        self.counter
    }
}
