//! Load: 64 readers as fast as they go against a writer as fast as it goes.
//! No reader may see a torn record or a sequence going backwards, and the
//! writer must keep more than half its publish rate.
//!
//! This machine class has two cores. 64 busy readers at normal priority
//! would take 64/65 of the CPU from the writer, which measures the
//! scheduler, not the protocol; so the asserted run puts the readers in
//! SCHED_IDLE (`chrt --idle 0`): they get every cycle the writer leaves,
//! still read the writer's cache line concurrently from the other core,
//! and the writer's rate then shows what the readers cost it through shared
//! memory alone. The ignored test below measures the normal-priority case
//! for docs/reliability.md. The threads that check the readers' output run
//! in SCHED_IDLE too (at normal priority they alone cost the writer a third
//! of its rate).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use shm_tests::plant::{read_once, JsonReading};
use shm_tests::{bin, poll_until, Sandbox, DEADLINE};

const KEY_FILE: &str = "/dev/shm/load";
const READERS: usize = 64;
const LOAD_WINDOW: Duration = Duration::from_secs(10);
const BASELINE_WINDOW: Duration = Duration::from_secs(3);

/// What one reader's output showed.
#[derive(Debug, Default, Clone)]
struct Stats {
    lines: u64,
    first_seq: Option<u64>,
    last: Option<JsonReading>,
    /// Torn or backwards readings, as text (the first few).
    violations: Vec<String>,
    violation_count: u64,
}

impl Stats {
    fn check(&mut self, line: &str) {
        self.lines += 1;
        let Some(r) = JsonReading::parse(line) else {
            self.violate(format!("unparsable line {line:?}"));
            return;
        };
        let Some(seq) = r.seq else {
            self.violate(format!("no sequence: {line}"));
            return;
        };
        if seq % 2 == 1 {
            self.violate(format!("odd sequence printed: {line}"));
        }
        self.first_seq.get_or_insert(seq);
        if let Some(last) = self.last {
            let (last_seq, time, last_time) = (
                last.seq.unwrap(),
                (r.secs, r.nanos),
                (last.secs, last.nanos),
            );
            if seq < last_seq {
                self.violate(format!("sequence went back: {last:?} then {r:?}"));
            } else if seq == last_seq && time != last_time {
                self.violate(format!(
                    "same sequence, other time (torn): {last:?} then {r:?}"
                ));
            } else if seq > last_seq && time < last_time {
                self.violate(format!(
                    "later sequence, earlier time (torn): {last:?} then {r:?}"
                ));
            }
        }
        self.last = Some(r);
    }

    fn violate(&mut self, what: String) {
        self.violation_count += 1;
        if self.violations.len() < 5 {
            self.violations.push(what);
        }
    }
}

/// A reader whose output is checked as it streams (64 readers print far
/// too much to keep), killed on drop.
struct CheckedReader {
    child: Child,
    lines: Arc<AtomicU64>,
    checker: Option<JoinHandle<Stats>>,
    stderr: Option<JoinHandle<Vec<String>>>,
}

/// Put the calling thread in SCHED_IDLE, as the readers are: the checking
/// must not take the writer's CPU either.
fn idle_thread() {
    let tid = nix::unistd::gettid().to_string();
    let status = Command::new("chrt")
        .args(["--idle", "--pid", "0", &tid])
        .status()
        .expect("run chrt");
    assert!(status.success(), "chrt --idle --pid 0 {tid}");
}

impl CheckedReader {
    fn spawn(sandbox: &Sandbox, idle: bool) -> Self {
        let reader = bin("shm_read");
        let mut cmd = if idle {
            let mut cmd = sandbox.command("chrt");
            cmd.args(["--idle", "0"]).arg(reader);
            cmd
        } else {
            sandbox.command(reader)
        };
        let mut child = cmd
            .args([
                "--key-file",
                KEY_FILE,
                "--interval",
                "0",
                "--format",
                "json",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn shm_read");
        let lines = Arc::new(AtomicU64::new(0));
        let mut out = BufReader::with_capacity(1 << 16, child.stdout.take().unwrap());
        let count = Arc::clone(&lines);
        let checker = std::thread::spawn(move || {
            if idle {
                idle_thread();
            }
            let mut stats = Stats::default();
            let mut line = String::new();
            loop {
                line.clear();
                match out.read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                stats.check(line.trim_end());
                count.fetch_add(1, Ordering::Relaxed);
            }
            stats
        });
        let err = BufReader::new(child.stderr.take().unwrap());
        let stderr = std::thread::spawn(move || err.lines().map_while(Result::ok).collect());
        Self {
            child,
            lines,
            checker: Some(checker),
            stderr: Some(stderr),
        }
    }

    fn lines(&self) -> u64 {
        self.lines.load(Ordering::Relaxed)
    }

    /// Kill it and return what its whole output showed.
    fn finish(mut self) -> (Stats, Vec<String>) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let stats = self.checker.take().unwrap().join().unwrap();
        let stderr = self.stderr.take().unwrap().join().unwrap();
        (stats, stderr)
    }
}

impl Drop for CheckedReader {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The writer's publishes per second over `window`, from the sequence.
fn publish_rate(sandbox: &Sandbox, window: Duration) -> f64 {
    let (start, t0) = (
        read_once(sandbox, KEY_FILE).expect("a live writer"),
        Instant::now(),
    );
    std::thread::sleep(window);
    let (end, t1) = (
        read_once(sandbox, KEY_FILE).expect("a live writer"),
        Instant::now(),
    );
    let publishes = (end.seq.unwrap() - start.seq.unwrap()) / 2;
    publishes as f64 / (t1 - t0).as_secs_f64()
}

struct LoadRun {
    alone: f64,
    loaded: f64,
    lines: u64,
    stats: Vec<Stats>,
}

fn load_run(idle_readers: bool) -> LoadRun {
    let sandbox = Sandbox::new();
    let writer = sandbox.writer(&["--key-file", KEY_FILE, "--interval", "0"]);
    writer.wait_stderr(": segment created");
    let alone = publish_rate(&sandbox, BASELINE_WINDOW);

    let readers: Vec<CheckedReader> = (0..READERS)
        .map(|_| CheckedReader::spawn(&sandbox, idle_readers))
        .collect();
    let all_reading = poll_until(DEADLINE, || {
        readers.iter().all(|r| r.lines() > 0).then_some(())
    });
    assert!(
        all_reading.is_some(),
        "not every reader printed within {DEADLINE:?}: {:?}",
        readers.iter().map(|r| r.lines()).collect::<Vec<_>>()
    );
    let loaded = publish_rate(&sandbox, LOAD_WINDOW);
    assert!(writer.stderr().iter().all(|l| !l.contains("panicked")));

    let mut stats = Vec::new();
    let mut lines = 0;
    for (i, reader) in readers.into_iter().enumerate() {
        let (s, stderr) = reader.finish();
        assert!(
            s.violation_count == 0,
            "reader {i}: {} violations, first: {:?}",
            s.violation_count,
            s.violations
        );
        assert!(
            stderr.iter().all(|l| !l.contains("panicked")),
            "reader {i}: {stderr:?}"
        );
        lines += s.lines;
        stats.push(s);
    }
    eprintln!(
        "load ({} readers): writer alone {alone:.0} publishes/s, with readers {loaded:.0}/s ({:.1}%); readers printed {lines} lines, {:.0}/s per reader",
        if idle_readers { "SCHED_IDLE" } else { "nice 0" },
        loaded / alone * 100.0,
        lines as f64 / READERS as f64 / LOAD_WINDOW.as_secs_f64()
    );
    LoadRun {
        alone,
        loaded,
        lines,
        stats,
    }
}

#[test]
fn sixty_four_busy_readers_see_no_torn_record_and_keep_the_writer_above_half_rate() {
    let run = load_run(true);
    assert!(run.lines > 0);
    for (i, s) in run.stats.iter().enumerate() {
        assert!(s.lines > 0, "reader {i} read nothing");
        // Each reader saw the writer advance while it watched.
        assert!(
            s.last.unwrap().seq.unwrap() > s.first_seq.unwrap(),
            "reader {i} saw no progress: {s:?}"
        );
    }
    assert!(
        run.loaded > run.alone / 2.0,
        "the writer's rate fell from {:.0}/s to {:.0}/s under {READERS} readers",
        run.alone,
        run.loaded
    );
}

/// The same run with readers at normal priority: on two cores this measures
/// CPU starvation (each of 65 busy processes gets ~1/32 of a core), so it
/// only reports, for docs/reliability.md. Run with `--ignored --nocapture`.
#[test]
#[ignore = "measurement only: CPU starvation on small machines, not a protocol property"]
fn sixty_four_busy_readers_at_normal_priority_figures() {
    let run = load_run(false);
    assert!(run.stats.iter().all(|s| s.violation_count == 0));
}
