//! Fuzz the segment decoder: any bytes a hostile or broken program can leave
//! in a segment (up to the C originals' 4096) must decode to a time or an
//! error, never a panic, a hang or an out-of-bounds access.
//!
//! `cargo +nightly fuzz run read_segment` (from this directory's parent);
//! the same check runs on stable in `shm-common/tests/decode_replay.rs`.
#![no_main]

use std::sync::atomic::{AtomicU64, Ordering};

use libfuzzer_sys::fuzz_target;
use shm_common::layout::{self, TEXT_LEN};
use shm_common::record::{read, ReadError, Reading, WriterState};

fuzz_target!(|data: &[u8]| {
    let bytes = &data[..data.len().min(4096)];
    // A segment is whole 8-byte words; a trailing partial word is zero-padded.
    let words: Vec<AtomicU64> = bytes
        .chunks(8)
        .map(|chunk| {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            AtomicU64::new(u64::from_le_bytes(word))
        })
        .collect();
    match read(&words) {
        Ok(Reading::Record(record)) => {
            assert_eq!(
                record.seq & 1,
                0,
                "a record is only accepted at an even sequence"
            );
            assert!(record.time.nanos < 1_000_000_000);
            assert!(matches!(
                record.state,
                WriterState::Running | WriterState::Stopped
            ));
        }
        Ok(Reading::Text(secs)) => {
            // The text reading must be exactly what the C text area says.
            let mut text = [0u8; TEXT_LEN];
            for (chunk, w) in text.chunks_exact_mut(8).zip(&words) {
                chunk.copy_from_slice(&w.load(Ordering::Relaxed).to_le_bytes());
            }
            assert_eq!(layout::decode_text(&text), Ok(secs));
        }
        Err(ReadError::TooSmall { bytes }) => assert!(bytes < layout::MIN_SEGMENT_SIZE),
        Err(_) => {}
    }
});
