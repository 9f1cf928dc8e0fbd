//! Fuzz the segment decoder: any bytes a hostile or broken program can leave
//! in a segment (up to the C originals' 4096) must decode to a time or an
//! error, never a panic, a hang or an out-of-bounds access.
//!
//! `cargo +nightly fuzz run read_segment` (from this directory's parent);
//! the same check runs on stable in `shm-common/tests/decode_replay.rs`.
#![no_main]

#[path = "../../shm-common/tests/support/decode.rs"]
mod decode;
#[path = "../../shm-common/tests/support/segments.rs"]
mod segments;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = decode::check_decode(data);
});
