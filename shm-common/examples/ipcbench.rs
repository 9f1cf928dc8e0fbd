//! Cross-process benchmarks of the record against its baselines, run by
//! `scripts/bench` inside a private IPC namespace with a private /dev/shm.
//!
//! ```text
//! ipcbench latency [--rounds R] [--scale F] [--out DIR]
//! ipcbench rates [--secs S]
//! ipcbench procs --bin-dir DIR [--c-dir DIR] [--key-dir DIR] [--runs N] [--pair-secs S]
//! ```
//!
//! `latency`: ping-pong between this process and a child of the same binary,
//! pinned to different CPUs, over four mechanisms in interleaved rounds:
//! a bare atomic word in a System V segment (the floor: one cache line
//! crossing cores each way), the seqlock record (Publisher::publish, the
//! peer busy-polls the sequence, reads the record with `record::read` and
//! answers on a second record), a pipe pair and a Unix socket pair. One-way
//! latency is half a round trip.
//!
//! `rates`: publishes per second with 0, 1 and 8 reader threads reading flat
//! out, and consistent records per second per reader.
//!
//! `procs`: wall time and peak RSS of `shm_read --once`, the publish rate of
//! the whole `shm_write --interval 0` process, and the CPU time and RSS of a
//! 1 Hz writer/reader pair (beside the C originals when `--c-dir` is given).

use std::collections::HashMap;
use std::fs::File;
use std::hint::spin_loop;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Barrier};
use std::time::{Duration, Instant};

use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use shm_common::protocol::clock::Timestamp;
use shm_common::protocol::header::word::MAGIC;
use shm_common::protocol::latest::layout::word;
use shm_common::protocol::latest::record::{read, Publisher, Reading, Record, WriterInfo};
use shm_common::transport::key::Key;
use shm_common::transport::segment::Segment;
use shm_common::transport::view::{ReadView, WriteView};

type Result<T> = std::result::Result<T, String>;

/// How long any wait for the other side may take before the run fails.
const DEADLINE: Duration = Duration::from_secs(20);
/// Segment words of the ping record, the pong record and the floor's two words:
/// each on its own cache lines, far apart.
const PING: std::ops::Range<usize> = 0..word::COUNT;
const PONG: std::ops::Range<usize> = 256..256 + word::COUNT;
const FLOOR_PING: usize = 448;
const FLOOR_PONG: usize = 480;
const SEGMENT_BYTES: usize = 4096;
/// The floor's child stores this to say it is ready.
const READY: u64 = 1 << 63;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("latency") => latency(&Opts::parse(&args[1..])),
        Some("rates") => rates(&Opts::parse(&args[1..])),
        Some("procs") => procs(&Opts::parse(&args[1..])),
        Some("child") => child(&args[1..]),
        _ => Err("usage: ipcbench latency|rates|procs [options] (see the source)".into()),
    };
    if let Err(e) = result {
        eprintln!("ipcbench: {e}");
        std::process::exit(1);
    }
}

/// `--name value` options.
struct Opts(HashMap<String, String>);

impl Opts {
    fn parse(args: &[String]) -> Self {
        let mut map = HashMap::new();
        for pair in args.chunks(2) {
            if let [name, value] = pair {
                map.insert(name.trim_start_matches("--").to_owned(), value.clone());
            }
        }
        Opts(map)
    }

    fn num(&self, name: &str, default: f64) -> f64 {
        self.0
            .get(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }

    fn path(&self, name: &str) -> Option<PathBuf> {
        self.0.get(name).map(PathBuf::from)
    }
}

// ---------------------------------------------------------------- CPUs

/// The CPUs this process may run on.
fn allowed_cpus() -> Vec<usize> {
    let Ok(set) = sched_getaffinity(Pid::from_raw(0)) else {
        return Vec::new();
    };
    (0..CpuSet::count())
        .filter(|&c| set.is_set(c).unwrap_or(false))
        .collect()
}

/// Pin the calling thread to `cpu` (best effort: reported, not fatal).
fn pin(cpu: Option<usize>) {
    if let Some(cpu) = cpu {
        let mut set = CpuSet::new();
        if set.set(cpu).is_err() || sched_setaffinity(Pid::from_raw(0), &set).is_err() {
            eprintln!("ipcbench: cannot pin to CPU {cpu}; running unpinned");
        }
    }
}

// ---------------------------------------------------------------- segments

/// A private System V segment (`IPC_PRIVATE`), removed when dropped.
fn private_segment() -> Result<Segment> {
    Segment::create(Key(0), SEGMENT_BYTES, 0o600)
        .map_err(|e| format!("cannot create a private segment: {e}"))?
        .ok_or_else(|| "IPC_PRIVATE gave EEXIST".to_owned())
}

fn zero(view: WriteView<'_>) {
    for i in 0..view.read().len() {
        view.store(i, 0);
    }
}

/// The segment's words, writable (the benchmark attaches read-write).
fn words(seg: &Segment) -> WriteView<'_> {
    seg.write_view().expect("attached writable")
}

fn info(interval: Duration) -> WriterInfo {
    WriterInfo {
        interval,
        pid: std::process::id(),
        ipc_ns: 0,
        started: 1_700_000_000,
    }
}

/// The timestamp the `i`th ping carries (one second, so the text stays put).
fn stamp(i: u64) -> Timestamp {
    Timestamp {
        secs: 1_700_000_000,
        nanos: (i % 1_000_000_000) as u32,
    }
}

/// Busy-poll word `i` until it reaches `want`, failing after [`DEADLINE`]
/// (the clock is read only every 2^20 spins, so it costs nothing per poll).
#[inline]
fn spin_until(view: ReadView<'_>, i: usize, want: u64, what: &str) -> Result<()> {
    let mut spins = 0u32;
    let mut since: Option<Instant> = None;
    while view.load_acquire(i) < want {
        spin_loop();
        spins = spins.wrapping_add(1);
        if spins.is_multiple_of(1 << 20) {
            let start = *since.get_or_insert_with(Instant::now);
            if start.elapsed() > DEADLINE {
                return Err(format!("{what}: no answer within {DEADLINE:?}"));
            }
        }
    }
    Ok(())
}

fn read_record(view: ReadView<'_>) -> Result<Record> {
    match read(view) {
        Ok(Reading::Record(r)) => Ok(r),
        other => Err(format!("expected a record, read {other:?}")),
    }
}

// ---------------------------------------------------------------- latency

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mech {
    Floor,
    Record,
    Pipe,
    Socket,
}

impl Mech {
    const ALL: [Mech; 4] = [Mech::Floor, Mech::Record, Mech::Pipe, Mech::Socket];

    fn name(self) -> &'static str {
        match self {
            Mech::Floor => "atomic word (floor)",
            Mech::Record => "seqlock record",
            Mech::Pipe => "pipe pair",
            Mech::Socket => "unix socket pair",
        }
    }

    fn tag(self) -> &'static str {
        match self {
            Mech::Floor => "floor",
            Mech::Record => "record",
            Mech::Pipe => "pipe",
            Mech::Socket => "socket",
        }
    }

    fn from_tag(tag: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.tag() == tag)
    }

    /// Round trips per round: the shared-memory ones are ~100x faster.
    fn iters(self, scale: f64) -> u64 {
        let base = match self {
            Mech::Floor | Mech::Record => 100_000.0,
            Mech::Pipe | Mech::Socket => 10_000.0,
        };
        ((base * scale) as u64).max(1_000)
    }
}

/// A child process that is killed if it is still running when dropped.
struct Guard(Child);

impl Guard {
    fn finish(mut self, what: &str) -> Result<()> {
        let status = wait_deadline(&mut self.0)?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("{what} child failed: {status}"))
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn wait_deadline(child: &mut Child) -> Result<ExitStatus> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Ok(status);
        }
        if start.elapsed() > DEADLINE {
            return Err("child did not exit in time".into());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn spawn_child(mech: Mech, iters: u64, extra: &str, cpu: Option<usize>) -> Command {
    let exe = std::env::current_exe().expect("own executable");
    let mut cmd = Command::new(exe);
    cmd.arg("child")
        .arg(mech.tag())
        .arg(iters.to_string())
        .arg(cpu.map_or("-".to_owned(), |c| c.to_string()))
        .arg(extra)
        .stderr(Stdio::inherit());
    cmd
}

/// One round of `iters` round trips; returns the round-trip times in ns,
/// warm-up (the first twentieth) left out.
fn round(
    mech: Mech,
    iters: u64,
    seg: &Segment,
    cpus: (Option<usize>, Option<usize>),
) -> Result<Vec<u64>> {
    let words = words(seg);
    let mut rtts = Vec::with_capacity(iters as usize);
    let shmid = seg.info().id.to_string();
    match mech {
        Mech::Floor => {
            zero(words);
            let guard = Guard(
                spawn_child(mech, iters, &shmid, cpus.1)
                    .spawn()
                    .map_err(|e| e.to_string())?,
            );
            spin_until(words.read(), FLOOR_PONG, READY, "floor child start")?;
            words.store(FLOOR_PONG, 0);
            let mut t0 = Instant::now();
            for i in 1..=iters {
                words.store_release(FLOOR_PING, i);
                spin_until(words.read(), FLOOR_PONG, i, "floor pong")?;
                let t1 = Instant::now();
                rtts.push((t1 - t0).as_nanos() as u64);
                t0 = t1;
            }
            guard.finish("floor")?;
        }
        Mech::Record => {
            zero(words);
            let (ping, pong) = (words.slice(PING), words.slice(PONG).read());
            let mut publisher = Publisher::new(ping, info(Duration::ZERO), stamp(0));
            let guard = Guard(
                spawn_child(mech, iters, &shmid, cpus.1)
                    .spawn()
                    .map_err(|e| e.to_string())?,
            );
            // The child's Publisher::new stores the magic last: then it is ready.
            spin_until(pong, MAGIC, 1, "record child start")?;
            let base = pong.load_acquire(word::SEQ);
            let mut t0 = Instant::now();
            for i in 1..=iters {
                publisher.publish(stamp(i));
                spin_until(pong, word::SEQ, base + 2 * i, "record pong")?;
                let r = read_record(pong)?;
                if r.time != stamp(i) {
                    return Err(format!("pong {i} carried {:?}", r.time));
                }
                let t1 = Instant::now();
                rtts.push((t1 - t0).as_nanos() as u64);
                t0 = t1;
            }
            guard.finish("record")?;
        }
        Mech::Pipe => {
            let mut child = spawn_child(mech, iters, "-", cpus.1)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .map_err(|e| e.to_string())?;
            let mut to = child.stdin.take().expect("piped stdin");
            let mut from = child.stdout.take().expect("piped stdout");
            let guard = Guard(child);
            stream_rounds(iters, &mut from, &mut to, &mut rtts)?;
            drop(to);
            guard.finish("pipe")?;
        }
        Mech::Socket => {
            let (mut ours, theirs) = UnixStream::pair().map_err(|e| e.to_string())?;
            let child = spawn_child(mech, iters, "-", cpus.1)
                .stdin(Stdio::from(OwnedFd::from(theirs)))
                .stdout(Stdio::null())
                .spawn()
                .map_err(|e| e.to_string())?;
            let guard = Guard(child);
            let mut reader = ours.try_clone().map_err(|e| e.to_string())?;
            stream_rounds(iters, &mut reader, &mut ours, &mut rtts)?;
            drop(ours);
            guard.finish("socket")?;
        }
    }
    let warm = rtts.len() / 20;
    Ok(rtts.split_off(warm))
}

fn stream_rounds(
    iters: u64,
    from: &mut impl Read,
    to: &mut impl Write,
    rtts: &mut Vec<u64>,
) -> Result<()> {
    let mut buf = [0u8; 8];
    let mut t0 = Instant::now();
    for i in 1..=iters {
        to.write_all(&i.to_le_bytes()).map_err(|e| e.to_string())?;
        from.read_exact(&mut buf).map_err(|e| e.to_string())?;
        if u64::from_le_bytes(buf) != i {
            return Err(format!("pong {i} carried {}", u64::from_le_bytes(buf)));
        }
        let t1 = Instant::now();
        rtts.push((t1 - t0).as_nanos() as u64);
        t0 = t1;
    }
    Ok(())
}

/// The child side of every mechanism: `child <tag> <iters> <cpu|-> <shmid|->`.
fn child(args: &[String]) -> Result<()> {
    let [tag, iters, cpu, shmid] = args else {
        return Err("child: bad arguments".into());
    };
    let mech = Mech::from_tag(tag).ok_or("child: unknown mechanism")?;
    let iters: u64 = iters.parse().map_err(|_| "child: bad count")?;
    pin(cpu.parse().ok());
    let attach = || -> Result<Segment> {
        let id: i32 = shmid.parse().map_err(|_| "child: bad shmid")?;
        Segment::attach(Key(0), id, false).map_err(|e| e.to_string())
    };
    match mech {
        Mech::Floor => {
            let seg = attach()?;
            let words = words(&seg);
            words.store_release(FLOOR_PONG, READY);
            for i in 1..=iters {
                spin_until(words.read(), FLOOR_PING, i, "floor ping")?;
                words.store_release(FLOOR_PONG, i);
            }
        }
        Mech::Record => {
            let seg = attach()?;
            let words = words(&seg);
            let (ping, pong) = (words.slice(PING).read(), words.slice(PONG));
            let base = ping.load_acquire(word::SEQ);
            let mut publisher = Publisher::new(pong, info(Duration::ZERO), stamp(0));
            for i in 1..=iters {
                spin_until(ping, word::SEQ, base + 2 * i, "record ping")?;
                publisher.publish(read_record(ping)?.time);
            }
        }
        Mech::Pipe | Mech::Socket => {
            let fd =
                |f: std::os::fd::BorrowedFd<'_>| f.try_clone_to_owned().map_err(|e| e.to_string());
            let input = fd(std::io::stdin().as_fd())?;
            let (mut from, mut to): (Box<dyn Read>, Box<dyn Write>) = if mech == Mech::Pipe {
                (
                    Box::new(File::from(input)),
                    Box::new(File::from(fd(std::io::stdout().as_fd())?)),
                )
            } else {
                let stream = UnixStream::from(input);
                (
                    Box::new(stream.try_clone().map_err(|e| e.to_string())?),
                    Box::new(stream),
                )
            };
            let mut buf = [0u8; 8];
            for _ in 0..iters {
                from.read_exact(&mut buf).map_err(|e| e.to_string())?;
                to.write_all(&buf).map_err(|e| e.to_string())?;
            }
        }
    }
    Ok(())
}

fn quantile(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i] as f64
}

/// Cost of one `Instant::now()`, which every sample includes once.
fn clock_cost() -> f64 {
    let n = 1_000_000;
    let start = Instant::now();
    for _ in 0..n {
        std::hint::black_box(Instant::now());
    }
    start.elapsed().as_nanos() as f64 / f64::from(n)
}

fn latency(opts: &Opts) -> Result<()> {
    let rounds = opts.num("rounds", 5.0) as usize;
    let scale = opts.num("scale", 1.0);
    let out = opts.path("out");
    let cpus = allowed_cpus();
    let pins = match cpus.as_slice() {
        [a, b, ..] => (Some(*a), Some(*b)),
        _ => (None, None),
    };
    pin(pins.0);
    let seg = private_segment()?;
    let mut all: Vec<(Mech, Vec<u64>)> = Mech::ALL.iter().map(|&m| (m, Vec::new())).collect();
    for r in 0..rounds {
        for (mech, samples) in &mut all {
            let rtts = round(*mech, mech.iters(scale), &seg, pins)?;
            samples.extend(rtts.iter().map(|rtt| rtt / 2));
        }
        eprintln!("ipcbench: latency round {}/{rounds} done", r + 1);
    }
    for (_, samples) in &mut all {
        samples.sort_unstable();
    }
    let median = |m: Mech| quantile(&all.iter().find(|(x, _)| *x == m).expect("measured").1, 0.5);
    let (floor, record) = (median(Mech::Floor), median(Mech::Record));
    println!("### One-way latency (half a ping-pong round trip)\n");
    println!(
        "CPUs: ping on {:?}, pong on {:?}; {rounds} interleaved rounds; one clock read per sample ({:.1} ns) included.\n",
        pins.0,
        pins.1,
        clock_cost()
    );
    println!("| mechanism | samples | median ns | mean ns | p90 ns | p99 ns | p99.9 ns | median vs floor | median vs record |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (mech, s) in &all {
        let m = quantile(s, 0.5);
        println!(
            "| {} | {} | {:.0} | {:.1} | {:.0} | {:.0} | {:.0} | {:.2}x | {:.2}x |",
            mech.name(),
            s.len(),
            m,
            s.iter().sum::<u64>() as f64 / s.len() as f64,
            quantile(s, 0.9),
            quantile(s, 0.99),
            quantile(s, 0.999),
            m / floor,
            m / record
        );
    }
    let pipe = median(Mech::Pipe);
    println!(
        "\nTargets: record within 2x of the floor: {:.2}x ({}); at least 100x faster than the pipe: {:.0}x ({}).\n",
        record / floor,
        verdict(record / floor <= 2.0),
        pipe / record,
        verdict(pipe / record >= 100.0)
    );
    if let Some(dir) = out {
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let path = dir.join("latency_quantiles.csv");
        let mut csv = String::from("quantile");
        for (mech, _) in &all {
            csv += &format!(",{}", mech.tag());
        }
        csv.push('\n');
        let mut qs: Vec<f64> = (1..1000).map(|k| f64::from(k) / 1000.0).collect();
        qs.extend([0.9995, 0.9999]);
        for q in qs {
            csv += &format!("{q}");
            for (_, s) in &all {
                csv += &format!(",{}", quantile(s, q));
            }
            csv.push('\n');
        }
        std::fs::write(&path, csv).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "MISSED"
    }
}

// ---------------------------------------------------------------- rates

#[derive(Default)]
struct RateRun {
    publishes_per_sec: f64,
    reads_per_sec: Vec<f64>,
    distinct_per_sec: Vec<f64>,
    gave_up: u64,
}

/// Run a writer (publishing flat out, or idle when `writer` is false) and
/// `readers` reader threads for `dur`. The writer gets the first CPU to
/// itself; the readers share the others (all CPUs when there is only one).
fn rate_run(
    seg: &Segment,
    readers: usize,
    writer: bool,
    now_clock: bool,
    dur: Duration,
) -> RateRun {
    let words = words(seg);
    zero(words);
    let cpus = allowed_cpus();
    let writer_cpu = cpus.first().copied();
    let reader_cpus: Vec<usize> = if cpus.len() > 1 {
        cpus[1..].to_vec()
    } else {
        Vec::new()
    };
    let mut publisher = Publisher::new(words.slice(PING), info(Duration::ZERO), stamp(0));
    let stop = AtomicBool::new(false);
    let barrier = Barrier::new(readers + 2);
    std::thread::scope(|s| {
        let w = s.spawn(|| {
            pin(writer_cpu);
            barrier.wait();
            let start = Instant::now();
            let mut n = 0u64;
            if writer {
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..256 {
                        n += 1;
                        let t = if now_clock {
                            Timestamp::now()
                        } else {
                            stamp(n)
                        };
                        publisher.publish(t);
                    }
                }
            }
            n as f64 / start.elapsed().as_secs_f64()
        });
        let rs: Vec<_> = (0..readers)
            .map(|k| {
                let cpu = (!reader_cpus.is_empty()).then(|| reader_cpus[k % reader_cpus.len()]);
                let (barrier, stop) = (&barrier, &stop);
                s.spawn(move || {
                    pin(cpu);
                    barrier.wait();
                    let start = Instant::now();
                    let (mut ok, mut distinct, mut gave_up, mut last) = (0u64, 0u64, 0u64, 0u64);
                    while !stop.load(Ordering::Relaxed) {
                        for _ in 0..64 {
                            match read(words.slice(PING).read()) {
                                Ok(Reading::Record(r)) => {
                                    ok += 1;
                                    if r.seq != last {
                                        distinct += 1;
                                        last = r.seq;
                                    }
                                }
                                _ => gave_up += 1,
                            }
                        }
                    }
                    let secs = start.elapsed().as_secs_f64();
                    (ok as f64 / secs, distinct as f64 / secs, gave_up)
                })
            })
            .collect();
        barrier.wait();
        std::thread::sleep(dur);
        stop.store(true, Ordering::Relaxed);
        let mut run = RateRun {
            publishes_per_sec: w.join().expect("writer thread"),
            ..RateRun::default()
        };
        for r in rs {
            let (ok, distinct, gave_up) = r.join().expect("reader thread");
            run.reads_per_sec.push(ok);
            run.distinct_per_sec.push(distinct);
            run.gave_up += gave_up;
        }
        run
    })
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// The median of `v` (0 when empty).
fn median_of(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn rates(opts: &Opts) -> Result<()> {
    let dur = Duration::from_secs_f64(opts.num("secs", 1.0));
    let reps = (opts.num("reps", 3.0) as usize).max(1);
    let seg = private_segment()?;
    let cpus = allowed_cpus();
    // (name, readers, writer publishing, writer reads the clock per publish)
    let configs: [(&str, usize, bool, bool); 6] = [
        ("publish, 0 readers", 0, true, false),
        ("publish, 1 reader", 1, true, false),
        ("publish, 8 readers", 8, true, false),
        ("publish(Timestamp::now()), 0 readers", 0, true, true),
        ("publish(Timestamp::now()), 1 reader", 1, true, true),
        ("read, writer idle (baseline)", 1, false, false),
    ];
    // Interleaved repetitions: a busy moment of the machine hits every row.
    let mut runs: Vec<Vec<RateRun>> = configs.iter().map(|_| Vec::new()).collect();
    for _ in 0..reps {
        for ((_, readers, writer, clock), runs) in configs.iter().zip(&mut runs) {
            runs.push(rate_run(&seg, *readers, *writer, *clock, dur));
        }
    }
    println!("### Publish and read rates\n");
    println!(
        "{} CPUs: the writer thread is pinned to CPU {:?}, readers share the others; \
         each row is the median of {reps} interleaved runs of {dur:?}.\n",
        cpus.len(),
        cpus.first()
    );
    println!("| run | publishes/s | vs no readers | reads/s per reader | new records seen/s per reader | reads that gave up (all runs) |");
    println!("|---|---:|---:|---:|---:|---:|");
    let publishes =
        |runs: &[RateRun]| median_of(runs.iter().map(|r| r.publishes_per_sec).collect());
    let base = publishes(&runs[0]);
    for ((name, readers, writer, _), runs) in configs.iter().zip(&runs) {
        let p = publishes(runs);
        let (p_text, ratio) = if *writer {
            (format!("{:.1} M", p / 1e6), format!("{:.2}x", p / base))
        } else {
            ("-".to_owned(), "-".to_owned())
        };
        let per_reader = |f: fn(&RateRun) -> &Vec<f64>, digits: usize| {
            if *readers == 0 {
                "-".to_owned()
            } else {
                let m = median_of(runs.iter().map(|r| mean(f(r))).collect());
                format!("{:.digits$} M", m / 1e6)
            }
        };
        println!(
            "| {name} | {p_text} | {ratio} | {} | {} | {} |",
            per_reader(|r| &r.reads_per_sec, 1),
            per_reader(|r| &r.distinct_per_sec, 2),
            runs.iter().map(|r| r.gave_up).sum::<u64>()
        );
    }
    println!(
        "\nTarget: at least 20 M publishes/s with no readers: {:.1} M ({}).\n",
        base / 1e6,
        verdict(base >= 20e6)
    );
    Ok(())
}

// ---------------------------------------------------------------- procs

/// A spawned program whose stderr lines arrive on a channel; killed on drop.
struct Program {
    guard: Guard,
    stderr: mpsc::Receiver<String>,
    stdout_lines: std::sync::Arc<AtomicU64>,
}

impl Program {
    fn start(mut cmd: Command) -> Result<Self> {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("{cmd:?}: {e}"))?;
        let (tx, stderr) = mpsc::channel();
        let err = child.stderr.take().expect("piped");
        std::thread::spawn(move || {
            for line in BufReader::new(err)
                .lines()
                .map_while(std::result::Result::ok)
            {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stdout_lines = std::sync::Arc::new(AtomicU64::new(0));
        let out = child.stdout.take().expect("piped");
        let counter = stdout_lines.clone();
        std::thread::spawn(move || {
            for _ in BufReader::new(out)
                .lines()
                .map_while(std::result::Result::ok)
            {
                counter.fetch_add(1, Ordering::Relaxed);
            }
        });
        Ok(Self {
            guard: Guard(child),
            stderr,
            stdout_lines,
        })
    }

    fn pid(&self) -> i32 {
        self.guard.0.id() as i32
    }

    fn wait_stderr(&self, text: &str) -> Result<()> {
        let start = Instant::now();
        while let Some(left) = DEADLINE.checked_sub(start.elapsed()) {
            match self.stderr.recv_timeout(left) {
                Ok(line) if line.contains(text) => return Ok(()),
                Ok(_) => {}
                Err(_) => break,
            }
        }
        Err(format!("pid {} never printed {text:?}", self.pid()))
    }

    fn wait_stdout_lines(&self, n: u64) -> Result<()> {
        let start = Instant::now();
        while self.stdout_lines.load(Ordering::Relaxed) < n {
            if start.elapsed() > DEADLINE {
                return Err(format!("pid {} printed fewer than {n} lines", self.pid()));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }

    fn stop(mut self) -> Result<ExitStatus> {
        let _ = kill(Pid::from_raw(self.pid()), Signal::SIGTERM);
        wait_deadline(&mut self.guard.0)
    }
}

/// CPU time (ns, from /proc/PID/schedstat) and peak and current RSS (kB).
fn proc_usage(pid: i32) -> Result<(u64, u64, u64)> {
    let sched =
        std::fs::read_to_string(format!("/proc/{pid}/schedstat")).map_err(|e| e.to_string())?;
    let cpu_ns = sched
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .ok_or("unreadable schedstat")?;
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| e.to_string())?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Ok((cpu_ns, field("VmHWM:"), field("VmRSS:")))
}

/// Wall time (ns) of one run of `prog`, which must succeed; a `--once`
/// run must print a time.
fn time_run(prog: &Path, args: &[&str]) -> Result<u64> {
    let start = Instant::now();
    let out = Command::new(prog)
        .args(args)
        .stderr(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    let wall = start.elapsed().as_nanos() as u64;
    let printed_time = out.stdout.starts_with(b"now time: ");
    if !out.status.success() || (args.contains(&"--once") && !printed_time) {
        return Err(format!(
            "{} {args:?} failed: {} {:?}",
            prog.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout)
        ));
    }
    Ok(wall)
}

/// Peak RSS (kB) of `prog` over five runs, as GNU time reports it (the
/// child's own high-water mark, from wait4). None without /usr/bin/time.
fn peak_rss_kb(prog: &Path, args: &[&str]) -> Option<u64> {
    (0..5)
        .map(|_| {
            let out = Command::new("/usr/bin/time")
                .args(["-f", "%M"])
                .arg(prog)
                .args(args)
                .stdout(Stdio::null())
                .output()
                .ok()?;
            let text = String::from_utf8_lossy(&out.stderr);
            text.lines().last()?.trim().parse::<u64>().ok()
        })
        .collect::<Option<Vec<u64>>>()?
        .into_iter()
        .max()
}

fn in_private_ipc_namespace() -> bool {
    let ns = |p: &str| std::fs::read_link(p).ok();
    ns("/proc/self/ns/ipc") != ns("/proc/1/ns/ipc")
}

fn procs(opts: &Opts) -> Result<()> {
    if !in_private_ipc_namespace() {
        return Err("procs runs real writers: start it through scripts/bench (a private IPC namespace and /dev/shm)".into());
    }
    let bin = opts
        .path("bin-dir")
        .ok_or("--bin-dir DIR (shm_write, shm_read) is required")?;
    let key_dir = opts
        .path("key-dir")
        .unwrap_or_else(|| PathBuf::from("/dev/shm"));
    let runs = opts.num("runs", 50.0) as usize;
    let pair_secs = opts.num("pair-secs", 0.0);
    let count = opts.num("count", 20e6) as u64;
    let write = bin.join("shm_write");
    let read_bin = bin.join("shm_read");
    let key = key_dir.join("bench_key");
    let ms = |ns: f64| ns / 1e6;

    println!("### Whole processes\n");
    let writer = Program::start({
        let mut c = Command::new(&write);
        c.arg("--key-file").arg(&key).args(["--interval", "1s"]);
        c
    })?;
    writer.wait_stderr("shm_write: key")?;
    let key_arg = key.to_string_lossy().into_owned();
    let once_args = ["--key-file", key_arg.as_str(), "--once"];
    let progs: [(&str, &Path, &[&str]); 3] = [
        ("/bin/true (spawn floor)", Path::new("/bin/true"), &[]),
        (
            "shm_read --version (static binary floor)",
            &read_bin,
            &["--version"],
        ),
        ("shm_read --once", &read_bin, &once_args),
    ];
    // Interleaved, so that a busy moment of the machine hits all three alike.
    let mut walls = vec![Vec::with_capacity(runs); progs.len()];
    for _ in 0..runs {
        for ((_, prog, args), walls) in progs.iter().zip(&mut walls) {
            walls.push(time_run(prog, args)?);
        }
    }
    println!("| program | runs | median wall ms | p90 wall ms | peak RSS (/usr/bin/time %M) |");
    println!("|---|---:|---:|---:|---:|");
    let mut once = (0.0, None);
    for ((name, prog, args), walls) in progs.iter().zip(&mut walls) {
        walls.sort_unstable();
        let rss = peak_rss_kb(prog, args);
        let median = ms(quantile(walls, 0.5));
        println!(
            "| {name} | {runs} | {median:.2} | {:.2} | {} |",
            ms(quantile(walls, 0.9)),
            rss.map_or("n/a".to_owned(), |kb| format!("{kb} kB"))
        );
        once = (median, rss);
    }
    writer.stop()?;
    println!(
        "\nTargets: shm_read --once under 2 ms: {:.2} ms ({}); under 3 MB: {} ({}).\n",
        once.0,
        verdict(once.0 < 2.0),
        once.1.map_or("n/a".to_owned(), |kb| format!("{kb} kB")),
        verdict(once.1.is_some_and(|kb| kb < 3 * 1024))
    );

    let mut rates = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        let status = Command::new(&write)
            .arg("--key-file")
            .arg(&key)
            .args(["--interval", "0", "--count", &count.to_string()])
            .stderr(Stdio::null())
            .status()
            .map_err(|e| e.to_string())?;
        let secs = start.elapsed().as_secs_f64();
        if !status.success() {
            return Err(format!(
                "shm_write --interval 0 --count {count} failed: {status}"
            ));
        }
        rates.push(count as f64 / secs);
    }
    rates.sort_by(f64::total_cmp);
    println!(
        "shm_write --interval 0 --count {count} (whole process, startup included), 3 runs: median {:.1} M publishes/s (min {:.1} M, max {:.1} M).\n",
        rates[1] / 1e6,
        rates[0] / 1e6,
        rates[2] / 1e6
    );

    if pair_secs > 0.0 {
        pair(
            &write,
            &read_bin,
            &key_dir,
            opts.path("c-dir").as_deref(),
            pair_secs,
        )?;
    }
    Ok(())
}

/// A 1 Hz writer and reader (ours, and the C originals beside them) for
/// `secs`: CPU time used after the first two seconds, and RSS.
fn pair(
    write: &Path,
    read_bin: &Path,
    key_dir: &Path,
    c_dir: Option<&Path>,
    secs: f64,
) -> Result<()> {
    let ours_key = key_dir.join("pair_key");
    let mut progs: Vec<(&str, Program)> = Vec::new();
    let w = Program::start({
        let mut c = Command::new(write);
        c.arg("--key-file").arg(&ours_key);
        c
    })?;
    w.wait_stderr("shm_write: key")?;
    progs.push(("shm_write (1 Hz)", w));
    progs.push((
        "shm_read (1 Hz)",
        Program::start({
            let mut c = Command::new(read_bin);
            c.arg("--key-file").arg(&ours_key);
            c
        })?,
    ));
    if let Some(dir) = c_dir {
        let c_key = key_dir.join("c_pair_key");
        let w = Program::start({
            let mut c = Command::new(dir.join("shm_write"));
            c.arg(&c_key);
            c
        })?;
        // The C writer prints nothing: wait until its key file exists.
        let start = Instant::now();
        while !c_key.exists() {
            if start.elapsed() > DEADLINE {
                return Err("the C writer never created its key file".into());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        progs.push(("C shm_write (1 Hz)", w));
        progs.push((
            "C shm_read (1 Hz)",
            Program::start({
                let mut c = Command::new(dir.join("shm_read"));
                c.arg(&c_key);
                c
            })?,
        ));
    }
    std::thread::sleep(Duration::from_secs(2));
    let before: Vec<u64> = progs
        .iter()
        .map(|(_, p)| proc_usage(p.pid()).map(|u| u.0))
        .collect::<Result<_>>()?;
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(secs));
    let wall = start.elapsed();
    println!(
        "1 Hz pair over {:.0} s (CPU time counted after the first 2 s; RSS from /proc/PID/status):\n",
        wall.as_secs_f64()
    );
    println!("| process | CPU ms | CPU % | peak RSS kB | RSS kB | lines printed |");
    println!("|---|---:|---:|---:|---:|---:|");
    for ((name, p), before) in progs.iter().zip(before) {
        let (cpu, hwm, rss) = proc_usage(p.pid())?;
        let cpu_ms = (cpu - before) as f64 / 1e6;
        println!(
            "| {name} | {cpu_ms:.2} | {:.4} | {hwm} | {rss} | {} |",
            100.0 * cpu_ms / wall.as_millis() as f64,
            p.stdout_lines.load(Ordering::Relaxed)
        );
    }
    println!();
    for (name, p) in progs {
        if name.contains("read") {
            p.wait_stdout_lines((secs as u64).saturating_sub(2).max(1))?;
        }
        p.stop()?;
    }
    Ok(())
}
