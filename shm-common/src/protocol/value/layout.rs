//! Where the value sits in the segment (docs/layout.md has the picture).
//!
//! The C text (words 0..16) carries the value's first 127 bytes; the common
//! header (words 16..19) says kind 1, layout version 2; word 19 is the
//! writer's heartbeat, outside the seqlock so that staying alive never
//! looks like a new value. The record's cache line starts at byte 192 with
//! the sequence, as in the time record, and the payload follows at byte 256.

/// The smallest segment: text, header, record, and one word of payload.
pub const MIN_SEGMENT_SIZE: usize = 264;
/// The segment size without `--size`: the C originals'.
pub const DEFAULT_SEGMENT_SIZE: usize = 4096;

/// Word indexes (byte offset / 8).
pub mod word {
    /// Byte 152: wall-clock nanoseconds of the writer's last sign of life.
    pub const HEARTBEAT: usize = 19;
    /// Byte 192: the seqlock sequence; odd while an update is in progress.
    pub const SEQ: usize = 24;
    /// Byte 200: wall-clock nanoseconds when the value was published.
    pub const PUBLISHED: usize = 25;
    /// Byte 208: writer state (low 32 bits) and flags (high 32 bits).
    pub const STATE_FLAGS: usize = 26;
    /// Byte 216: how many values the writer has published (1 for the first).
    pub const COUNTER: usize = 27;
    /// Byte 224: the payload's length in bytes.
    pub const LEN: usize = 28;
    /// Byte 232: the writer's pid in its own pid namespace (for people).
    pub const WRITER_PID: usize = 29;
    /// Byte 240: inode of the writer's IPC namespace.
    pub const WRITER_IPC_NS: usize = 30;
    /// Byte 248: readers asleep in `--on-change` (written by readers).
    pub const WAITERS: usize = 31;
    /// The record words copied under the seqlock.
    pub const RECORD: std::ops::Range<usize> = PUBLISHED..WRITER_IPC_NS + 1;
    /// Byte 256: the first payload word.
    pub const PAYLOAD: usize = 32;
}

/// The payload's capacity in a segment of `size` bytes: whole words only,
/// as a segment is attached (a trailing partial word is left out).
pub fn capacity(size: usize) -> usize {
    (size - size % 8).saturating_sub(word::PAYLOAD * 8)
}

/// The segment size that holds a payload of `len` bytes.
pub fn size_for(len: usize) -> usize {
    (word::PAYLOAD * 8 + len.max(1)).next_multiple_of(8)
}

const _: () = assert!(word::SEQ * 8 == crate::protocol::header::HEADER_END);
const _: () = assert!(word::WAITERS < word::SEQ + 8 && word::PAYLOAD * 8 < MIN_SEGMENT_SIZE);

/// Writer state values, low half of [`word::STATE_FLAGS`].
pub mod state {
    /// The writer runs.
    pub const RUNNING: u32 = 1;
    /// The writer stopped cleanly.
    pub const STOPPED: u32 = 2;
}

/// Flag bits, high half of [`word::STATE_FLAGS`].
pub mod flags {
    /// The payload is not meant as text (`--binary`).
    pub const BINARY: u32 = 1;
}
