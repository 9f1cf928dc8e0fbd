//! The value reader's side. A segment is another process's memory, possibly
//! hostile: the length is clamped to the segment before any copy, and
//! checked again once the copy is known to be consistent.

use super::layout::{capacity, flags, state, word, MIN_SEGMENT_SIZE};
use crate::protocol::clock::Timestamp;
use crate::protocol::header::{self, Content, HeaderError, Kind};
use crate::protocol::{seqlock, text};
use crate::transport::view::ReadView;

/// One consistent copy of the value and its record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    /// The seqlock sequence (even).
    pub seq: u64,
    /// How many values the writer has published; this one is the latest.
    pub counter: u64,
    /// When it was published.
    pub published: Timestamp,
    /// The writer said the payload is not text.
    pub binary: bool,
    /// The writer stopped cleanly.
    pub stopped: bool,
    /// The writer's pid in its own pid namespace.
    pub writer_pid: u32,
    /// Inode of the writer's IPC namespace.
    pub writer_ipc_ns: u64,
    /// The payload.
    pub payload: Vec<u8>,
}

/// Why a segment cannot be read as a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// Too small for the layout.
    #[error("the segment has {bytes} bytes, fewer than the {MIN_SEGMENT_SIZE} a value needs")]
    TooSmall {
        /// The segment's size.
        bytes: usize,
    },
    /// Not a header of ours, or a newer one.
    #[error(transparent)]
    Header(#[from] HeaderError),
    /// Another kind (or no header and a C text).
    #[error("the segment holds {0}, not a value")]
    NotAValue(&'static str),
    /// No header and no text: a writer has created the segment and not
    /// set it up yet.
    #[error("the segment is blank: its writer has not set it up yet")]
    Blank,
    /// The seqlock stayed odd.
    #[error("the value stayed mid-update (sequence {seq}): the writer is stopped, or was killed, while publishing")]
    Unstable {
        /// The odd sequence.
        seq: u64,
    },
    /// Fields out of range.
    #[error("the value is corrupt: {0}")]
    Corrupt(&'static str),
}

/// Read the latest value. Bounded in time and in memory (at most the
/// segment's size is copied).
///
/// ```
/// use std::sync::atomic::AtomicU64;
/// use shm_common::protocol::value::{publish::{Publisher, Writer}, read::read};
/// use shm_common::transport::view::WriteView;
///
/// let words: Vec<AtomicU64> = (0..64).map(|_| AtomicU64::new(0)).collect();
/// let view = WriteView::new(&words);
/// let mut p = Publisher::new(view, Writer { pid: 1, ipc_ns: 2 }, b"PI is 3.14", false).unwrap();
/// p.publish(b"goodbye", false).unwrap();
/// let value = read(view.read()).unwrap();
/// assert_eq!((value.payload.as_slice(), value.counter), (&b"goodbye"[..], 2));
/// ```
pub fn read(view: ReadView<'_>) -> Result<Value, ReadError> {
    read_reusing(view, Vec::new())
}

/// [`read`], copying the payload into `payload`'s allocation (its content
/// is replaced), so that a reader reading in a loop does not allocate:
/// hand back the last [`Value::payload`].
pub fn read_reusing(view: ReadView<'_>, payload: Vec<u8>) -> Result<Value, ReadError> {
    read_up_to(view, payload, usize::MAX).map(|(value, _)| value)
}

/// Whether `view` still holds the value read at sequence `seq` (even):
/// still a value segment, its sequence unchanged, so neither record nor
/// payload moved (a writer that stopped moved the sequence too). Checked
/// without copying either: an acquire load of the sequence, which the
/// writer's release store of an even sequence pairs with.
pub fn unchanged(view: ReadView<'_>, seq: u64) -> bool {
    view.bytes() >= MIN_SEGMENT_SIZE
        && header::identify(view) == Ok(Content::Ours(Kind::Value))
        && view.load_acquire(word::SEQ) == seq
}

/// Read the latest value's record and the payload's length, copying at
/// most `limit` bytes of the payload into [`Value::payload`]: a listing
/// copies none, since a payload may be as large as its segment.
pub fn read_prefix(view: ReadView<'_>, limit: usize) -> Result<(Value, usize), ReadError> {
    read_up_to(view, Vec::new(), limit)
}

/// The record, the payload's first `limit` bytes in `payload`'s
/// allocation, and the payload's whole length.
fn read_up_to(
    view: ReadView<'_>,
    mut payload: Vec<u8>,
    limit: usize,
) -> Result<(Value, usize), ReadError> {
    if view.bytes() < MIN_SEGMENT_SIZE {
        return Err(ReadError::TooSmall {
            bytes: view.bytes(),
        });
    }
    match header::identify(view)? {
        Content::Ours(Kind::Value) => {}
        Content::Ours(kind) => return Err(ReadError::NotAValue(kind.name())),
        Content::Foreign if text::is_blank(view) => return Err(ReadError::Blank),
        Content::Foreign => return Err(ReadError::NotAValue("no shm_write header")),
    }
    let cap = capacity(view.bytes());
    let (seq, record) = seqlock::read(view, word::SEQ, |v| {
        let mut record = [0u64; word::RECORD.end - word::RECORD.start];
        for (r, w) in record.iter_mut().zip(word::RECORD) {
            *r = v.load(w);
        }
        let len = (record[word::LEN - word::RECORD.start] as usize).min(cap);
        payload.resize(len.min(limit), 0);
        v.copy_bytes(word::PAYLOAD, &mut payload);
        record
    })
    .map_err(|u| ReadError::Unstable { seq: u.seq })?;
    let at = |w: usize| record[w - word::RECORD.start];
    if at(word::LEN) > cap as u64 {
        return Err(ReadError::Corrupt("length beyond the segment"));
    }
    let state_flags = at(word::STATE_FLAGS);
    let stopped = match state_flags as u32 {
        state::RUNNING => false,
        state::STOPPED => true,
        _ => return Err(ReadError::Corrupt("unknown writer state")),
    };
    let len = at(word::LEN) as usize;
    let value = Value {
        seq,
        counter: at(word::COUNTER),
        published: Timestamp::from_word(at(word::PUBLISHED)),
        binary: (state_flags >> 32) as u32 & flags::BINARY != 0,
        stopped,
        writer_pid: at(word::WRITER_PID) as u32,
        writer_ipc_ns: at(word::WRITER_IPC_NS),
        payload,
    };
    Ok((value, len))
}

/// When the writer last gave a sign of life, by its clock (for people:
/// [`super::live`] only watches the word change, [`heartbeat_word`]).
pub fn heartbeat(view: ReadView<'_>) -> Timestamp {
    Timestamp::from_word(heartbeat_word(view))
}

/// The heartbeat word as it is.
pub fn heartbeat_word(view: ReadView<'_>) -> u64 {
    view.load_acquire(word::HEARTBEAT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::value::publish::{Publisher, TooLarge, Writer};
    use crate::transport::view::WriteView;
    use std::sync::atomic::AtomicU64;

    const WRITER: Writer = Writer { pid: 7, ipc_ns: 9 };

    #[test]
    fn publishes_reads_and_refuses_what_does_not_fit() {
        let words: Vec<AtomicU64> = (0..40).map(|_| AtomicU64::new(0)).collect();
        let v = WriteView::new(&words);
        let mut p = Publisher::new(v, WRITER, &[0, 255, 10], true).unwrap();
        let value = read(v.read()).unwrap();
        assert_eq!(value.payload, vec![0, 255, 10]);
        assert!(value.binary && !value.stopped);
        assert_eq!(
            p.publish(&[1; 65], false),
            Err(TooLarge {
                len: 65,
                capacity: 64
            })
        );
        p.publish(&[b'x'; 64], false).unwrap();
        p.stop();
        let value = read(v.read()).unwrap();
        assert_eq!(
            (value.payload.len(), value.counter, value.stopped),
            (64, 2, true)
        );
        assert!(heartbeat(v.read()).age(Timestamp::now()).is_ok());
        let (record, len) = read_prefix(v.read(), 0).unwrap();
        assert_eq!((record.payload.len(), len, record.counter), (0, 64, 2));
        let (prefix, _) = read_prefix(v.read(), 3).unwrap();
        assert_eq!(prefix.payload, b"xxx");
    }

    #[test]
    fn unchanged_holds_until_a_publish_or_a_stop() {
        let words: Vec<AtomicU64> = (0..40).map(|_| AtomicU64::new(0)).collect();
        let v = WriteView::new(&words);
        let mut p = Publisher::new(v, WRITER, b"same", false).unwrap();
        let first = read(v.read()).unwrap();
        assert!(unchanged(v.read(), first.seq));
        p.publish(b"same", false).unwrap();
        assert!(!unchanged(v.read(), first.seq), "equal bytes, a new value");
        let second = read(v.read()).unwrap();
        assert!(unchanged(v.read(), second.seq));
        v.store(word::SEQ, second.seq + 1);
        assert!(!unchanged(v.read(), second.seq), "mid-update");
        v.store(word::SEQ, second.seq);
        p.stop();
        assert!(!unchanged(v.read(), second.seq));
        let stopped = read(v.read()).unwrap();
        crate::protocol::header::stamp(v, Kind::Stream);
        assert!(!unchanged(v.read(), stopped.seq), "no longer a value");
    }

    #[test]
    fn a_hostile_length_is_refused_without_reading_beyond() {
        let words: Vec<AtomicU64> = (0..40).map(|_| AtomicU64::new(0)).collect();
        let v = WriteView::new(&words);
        Publisher::new(v, WRITER, b"ok", false).unwrap();
        v.store(word::LEN, u64::MAX);
        assert_eq!(
            read(v.read()),
            Err(ReadError::Corrupt("length beyond the segment"))
        );
    }
}
