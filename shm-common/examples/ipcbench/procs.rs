//! `ipcbench procs`: the tools as whole processes against the C originals:
//! start-up time, peak memory, CPU of a 1 Hz pair.

#[allow(unused_imports)]
use super::*;

/// A spawned program whose stderr lines arrive on a channel; killed on drop.
pub(crate) struct Program {
    guard: Guard,
    stderr: mpsc::Receiver<String>,
    stdout_lines: std::sync::Arc<AtomicU64>,
}

impl Program {
    pub(crate) fn start(mut cmd: Command) -> Result<Self> {
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

    pub(crate) fn pid(&self) -> i32 {
        self.guard.0.id() as i32
    }

    pub(crate) fn wait_stderr(&self, text: &str) -> Result<()> {
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

    pub(crate) fn wait_stdout_lines(&self, n: u64) -> Result<()> {
        let start = Instant::now();
        while self.stdout_lines.load(Ordering::Relaxed) < n {
            if start.elapsed() > DEADLINE {
                return Err(format!("pid {} printed fewer than {n} lines", self.pid()));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }

    /// Wait for it to exit by itself, successfully; a failure carries
    /// what it printed on stderr.
    pub(crate) fn finish(self, what: &str) -> Result<()> {
        self.guard.finish(what).map_err(|e| {
            let said: Vec<String> = self.stderr.try_iter().collect();
            format!("{e}; it said: {}", said.join(" / "))
        })
    }

    pub(crate) fn stop(mut self) -> Result<ExitStatus> {
        let _ = kill(Pid::from_raw(self.pid()), Signal::SIGTERM);
        wait_deadline(&mut self.guard.0)
    }
}

/// CPU time (ns, from the schedstat of each of its threads) and peak and
/// current RSS (kB).
pub(crate) fn proc_usage(pid: i32) -> Result<(u64, u64, u64)> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).map_err(|e| e.to_string())?;
    let mut cpu_ns = 0u64;
    for task in tasks {
        let path = task.map_err(|e| e.to_string())?.path().join("schedstat");
        // A thread that ended meanwhile took its time with it.
        let Ok(sched) = std::fs::read_to_string(&path) else {
            continue;
        };
        cpu_ns += sched
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or("unreadable schedstat")?;
    }
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
pub(crate) fn time_run(prog: &Path, args: &[&str]) -> Result<u64> {
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
pub(crate) fn peak_rss_kb(prog: &Path, args: &[&str]) -> Option<u64> {
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

pub(crate) fn in_private_ipc_namespace() -> bool {
    let ns = |p: &str| std::fs::read_link(p).ok();
    ns("/proc/self/ns/ipc") != ns("/proc/1/ns/ipc")
}

pub(crate) fn procs(opts: &Opts) -> Result<()> {
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
pub(crate) fn pair(
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
        let cpu_ms = cpu.saturating_sub(before) as f64 / 1e6;
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
