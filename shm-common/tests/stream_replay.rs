//! The stream consumer's view of a hostile segment: whatever bytes a broken
//! or malicious producer leaves (random, or a real ring with its words
//! mutated), attaching and reading either refuses with an error or yields
//! bytes from inside the ring: never a panic, an out-of-bounds copy or a
//! hang, and never more bytes than the ring can hold at once.

#[path = "support/rng.rs"]
mod rng;

use rng::Rng;
use std::sync::atomic::AtomicU64;

use shm_common::protocol::stream::layout::{word, DATA};
use shm_common::protocol::stream::ring::{capacity, Consumer, Producer};
use shm_common::transport::view::WriteView;

const EDGES: [u64; 8] = [0, 1, 63, 64, 65, u64::MAX, u64::MAX - 1, 1 << 63];

#[test]
fn hostile_rings_never_break_the_consumer() {
    let mut rng = Rng(0x5eed_57ea_3000_0001);
    for case in 0..20_000u32 {
        let words_len = (DATA / 8) + 1 + (rng.below(64)) as usize;
        let seg: Vec<AtomicU64> = (0..words_len).map(|_| AtomicU64::new(0)).collect();
        let view = WriteView::new(&seg);
        if case % 3 == 0 {
            for i in 0..words_len {
                view.store(i, rng.next());
            }
        } else {
            let mut producer = Producer::create(view, 1);
            let _ = producer.write(&[7; 40]);
            for _ in 0..=rng.next() % 4 {
                let w = [
                    word::HEAD,
                    word::TAIL,
                    word::CAPACITY,
                    word::PRODUCER_STATE,
                    word::CONSUMER_STATE,
                    word::FINAL,
                ][(rng.next() % 6) as usize];
                let value = if rng.next().is_multiple_of(2) {
                    EDGES[(rng.next() % 8) as usize]
                } else {
                    rng.next() % 256
                };
                view.store(w, value);
            }
        }
        let Ok(mut consumer) = Consumer::attach(view, 2) else {
            continue;
        };
        let cap = capacity(words_len * 8);
        let mut buf = [0u8; 97];
        let mut total = 0u64;
        for _ in 0..64 {
            match consumer.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n as u64,
            }
        }
        assert!(
            total <= cap,
            "case {case}: read {total} bytes from a ring of {cap}"
        );
    }
}
