//! Where the ring sits in the segment (docs/layout.md has the picture).
//!
//! After the C text (words 0..16) and the common header (kind 2, layout
//! version 2), each side has a cache line of its own, written only by that
//! side: the producer's at byte 192, the consumer's at byte 256. The two
//! "sleeping" flags share a third line at byte 320: each side reads the
//! other's flag after every cursor move, and a flag that sits beside a
//! cursor would make that read miss the cache each time the cursor moves.
//! The data area starts at byte 384 and runs to the end of the segment.

/// First byte of the data area.
pub const DATA: usize = 384;
/// The smallest segment: the header lines and 64 bytes of ring.
pub const MIN_SEGMENT_SIZE: usize = DATA + 64;
/// The segment size without `--size`: the smallest that reaches the
/// throughput targets in docs/performance.md ("Streams").
pub const DEFAULT_SEGMENT_SIZE: usize = 256 << 10;

/// Word indexes (byte offset / 8).
pub mod word {
    /// Byte 152: the ring's capacity in bytes, as the producer made it.
    pub const CAPACITY: usize = 19;
    /// Byte 192: bytes the producer has committed, ever (the futex word
    /// a waiting consumer sleeps on).
    pub const HEAD: usize = 24;
    /// Byte 200: the producer's state.
    pub const PRODUCER_STATE: usize = 25;
    /// Byte 208: wall-clock nanoseconds of the producer's last heartbeat.
    pub const PRODUCER_BEAT: usize = 26;
    /// Byte 216: the stream's length, once the producer has finished.
    pub const FINAL: usize = 27;
    /// Byte 224: the producer's pid in its own pid namespace (for people).
    pub const PRODUCER_PID: usize = 28;
    /// Byte 256: bytes the consumer has consumed, ever (the futex word a
    /// waiting producer sleeps on).
    pub const TAIL: usize = 32;
    /// Byte 264: the consumer's state.
    pub const CONSUMER_STATE: usize = 33;
    /// Byte 272: wall-clock nanoseconds of the consumer's last heartbeat.
    pub const CONSUMER_BEAT: usize = 34;
    /// Byte 280: the consumer's pid in its own pid namespace (for people).
    pub const CONSUMER_PID: usize = 35;
    /// Byte 320: non-zero while the consumer sleeps waiting for data.
    pub const CONSUMER_SLEEPING: usize = 40;
    /// Byte 328: non-zero while the producer sleeps waiting for space.
    pub const PRODUCER_SLEEPING: usize = 41;
}

const _: () = assert!(word::HEAD * 8 == crate::protocol::header::HEADER_END);
const _: () = assert!(
    word::TAIL * 8 == word::HEAD * 8 + 64
        && word::CONSUMER_SLEEPING * 8 == word::TAIL * 8 + 64
        && DATA == word::CONSUMER_SLEEPING * 8 + 64
);

/// A side's state word.
pub mod state {
    /// Not there yet.
    pub const NONE: u64 = 0;
    /// Producing, or consuming.
    pub const ACTIVE: u64 = 1;
    /// The producer reached the end of its input (`FINAL` holds the
    /// length); the consumer received all of it.
    pub const DONE: u64 = 2;
    /// Stopped before the end (a signal, an error).
    pub const ABORTED: u64 = 3;
}
