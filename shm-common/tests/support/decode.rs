//! The decoder's contract, shared by the fuzz target `read_segment` and the
//! stable replay test: any bytes decode to a time or an error, never a
//! panic, a hang or an out-of-bounds access, and what is accepted is sound.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use shm_common::protocol::header::word::MAGIC;
use shm_common::protocol::text::{self, TEXT_LEN};
use shm_common::protocol::time::layout::{word, MIN_SEGMENT_SIZE};
use shm_common::protocol::time::record::{read, ReadError, Reading, WriterState};
use shm_common::transport::view::ReadView;

use crate::segments::words_of;

/// No single decode may take longer than this, however hostile the bytes
/// (a record stuck mid-update costs about a thousand yields, at most
/// 100 ms, on a busy machine).
const DECODE_BOUND: Duration = Duration::from_secs(2);

/// Decode `data` as a segment, check the outcome against the bytes, and
/// return it.
pub fn check_decode(data: &[u8]) -> Result<Reading, ReadError> {
    let words = words_of(data);
    let started = Instant::now();
    let result = read(ReadView::new(&words));
    assert!(
        started.elapsed() < DECODE_BOUND,
        "decoding took {:?}",
        started.elapsed()
    );
    match &result {
        Ok(Reading::Record(record)) => {
            assert_eq!(
                record.seq & 1,
                0,
                "a record is only accepted at an even sequence"
            );
            assert_eq!(record.seq, words[word::SEQ].load(Ordering::Relaxed));
            assert!(record.time.nanos < 1_000_000_000);
            assert!(matches!(
                record.state,
                WriterState::Running | WriterState::Stopped
            ));
        }
        Ok(Reading::Text(secs)) => {
            // Exactly what the C text area says, and only without our header.
            let mut text = [0u8; TEXT_LEN];
            for (chunk, w) in text.chunks_exact_mut(8).zip(&words) {
                chunk.copy_from_slice(&w.load(Ordering::Relaxed).to_le_bytes());
            }
            assert_eq!(text::decode_secs(&text), Ok(*secs));
            assert_eq!(words[MAGIC].load(Ordering::Relaxed), 0);
        }
        Err(ReadError::TooSmall { bytes }) => {
            assert!(*bytes < MIN_SEGMENT_SIZE);
            assert_eq!(*bytes, words.len() * 8);
        }
        Err(ReadError::Unstable { seq }) => assert_eq!(seq & 1, 1),
        Err(_) => {}
    }
    result
}
