//! Values and wake-ups, each beside its baseline in the same run:
//!
//! - `publish/*`: the cost of a publish with nobody asleep: the time
//!   record's bare publish (the baseline, what a publish cost before
//!   wake-ups existed), the same followed by the wake check the writer now
//!   makes (a fence and one load, no system call), and a 64-byte value's
//!   publish with its wake check;
//! - `wake_latency/*`: how long a reader that is asleep takes to learn of
//!   a publish: an `--on-change` reader on its futex against a pipe's
//!   reader blocked in `read` learning of a one-byte write.

use std::hint::black_box;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use shm_common::protocol::clock::Timestamp;
use shm_common::protocol::notify;
use shm_common::protocol::time::record::{Publisher as TimePublisher, WriterInfo};
use shm_common::protocol::value::publish::{Publisher, Writer, NOTIFY};
use shm_common::protocol::value::read::read;
use shm_common::transport::view::WriteView;

/// 4096 bytes, aligned like the start of an attached segment.
#[repr(C, align(64))]
struct Block([AtomicU64; 512]);

fn block() -> Box<Block> {
    Box::new(Block(std::array::from_fn(|_| AtomicU64::new(0))))
}

const WRITER: Writer = Writer { pid: 1, ipc_ns: 1 };
const INFO: WriterInfo = WriterInfo {
    interval: Duration::ZERO,
    pid: 1,
    ipc_ns: 1,
    started: 1_700_000_000,
};

fn publish(c: &mut Criterion) {
    let seg = block();
    let view = WriteView::new(&seg.0);
    let mut time = TimePublisher::new(view, INFO, Timestamp::from_secs(1_700_000_000));
    let mut group = c.benchmark_group("publish");
    let mut n = 0u32;
    group.bench_function("time_record_baseline", |b| {
        b.iter(|| {
            n = (n + 1) % 1_000_000_000;
            time.publish(black_box(Timestamp {
                secs: 1_700_000_000,
                nanos: n,
            }));
        })
    });
    group.bench_function("time_record_with_wake_check", |b| {
        b.iter(|| {
            n = (n + 1) % 1_000_000_000;
            time.publish(black_box(Timestamp {
                secs: 1_700_000_000,
                nanos: n,
            }));
            time.wake().expect("wake");
        })
    });
    let seg = block();
    let mut value = Publisher::new(WriteView::new(&seg.0), WRITER, &[7; 64], false).expect("fits");
    let payload = [42u8; 64];
    group.bench_function("value_64B_with_wake_check", |b| {
        b.iter(|| {
            value.publish(black_box(&payload), false).expect("fits");
            value.wake().expect("wake");
        })
    });
    group.finish();
}

/// Wait until the value in `view` is no longer number `seen`.
fn await_change(view: WriteView<'_>, seen: u64) -> u64 {
    loop {
        let v = read(view.read()).expect("a value");
        if v.counter != seen {
            return v.counter;
        }
        notify::wait(
            view.read(),
            Some(view),
            NOTIFY,
            v.seq,
            Duration::from_millis(100),
        )
        .expect("futex wait");
    }
}

/// How long a sleeping reader takes to learn of a publish: for each
/// iteration the writer lets the reader fall asleep (200 µs), notes the
/// time, and publishes; the reader notes the time it woke with the news.
/// `publish` makes the news, `reader` waits for it `iters` times, calling
/// `woke` each time.
fn wake_latency(
    iters: u64,
    publish: impl FnMut(),
    reader: impl FnOnce(&dyn Fn()) + Send,
) -> Duration {
    let base = Instant::now();
    let woke_at = AtomicU64::new(0);
    let mut publish = publish;
    std::thread::scope(|s| {
        let woke = || {
            woke_at.store(base.elapsed().as_nanos() as u64, Ordering::Release);
        };
        let handle = s.spawn(move || reader(&woke));
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            let before = woke_at.load(Ordering::Acquire);
            std::thread::sleep(Duration::from_micros(200));
            let sent = base.elapsed().as_nanos() as u64;
            publish();
            while woke_at.load(Ordering::Acquire) == before {
                std::hint::spin_loop();
            }
            total += Duration::from_nanos(woke_at.load(Ordering::Acquire).saturating_sub(sent));
        }
        handle.join().expect("reader thread");
        total
    })
}

fn wake(c: &mut Criterion) {
    let mut group = c.benchmark_group("wake_latency");
    let seg = block();
    let view = WriteView::new(&seg.0);
    let mut publisher = Publisher::new(view, WRITER, b"0", false).expect("fits");
    group.bench_function("futex_on_change_reader", |b| {
        b.iter_custom(|iters| {
            let first = read(view.read()).expect("a value").counter;
            wake_latency(
                iters,
                || {
                    publisher.publish(b"news", false).expect("fits");
                    publisher.wake().expect("wake");
                },
                move |woke| {
                    let mut seen = first;
                    for _ in 0..iters {
                        seen = await_change(view, seen);
                        woke();
                    }
                },
            )
        })
    });
    group.bench_function("pipe_blocked_reader", |b| {
        b.iter_custom(|iters| {
            let (mut rx, mut tx) = std::io::pipe().expect("pipe");
            wake_latency(
                iters,
                || tx.write_all(b"n").expect("write"),
                move |woke| {
                    let mut byte = [0u8; 1];
                    for _ in 0..iters {
                        rx.read_exact(&mut byte).expect("read");
                        woke();
                    }
                },
            )
        })
    });
    group.finish();
}

criterion_group!(benches, publish, wake);
criterion_main!(benches);
