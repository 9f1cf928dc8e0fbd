//! `ipcbench stream-tools`: the stream tools as whole processes.
//! `shm_write --stream < FILE` into `shm_read --stream > /dev/null` for
//! several ring sizes against `cat FILE | cat > /dev/null` and against the
//! memory-bandwidth floor (one process `read(2)`ing the same file in chunks
//! of the ring's size and `write(2)`ing them to /dev/null, and the same
//! through `splice(2)` with no copy at all), and the CPU that each side
//! uses while it waits.

#[allow(unused_imports)]
use super::*;

/// Ring sizes (`--size`) the tools are timed with.
const RING_SIZES: [usize; 5] = [16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20];
/// How long each waiting side is watched.
const IDLE: Duration = Duration::from_secs(3);

pub(crate) fn stream_tools(opts: &Opts) -> Result<()> {
    if !in_private_ipc_namespace() {
        return Err("stream-tools runs real writers: start it through scripts/bench (a private IPC namespace and /dev/shm)".into());
    }
    let bin = opts
        .path("bin-dir")
        .ok_or("--bin-dir DIR (shm_write, shm_read) is required")?;
    let dir = opts
        .path("out")
        .ok_or("--out DIR (for the input file) is required")?;
    let mib = opts.num("mib", 1024.0) as usize;
    let runs = opts.num("runs", 5.0) as usize;
    let input = dir.join("stream-input");
    write_input(&input, mib)?;
    let key = PathBuf::from("/dev/shm/stream_bench_key");
    let (write, read) = (bin.join("shm_write"), bin.join("shm_read"));

    println!("### Streams: the tools against `cat | cat`\n");
    println!(
        "{mib} MiB of pseudo-random bytes from a file in the page cache to /dev/null; wall time from starting the reading side until both processes have exited; median of {runs} interleaved runs.\n"
    );
    let mut cat = Vec::new();
    let mut spliced = Vec::new();
    let mut ours: Vec<Vec<f64>> = vec![Vec::new(); RING_SIZES.len()];
    let mut floors: Vec<Vec<f64>> = vec![Vec::new(); RING_SIZES.len()];
    for r in 0..runs {
        cat.push(cat_pipe(&input)?);
        spliced.push(splice_floor(&input)?);
        for (i, size) in RING_SIZES.iter().enumerate() {
            floors[i].push(copy_floor(&input, *size)?);
            ours[i].push(tools(&write, &read, &key, &input, *size)?);
        }
        eprintln!("ipcbench: stream tools run {}/{runs} done", r + 1);
    }
    let bytes = (mib << 20) as f64;
    let cat_rate = bytes / median_of(cat);
    let floor_rates: Vec<f64> = floors.into_iter().map(|t| bytes / median_of(t)).collect();
    println!("| command | ring or chunk | MB/s | vs `cat \\| cat` | vs the floor (same chunk) |");
    println!("|---|---:|---:|---:|---:|");
    println!(
        "| `cat FILE \\| cat > /dev/null` | (64 KiB pipe) | {:.0} | 1.00x | {:.2}x |",
        cat_rate / 1e6,
        cat_rate / floor_rates[1]
    );
    let splice_rate = bytes / median_of(spliced);
    println!(
        "| floor, no copy: `splice(2)` FILE -> pipe -> /dev/null, one process | 64 KiB pipe | {:.0} | {:.2}x | |",
        splice_rate / 1e6,
        splice_rate / cat_rate
    );
    for (size, rate) in RING_SIZES.iter().zip(&floor_rates) {
        println!(
            "| floor: `read(2)` FILE, `write(2)` /dev/null, one process | {} KiB | {:.0} | {:.2}x | 1.00x |",
            size / 1024,
            rate / 1e6,
            rate / cat_rate
        );
    }
    let mut smallest = None;
    for ((size, times), floor) in RING_SIZES.iter().zip(ours).zip(&floor_rates) {
        let rate = bytes / median_of(times);
        if smallest.is_none() && rate >= 1.5 * cat_rate {
            smallest = Some(*size);
        }
        println!(
            "| `shm_write --stream --size {}` into `shm_read --stream` | {} KiB | {:.0} | {:.2}x | {:.2}x |",
            size,
            size / 1024,
            rate / 1e6,
            rate / cat_rate,
            rate / floor
        );
    }
    println!(
        "\nTarget: the tools move at least 1.5x what `cat | cat` moves: smallest ring that does: {}. \
         The floor is one process making the one copy the tools make (page cache to memory), with no second process, no ring and no cache line crossing cores; `splice` makes no copy at all.\n",
        smallest.map_or("none (MISSED)".to_owned(), |s| format!("{} KiB", s / 1024))
    );
    idle(&write, &read, &key)
}

/// Seconds for one process to copy `input` from the page cache to
/// /dev/null through a buffer of `chunk` bytes: what moving these bytes
/// costs with no second process and no ring (one copy, as the tools make).
fn copy_floor(input: &Path, chunk: usize) -> Result<f64> {
    let mut buf = vec![0u8; chunk];
    let start = Instant::now();
    let mut file = File::open(input).map_err(|e| e.to_string())?;
    let mut null = File::create("/dev/null").map_err(|e| e.to_string())?;
    loop {
        let n = file.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        null.write_all(&buf[..n]).map_err(|e| e.to_string())?;
    }
    Ok(start.elapsed().as_secs_f64())
}

/// Seconds for one process to move `input` to /dev/null with `splice(2)`
/// through a pipe: page references, no copy of the bytes at all.
fn splice_floor(input: &Path) -> Result<f64> {
    use nix::fcntl::{splice, SpliceFFlags};
    let start = Instant::now();
    let file = File::open(input).map_err(|e| e.to_string())?;
    let null = File::create("/dev/null").map_err(|e| e.to_string())?;
    let (rx, tx) = std::io::pipe().map_err(|e| e.to_string())?;
    loop {
        let n = splice(
            &file,
            None,
            &tx,
            None,
            64 << 10,
            SpliceFFlags::SPLICE_F_MOVE,
        )
        .map_err(|e| format!("splice from the file: {e}"))?;
        if n == 0 {
            break;
        }
        let mut left = n;
        while left > 0 {
            left -= splice(&rx, None, &null, None, left, SpliceFFlags::SPLICE_F_MOVE)
                .map_err(|e| format!("splice to /dev/null: {e}"))?;
        }
    }
    Ok(start.elapsed().as_secs_f64())
}

/// `mib` MiB of xorshift bytes (made once; the page cache keeps them).
fn write_input(path: &Path, mib: usize) -> Result<()> {
    if std::fs::metadata(path).is_ok_and(|m| m.len() == (mib << 20) as u64) {
        return Ok(());
    }
    let mut file = std::io::BufWriter::new(File::create(path).map_err(|e| e.to_string())?);
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut block = vec![0u8; 1 << 20];
    for _ in 0..mib {
        for chunk in block.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk.copy_from_slice(&x.to_le_bytes());
        }
        file.write_all(&block).map_err(|e| e.to_string())?;
    }
    file.flush().map_err(|e| e.to_string())
}

fn spawn(cmd: &mut Command) -> Result<Guard> {
    cmd.spawn().map(Guard).map_err(|e| format!("{cmd:?}: {e}"))
}

/// Seconds of `cat FILE | cat > /dev/null`.
fn cat_pipe(input: &Path) -> Result<f64> {
    let start = Instant::now();
    let mut first = Command::new("cat")
        .arg(input)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let pipe = first.stdout.take().expect("piped");
    let first = Guard(first);
    let second = spawn(Command::new("cat").stdin(pipe).stdout(Stdio::null()))?;
    first.finish("cat FILE")?;
    second.finish("cat > /dev/null")?;
    Ok(start.elapsed().as_secs_f64())
}

/// Seconds of the stream tools with a ring of `size` bytes: the producer
/// starts first and fills its ring; the clock starts with the consumer.
fn tools(write: &Path, read: &Path, key: &Path, input: &Path, size: usize) -> Result<f64> {
    let producer = Program::start({
        let mut c = Command::new(write);
        c.arg("--stream")
            .arg("--size")
            .arg(size.to_string())
            .arg("--key-file")
            .arg(key)
            .stdin(File::open(input).map_err(|e| e.to_string())?);
        c
    })?;
    producer.wait_stderr("segment created")?;
    let start = Instant::now();
    let consumer = spawn(
        Command::new(read)
            .arg("--stream")
            .arg("--key-file")
            .arg(key)
            .stdout(Stdio::null()),
    )?;
    consumer.finish("shm_read --stream")?;
    producer.finish("shm_write --stream")?;
    Ok(start.elapsed().as_secs_f64())
}

/// CPU used per second of wall time by each side while it waits.
fn idle(write: &Path, read: &Path, key: &Path) -> Result<()> {
    println!("| waiting side | CPU µs per s |");
    println!("|---|---:|");
    let producer = |stdin: Stdio| {
        let mut c = Command::new(write);
        c.args(["--stream", "--key-file"]).arg(key).stdin(stdin);
        c
    };
    let consumer = || {
        let mut c = Command::new(read);
        c.args(["--stream", "--key-file"]).arg(key);
        c
    };
    // A consumer with no producer yet.
    let lone = Program::start(consumer())?;
    let lone_cpu = cpu_per_sec(&[lone.pid()])?;
    lone.stop()?;
    // Both sides attached, the producer waiting for input that does not come.
    let (quiet, _keep_open) = std::io::pipe().map_err(|e| e.to_string())?;
    let p = Program::start(producer(Stdio::from(quiet)))?;
    p.wait_stderr("segment created")?;
    let c = Program::start(consumer())?;
    wait_attached(key)?;
    let both = cpu_per_sec(&[p.pid(), c.pid()])?;
    p.stop()?;
    c.stop()?;
    // A producer whose ring is full, with no consumer.
    let full = Program::start(producer(Stdio::from(
        File::open("/dev/zero").map_err(|e| e.to_string())?,
    )))?;
    full.wait_stderr("segment created")?;
    let full_cpu = cpu_per_sec(&[full.pid()])?;
    full.stop()?;
    let rows = [
        (
            "consumer, no producer yet (`shm_read --stream`)",
            lone_cpu[0],
        ),
        ("producer, attached, no input coming", both[0]),
        ("consumer, attached, ring empty", both[1]),
        ("producer, ring full, no consumer", full_cpu[0]),
    ];
    for (name, us) in rows {
        println!("| {name} | {us:.0} |");
    }
    let worst = rows.iter().map(|r| r.1).fold(0.0, f64::max);
    println!(
        "\nTarget: a waiting side uses less than 1 ms of CPU per second: at most {worst:.0} µs ({}).\n",
        verdict(worst < 1000.0)
    );
    Ok(())
}

/// Wait until the consumer has attached: the segment's nattch reaches 2.
fn wait_attached(key: &Path) -> Result<()> {
    let start = Instant::now();
    loop {
        let table = TableEntry::all().map_err(|e| e.to_string())?;
        if table.iter().any(|segment| segment.nattch == 2) {
            return Ok(());
        }
        if start.elapsed() > DEADLINE {
            return Err(format!("no consumer attached to {}", key.display()));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// CPU µs per second of each of `pids` over [`IDLE`], after a second to settle.
fn cpu_per_sec(pids: &[i32]) -> Result<Vec<f64>> {
    std::thread::sleep(Duration::from_secs(1));
    let before: Vec<u64> = pids
        .iter()
        .map(|&p| proc_usage(p).map(|u| u.0))
        .collect::<Result<_>>()?;
    let start = Instant::now();
    std::thread::sleep(IDLE);
    let wall = start.elapsed().as_secs_f64();
    pids.iter()
        .zip(before)
        .map(|(&p, b)| Ok(proc_usage(p)?.0.saturating_sub(b) as f64 / 1e3 / wall))
        .collect()
}
