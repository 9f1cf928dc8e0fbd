//! The stream consumer's view of a hostile segment: whatever bytes a broken
//! or malicious producer leaves (random, or a real ring with its words
//! mutated), attaching and reading either refuses with an error or yields
//! bytes from inside the ring: never a panic, an out-of-bounds copy or a
//! hang, and never more bytes than the ring can hold at once.

#[path = "support/ring.rs"]
mod ring;
#[path = "support/rng.rs"]
mod rng;
#[path = "support/segments.rs"]
mod segments;

use rng::Rng;
use std::sync::atomic::AtomicU64;

use shm_common::protocol::stream::layout::{word, DATA};
use shm_common::protocol::stream::producer::Producer;
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
        ring::check_consumer(&seg);
    }
}

#[test]
fn the_committed_corpus_keeps_the_consumer_in_the_ring() {
    let seeds = segments::corpus("stream_consumer");
    assert!(seeds.len() >= 10, "the seed corpus is missing");
    let taken = |name: &str| {
        let (_, data) = seeds.iter().find(|(n, _)| n == name).unwrap();
        ring::check_consumer(&segments::words_of(data))
    };
    for (name, _) in &seeds {
        let outcome = std::panic::catch_unwind(|| taken(name));
        assert!(outcome.is_ok(), "seed {name} broke the consumer");
    }
    // The seeds reach the consumer's outcomes: bytes taken, across the
    // wrap too, and the refusals.
    assert_eq!(taken("some_bytes"), 40);
    assert_eq!(taken("wrapped"), 100);
    assert_eq!(taken("head_beyond_ring"), 0);
    assert_eq!(taken("consumer_taken"), 0);
}
