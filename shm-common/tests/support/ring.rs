//! The stream consumer's contract, shared by the fuzz target
//! `stream_consumer` and the stable replay test: whatever words a broken or
//! malicious producer leaves, attaching and reading either refuses with an
//! error or hands out ranges inside the ring: never a panic, an
//! out-of-bounds copy or a hang, and never more bytes than the ring holds.

use std::sync::atomic::AtomicU64;

use shm_common::protocol::stream::consumer::Consumer;
use shm_common::protocol::stream::layout::DATA;
use shm_common::protocol::stream::shared::capacity;
use shm_common::transport::view::WriteView;

/// Attach a consumer to `words` and take what it offers until it offers
/// nothing or refuses; check every range; the bytes taken.
pub fn check_consumer(words: &[AtomicU64]) -> u64 {
    let view = WriteView::new(words);
    let Ok(mut consumer) = Consumer::attach(view, 2) else {
        return 0;
    };
    let (bytes, cap) = (words.len() * 8, capacity(words.len() * 8));
    let mut buf = [0u8; 97];
    let mut total = 0u64;
    for _ in 0..64 {
        match consumer.available() {
            Ok(range) if range.is_empty() => break,
            Ok(range) => assert!(
                range.start >= DATA && range.end <= bytes,
                "range {range:?} outside the ring of a {bytes}-byte segment"
            ),
            Err(_) => break,
        }
        match consumer.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n as u64,
        }
    }
    assert!(total <= cap, "read {total} bytes from a ring of {cap}");
    total
}
