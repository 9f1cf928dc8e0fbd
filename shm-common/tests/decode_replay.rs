//! The fuzz target `read_segment` (fuzz/fuzz_targets/read_segment.rs) as a
//! bounded, deterministic part of the normal test suite: every committed
//! seed of fuzz/corpus/read_segment/, then generated segments (random
//! bytes, and seeds with header words, text bytes and the length mutated).
//! `SHM_DECODE_CASES=N` runs N generated cases instead of the default, for a
//! long run on a stable toolchain.

#[path = "support/decode.rs"]
mod decode;

#[path = "support/rng.rs"]
mod rng;
#[path = "support/segments.rs"]
mod segments;

use rng::Rng;

use decode::check_decode;
use shm_common::protocol::header::HeaderError;
use shm_common::protocol::text::TEXT_LEN;
use shm_common::protocol::time::record::{ReadError, Reading};

/// Generated cases per run by default: a few seconds in a debug build.
const DEFAULT_CASES: u64 = 20_000;

/// Values that sit on the decoder's edges.
const INTERESTING: [u64; 12] = [
    0,
    1,
    2,
    3,
    u64::MAX,
    u64::MAX - 1,
    i64::MAX as u64,
    i64::MIN as u64,
    999_999_999,
    1_000_000_000,
    1 << 32 | 999_999_999,
    u64::from_le_bytes(*b"SHMTIME\0"),
];

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut data = seed.to_vec();
    for _ in 0..=rng.below(4) {
        match rng.below(6) {
            // A header or record word set to an edge value.
            0 | 1 => {
                let w = [16, 17, 18, 24, 25, 26, 27, 28, 29, 30, 31][rng.below(11) as usize];
                let value = INTERESTING[rng.below(INTERESTING.len() as u64) as usize];
                if data.len() >= (w + 1) * 8 {
                    data[w * 8..w * 8 + 8].copy_from_slice(&value.to_le_bytes());
                }
            }
            // A byte of the text area.
            2 if !data.is_empty() => {
                let i = rng.below(data.len().min(TEXT_LEN) as u64) as usize;
                data[i] = [0, b'0', b'9', b'-', b' ', 0xff][rng.below(6) as usize];
            }
            // Random bytes anywhere.
            3 if !data.is_empty() => {
                let i = rng.below(data.len() as u64) as usize;
                data[i] = rng.next() as u8;
            }
            // Cut or extend.
            4 => data.truncate(rng.below(4097) as usize),
            _ => data.resize(rng.below(4097) as usize, rng.next() as u8),
        }
    }
    data
}

#[test]
fn committed_corpus_decodes_without_panic() {
    let seeds = segments::corpus("read_segment");
    assert!(seeds.len() >= 10, "the seed corpus is missing");
    for (name, data) in &seeds {
        let outcome = std::panic::catch_unwind(|| check_decode(data));
        assert!(outcome.is_ok(), "seed {name} broke the decoder");
    }
    // The seeds cover each outcome the decoder has.
    let outcome = |name: &str| check_decode(&seeds.iter().find(|(n, _)| n == name).unwrap().1);
    assert!(matches!(outcome("record"), Ok(Reading::Record(_))));
    assert!(matches!(outcome("c-text"), Ok(Reading::Text(_))));
    assert!(matches!(
        outcome("record-odd-seq"),
        Err(ReadError::Unstable { .. })
    ));
    assert!(matches!(
        outcome("record-future-version"),
        Err(ReadError::Header(HeaderError::FutureVersion { .. }))
    ));
    assert!(matches!(
        outcome("wrong-magic"),
        Err(ReadError::Header(HeaderError::UnknownMagic { .. }))
    ));
    assert!(matches!(
        outcome("too-small"),
        Err(ReadError::TooSmall { .. })
    ));
    assert!(matches!(
        outcome("record-bad-state"),
        Err(ReadError::Corrupt(_))
    ));
}

#[test]
fn generated_segments_decode_without_panic_or_hang() {
    let cases = std::env::var("SHM_DECODE_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    let seeds = segments::corpus("read_segment");
    let mut rng = Rng(0x5eed_0f5e_971e_5500);
    for case in 0..cases {
        let state = rng.0;
        let data = if case % 4 == 0 {
            (0..rng.below(4097)).map(|_| rng.next() as u8).collect()
        } else {
            let seed = &seeds[rng.below(seeds.len() as u64) as usize].1;
            mutate(&mut rng, seed)
        };
        let outcome = std::panic::catch_unwind(|| check_decode(&data));
        assert!(
            outcome.is_ok(),
            "generated case {case} (rng state {state:#x}, {} bytes) broke the decoder",
            data.len()
        );
    }
}
