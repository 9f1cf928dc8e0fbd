//! Where the time record sits in the segment (docs/layout.md has the picture).
//!
//! After the C text (words 0..16) and the common header (words 16..19), the
//! record's cache line starts at byte 192: the seqlock sequence together
//! with the record it protects, so that a read or a publish touches a
//! single contended line. These bytes are layout version 1's, unchanged.

/// The smallest segment that holds the text, the header and the record.
pub const MIN_SEGMENT_SIZE: usize = 256;
/// The C originals' segment size, our default.
pub const DEFAULT_SEGMENT_SIZE: usize = 4096;

/// Word indexes (byte offset / 8).
pub mod word {
    /// Byte 152, in the header's line: a counter the writer advances at
    /// least every second between publishes, its sign of life when its
    /// interval is longer (zero from writers before it, which readers then
    /// judge by the sequence alone). Readers before it ignore it: it was
    /// reserved, and the layout version stays 1.
    pub const BEAT: usize = 19;
    /// Byte 192: the seqlock sequence; odd while an update is in progress.
    pub const SEQ: usize = 24;
    /// Byte 200: Unix seconds of the record (two's complement).
    pub const SECS: usize = 25;
    /// Byte 208: nanoseconds (low 32 bits) and writer state (high 32 bits).
    pub const NANOS_STATE: usize = 26;
    /// Byte 216: the writer's publish interval in nanoseconds.
    pub const INTERVAL_NS: usize = 27;
    /// Byte 224: the writer's pid in its own pid namespace (low 32 bits).
    pub const WRITER_PID: usize = 28;
    /// Byte 232: inode of the writer's IPC namespace.
    pub const WRITER_IPC_NS: usize = 29;
    /// Byte 240: Unix seconds when the writer started.
    pub const WRITER_STARTED: usize = 30;
    /// Byte 248: readers asleep in `--on-change` (written by readers).
    pub const WAITERS: usize = 31;
    /// The record words copied under the seqlock: `SECS..=WRITER_STARTED`.
    pub const RECORD: std::ops::Range<usize> = SECS..WRITER_STARTED + 1;
    /// Words in a minimal segment.
    pub const COUNT: usize = super::MIN_SEGMENT_SIZE / 8;
}

// The layout's promises, checked at compile time: the record starts on a
// cache line after the header, shares the sequence's line, and fits.
const _: () = assert!(word::SEQ * 8 == crate::protocol::header::HEADER_END);
const _: () = assert!((word::SEQ * 8).is_multiple_of(64) && word::WAITERS < word::SEQ + 8);
const _: () = assert!(word::WAITERS < word::COUNT);

/// Writer state values stored in the high half of [`word::NANOS_STATE`].
pub mod state {
    /// A writer publishes.
    pub const RUNNING: u32 = 1;
    /// The writer stopped cleanly (SIGTERM, SIGINT, SIGHUP or `--count`).
    pub const STOPPED: u32 = 2;
}
