//! The record and its seqlock: one writer publishes, any number of readers
//! copy a consistent snapshot without ever blocking the writer.
//!
//! Protocol (Boehm, "Can seqlocks get along with programming language memory
//! models?"): the writer makes the sequence odd, issues a release fence,
//! stores the record words, then makes the sequence even with a release
//! store. A reader loads the sequence with acquire, copies the words with
//! relaxed loads, issues an acquire fence and loads the sequence again; the
//! copy is consistent when both loads saw the same even value. Every access
//! is atomic, so a concurrent writer in another process is never a data race.

use std::hint::spin_loop;
use std::sync::atomic::{fence, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::layout::{self, state, word, TextError, LAYOUT_VERSION, MAGIC};

/// A point in Unix time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp {
    pub secs: i64,
    pub nanos: u32,
}

impl Timestamp {
    /// The wall clock now (`time(0)` of the C writer, with nanoseconds).
    pub fn now() -> Self {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => Self {
                secs: d.as_secs() as i64,
                nanos: d.subsec_nanos(),
            },
            Err(before) => {
                let d = before.duration();
                let (secs, nanos) = match d.subsec_nanos() {
                    0 => (-(d.as_secs() as i64), 0),
                    n => (-(d.as_secs() as i64) - 1, 1_000_000_000 - n),
                };
                Self { secs, nanos }
            }
        }
    }

    /// How long ago this was, measured against `now` (zero if in the future).
    pub fn age(self, now: Timestamp) -> Duration {
        let ns = |t: Timestamp| i128::from(t.secs) * 1_000_000_000 + i128::from(t.nanos);
        let diff = (ns(now) - ns(self)).clamp(0, i128::from(u64::MAX));
        Duration::from_nanos(diff as u64)
    }
}

/// Whether the record's writer is publishing or has stopped cleanly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriterState {
    Running,
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

/// One consistent copy of the header record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    /// The seqlock sequence: even, and grows by 2 per publish.
    pub seq: u64,
    pub time: Timestamp,
    pub state: WriterState,
    pub writer: WriterInfo,
}

/// What a segment holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// Our header, read under the seqlock.
    Record(Record),
    /// No header (a C writer's segment): the decimal text of bytes 0..128.
    Text(i64),
}

impl Reading {
    /// The Unix seconds the reading carries.
    pub fn secs(&self) -> i64 {
        match self {
            Reading::Record(r) => r.time.secs,
            Reading::Text(secs) => *secs,
        }
    }
}

/// Why a segment's content cannot be read as a time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error(
        "the segment has {bytes} bytes, fewer than the {} the layout needs",
        layout::MIN_SEGMENT_SIZE
    )]
    TooSmall { bytes: usize },
    #[error(transparent)]
    Text(#[from] TextError),
    #[error("bytes 128..136 hold 0x{magic:016x}, neither shm_write's header nor the C writer's zeros: another program uses this segment")]
    UnknownMagic { magic: u64 },
    #[error("the segment has layout version {found}, newer than the {} this shm_read understands; use a shm_read as new as the writer", LAYOUT_VERSION)]
    FutureVersion { found: u64 },
    #[error("the record stayed mid-update (sequence {seq}): the writer is stopped, or was killed, while publishing")]
    Unstable { seq: u64 },
    #[error("the record is corrupt: {0}")]
    Corrupt(&'static str),
}

/// Read whatever time the segment holds: our record when the header is
/// there, otherwise the C writer's text. Bounded: returns
/// [`ReadError::Unstable`] rather than waiting for a writer that stalls.
///
/// ```
/// use std::sync::atomic::AtomicU64;
/// use shm_common::record::{read, Publisher, Reading, Timestamp, WriterInfo};
///
/// let segment: Vec<AtomicU64> = (0..512).map(|_| AtomicU64::new(0)).collect();
/// let info = WriterInfo { interval: std::time::Duration::from_secs(1), pid: 1, ipc_ns: 7, started: 5 };
/// let mut publisher = Publisher::new(&segment, info, Timestamp { secs: 42, nanos: 0 });
/// publisher.publish(Timestamp { secs: 43, nanos: 1 });
/// match read(&segment).unwrap() {
///     Reading::Record(r) => assert_eq!((r.seq, r.time.secs), (4, 43)),
///     other => panic!("{other:?}"),
/// }
/// ```
pub fn read(words: &[AtomicU64]) -> Result<Reading, ReadError> {
    if words.len() < word::COUNT {
        return Err(ReadError::TooSmall {
            bytes: words.len() * 8,
        });
    }
    match words[word::MAGIC].load(Ordering::Acquire) {
        0 => Ok(Reading::Text(layout::decode_text(&read_text(words))?)),
        MAGIC => {
            let found = words[word::VERSION].load(Ordering::Relaxed);
            if found > LAYOUT_VERSION {
                return Err(ReadError::FutureVersion { found });
            }
            read_record(words).map(Reading::Record)
        }
        magic => Err(ReadError::UnknownMagic { magic }),
    }
}

/// Copy the 128-byte text area.
fn read_text(words: &[AtomicU64]) -> [u8; layout::TEXT_LEN] {
    let mut text = [0u8; layout::TEXT_LEN];
    for (chunk, w) in text.chunks_exact_mut(8).zip(&words[word::TEXT]) {
        chunk.copy_from_slice(&w.load(Ordering::Relaxed).to_le_bytes());
    }
    text
}

/// A reader gives up on a record that stays mid-update (the same odd
/// sequence) after this many looks: a few spins (a publish takes
/// nanoseconds), then yields to let a descheduled writer run...
const SPINS: u32 = 64;
const STUCK_ATTEMPTS: u32 = 1024;
/// ...while a sequence that keeps moving is a live writer outpacing the copy,
/// tried again up to this many times in all so that a read stays bounded.
const MAX_ATTEMPTS: u32 = 1 << 16;

fn read_record(words: &[AtomicU64]) -> Result<Record, ReadError> {
    let seq = &words[word::SEQ];
    let mut last = None;
    let mut stuck = 0;
    for _ in 0..MAX_ATTEMPTS {
        let before = seq.load(Ordering::Acquire);
        if before & 1 == 0 {
            let mut copy = [0u64; word::RECORD.end - word::RECORD.start];
            for (c, w) in copy.iter_mut().zip(&words[word::RECORD]) {
                *c = w.load(Ordering::Relaxed);
            }
            fence(Ordering::Acquire);
            if seq.load(Ordering::Relaxed) == before {
                return decode(before, &copy);
            }
        }
        if last == Some(before) {
            stuck += 1;
            if stuck >= STUCK_ATTEMPTS {
                break;
            }
        } else {
            last = Some(before);
            stuck = 0;
        }
        if stuck < SPINS {
            spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
    Err(ReadError::Unstable {
        seq: last.unwrap_or(0),
    })
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

/// The writer's side of the seqlock. There must be exactly one per segment
/// (the writer's key-file lock and start-up checks see to that).
#[derive(Debug)]
pub struct Publisher<'a> {
    words: &'a [AtomicU64],
    seq: u64,
    text_secs: Option<i64>,
    info: WriterInfo,
}

impl<'a> Publisher<'a> {
    /// Take over `words` (at least [`layout::MIN_SEGMENT_SIZE`] bytes) and
    /// publish `first`. The sequence continues from a previous writer's so
    /// that readers never see it go backwards; the magic is stored last, so
    /// a reader that sees it also sees a complete record.
    ///
    /// # Panics
    /// If `words` is smaller than the layout; callers check the size first.
    pub fn new(words: &'a [AtomicU64], info: WriterInfo, first: Timestamp) -> Self {
        assert!(
            words.len() >= word::COUNT,
            "segment smaller than the layout"
        );
        let seq = if words[word::MAGIC].load(Ordering::Acquire) == MAGIC {
            let old = words[word::SEQ].load(Ordering::Relaxed);
            old.saturating_add(old & 1)
        } else {
            0
        };
        let mut publisher = Self {
            words,
            seq,
            text_secs: None,
            info,
        };
        publisher.publish(first);
        words[word::VERSION].store(LAYOUT_VERSION, Ordering::Relaxed);
        words[word::MAGIC].store(MAGIC, Ordering::Release);
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

    /// The sequence of the last published record.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    fn write(&mut self, time: Timestamp, writer_state: u32) {
        if self.text_secs != Some(time.secs) {
            self.write_text(time.secs);
        }
        let words = self.words;
        let odd = self.seq.wrapping_add(1);
        words[word::SEQ].store(odd, Ordering::Relaxed);
        fence(Ordering::Release);
        let store = |w: usize, v: u64| words[w].store(v, Ordering::Relaxed);
        store(word::SECS, time.secs as u64);
        store(
            word::NANOS_STATE,
            u64::from(time.nanos) | u64::from(writer_state) << 32,
        );
        store(word::INTERVAL_NS, self.info.interval.as_nanos() as u64);
        store(word::WRITER_PID, u64::from(self.info.pid));
        store(word::WRITER_IPC_NS, self.info.ipc_ns);
        store(word::WRITER_STARTED, self.info.started as u64);
        self.seq = odd.wrapping_add(1);
        words[word::SEQ].store(self.seq, Ordering::Release);
    }

    /// The C-compatible text, rewritten only when the second changes.
    #[cold]
    fn write_text(&mut self, secs: i64) {
        let text = layout::encode_text(secs);
        for (w, chunk) in self.words[word::TEXT].iter().zip(text.chunks_exact(8)) {
            w.store(
                u64::from_le_bytes(chunk.try_into().expect("8-byte chunk")),
                Ordering::Relaxed,
            );
        }
        self.text_secs = Some(secs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let mut p = Publisher::new(&seg, INFO, Timestamp { secs: 10, nanos: 5 });
        p.publish(Timestamp { secs: 11, nanos: 6 });
        let Reading::Record(r) = read(&seg).unwrap() else {
            panic!("expected a record")
        };
        assert_eq!(r.seq, 4);
        assert_eq!(r.time, Timestamp { secs: 11, nanos: 6 });
        assert_eq!(r.state, WriterState::Running);
        assert_eq!(r.writer, INFO);
        assert_eq!(layout::decode_text(&read_text(&seg)), Ok(11));
        p.stop(Timestamp { secs: 12, nanos: 0 });
        let Reading::Record(r) = read(&seg).unwrap() else {
            panic!("expected a record")
        };
        assert_eq!(r.state, WriterState::Stopped);
    }

    #[test]
    fn c_text_without_header() {
        let seg = segment(512);
        for (w, chunk) in seg.iter().zip(layout::encode_text(1_234).chunks_exact(8)) {
            w.store(
                u64::from_le_bytes(chunk.try_into().unwrap()),
                Ordering::Relaxed,
            );
        }
        assert_eq!(read(&seg), Ok(Reading::Text(1_234)));
        assert_eq!(read(&segment(512)), Err(ReadError::Text(TextError::Empty)));
    }

    #[test]
    fn new_writer_continues_sequence_of_killed_one() {
        let seg = segment(32);
        Publisher::new(&seg, INFO, Timestamp { secs: 1, nanos: 0 });
        seg[word::SEQ].store(7, Ordering::Relaxed); // killed mid-update
        assert_eq!(read(&seg), Err(ReadError::Unstable { seq: 7 }));
        let p = Publisher::new(&seg, INFO, Timestamp { secs: 2, nanos: 0 });
        assert_eq!(p.seq(), 10);
        assert_eq!(read(&seg).unwrap().secs(), 2);
    }

    #[test]
    fn refuses_foreign_or_future_headers() {
        let seg = segment(32);
        Publisher::new(&seg, INFO, Timestamp { secs: 1, nanos: 0 });
        seg[word::VERSION].store(LAYOUT_VERSION + 1, Ordering::Relaxed);
        assert_eq!(read(&seg), Err(ReadError::FutureVersion { found: 2 }));
        seg[word::MAGIC].store(0xdead_beef, Ordering::Relaxed);
        assert_eq!(
            read(&seg),
            Err(ReadError::UnknownMagic { magic: 0xdead_beef })
        );
        assert_eq!(read(&segment(31)), Err(ReadError::TooSmall { bytes: 248 }));
    }

    #[test]
    fn concurrent_reads_are_never_torn() {
        let seg = segment(32);
        let mut p = Publisher::new(&seg, INFO, Timestamp { secs: 0, nanos: 0 });
        std::thread::scope(|s| {
            let reader = s.spawn(|| {
                let mut last = 0;
                let mut seen = 0;
                while last < 200_000 {
                    if let Ok(Reading::Record(r)) = read(&seg) {
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
