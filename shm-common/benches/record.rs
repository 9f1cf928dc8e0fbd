//! In-process costs of the record: publish, read (alone and beside a writer
//! running flat out on another thread), the C text's encode and decode, and
//! the clock reads the writer's loop makes.
//!
//! The words live in a 64-byte aligned block, as in a page-aligned segment,
//! so the seqlock line is one cache line here too. Cross-process latency and
//! rates are measured by `examples/ipcbench.rs` (see `scripts/bench`).

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use shm_common::protocol::clock::Timestamp;
use shm_common::protocol::text::{decode_secs, encode_secs, write as write_text};
use shm_common::protocol::time::record::{read, Publisher, Reading, WriterInfo};
use shm_common::transport::view::{ReadView, WriteView};

/// 4096 bytes, aligned like the start of an attached segment's cache lines.
#[repr(C, align(64))]
struct Block([AtomicU64; 512]);

fn block() -> Box<Block> {
    Box::new(Block(std::array::from_fn(|_| AtomicU64::new(0))))
}

const INFO: WriterInfo = WriterInfo {
    interval: Duration::ZERO,
    pid: 4242,
    ipc_ns: 4026531839,
    started: 1_700_000_000,
};

const START: Timestamp = Timestamp {
    secs: 1_700_000_000,
    nanos: 0,
};

fn publish(c: &mut Criterion) {
    let seg = block();
    let mut publisher = Publisher::new(WriteView::new(&seg.0), INFO, START);
    let mut n = 0u32;
    c.bench_function("publish/same_second", |b| {
        b.iter(|| {
            n = (n + 1) % 1_000_000_000;
            publisher.publish(black_box(Timestamp {
                secs: START.secs,
                nanos: n,
            }));
        })
    });
    let mut secs = START.secs;
    c.bench_function("publish/new_second_rewrites_text", |b| {
        b.iter(|| {
            secs += 1;
            publisher.publish(black_box(Timestamp { secs, nanos: 0 }));
        })
    });
    c.bench_function("publish/with_timestamp_now", |b| {
        b.iter(|| publisher.publish(Timestamp::now()))
    });
}

fn read_alone(c: &mut Criterion) {
    let seg = block();
    Publisher::new(WriteView::new(&seg.0), INFO, START);
    c.bench_function("read/record_idle_writer", |b| {
        b.iter(|| read(black_box(ReadView::new(&seg.0))).expect("a record"))
    });
    let text = block();
    write_text(WriteView::new(&text.0), &encode_secs(START.secs));
    c.bench_function("read/c_text_segment", |b| {
        b.iter(|| read(black_box(ReadView::new(&text.0))).expect("a time"))
    });
}

fn read_beside_writer(c: &mut Criterion) {
    let seg = block();
    let stop = AtomicBool::new(false);
    let mut publisher = Publisher::new(WriteView::new(&seg.0), INFO, START);
    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                publisher.publish(Timestamp {
                    secs: START.secs,
                    nanos: (n % 1_000_000_000) as u32,
                });
            }
            n
        });
        let mut unstable = 0u64;
        c.bench_function("read/record_writer_flat_out", |b| {
            b.iter(|| match read(ReadView::new(&seg.0)) {
                Ok(Reading::Record(r)) => {
                    black_box(r);
                }
                _ => unstable += 1,
            })
        });
        stop.store(true, Ordering::Relaxed);
        let published = writer.join().expect("writer thread");
        eprintln!("(writer published {published} records meanwhile; {unstable} reads gave up)");
    });
}

fn text(c: &mut Criterion) {
    let encoded = encode_secs(START.secs);
    c.bench_function("text/decode", |b| {
        b.iter(|| decode_secs(black_box(&encoded)))
    });
    c.bench_function("text/encode", |b| {
        b.iter(|| encode_secs(black_box(START.secs)))
    });
}

fn clocks(c: &mut Criterion) {
    c.bench_function("clock/timestamp_now", |b| b.iter(Timestamp::now));
    c.bench_function("clock/instant_now", |b| b.iter(Instant::now));
}

criterion_group!(
    benches,
    publish,
    read_alone,
    read_beside_writer,
    text,
    clocks
);
criterion_main!(benches);
