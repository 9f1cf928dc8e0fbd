//! `ipcbench stream`: the ring against a pipe and against the floor (a
//! minimal ring with no protocol, `floor.rs`) between two processes, with
//! the same write sizes: throughput (one `write` per message, the reader
//! taking up to 64 KiB at a time) and the wake-up of a reader asleep on an
//! empty channel. Data is counted, not checked: the test suites check it.

#[allow(unused_imports)]
use super::*;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use shm_common::protocol::stream::consumer::Consumer;
use shm_common::protocol::stream::end::Outcome;
use shm_common::protocol::stream::layout::{state, word as ring_word, DATA, DEFAULT_SEGMENT_SIZE};
use shm_common::protocol::stream::producer::Producer;
use shm_common::protocol::stream::shared::BEAT;
use shm_common::protocol::stream::wait::Backoff;
use shm_common::protocol::watch::beating_beside;
use shm_common::transport::mqueue::{Direction, Queue, QueueName};

/// Segment sizes of the ring-size table.
const SEGMENT_SIZES: [usize; 4] = [16 << 10, 64 << 10, 256 << 10, 1 << 20];
/// The write sizes of the throughput table and its plot.
const WRITE_SIZES: [usize; 6] = [64, 256, 1024, 4096, 16384, 65536];
/// What each reader takes per call at most (a pipe's default capacity).
const READ_BUF: usize = 64 * 1024;
/// Messages of each wake-up round, and the pause before each one (long
/// enough for the reader to be asleep).
const WAKES: usize = 500;
const WAKE_GAP: Duration = Duration::from_micros(500);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Channel {
    Ring,
    Pipe,
    /// The minimal ring of `floor.rs`, in a segment of the same size.
    Floor,
    /// A POSIX message queue, one 8-byte message per stamp, received as
    /// `shm_read --mqueue` receives: a poll on the queue's descriptor, then
    /// a non-blocking `mq_receive`.
    Mqueue,
}

impl Channel {
    fn tag(self) -> &'static str {
        match self {
            Channel::Ring => "ring",
            Channel::Pipe => "pipe",
            Channel::Floor => "floor",
            Channel::Mqueue => "mqueue",
        }
    }
}

/// Bytes moved and the wall time from the first write until the reader had
/// them all.
pub(crate) struct Flow {
    pub(crate) bytes: u64,
    pub(crate) writes: u64,
    pub(crate) secs: f64,
}

/// Medians over `rounds` interleaved runs of `size`-byte writes through
/// each of `channels` (the rings in a segment of `segment` bytes):
/// (bytes/s, writes/s) of each, in the order given.
fn compare(
    channels: &[Channel],
    size: usize,
    segment: usize,
    rounds: usize,
    dur: Duration,
    cpu: Option<usize>,
) -> Result<Vec<(f64, f64)>> {
    let mut runs: Vec<Vec<Flow>> = channels.iter().map(|_| Vec::new()).collect();
    for _ in 0..rounds {
        for (ch, flows) in channels.iter().zip(&mut runs) {
            flows.push(flow(*ch, size, segment - DATA, dur, cpu)?);
        }
    }
    Ok(runs
        .into_iter()
        .map(|flows| {
            (
                median_of(flows.iter().map(|f| f.bytes as f64 / f.secs).collect()),
                median_of(flows.iter().map(|f| f.writes as f64 / f.secs).collect()),
            )
        })
        .collect())
}

/// The throughput table's channels, in the order they run.
const ALL: [Channel; 3] = [Channel::Pipe, Channel::Ring, Channel::Floor];

pub(crate) fn stream(opts: &Opts) -> Result<()> {
    let secs = opts.num("secs", 1.0);
    let rounds = opts.num("rounds", 3.0) as usize;
    let segment = opts.num("segment", DEFAULT_SEGMENT_SIZE as f64) as usize;
    let pins = two_cpus();
    pin(pins.0);
    let dur = Duration::from_secs_f64(secs);
    // `--parts`: which tables, of "throughput", "sizes", "wake" (all by default).
    let parts = opts.text("parts").unwrap_or("throughput,sizes,wake".into());
    let part = |name: &str| parts.split(',').any(|p| p == name);
    let sizes: Vec<usize> = match opts.text("write-sizes") {
        Some(list) => list.split(',').filter_map(|s| s.parse().ok()).collect(),
        None => WRITE_SIZES.to_vec(),
    };

    println!("### Streams: the ring against a pipe and against the floor\n");
    println!(
        "A segment of {segment} bytes (`shm_write --stream`'s default; a ring of {} bytes); a pipe of the default 64 KiB; \
         the floor: a minimal ring with two cursors and the copies only, spinning, in a segment of the same size (`floor.rs`). One `write` per message; the reader takes up to 64 KiB per call. \
         Median of {rounds} interleaved runs of {secs} s each; writer on CPU {:?}, reader on CPU {:?}.\n",
        segment - DATA,
        pins.0,
        pins.1
    );
    let mut table = Vec::new();
    for &size in sizes.iter().filter(|_| part("throughput")) {
        let got = compare(&ALL, size, segment, rounds, dur, pins.1)?;
        table.push((size, got[0], got[1], got[2]));
        eprintln!("ipcbench: stream throughput with {size}-byte writes done");
    }
    println!(
        "| write size | pipe MB/s | pipe writes/s | ring MB/s | ring writes/s | floor MB/s | floor writes/s | ring / pipe | ring / floor |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut csv =
        String::from("write_size,pipe_bytes_per_sec,ring_bytes_per_sec,floor_bytes_per_sec\n");
    for (size, pipe, ring, floor) in &table {
        println!(
            "| {size} | {:.0} | {:.2} M | {:.0} | {:.2} M | {:.0} | {:.2} M | {:.1}x | {:.2}x |",
            pipe.0 / 1e6,
            pipe.1 / 1e6,
            ring.0 / 1e6,
            ring.1 / 1e6,
            floor.0 / 1e6,
            floor.1 / 1e6,
            ring.0 / pipe.0,
            ring.0 / floor.0
        );
        csv += &format!("{size},{},{},{}\n", pipe.0, ring.0, floor.0);
    }
    let at = |s: usize| table.iter().find(|row| row.0 == s);
    if let (Some(bulk), Some(small)) = (at(65536), at(64)) {
        println!(
        "\nTargets: 64 KiB writes at least 2x a pipe: {:.1}x ({}); 64-byte messages at least 10x a pipe: {:.1}x ({}) and at least 16 M/s: {:.1} M/s ({}); \
         at least 0.8x the floor: 64 B {:.2}x ({}), 64 KiB {:.2}x ({}).\n",
        bulk.2 .0 / bulk.1 .0,
        verdict(bulk.2 .0 >= 2.0 * bulk.1 .0),
        small.2 .1 / small.1 .1,
        verdict(small.2 .1 >= 10.0 * small.1 .1),
        small.2 .1 / 1e6,
        verdict(small.2 .1 >= 16e6),
        small.2 .0 / small.3 .0,
        verdict(small.2 .0 >= 0.8 * small.3 .0),
        bulk.2 .0 / bulk.3 .0,
        verdict(bulk.2 .0 >= 0.8 * bulk.3 .0)
    );
    }
    if let Some(dir) = opts.path("out").filter(|_| part("throughput")) {
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let path = dir.join("stream_throughput.csv");
        std::fs::write(&path, csv).map_err(|e| format!("{}: {e}", path.display()))?;
    }

    if part("sizes") {
        println!("### Streams: the ring's size\n");
        println!(
        "The two targets' write sizes through rings of other sizes (`--size`), each beside a pipe in the same run; median of {rounds} interleaved runs of {secs} s.\n"
    );
        println!("| segment (`--size`) | 64 B: ring writes/s | 64 B: vs pipe | 64 KiB: ring MB/s | 64 KiB: vs pipe | all targets |");
        println!("|---:|---:|---:|---:|---:|---|");
        for bytes in SEGMENT_SIZES {
            let pair = [Channel::Pipe, Channel::Ring];
            let [small_pipe, small] = compare(&pair, 64, bytes, rounds, dur, pins.1)?[..] else {
                unreachable!("two channels")
            };
            let [bulk_pipe, bulk] = compare(&pair, 65536, bytes, rounds, dur, pins.1)?[..] else {
                unreachable!("two channels")
            };
            let met =
                small.1 >= 16e6 && small.1 >= 10.0 * small_pipe.1 && bulk.0 >= 2.0 * bulk_pipe.0;
            println!(
                "| {} KiB | {:.2} M | {:.1}x | {:.0} | {:.1}x | {} |",
                bytes / 1024,
                small.1 / 1e6,
                small.1 / small_pipe.1,
                bulk.0 / 1e6,
                bulk.0 / bulk_pipe.0,
                verdict(met)
            );
        }
        println!();
    }
    if !part("wake") {
        return Ok(());
    }

    println!("### Streams: waking a reader asleep on an empty channel\n");
    let mut wakes = vec![
        (Channel::Pipe, Vec::new()),
        (Channel::Ring, Vec::new()),
        (Channel::Mqueue, Vec::new()),
    ];
    for _ in 0..rounds {
        for (ch, samples) in &mut wakes {
            samples.extend(wake(*ch, pins.1)?);
        }
    }
    for (_, samples) in &mut wakes {
        samples.sort_unstable();
    }
    println!(
        "{rounds} interleaved rounds of {WAKES} 8-byte messages {WAKE_GAP:?} apart, so that the reader is asleep (a futex wait on the ring's cursor; a blocking `read` on the pipe; a `poll` on the message queue's descriptor, as `shm_read --mqueue` waits) when each arrives; \
         latency from just before the `write` to the reader holding the bytes (wall clock, read in both processes).\n"
    );
    println!("| channel | median µs | p90 µs | p99 µs |");
    println!("|---|---:|---:|---:|");
    for (ch, s) in &wakes {
        println!(
            "| {} | {:.1} | {:.1} | {:.1} |",
            ch.tag(),
            quantile(s, 0.5) / 1e3,
            quantile(s, 0.9) / 1e3,
            quantile(s, 0.99) / 1e3
        );
    }
    let (pipe, ring) = (quantile(&wakes[0].1, 0.5), quantile(&wakes[1].1, 0.5));
    println!(
        "\nTarget: a sleeping consumer wakes at least as fast as a pipe's blocked reader (medians; within 5%, this machine's run-to-run noise, counts as as fast): {:.1} µs vs {:.1} µs, {:+.1}% ({}).\n",
        ring / 1e3,
        pipe / 1e3,
        100.0 * (ring / pipe - 1.0),
        verdict(ring <= pipe * 1.05)
    );
    Ok(())
}

fn reader(ch: Channel, role: &str, shmid: Option<i32>, cpu: Option<usize>) -> Command {
    let exe = std::env::current_exe().expect("own executable");
    let mut cmd = Command::new(exe);
    cmd.args(["stream-child", ch.tag(), role])
        .arg(shmid.map_or("-".to_owned(), |id| id.to_string()))
        .arg(cpu.map_or("-".to_owned(), |c| c.to_string()))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    cmd
}

/// What the reader printed on its stdout (its count or its samples), once
/// it has exited successfully.
pub(crate) fn report(child: &mut Child) -> Result<String> {
    let mut text = String::new();
    child
        .stdout
        .take()
        .expect("piped stdout")
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    let status = wait_deadline(child)?;
    if !status.success() {
        return Err(format!("stream reader failed: {status}"));
    }
    Ok(text)
}

/// Run `send` as the writer of a pipe read by a `role` reader; what the
/// reader printed once the pipe is closed.
fn through_pipe(
    role: &str,
    cpu: Option<usize>,
    send: impl FnOnce(&mut std::process::ChildStdin) -> Result<()>,
) -> Result<String> {
    let mut child = Guard(
        reader(Channel::Pipe, role, None, cpu)
            .stdin(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?,
    );
    let mut to = child.0.stdin.take().expect("piped stdin");
    send(&mut to)?;
    drop(to);
    report(&mut child.0)
}

/// Run `send` as the producer of a fresh ring of `ring` bytes (in a
/// private segment) consumed by a `role` reader; what the reader printed
/// once the stream is finished.
fn through_ring(
    ring: usize,
    role: &str,
    cpu: Option<usize>,
    send: impl FnOnce(&mut Producer<'_>) -> Result<()>,
) -> Result<String> {
    let seg = Segment::create(Key(0), ring + DATA, 0o600)
        .map_err(|e| format!("cannot create a ring segment: {e}"))?
        .ok_or_else(|| "IPC_PRIVATE gave EEXIST".to_owned())?;
    let view = words(&seg);
    let mut producer = Producer::create(view, std::process::id());
    let mut child = Guard(
        reader(Channel::Ring, role, Some(seg.info().id), cpu)
            .spawn()
            .map_err(|e| e.to_string())?,
    );
    spin_until(
        view.read(),
        ring_word::CONSUMER_STATE,
        state::ACTIVE,
        "ring reader start",
    )?;
    // The producer beats as `shm_write --stream` does, so the reader
    // never takes it for dead however long the run.
    let heartbeat = producer.heartbeat();
    beating_beside(
        BEAT,
        || heartbeat.beat(),
        || {
            let sent =
                send(&mut producer).and_then(|()| producer.finish().map_err(|e| e.to_string()));
            sent.and_then(|()| report(&mut child.0))
        },
    )
}

/// Run `send` as the producer of a fresh floor ring of `ring` bytes (in a
/// private segment) consumed by a counting reader; what it printed.
fn through_floor(
    ring: usize,
    cpu: Option<usize>,
    send: impl FnOnce(&mut FloorProducer<'_>) -> Result<()>,
) -> Result<String> {
    let seg = Segment::create(Key(0), ring + DATA, 0o600)
        .map_err(|e| format!("cannot create a floor segment: {e}"))?
        .ok_or_else(|| "IPC_PRIVATE gave EEXIST".to_owned())?;
    let mut producer = FloorProducer::new(words(&seg));
    let mut child = Guard(
        reader(Channel::Floor, "count", Some(seg.info().id), cpu)
            .spawn()
            .map_err(|e| e.to_string())?,
    );
    spin_until(words(&seg).read(), FLOOR_READY, 1, "floor reader start")?;
    send(&mut producer)?;
    producer.finish();
    report(&mut child.0)
}

/// Write all of `bytes` into the ring, waiting for space as the tools do.
fn write_all(producer: &mut Producer<'_>, bytes: &[u8]) -> Result<()> {
    let mut done = 0;
    let mut backoff = Backoff::default();
    while done < bytes.len() {
        let n = producer.write(&bytes[done..]).map_err(|e| e.to_string())?;
        done += n;
        if n == 0 {
            producer
                .wait_for_space(&mut backoff, Duration::from_millis(100))
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// Write `size`-byte messages for `dur`, then the end; the bytes and the
/// time until the reader had them all.
pub(crate) fn flow(
    ch: Channel,
    size: usize,
    ring: usize,
    dur: Duration,
    cpu: Option<usize>,
) -> Result<Flow> {
    let msg = vec![0x5au8; size];
    let mut writes = 0u64;
    let mut t0 = Instant::now();
    let more = |writes: u64, t0: Instant| !writes.is_multiple_of(256) || t0.elapsed() < dur;
    let text = match ch {
        Channel::Pipe => through_pipe("count", cpu, |to| {
            t0 = Instant::now();
            while more(writes, t0) {
                to.write_all(&msg).map_err(|e| e.to_string())?;
                writes += 1;
            }
            Ok(())
        })?,
        Channel::Ring => through_ring(ring, "count", cpu, |producer| {
            t0 = Instant::now();
            while more(writes, t0) {
                write_all(producer, &msg)?;
                writes += 1;
            }
            Ok(())
        })?,
        Channel::Floor => through_floor(ring, cpu, |producer| {
            t0 = Instant::now();
            while more(writes, t0) {
                producer.write_all(&msg)?;
                writes += 1;
            }
            Ok(())
        })?,
        Channel::Mqueue => return Err("the throughput table has no message-queue row".into()),
    };
    let secs = t0.elapsed().as_secs_f64();
    let bytes = writes * size as u64;
    let got: u64 = text
        .trim()
        .parse()
        .map_err(|_| format!("reader said {text:?}"))?;
    if got != bytes {
        return Err(format!("{} lost bytes: sent {bytes}, got {got}", ch.tag()));
    }
    Ok(Flow {
        bytes,
        writes,
        secs,
    })
}

/// Wall-clock nanoseconds (both processes read the same clock).
fn now_ns() -> u64 {
    Timestamp::now().to_word()
}

/// Send [`WAKES`] timestamps, one every [`WAKE_GAP`]; the reader's
/// latencies in ns.
fn wake(ch: Channel, cpu: Option<usize>) -> Result<Vec<u64>> {
    let stamp = || {
        std::thread::sleep(WAKE_GAP);
        now_ns().to_le_bytes()
    };
    let text = match ch {
        Channel::Pipe => through_pipe("wake", cpu, |to| {
            for _ in 0..WAKES {
                to.write_all(&stamp()).map_err(|e| e.to_string())?;
            }
            Ok(())
        })?,
        Channel::Floor => return Err("the floor has no wake-up".into()),
        Channel::Ring => through_ring(4096, "wake", cpu, |producer| {
            for _ in 0..WAKES {
                if producer.write(&stamp()).map_err(|e| e.to_string())? != 8 {
                    return Err("the wake-up ring is full".into());
                }
            }
            Ok(())
        })?,
        Channel::Mqueue => through_mqueue(cpu, |queue| {
            for _ in 0..WAKES {
                if !queue.send(&stamp(), 0).map_err(|e| e.to_string())? {
                    return Err("the wake-up queue is full".into());
                }
            }
            Ok(())
        })?,
    };
    samples(&text)
}

/// Run `send` as the sender of a fresh message queue (10 messages of 8
/// bytes) received by a `wake` reader; what the reader printed once it took
/// the empty message that ends the run.
fn through_mqueue(cpu: Option<usize>, send: impl FnOnce(&Queue) -> Result<()>) -> Result<String> {
    let name = QueueName::parse(&format!("/ipcbench-{}", std::process::id()))
        .map_err(|e| e.to_string())?;
    let queue = Queue::open_or_create(&name, 0o600, 10, 8).map_err(|e| e.to_string())?;
    let exe = std::env::current_exe().expect("own executable");
    let mut child = Guard(
        Command::new(exe)
            .args(["stream-child", "mqueue", "wake", name.as_str()])
            .arg(cpu.map_or("-".to_owned(), |c| c.to_string()))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| e.to_string())?,
    );
    // Time for the reader to start and fall asleep on the empty queue.
    std::thread::sleep(Duration::from_millis(100));
    send(&queue)?;
    while !queue.send(&[], 0).map_err(|e| e.to_string())? {
        std::thread::sleep(Duration::from_millis(1));
    }
    report(&mut child.0)
}

/// The `wake` reader of a message queue: poll, receive, until an empty message.
fn mqueue_child(name: &str, take: &mut impl FnMut(usize, &[u8])) -> Result<()> {
    let name = QueueName::parse(name).map_err(|e| e.to_string())?;
    let queue = Queue::open(&name, Direction::Receive).map_err(|e| e.to_string())?;
    let mut buf = [0u8; 8];
    loop {
        match queue.receive(&mut buf).map_err(|e| e.to_string())? {
            Some((0, _)) => return Ok(()),
            Some((n, _)) => take(n, &buf),
            None => {
                let mut fds = [PollFd::new(queue.as_fd(), PollFlags::POLLIN)];
                poll(&mut fds, PollTimeout::NONE).map_err(|e| e.to_string())?;
            }
        }
    }
}

fn samples(text: &str) -> Result<Vec<u64>> {
    let v: Vec<u64> = text
        .split_whitespace()
        .map(|s| s.parse().map_err(|_| format!("bad sample {s:?}")))
        .collect::<Result<_>>()?;
    if v.len() != WAKES {
        return Err(format!("{} wake-up samples, not {WAKES}", v.len()));
    }
    Ok(v)
}

/// The reader: `stream-child <ring|pipe|mqueue> <count|wake> <shmid|-|/queue> <cpu|->`.
/// `count` prints the bytes it took; `wake` prints each message's latency.
pub(crate) fn stream_child(args: &[String]) -> Result<()> {
    let [tag, role, shmid, cpu] = args else {
        return Err("stream-child: bad arguments".into());
    };
    pin(cpu.parse().ok());
    let wake = role == "wake";
    let mut buf = vec![0u8; if wake { 8 } else { READ_BUF }];
    let mut latencies = Vec::new();
    let mut total = 0u64;
    let mut take = |n: usize, buf: &[u8]| {
        total += n as u64;
        if wake {
            let sent = u64::from_le_bytes(buf[..8].try_into().expect("8 bytes"));
            latencies.push(now_ns().saturating_sub(sent));
        }
    };
    if tag == "mqueue" {
        mqueue_child(shmid, &mut take)?;
    } else if tag == "pipe" {
        let mut input = std::io::stdin().lock();
        loop {
            let n = if wake {
                match input.read_exact(&mut buf) {
                    Ok(()) => 8,
                    Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => 0,
                    Err(e) => return Err(e.to_string()),
                }
            } else {
                input.read(&mut buf).map_err(|e| e.to_string())?
            };
            if n == 0 {
                break;
            }
            take(n, &buf);
        }
    } else if tag == "floor" {
        let id: i32 = shmid.parse().map_err(|_| "stream-child: bad shmid")?;
        let seg = Segment::attach(Key(0), id, false).map_err(|e| e.to_string())?;
        total = floor_consume(words(&seg), &mut buf)?;
    } else {
        let id: i32 = shmid.parse().map_err(|_| "stream-child: bad shmid")?;
        let seg = Segment::attach(Key(0), id, false).map_err(|e| e.to_string())?;
        let mut consumer =
            Consumer::attach(words(&seg), std::process::id()).map_err(|e| e.to_string())?;
        // The wake-up measurement sleeps at once: that is what it times.
        let mut backoff = if wake {
            Backoff::new(0)
        } else {
            Backoff::default()
        };
        loop {
            let n = consumer.read(&mut buf).map_err(|e| e.to_string())?;
            if n > 0 {
                backoff.reset();
                take(n, &buf);
                continue;
            }
            match consumer.outcome().map_err(|e| e.to_string())? {
                Some(Outcome::Complete) => break,
                Some(Outcome::Interrupted(end)) => return Err(format!("stream ended: {end:?}")),
                None => {}
            }
            consumer
                .wait_for_data(&mut backoff, Duration::from_millis(100))
                .map_err(|e| e.to_string())?;
        }
        consumer.end(Outcome::Complete).map_err(|e| e.to_string())?;
    }
    let mut out = std::io::stdout().lock();
    if wake {
        for l in &latencies {
            writeln!(out, "{l}").map_err(|e| e.to_string())?;
        }
    } else {
        writeln!(out, "{total}").map_err(|e| e.to_string())?;
    }
    Ok(())
}
