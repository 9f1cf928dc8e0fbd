//! What the value writer makes of its input (`shm_write --stdin`,
//! `--binary`, `--exit-at-eof`) and what `shm_read --format raw` makes of a
//! value, against the real binaries in private IPC namespaces.

use std::fs::File;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use shm_tests::{bin, poll_until, workspace, Proc, Sandbox, DEADLINE};

/// The bytes a segment of 4096 bytes (the default) holds as a value.
const DEFAULT_CAPACITY: usize = 4096 - 256;

/// Run `shm_read --once` with `args` in `sandbox`, bounded.
fn read_once(sandbox: &Sandbox, args: &[&str]) -> Output {
    sandbox
        .command("timeout")
        .arg("20")
        .arg(bin("shm_read"))
        .arg("--once")
        .args(args)
        .output()
        .unwrap()
}

/// The `--size` a refusal's advice names (`use --size N or more`).
fn advised_size(stderr: &str) -> &str {
    stderr
        .split("use --size ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no --size advice in {stderr}"))
}

/// A process group (a shell and everything it starts) whose stdout and
/// stderr go to files, so that waiting for the shell never waits for a
/// process it left running; killed whole when dropped, so that a hung
/// round never outlives its test.
struct Group {
    proc: Proc,
    out: std::path::PathBuf,
    err: std::path::PathBuf,
}

impl Group {
    fn spawn(cmd: &mut Command) -> Self {
        static RUNS: AtomicUsize = AtomicUsize::new(0);
        let run = RUNS.fetch_add(1, Ordering::Relaxed);
        let base = format!("/tmp/shm-value-input-{}-{run}", std::process::id());
        let (out, err) = (format!("{base}.out").into(), format!("{base}.err").into());
        let proc = Proc::spawn_with(
            cmd.process_group(0),
            Stdio::null(),
            Some(Stdio::from(File::create(&out).unwrap())),
            Some(Stdio::from(File::create(&err).unwrap())),
        );
        Self { proc, out, err }
    }

    /// Whether any process of the group is still alive.
    fn alive(&self) -> bool {
        kill(Pid::from_raw(-(self.proc.pid() as i32)), None).is_ok()
    }

    fn stdout(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.out).unwrap_or_default();
        text.lines().map(str::to_owned).collect()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        let _ = kill(Pid::from_raw(-(self.proc.pid() as i32)), Signal::SIGKILL);
        let _ = std::fs::remove_file(&self.out);
        let _ = std::fs::remove_file(&self.err);
    }
}

/// README.md's `--stdin --exit-at-eof` example: its two command lines (the
/// writer's, ending in `&`, and the reader's) and the output the reader's
/// shows.
fn readme_example() -> (String, Vec<String>) {
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    let mut lines = readme
        .lines()
        .skip_while(|l| !l.contains("--exit-at-eof &"));
    let writer = lines
        .next()
        .expect("README.md shows the --exit-at-eof example");
    // The writer's start-up line is shown before the reader's command.
    let reader = lines.find(|l| l.starts_with("$ ")).unwrap();
    let expected: Vec<String> = lines
        .take_while(|l| !l.starts_with("```") && !l.starts_with("$ "))
        .map(str::to_owned)
        .collect();
    let command = |l: &str| l.strip_prefix("$ ").expect("a command line").to_owned();
    (
        format!("{}\n{}\n", command(writer), command(reader)),
        expected,
    )
}

/// Run the README's example `rounds` times, each in its own sandbox; every
/// round's reader must print both lines, and the writer must then exit
/// and leave no segment.
fn exit_at_eof_rounds(rounds: usize) {
    let (script, expected) = readme_example();
    assert_eq!(expected, ["PI is 3.14286", "goodbye"], "{script}");
    let dir = bin("shm_write");
    let path = format!(
        "{}:{}",
        dir.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for round in 1..=rounds {
        let sandbox = Sandbox::new();
        let started = Instant::now();
        let mut group = Group::spawn(
            sandbox
                .command("sh")
                .args(["-c", &script])
                .env("PATH", &path),
        );
        let status = group.proc.wait_exit(DEADLINE);
        let took = started.elapsed();
        assert!(
            status.is_some_and(|s| s.success()),
            "round {round}: the example did not finish within {DEADLINE:?} ({status:?}); stdout {:?}, stderr {}",
            group.stdout(),
            group.stderr()
        );
        assert_eq!(
            group.stdout(),
            expected,
            "round {round}: stderr {}",
            group.stderr()
        );
        // The writer, in the background, exits on its own and cleans up.
        poll_until(DEADLINE, || (!group.alive()).then_some(()))
            .unwrap_or_else(|| panic!("round {round}: the writer still runs"));
        assert!(
            sandbox.segments().is_empty(),
            "round {round}: left {:?}",
            sandbox.segments()
        );
        eprintln!("round {round}: both lines in {took:?}");
    }
}

/// Busy threads, two per core, until dropped.
struct CpuLoad {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl CpuLoad {
    fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let threads = (0..2 * cores)
            .map(|_| {
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || {
                    let mut x = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        x = std::hint::black_box(
                            x.wrapping_mul(6364136223846793005).wrapping_add(1),
                        );
                    }
                })
            })
            .collect();
        Self { stop, threads }
    }
}

impl Drop for CpuLoad {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.threads.drain(..).for_each(|t| t.join().unwrap());
    }
}

#[test]
fn the_readmes_exit_at_eof_example_prints_both_lines_every_time() {
    exit_at_eof_rounds(20);
}

#[test]
fn the_readmes_exit_at_eof_example_prints_both_lines_under_cpu_load() {
    let _load = CpuLoad::start();
    exit_at_eof_rounds(20);
}

/// The writer waits for its readers at the end of input, but never for
/// long: not for a reader that is stopped, nor for one that only polls.
#[test]
fn exit_at_eof_waits_for_no_stuck_reader() {
    for on_change in [true, false] {
        let sandbox = Sandbox::new();
        let (mut writer, mut input) = Proc::spawn_piped(
            sandbox
                .command(bin("shm_write"))
                .args(["--stdin", "--exit-at-eof"]),
        );
        writeln!(input, "first").unwrap();
        writer.wait_stderr("segment created");
        let args: &[&str] = if on_change {
            &["--on-change", "--format", "raw"]
        } else {
            &["--interval", "1h", "--format", "raw"]
        };
        let reader = sandbox.reader(args);
        reader.wait_stdout(|l| l == "first");
        if on_change {
            reader.signal(Signal::SIGSTOP);
        }
        writeln!(input, "last").unwrap();
        let eof = Instant::now();
        drop(input);
        let status = writer.wait_exit(DEADLINE);
        let took = eof.elapsed();
        if on_change {
            reader.signal(Signal::SIGCONT);
        }
        assert!(
            status.is_some_and(|s| s.success()),
            "on-change {on_change}: the writer did not exit 0 within {DEADLINE:?}: {status:?} {:?}",
            writer.stderr()
        );
        assert!(
            took < Duration::from_secs(5),
            "on-change {on_change}: the writer took {took:?} to exit"
        );
        eprintln!("on-change {on_change}: writer exited {took:?} after the end of input");
    }
}

/// Feed `writer` up to `total` bytes of `x` with no newline from another
/// thread; how many bytes it took before closing its input.
fn feed_endless_line(
    mut input: std::process::ChildStdin,
    total: usize,
) -> (Arc<AtomicUsize>, std::thread::JoinHandle<()>) {
    let taken = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&taken);
    let feeder = std::thread::spawn(move || {
        let chunk = vec![b'x'; 64 * 1024];
        let mut sent = 0;
        while sent < total {
            match input.write(&chunk[..chunk.len().min(total - sent)]) {
                Ok(n) => {
                    sent += n;
                    count.store(sent, Ordering::Relaxed);
                }
                Err(_) => return, // The writer closed its input: refused.
            }
        }
    });
    (taken, feeder)
}

#[test]
fn a_line_longer_than_the_segment_is_refused_as_soon_as_it_is() {
    const TOTAL: usize = 48 << 20;
    // A long first line, and a long line after a value was published.
    for first in [None, Some("first")] {
        let sandbox = Sandbox::new();
        let (mut writer, mut input) =
            Proc::spawn_piped(sandbox.command(bin("shm_write")).arg("--stdin"));
        if let Some(first) = first {
            writeln!(input, "{first}").unwrap();
            writer.wait_stderr("segment created");
        }
        let started = Instant::now();
        let (taken, feeder) = feed_endless_line(input, TOTAL);
        let status = writer.wait_exit(DEADLINE);
        let took = started.elapsed();
        let stderr = writer.stderr().join("\n");
        drop(writer); // Kills it if it still runs, which ends the feeder.
        feeder.join().unwrap();
        let taken = taken.load(Ordering::Relaxed);
        assert_eq!(
            status.and_then(|s| s.code()),
            Some(2),
            "first {first:?}: {took:?}, took {taken} bytes: {stderr}"
        );
        assert!(
            taken < 2 << 20,
            "first {first:?}: the writer took {taken} bytes of a line it cannot hold ({took:?})"
        );
        assert!(stderr.contains("use --size "), "{stderr}");
        poll_until(DEADLINE, || sandbox.segments().is_empty().then_some(()))
            .unwrap_or_else(|| panic!("left {:?}", sandbox.segments()));
        eprintln!("first {first:?}: refused in {took:?} after {taken} bytes: {stderr}");
    }
}

/// Resident memory of `pid`, in kB.
fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Wait for `writer` to exit, failing (and killing it, on drop) as soon as
/// it holds more than `max_kb` of memory or runs past `DEADLINE`.
fn exit_within_memory(writer: &mut Proc, max_kb: u64) -> (i32, Duration) {
    let start = Instant::now();
    let mut peak = 0;
    loop {
        if let Some(status) = writer.wait_exit(Duration::ZERO) {
            let code = status.code().expect("killed by a signal");
            return (code, start.elapsed());
        }
        peak = peak.max(rss_kb(writer.pid()).unwrap_or(0));
        assert!(
            peak <= max_kb,
            "the writer holds {peak} kB after {:?}: it reads its input without bound",
            start.elapsed()
        );
        assert!(
            start.elapsed() < DEADLINE,
            "the writer still runs after {DEADLINE:?} ({peak} kB)"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn an_endless_binary_input_is_refused_at_the_segments_capacity() {
    let sandbox = Sandbox::new();
    let mut writer = Proc::spawn_with(
        sandbox
            .command(bin("shm_write"))
            .args(["--stdin", "--binary"]),
        Stdio::from(File::open("/dev/zero").unwrap()),
        None,
        None,
    );
    let (code, took) = exit_within_memory(&mut writer, 64 * 1024);
    let stderr = writer.stderr().join("\n");
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("use --size "), "{stderr}");
    assert!(
        stderr.contains(&format!("{DEFAULT_CAPACITY} bytes")),
        "{stderr}"
    );
    assert!(sandbox.segments().is_empty(), "{:?}", sandbox.segments());
    eprintln!("/dev/zero refused in {took:?}: {stderr}");
}

#[test]
fn a_binary_file_too_large_is_refused_with_a_size_that_then_works() {
    let sandbox = Sandbox::new();
    let blob: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let path = format!("/tmp/shm-value-input-{}", std::process::id());
    std::fs::write(&path, &blob).unwrap();
    let run = |extra: &[&str]| {
        Proc::spawn_with(
            sandbox
                .command(bin("shm_write"))
                .args(["--stdin", "--binary"])
                .args(extra),
            Stdio::from(File::open(&path).unwrap()),
            None,
            None,
        )
    };
    let mut refused = run(&[]);
    let code = refused.exit().code();
    let stderr = refused.stderr().join("\n");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("a value of 10000 bytes"), "{stderr}");
    let size = advised_size(&stderr).to_owned();
    assert!(sandbox.segments().is_empty(), "{:?}", sandbox.segments());

    let writer = run(&["--size", &size]);
    writer.wait_stderr("segment created");
    let out = read_once(&sandbox, &["--format", "json"]);
    let _ = std::fs::remove_file(&path);
    let json = String::from_utf8_lossy(&out.stdout);
    assert!(json.contains("\"bytes\":10000,"), "{json}");
}

#[test]
fn an_empty_stdin_says_so() {
    let sandbox = Sandbox::new();
    for extra in [&[][..], &["--exit-at-eof"][..]] {
        let out = sandbox
            .command(bin("shm_write"))
            .arg("--stdin")
            .args(extra)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{extra:?}: {stderr}");
        assert!(
            stderr.contains("standard input was empty"),
            "{extra:?}: {stderr:?}"
        );
        assert!(stderr.contains("no segment"), "{extra:?}: {stderr}");
        assert!(sandbox.segments().is_empty(), "{:?}", sandbox.segments());
    }
}

#[test]
fn raw_output_is_the_values_exact_bytes() {
    let sandbox = Sandbox::new();
    let blob: &[u8] = &[0xff, 0xfe, 0, b'a', 0xc3, 0x28, b'\n', 0x80];
    let (writer, mut input) = Proc::spawn_piped(
        sandbox
            .command(bin("shm_write"))
            .args(["--stdin", "--binary"]),
    );
    input.write_all(blob).unwrap();
    drop(input);
    writer.wait_stderr("segment created");
    let out = read_once(&sandbox, &["--format", "raw"]);
    assert!(out.status.success(), "{out:?}");
    let mut expected = blob.to_vec();
    expected.push(b'\n');
    assert_eq!(out.stdout, expected);

    // The text formats still print it as text.
    let out = read_once(&sandbox, &["--format", "c"]);
    assert!(out.status.success(), "{out:?}");
    assert!(out.stdout.starts_with(b"now time: "), "{out:?}");
}
