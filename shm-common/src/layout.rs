//! Where everything sits in the segment (docs/layout.md has the picture).
//!
//! The segment is handled as 8-byte little-endian words so that every access
//! is one atomic load or store. Bytes `0..128` are the C originals' text;
//! the header starts at byte 128 on a 64-byte boundary: one cache line of
//! fields that never change while a writer runs, then one cache line holding
//! the seqlock counter together with the record it protects, so that a read
//! or a publish touches a single contended line.

/// Bytes of the C-compatible text area (`snprintf(addr, 128, "%ld", ...)`).
pub const TEXT_LEN: usize = 128;
/// First byte of the header.
pub const HEADER_OFFSET: usize = 128;
/// The smallest segment that holds the text and the header.
pub const MIN_SEGMENT_SIZE: usize = 256;
/// The C originals' segment size, our default.
pub const DEFAULT_SEGMENT_SIZE: usize = 4096;

/// `"SHMTIME\0"` read as a little-endian word: marks a segment that carries our header.
pub const MAGIC: u64 = u64::from_le_bytes(*b"SHMTIME\0");
/// Layout version written by this build; readers refuse higher ones.
pub const LAYOUT_VERSION: u64 = 1;

/// Word indexes (byte offset / 8).
pub mod word {
    /// The text area: words 0..16.
    pub const TEXT: std::ops::Range<usize> = 0..16;
    /// Byte 128: [`super::MAGIC`].
    pub const MAGIC: usize = 16;
    /// Byte 136: [`super::LAYOUT_VERSION`].
    pub const VERSION: usize = 17;
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
    /// The record words copied under the seqlock: `SECS..=WRITER_STARTED`.
    pub const RECORD: std::ops::Range<usize> = SECS..WRITER_STARTED + 1;
    /// Words in a minimal segment.
    pub const COUNT: usize = super::MIN_SEGMENT_SIZE / 8;
}

// The layout's promises, checked at compile time: the header starts on a
// cache line, the record shares the sequence's line, and all fits the minimum.
const _: () = assert!(word::MAGIC * 8 == HEADER_OFFSET && HEADER_OFFSET.is_multiple_of(64));
const _: () = assert!((word::SEQ * 8).is_multiple_of(64) && word::RECORD.end <= word::SEQ + 8);
const _: () = assert!(word::RECORD.end <= word::COUNT);

/// Writer state values stored in the high half of [`word::NANOS_STATE`].
pub mod state {
    /// A writer publishes.
    pub const RUNNING: u32 = 1;
    /// The writer stopped cleanly (SIGTERM, SIGINT, SIGHUP or `--count`).
    pub const STOPPED: u32 = 2;
}

/// The C text for `secs`: decimal digits, NUL-terminated, NUL-padded to
/// [`TEXT_LEN`], i.e. what `snprintf(addr, 128, "%ld", secs)` leaves behind.
pub fn encode_text(secs: i64) -> [u8; TEXT_LEN] {
    let mut text = [0u8; TEXT_LEN];
    let digits = secs.to_string();
    text[..digits.len()].copy_from_slice(digits.as_bytes());
    text
}

/// Why the C text area does not hold a time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("the segment is empty: no writer has written a time into it yet")]
    Empty,
    #[error("the first 128 bytes hold no NUL terminator, so they are not C text")]
    Unterminated,
    #[error("the text {0:?} is not a decimal Unix time")]
    NotATime(String),
}

/// Parse the C text area: at most 128 bytes, NUL-terminated, an optional
/// `-` and 1 to 19 decimal digits that fit an `i64`.
///
/// ```
/// use shm_common::layout::{decode_text, encode_text};
/// assert_eq!(decode_text(&encode_text(1_700_000_000)), Ok(1_700_000_000));
/// assert!(decode_text(b"12ab\0").is_err());
/// ```
pub fn decode_text(bytes: &[u8]) -> Result<i64, TextError> {
    let area = &bytes[..bytes.len().min(TEXT_LEN)];
    let end = area
        .iter()
        .position(|&b| b == 0)
        .ok_or(TextError::Unterminated)?;
    let text = &area[..end];
    if text.is_empty() {
        return Err(TextError::Empty);
    }
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    let shown = || String::from_utf8_lossy(&text[..text.len().min(32)]).into_owned();
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(TextError::NotATime(shown()));
    }
    std::str::from_utf8(text)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| TextError::NotATime(shown()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips_and_rejects_garbage() {
        for secs in [0, 1, 1_700_000_000, i64::MAX, i64::MIN] {
            assert_eq!(decode_text(&encode_text(secs)), Ok(secs));
        }
        assert_eq!(decode_text(&[0; 128]), Err(TextError::Empty));
        assert_eq!(decode_text(&[b'1'; 128]), Err(TextError::Unterminated));
        assert!(matches!(decode_text(b"-\0"), Err(TextError::NotATime(_))));
        assert!(matches!(decode_text(b" 12\0"), Err(TextError::NotATime(_))));
        assert!(matches!(
            decode_text(b"99999999999999999999\0"),
            Err(TextError::NotATime(_))
        ));
    }
}
