//! The time record's publisher and reader.

use std::time::Duration;

use nix::errno::Errno;

use super::layout::{state, word, MIN_SEGMENT_SIZE};
use crate::protocol::clock::Timestamp;
use crate::protocol::header::{self, Content, HeaderError, Kind};
use crate::protocol::notify;
use crate::protocol::seqlock::{self, SeqWriter};
use crate::protocol::text::{self, TextError};
use crate::transport::view::{ReadView, WriteView};

/// The futex words of the time record.
pub const NOTIFY: notify::Words = notify::Words {
    seq: word::SEQ,
    waiters: word::WAITERS,
};

/// Whether the record's writer is publishing or has stopped cleanly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriterState {
    /// Publishing.
    Running,
    /// Stopped cleanly (SIGTERM, SIGINT, SIGHUP or `--count`).
    Stopped,
}

/// Facts about the writer that it repeats in every record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterInfo {
    /// The publish interval (zero: as fast as possible).
    pub interval: Duration,
    /// The writer's pid in its own pid namespace.
    pub pid: u32,
    /// Inode of the writer's IPC namespace.
    pub ipc_ns: u64,
    /// Unix seconds when the writer started.
    pub started: i64,
}

/// One consistent copy of the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    /// The seqlock sequence: even, and grows by 2 per publish.
    pub seq: u64,
    /// The time published.
    pub time: Timestamp,
    /// Running or stopped.
    pub state: WriterState,
    /// The writer.
    pub writer: WriterInfo,
}

/// What a time segment holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// Our record, read under the seqlock.
    Record(Record),
    /// No header (a C writer's segment): the decimal text of bytes 0..128.
    Text(i64),
}

impl Reading {
    /// The Unix seconds the reading carries.
    pub fn secs(&self) -> i64 {
        self.time().secs
    }

    /// The time the reading carries.
    pub fn time(&self) -> Timestamp {
        match self {
            Reading::Record(r) => r.time,
            Reading::Text(secs) => Timestamp::from_secs(*secs),
        }
    }

    /// The sequence a change is detected by (a C writer's text has none).
    pub fn seq(&self) -> Option<u64> {
        match self {
            Reading::Record(r) => Some(r.seq),
            Reading::Text(_) => None,
        }
    }

    /// How often the writer said it publishes (a C writer: every second).
    pub fn interval(&self) -> Duration {
        match self {
            Reading::Record(r) => r.writer.interval,
            Reading::Text(_) => Duration::from_secs(1),
        }
    }
}

/// Why a segment's content cannot be read as a time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// Too small for the record.
    #[error(
        "the segment has {bytes} bytes, fewer than the {MIN_SEGMENT_SIZE} the time record needs"
    )]
    TooSmall {
        /// The segment's size.
        bytes: usize,
    },
    /// The header is not ours, or from a newer build.
    #[error(transparent)]
    Header(#[from] HeaderError),
    /// Our header, but another kind.
    #[error("the segment holds a {}, not a time", .0.name())]
    OtherKind(Kind),
    /// No header, and the C text is not a time.
    #[error(transparent)]
    Text(#[from] TextError),
    /// The seqlock stayed odd.
    #[error("the record stayed mid-update (sequence {seq}): the writer is stopped, or was killed, while publishing")]
    Unstable {
        /// The odd sequence.
        seq: u64,
    },
    /// Fields out of range.
    #[error("the record is corrupt: {0}")]
    Corrupt(&'static str),
}

/// Read whatever time the segment holds: our record when the header is
/// there, otherwise the C writer's text. Bounded: returns
/// [`ReadError::Unstable`] rather than waiting for a writer that stalls.
///
/// ```
/// use std::sync::atomic::AtomicU64;
/// use shm_common::protocol::clock::Timestamp;
/// use shm_common::protocol::time::record::{read, Publisher, Reading, WriterInfo};
/// use shm_common::transport::view::WriteView;
///
/// let segment: Vec<AtomicU64> = (0..512).map(|_| AtomicU64::new(0)).collect();
/// let view = WriteView::new(&segment);
/// let info = WriterInfo { interval: std::time::Duration::from_secs(1), pid: 1, ipc_ns: 7, started: 5 };
/// let mut publisher = Publisher::new(view, info, Timestamp { secs: 42, nanos: 0 });
/// publisher.publish(Timestamp { secs: 43, nanos: 1 });
/// match read(view.read()).unwrap() {
///     Reading::Record(r) => assert_eq!((r.seq, r.time.secs), (4, 43)),
///     other => panic!("{other:?}"),
/// }
/// ```
pub fn read(view: ReadView<'_>) -> Result<Reading, ReadError> {
    if view.bytes() < MIN_SEGMENT_SIZE {
        return Err(ReadError::TooSmall {
            bytes: view.bytes(),
        });
    }
    match header::identify(view)? {
        Content::Foreign => Ok(Reading::Text(text::decode_secs(&text::read(view)?)?)),
        Content::Ours(Kind::Time) => read_record(view).map(Reading::Record),
        Content::Ours(kind) => Err(ReadError::OtherKind(kind)),
    }
}

fn read_record(view: ReadView<'_>) -> Result<Record, ReadError> {
    let (seq, copy) = seqlock::read(view, word::SEQ, |v| {
        let mut copy = [0u64; word::RECORD.end - word::RECORD.start];
        for (c, w) in copy.iter_mut().zip(word::RECORD) {
            *c = v.load(w);
        }
        copy
    })
    .map_err(|u| ReadError::Unstable { seq: u.seq })?;
    decode(seq, &copy)
}

fn decode(seq: u64, copy: &[u64; 6]) -> Result<Record, ReadError> {
    let at = |w: usize| copy[w - word::RECORD.start];
    let nanos_state = at(word::NANOS_STATE);
    let nanos = nanos_state as u32;
    if nanos >= 1_000_000_000 {
        return Err(ReadError::Corrupt("nanoseconds out of range"));
    }
    let state = match (nanos_state >> 32) as u32 {
        state::RUNNING => WriterState::Running,
        state::STOPPED => WriterState::Stopped,
        _ => return Err(ReadError::Corrupt("unknown writer state")),
    };
    Ok(Record {
        seq,
        time: Timestamp {
            secs: at(word::SECS) as i64,
            nanos,
        },
        state,
        writer: WriterInfo {
            interval: Duration::from_nanos(at(word::INTERVAL_NS)),
            pid: at(word::WRITER_PID) as u32,
            ipc_ns: at(word::WRITER_IPC_NS),
            started: at(word::WRITER_STARTED) as i64,
        },
    })
}

/// The writer's beat counter ([`word::BEAT`]), as it is.
pub fn beat(view: ReadView<'_>) -> u64 {
    view.load_acquire(word::BEAT)
}

/// The writer's side. There must be exactly one per segment (the session
/// layer's key-file lock and adoption checks see to that).
#[derive(Debug)]
pub struct Publisher<'a> {
    view: WriteView<'a>,
    seq: SeqWriter<'a>,
    text_secs: Option<i64>,
    info: WriterInfo,
    sweep: notify::Sweep,
}

impl<'a> Publisher<'a> {
    /// Take over `view` (at least [`MIN_SEGMENT_SIZE`] bytes) and publish
    /// `first`. The sequence continues from a previous writer's so that
    /// readers never see it go backwards; the header is stamped last, so a
    /// reader that sees it also sees a complete record.
    ///
    /// # Panics
    /// If the view is smaller than the layout; callers check the size first.
    pub fn new(view: WriteView<'a>, info: WriterInfo, first: Timestamp) -> Self {
        assert!(
            view.read().bytes() >= MIN_SEGMENT_SIZE,
            "segment smaller than the layout"
        );
        let ours = header::identify(view.read()) == Ok(Content::Ours(Kind::Time));
        if !ours {
            view.store(word::SEQ, 0);
        }
        let mut publisher = Self {
            view,
            seq: SeqWriter::resume(view, word::SEQ),
            text_secs: None,
            info,
            sweep: notify::Sweep::default(),
        };
        publisher.publish(first);
        header::stamp(view, Kind::Time);
        publisher
    }

    /// Publish `time` with the writer running.
    #[inline]
    pub fn publish(&mut self, time: Timestamp) {
        self.write(time, state::RUNNING);
    }

    /// Publish `time` and mark the writer stopped.
    pub fn stop(&mut self, time: Timestamp) {
        self.write(time, state::STOPPED);
    }

    /// Wake readers asleep in `--on-change`, if any (no system call when
    /// none sleeps).
    #[inline]
    pub fn wake(&self) -> Result<(), Errno> {
        notify::wake(self.view, NOTIFY)
    }

    /// A sign of life between two publishes, about once a second: advance
    /// the beat counter (no wake-up: nothing new is published), and take
    /// back the waiters count of readers that died counted
    /// ([`notify::Sweep`]).
    pub fn beat(&self) {
        let next = self.view.read().load(word::BEAT).wrapping_add(1);
        self.view.store_release(word::BEAT, next);
        self.sweep.look(self.view, NOTIFY, self.seq());
    }

    /// The sequence of the last published record.
    pub fn seq(&self) -> u64 {
        self.seq.seq()
    }

    fn write(&mut self, time: Timestamp, writer_state: u32) {
        if self.text_secs != Some(time.secs) {
            self.write_text(time.secs);
        }
        let info = self.info;
        self.seq.write(|v| {
            v.store(word::SECS, time.secs as u64);
            v.store(
                word::NANOS_STATE,
                u64::from(time.nanos) | u64::from(writer_state) << 32,
            );
            v.store(word::INTERVAL_NS, info.interval.as_nanos() as u64);
            v.store(word::WRITER_PID, u64::from(info.pid));
            v.store(word::WRITER_IPC_NS, info.ipc_ns);
            v.store(word::WRITER_STARTED, info.started as u64);
        });
    }

    /// The C-compatible text, rewritten only when the second changes.
    #[cold]
    fn write_text(&mut self, secs: i64) {
        text::write(self.view, &text::encode_secs(secs));
        self.text_secs = Some(secs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::header::word as hword;
    use std::sync::atomic::AtomicU64;

    fn segment(words: usize) -> Vec<AtomicU64> {
        (0..words).map(|_| AtomicU64::new(0)).collect()
    }

    const INFO: WriterInfo = WriterInfo {
        interval: Duration::from_millis(250),
        pid: 42,
        ipc_ns: 4026531839,
        started: 1_700_000_000,
    };

    #[test]
    fn publish_then_read() {
        let seg = segment(512);
        let v = WriteView::new(&seg);
        let mut p = Publisher::new(v, INFO, Timestamp { secs: 10, nanos: 5 });
        p.publish(Timestamp { secs: 11, nanos: 6 });
        let Reading::Record(r) = read(v.read()).unwrap() else {
            panic!("expected a record")
        };
        assert_eq!(r.seq, 4);
        assert_eq!(r.time, Timestamp { secs: 11, nanos: 6 });
        assert_eq!(r.state, WriterState::Running);
        assert_eq!(r.writer, INFO);
        assert_eq!(text::decode_secs(&text::read(v.read()).unwrap()), Ok(11));
        p.stop(Timestamp { secs: 12, nanos: 0 });
        let Reading::Record(r) = read(v.read()).unwrap() else {
            panic!("expected a record")
        };
        assert_eq!(r.state, WriterState::Stopped);
    }

    #[test]
    fn c_text_without_header() {
        let seg = segment(512);
        text::write(WriteView::new(&seg), &text::encode_secs(1_234));
        assert_eq!(read(ReadView::new(&seg)), Ok(Reading::Text(1_234)));
        assert_eq!(
            read(ReadView::new(&segment(512))),
            Err(ReadError::Text(TextError::Empty))
        );
    }

    #[test]
    fn new_writer_continues_sequence_of_killed_one() {
        let seg = segment(32);
        let v = WriteView::new(&seg);
        Publisher::new(v, INFO, Timestamp { secs: 1, nanos: 0 });
        v.store(word::SEQ, 7); // killed mid-update
        assert_eq!(read(v.read()), Err(ReadError::Unstable { seq: 7 }));
        let p = Publisher::new(v, INFO, Timestamp { secs: 2, nanos: 0 });
        assert_eq!(p.seq(), 10);
        assert_eq!(read(v.read()).unwrap().secs(), 2);
    }

    #[test]
    fn refuses_foreign_or_future_headers() {
        let seg = segment(32);
        let v = WriteView::new(&seg);
        Publisher::new(v, INFO, Timestamp { secs: 1, nanos: 0 });
        v.store(hword::VERSION, 3);
        assert_eq!(
            read(v.read()),
            Err(ReadError::Header(HeaderError::FutureVersion { found: 3 }))
        );
        v.store(hword::MAGIC, 0xdead_beef);
        assert_eq!(
            read(v.read()),
            Err(ReadError::Header(HeaderError::UnknownMagic {
                magic: 0xdead_beef
            }))
        );
        assert_eq!(
            read(ReadView::new(&segment(31))),
            Err(ReadError::TooSmall { bytes: 248 })
        );
    }

    #[test]
    fn concurrent_reads_are_never_torn() {
        let seg = segment(32);
        let v = WriteView::new(&seg);
        let mut p = Publisher::new(v, INFO, Timestamp { secs: 0, nanos: 0 });
        std::thread::scope(|s| {
            let reader = s.spawn(|| {
                let mut last = 0;
                let mut seen = 0;
                while last < 200_000 {
                    if let Ok(Reading::Record(r)) = read(ReadView::new(&seg)) {
                        // Publish n carries secs == nanos == n and has seq 2n + 2.
                        assert_eq!(r.time.secs as u64 + 1, r.seq / 2);
                        assert_eq!(u64::from(r.time.nanos) + 1, r.seq / 2);
                        assert!(r.seq >= last, "sequence went backwards");
                        last = r.seq;
                        seen += 1;
                    }
                }
                seen
            });
            let mut n = 0u64;
            while !reader.is_finished() {
                n += 1;
                p.publish(Timestamp {
                    secs: n as i64,
                    nanos: (n % 1_000_000_000) as u32,
                });
            }
            assert!(reader.join().unwrap() > 0);
        });
    }
}
