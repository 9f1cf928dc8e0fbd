//! `ipcbench capi --c-bench PATH`: the C API (libshmtools, through
//! `shm-c/bench/shmtools_bench.c`) beside the Rust benches' figures in the
//! same run: the ring's throughput at 64 B and 64 KiB writes, and the cost
//! of one read of the time record and of a 64-byte value. Each figure is
//! taken three ways, in interleaved rounds: the protocol side alone (what
//! `ipcbench stream` and the criterion benches measure), the Rust facade
//! (`shm_common::channel`, which the C API wraps), and the C API.

#[allow(unused_imports)]
use super::*;
use shm_common::channel::{StreamReader, StreamWriter, TimeReader, ValueReader, ValueWriter};
use shm_common::protocol::stream::layout::{DATA, DEFAULT_SEGMENT_SIZE};
use shm_common::protocol::time::spec::SPEC as TIME_SPEC;
use shm_common::protocol::value::read::read as read_value;
use shm_common::session::claim::{Claim, ClaimOptions};
use shm_common::session::find::{Access, Finder};

const PROJ_ID: u8 = 8;
/// The write sizes compared.
const WRITE_SIZES: [usize; 2] = [64, 65536];
/// The value read: 64 bytes.
const VALUE: [u8; 64] = [0x5a; 64];

/// Medians of the three ways: protocol side, Rust facade, C API.
type Three = [f64; 3];

pub(crate) fn capi(opts: &Opts) -> Result<()> {
    let cbench = opts
        .path("c-bench")
        .ok_or("capi: --c-bench PATH is needed")?;
    let secs = opts.num("secs", 1.0);
    let rounds = opts.num("rounds", 3.0) as usize;
    let reads = opts.num("reads", 2e6) as u64;
    let dir = opts.path("key-dir").unwrap_or_else(|| "/dev/shm".into());
    let pins = two_cpus();
    pin(pins.0);
    let dur = Duration::from_secs_f64(secs);
    let stream_key = dir.join("capi-stream");
    println!("### The C API beside the Rust benches\n");
    println!(
        "Each figure three ways, in {rounds} interleaved rounds (medians): the protocol side alone (as `ipcbench stream` and the criterion benches take it), \
         the Rust facade `shm_common::channel`, and the C API of `libshmtools.so` (`shm-c/bench/shmtools_bench.c`, `-O2`). \
         Streams: a ring of {} bytes (the default segment), one write per message for {secs} s, the consumer taking up to 64 KiB per read, \
         producer on CPU {:?} and consumer on CPU {:?}, from the first write until the consumer has every byte. \
         Reads: {reads} in a row on CPU {:?}, of a live writer's segment.\n",
        DEFAULT_SEGMENT_SIZE - DATA,
        pins.0,
        pins.1,
        pins.1
    );
    println!(
        "| figure | protocol side | Rust facade | C API | C / Rust facade | C / protocol side |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for size in WRITE_SIZES {
        let mut runs: [Vec<f64>; 3] = Default::default();
        for _ in 0..rounds {
            let flows = [
                flow(
                    Channel::Ring,
                    size,
                    DEFAULT_SEGMENT_SIZE - DATA,
                    dur,
                    pins.1,
                )?,
                pair(
                    own("produce", &stream_key, size, secs, pins.0),
                    own("consume", &stream_key, 0, 0.0, pins.1),
                )?,
                pair(
                    c(
                        &cbench,
                        pins.0,
                        &[
                            "produce",
                            &path(&stream_key),
                            &size.to_string(),
                            &secs.to_string(),
                        ],
                    ),
                    c(&cbench, pins.1, &["consume", &path(&stream_key)]),
                )?,
            ];
            for (run, f) in runs.iter_mut().zip(flows) {
                run.push(f.writes as f64 / f.secs);
            }
        }
        let [p, f, cc] = runs.map(median_of);
        let row = if size == 64 {
            (
                "ring, 64 B writes (M writes/s)".to_owned(),
                [p, f, cc].map(|x| x / 1e6),
            )
        } else {
            (
                format!("ring, {} KiB writes (MB/s)", size / 1024),
                [p, f, cc].map(|x| x * size as f64 / 1e6),
            )
        };
        print_row(&row.0, row.1, true);
        eprintln!("ipcbench: capi stream with {size}-byte writes done");
    }
    let (time, value) = (
        reads_of_time(&dir.join("capi-time"), &cbench, reads, rounds, pins.1)?,
        reads_of_value(&dir.join("capi-value"), &cbench, reads, rounds, pins.1)?,
    );
    print_row("time record read (ns)", time, false);
    print_row("64-byte value read (ns)", value, false);
    println!();
    Ok(())
}

/// One table row; `higher_is_better` says which way the ratios read.
fn print_row(name: &str, [p, f, c]: Three, higher_is_better: bool) {
    let ratio = |a: f64, b: f64| if higher_is_better { a / b } else { b / a };
    println!(
        "| {name} | {p:.2} | {f:.2} | {c:.2} | {:.2}x | {:.2}x |",
        ratio(c, f),
        ratio(c, p)
    );
}

fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// This harness in the role `role` of the Rust facade (`capi-child`).
fn own(role: &str, key: &Path, size: usize, secs: f64, cpu: Option<usize>) -> Command {
    let mut cmd = Command::new(std::env::current_exe().expect("own executable"));
    cmd.args(["capi-child", role])
        .arg(key)
        .arg(size.to_string())
        .arg(secs.to_string())
        .arg(cpu.map_or("-".to_owned(), |c| c.to_string()));
    cmd
}

/// The C bench program with `args`, pinned to `cpu` by `taskset`.
fn c(cbench: &Path, cpu: Option<usize>, args: &[&str]) -> Command {
    let mut cmd = match cpu {
        Some(cpu) => {
            let mut cmd = Command::new("taskset");
            cmd.args(["-c", &cpu.to_string()]).arg(cbench);
            cmd
        }
        None => Command::new(cbench),
    };
    cmd.args(args);
    cmd
}

/// What `cmd` printed, once it exited successfully.
fn output(cmd: Command) -> Result<Guard> {
    let mut cmd = cmd;
    cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
    Ok(Guard(cmd.spawn().map_err(|e| format!("{cmd:?}: {e}"))?))
}

fn printed(mut child: Guard) -> Result<String> {
    report(&mut child.0)
}

/// A producer and a consumer process: the producer's flow, checked
/// against the bytes the consumer counted.
fn pair(producer: Command, consumer: Command) -> Result<Flow> {
    let consumer = output(consumer)?;
    let producer = output(producer)?;
    let said = printed(producer)?;
    let got: u64 = printed(consumer)?
        .trim()
        .parse()
        .map_err(|_| "consumer's count")?;
    let fields: Vec<&str> = said.split_whitespace().collect();
    let [bytes, writes, secs] = fields[..] else {
        return Err(format!("producer said {said:?}"));
    };
    let flow = Flow {
        bytes: bytes.parse().map_err(|_| "producer's bytes")?,
        writes: writes.parse().map_err(|_| "producer's writes")?,
        secs: secs.parse().map_err(|_| "producer's seconds")?,
    };
    if got != flow.bytes {
        return Err(format!("lost bytes: sent {}, got {got}", flow.bytes));
    }
    Ok(flow)
}

/// `capi-child produce|consume KEY SIZE SECS CPU`: the Rust facade's side,
/// printing as the C program does.
pub(crate) fn capi_child(args: &[String]) -> Result<()> {
    let [role, key, size, secs, cpu] = args else {
        return Err("capi-child: bad arguments".into());
    };
    pin(cpu.parse().ok());
    let e = |e: shm_common::channel::Error| e.to_string();
    if role == "produce" {
        let size: usize = size.parse().map_err(|_| "capi-child: bad size")?;
        let dur = Duration::from_secs_f64(secs.parse().map_err(|_| "capi-child: bad secs")?);
        let mut writer = StreamWriter::open(key, PROJ_ID, 0).map_err(e)?;
        let msg = vec![0x5au8; size];
        let mut writes = 0u64;
        let t0 = Instant::now();
        while !writes.is_multiple_of(256) || t0.elapsed() < dur {
            writer.write_all(&msg).map_err(|e| e.to_string())?;
            writes += 1;
        }
        writer.close().map_err(e)?;
        println!(
            "{} {writes} {:.9}",
            writes * size as u64,
            t0.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    let since = Instant::now();
    let mut reader = loop {
        match StreamReader::open(key, PROJ_ID) {
            Ok(reader) => break reader,
            Err(shm_common::channel::Error::NoWriter { .. }) if since.elapsed() < DEADLINE => {
                std::thread::sleep(Duration::from_micros(100))
            }
            Err(err) => return Err(e(err)),
        }
    };
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        match reader.read(&mut buf).map_err(|e| e.to_string())? {
            0 => break,
            n => total += n as u64,
        }
    }
    println!("{total}");
    Ok(())
}

/// ns per read of the segment of `key`, three ways, in `rounds`
/// interleaved rounds of `n` reads each (on `cpu`): `protocol` reads the
/// segment's view, `facade` the Rust facade's reader, `c` runs the C program.
fn three_reads(
    key: &Path,
    rounds: usize,
    n: u64,
    cpu: Option<usize>,
    mut protocol: impl FnMut(ReadView<'_>) -> Result<()>,
    mut facade: impl FnMut() -> Result<()>,
    c: impl Fn() -> Result<f64>,
) -> Result<Three> {
    let mut finder = Finder::new(key.to_path_buf(), PROJ_ID, Access::ReadOnly);
    let mut runs: [Vec<f64>; 3] = Default::default();
    pin(cpu);
    for _ in 0..rounds {
        let Ok(Ok(segment)) = finder.look() else {
            return Err(format!("capi: no segment for {}", key.display()));
        };
        runs[0].push(per_call(n, || protocol(segment.view()))?);
        runs[1].push(per_call(n, &mut facade)?);
        runs[2].push(c()?);
    }
    Ok(runs.map(median_of))
}

/// ns per call of `read`, `n` calls in a row.
fn per_call(n: u64, mut read: impl FnMut() -> Result<()>) -> Result<f64> {
    let t0 = Instant::now();
    for _ in 0..n {
        std::hint::black_box(read()?);
    }
    Ok(t0.elapsed().as_nanos() as f64 / n as f64)
}

/// The C program's ns per read (`time-read` or `value-read`).
fn c_reads(cbench: &Path, what: &str, key: &Path, n: u64, cpu: Option<usize>) -> Result<f64> {
    let said = printed(output(c(cbench, cpu, &[what, &path(key), &n.to_string()]))?)?;
    said.split_whitespace()
        .next()
        .and_then(|ns| ns.parse().ok())
        .ok_or_else(|| format!("{what} said {said:?}"))
}

/// Reads of a time record that this process publishes (once: a reader
/// copies the same record each time, as the criterion bench's does).
fn reads_of_time(
    key: &Path,
    cbench: &Path,
    n: u64,
    rounds: usize,
    cpu: Option<usize>,
) -> Result<Three> {
    let options = ClaimOptions {
        key_file: key.to_path_buf(),
        proj_id: PROJ_ID,
        size: TIME_SPEC.default_size,
        mode: 0o600,
    };
    let claim = Claim::start(options, TIME_SPEC.adopt).map_err(|e| e.to_string())?;
    let info = WriterInfo {
        interval: Duration::from_secs(1),
        pid: std::process::id(),
        ipc_ns: 0,
        started: Timestamp::now().secs,
    };
    let _publisher = Publisher::new(claim.view(), info, Timestamp::now());
    let mut facade = TimeReader::open(key, PROJ_ID).map_err(|e| e.to_string())?;
    let three = three_reads(
        key,
        rounds,
        n,
        cpu,
        |view| read(view).map(drop).map_err(|e| e.to_string()),
        || facade.read().map(drop).map_err(|e| e.to_string()),
        || c_reads(cbench, "time-read", key, n, cpu),
    );
    claim.finish(true).map_err(|e| e.to_string())?;
    three
}

/// Reads of a 64-byte value that a [`ValueWriter`] in this process holds.
fn reads_of_value(
    key: &Path,
    cbench: &Path,
    n: u64,
    rounds: usize,
    cpu: Option<usize>,
) -> Result<Three> {
    let mut writer = ValueWriter::open(key, PROJ_ID, 0, 0o600).map_err(|e| e.to_string())?;
    writer.publish(&VALUE).map_err(|e| e.to_string())?;
    let mut facade = ValueReader::open(key, PROJ_ID).map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 4096];
    let three = three_reads(
        key,
        rounds,
        n,
        cpu,
        |view| read_value(view).map(drop).map_err(|e| e.to_string()),
        || {
            facade
                .read_into(&mut buf)
                .map(drop)
                .map_err(|e| e.to_string())
        },
        || c_reads(cbench, "value-read", key, n, cpu),
    );
    writer.close().map_err(|e| e.to_string())?;
    three
}
