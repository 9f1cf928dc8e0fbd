//! The C originals' text area: bytes `0..128` of every segment, what
//! `snprintf(addr, 128, "%ld", time(0))` leaves there and what the C reader
//! prints. Our writers keep it filled so C readers go on working.

use std::time::Duration;

use thiserror::Error;

use crate::transport::view::{ReadView, WriteView};

/// Bytes of the text area.
pub const TEXT_LEN: usize = 128;
/// Its words: 0..16.
pub const WORDS: std::ops::Range<usize> = 0..TEXT_LEN / 8;

/// `bytes` as C text: at most 127 of them, NUL-terminated, NUL-padded.
///
/// ```
/// use shm_common::protocol::text::encode;
/// let text = encode(b"hello");
/// assert_eq!(&text[..6], b"hello\0");
/// assert_eq!(encode(&[b'x'; 500])[127], 0);
/// ```
pub fn encode(bytes: &[u8]) -> [u8; TEXT_LEN] {
    let mut text = [0u8; TEXT_LEN];
    let n = bytes.len().min(TEXT_LEN - 1);
    text[..n].copy_from_slice(&bytes[..n]);
    text
}

/// The text for `secs`, exactly what the C writer's `snprintf` leaves.
pub fn encode_secs(secs: i64) -> [u8; TEXT_LEN] {
    encode(secs.to_string().as_bytes())
}

/// Why the text area does not hold a time.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TextError {
    /// All zeros.
    #[error("the segment is empty: no writer has written a time into it yet")]
    Empty,
    /// No NUL in the first 128 bytes.
    #[error("the first 128 bytes hold no NUL terminator, so they are not C text")]
    Unterminated,
    /// Text that is not a decimal `i64`.
    #[error("the text {0:?} is not a decimal Unix time")]
    NotATime(String),
    /// A writer kept changing the text while it was copied.
    #[error("the text kept changing while it was read")]
    Unstable,
}

/// Parse a text area: at most 128 bytes, NUL-terminated, an optional `-`
/// and 1 to 19 decimal digits that fit an `i64`.
///
/// ```
/// use shm_common::protocol::text::{decode_secs, encode_secs};
/// assert_eq!(decode_secs(&encode_secs(1_700_000_000)), Ok(1_700_000_000));
/// assert!(decode_secs(b"12ab\0").is_err());
/// ```
pub fn decode_secs(bytes: &[u8]) -> Result<i64, TextError> {
    let text = c_str(bytes)?;
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

/// The bytes before the first NUL of the area.
pub fn c_str(bytes: &[u8]) -> Result<&[u8], TextError> {
    let area = &bytes[..bytes.len().min(TEXT_LEN)];
    let end = area
        .iter()
        .position(|&b| b == 0)
        .ok_or(TextError::Unterminated)?;
    Ok(&area[..end])
}

/// Copies tried before a changing text counts as unstable.
const COPIES: u32 = 64;

/// Copy the text area until two copies in a row agree: a C writer has no
/// lock, so a copy taken while it is preempted mid-`snprintf` can be torn.
pub fn read(view: ReadView<'_>) -> Result<[u8; TEXT_LEN], TextError> {
    let copy = || {
        let mut text = [0u8; TEXT_LEN];
        view.copy_bytes(WORDS.start, &mut text);
        text
    };
    let mut last = copy();
    for attempt in 0..COPIES {
        if attempt > 4 {
            std::thread::sleep(Duration::from_micros(50));
        }
        let again = copy();
        if again == last {
            return Ok(again);
        }
        last = again;
    }
    Err(TextError::Unstable)
}

/// Whether the text area is empty (its first byte zero): a segment just
/// created, which no writer has written yet.
pub fn is_blank(view: ReadView<'_>) -> bool {
    let mut first = [0u8; 1];
    view.copy_bytes(WORDS.start, &mut first);
    first[0] == 0
}

/// Store `text` into the area (the writer's side).
pub fn write(view: WriteView<'_>, text: &[u8; TEXT_LEN]) {
    view.store_bytes(WORDS.start, text);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips_and_rejects_garbage() {
        for secs in [0, 1, 1_700_000_000, i64::MAX, i64::MIN] {
            assert_eq!(decode_secs(&encode_secs(secs)), Ok(secs));
        }
        assert_eq!(decode_secs(&[0; 128]), Err(TextError::Empty));
        assert_eq!(decode_secs(&[b'1'; 128]), Err(TextError::Unterminated));
        assert!(matches!(decode_secs(b"-\0"), Err(TextError::NotATime(_))));
        assert!(matches!(decode_secs(b" 12\0"), Err(TextError::NotATime(_))));
        assert!(matches!(
            decode_secs(b"99999999999999999999\0"),
            Err(TextError::NotATime(_))
        ));
    }
}
