//! Fuzz the stream consumer: any bytes a hostile or broken producer can
//! leave in a segment (up to 4096) must make attaching and reading refuse
//! or hand out ranges inside the ring, never a panic, a hang or an
//! out-of-bounds copy.
//!
//! `cargo +nightly fuzz run stream_consumer` (from this directory's
//! parent); the same check runs on stable in
//! `shm-common/tests/stream_replay.rs`.
#![no_main]

#[path = "../../shm-common/tests/support/ring.rs"]
mod ring;
#[path = "../../shm-common/tests/support/segments.rs"]
mod segments;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ring::check_consumer(&segments::words_of(data));
});
