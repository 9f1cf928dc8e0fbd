//! Liveness never compares another process's clock with this one's: a
//! writer whose timestamps lie far in the past or the future (a clock
//! stepped between two processes, played here by `tests/c/shm_forge.c`,
//! which shifts every timestamp a writer stores while the writer goes on)
//! is followed as long as its heartbeat or sequence keeps changing, and a
//! writer frozen with SIGSTOP is still reported gone within the bound.
//!
//! Before the rule, each forged case failed: the time reader said "no
//! update for 3600s" or "ahead of this clock", `--once` exited 3 on a live
//! value writer, and the stream's consumer exited 7 ("interrupted") at once.

use std::io::Write;
use std::process::Output;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use shm_tests::{bin, c_program, poll_until, Proc, Sandbox, DEADLINE};

const KEY_FILE: &str = "/dev/shm/shm_file";
const HOUR_NS: i64 = 3_600_000_000_000;

/// Shift the timestamp words `shifts` (word index, shift in `unit`) of the
/// key's segment for as long as the returned process runs.
fn forge(sandbox: &Sandbox, unit: &str, shifts: &[(usize, i64)]) -> Proc {
    let forger = Proc::spawn(
        sandbox
            .command(c_program("shm_forge"))
            .arg(KEY_FILE)
            .arg(unit)
            .args(shifts.iter().map(|(w, s)| format!("{w}:{s}"))),
    );
    forger.wait_stdout(|l| l == "forging");
    forger
}

fn once(sandbox: &Sandbox, args: &[&str]) -> Output {
    sandbox
        .command(bin("shm_read"))
        .arg("--once")
        .args(args)
        .output()
        .unwrap()
}

/// Word `index` of the segment, from the bytes the plant helper dumps.
fn word(sandbox: &Sandbox, index: usize) -> i64 {
    let out = sandbox
        .command(c_program("shm_plant"))
        .args(["dump", KEY_FILE])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    i64::from_le_bytes(out.stdout[index * 8..index * 8 + 8].try_into().unwrap())
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

/// Stop `writer` with SIGTERM, end the forger, and check that nothing is
/// left in the sandbox.
fn clean_up(sandbox: &Sandbox, mut writer: Proc, forger: Option<Proc>) {
    drop(forger);
    writer.signal(Signal::SIGTERM);
    assert!(writer.exit().success(), "{:?}", writer.stderr());
    poll_until(DEADLINE, || sandbox.segments().is_empty().then_some(()))
        .expect("no segment left behind");
}

/// Follow `reader` until it printed `n` more lines than `from`.
fn more_lines(reader: &Proc, from: usize, n: usize) {
    reader.wait_lines(from + n);
}

#[test]
fn a_time_writer_whose_records_lie_an_hour_behind_or_seconds_ahead_is_followed() {
    let sandbox = Sandbox::new();
    let writer = sandbox.writer(&["--interval", "200ms"]);
    writer.wait_stderr("segment created");
    let reader = sandbox.reader(&["--interval", "100ms", "--format", "json"]);
    more_lines(&reader, 0, 2);

    // Word 25: the record's seconds. An hour behind: a reader clock
    // stepped forward by an hour.
    let forger = forge(&sandbox, "s", &[(25, -3600)]);
    let secs = word(&sandbox, 25);
    assert!(
        secs < now_ns() / 1_000_000_000 - 3000,
        "the forger shifts the record: {secs}"
    );
    let out = once(&sandbox, &["--format", "json"]);
    assert!(
        out.status.success(),
        "--once on a record an hour behind: {out:?}"
    );
    more_lines(&reader, reader.stdout().len(), 10);
    drop(forger);

    // Five seconds ahead: a reader clock stepped back by five seconds.
    let forger = forge(&sandbox, "s", &[(25, 5)]);
    let out = once(&sandbox, &[]);
    assert!(
        out.status.success(),
        "--once on a record 5 s ahead: {out:?}"
    );
    more_lines(&reader, reader.stdout().len(), 10);
    assert!(
        reader.stderr().is_empty(),
        "the reader never lost the writer: {:?}",
        reader.stderr()
    );
    clean_up(&sandbox, writer, Some(forger));
}

#[test]
fn a_value_writer_whose_heartbeat_lies_an_hour_away_is_live() {
    let sandbox = Sandbox::new();
    let writer = sandbox.writer(&["--value", "steady"]);
    writer.wait_stderr("segment created");
    let reader = sandbox.reader(&["--interval", "100ms", "--format", "raw"]);
    more_lines(&reader, 0, 1);
    for shift in [-HOUR_NS, HOUR_NS] {
        // Word 19: the value's heartbeat.
        let forger = forge(&sandbox, "ns", &[(19, shift)]);
        poll_until(DEADLINE, || {
            ((word(&sandbox, 19) - now_ns()).abs() > HOUR_NS / 2).then_some(())
        })
        .expect("the forger shifts the heartbeat");
        let started = Instant::now();
        let out = once(&sandbox, &["--format", "raw"]);
        println!(
            "--once with the heartbeat shifted by {}h: {:?} in {:?}",
            shift / HOUR_NS,
            out.status.code(),
            started.elapsed()
        );
        assert!(out.status.success(), "shift {shift}: {out:?}");
        assert_eq!(out.stdout, b"steady\n");
        // Longer than the stale bound (3 s), the follower keeps printing.
        let from = reader.stdout().len();
        more_lines(&reader, from, 40);
        drop(forger);
    }
    assert!(
        reader.stderr().is_empty(),
        "the reader never lost the writer: {:?}",
        reader.stderr()
    );
    clean_up(&sandbox, writer, None);
}

#[test]
fn a_stream_whose_heartbeats_lie_an_hour_behind_completes() {
    let sandbox = Sandbox::new();
    let (mut producer, mut input) =
        Proc::spawn_piped(sandbox.command(bin("shm_write")).arg("--stream"));
    producer.wait_stderr("segment created");
    // Words 26 and 34: the producer's and the consumer's heartbeats.
    let forger = forge(&sandbox, "ns", &[(26, -HOUR_NS), (34, -HOUR_NS)]);
    let mut consumer = sandbox.reader(&["--stream"]);
    let started = Instant::now();
    // Paced input, so that the stream lasts several times the 1 s bound.
    let mut n = 0;
    while started.elapsed() < Duration::from_secs(4) {
        writeln!(input, "line {n}").unwrap();
        n += 1;
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(input);
    let (p, c) = (producer.exit(), consumer.exit());
    assert!(
        p.success() && c.success(),
        "producer {p:?} {:?}, consumer {c:?} {:?}",
        producer.stderr(),
        consumer.stderr()
    );
    let expected: Vec<String> = (0..n).map(|i| format!("line {i}")).collect();
    assert_eq!(consumer.stdout(), expected);
    drop(forger);
    poll_until(DEADLINE, || sandbox.segments().is_empty().then_some(()))
        .expect("no segment left behind");
}

#[test]
fn frozen_writers_are_still_reported_gone_within_the_bound() {
    let sandbox = Sandbox::new();
    // The time record: stale after 3 intervals, at least 1 s.
    let writer = sandbox.writer(&["--interval", "200ms"]);
    writer.wait_stderr("segment created");
    let reader = sandbox.reader(&["--interval", "100ms"]);
    more_lines(&reader, 0, 2);
    writer.signal(Signal::SIGSTOP);
    let frozen = Instant::now();
    reader.wait_stderr("no update for");
    let seen = frozen.elapsed();
    println!("time writer frozen: reported after {seen:?}");
    assert!(seen < Duration::from_secs(5), "{seen:?}");
    let out = once(&sandbox, &[]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    writer.signal(Signal::SIGCONT);
    reader.wait_stderr("from a live writer");
    clean_up(&sandbox, writer, None);

    // The value: its heartbeat, stale after 3 s.
    let writer = sandbox.writer(&["--value", "v"]);
    writer.wait_stderr("segment created");
    assert!(once(&sandbox, &[]).status.success());
    writer.signal(Signal::SIGSTOP);
    let frozen = Instant::now();
    poll_until(DEADLINE, || {
        (once(&sandbox, &[]).status.code() == Some(3)).then_some(())
    })
    .expect("the frozen value writer still looks live");
    let seen = frozen.elapsed();
    println!("value writer frozen: --once exit 3 after {seen:?}");
    assert!(seen < Duration::from_secs(8), "{seen:?}");
    writer.signal(Signal::SIGCONT);
    clean_up(&sandbox, writer, None);

    // The stream: the consumer gives up on a frozen producer.
    let (mut producer, mut input) =
        Proc::spawn_piped(sandbox.command(bin("shm_write")).arg("--stream"));
    producer.wait_stderr("segment created");
    let mut consumer = sandbox.reader(&["--stream"]);
    writeln!(input, "before").unwrap();
    consumer.wait_stdout(|l| l == "before");
    producer.signal(Signal::SIGSTOP);
    let frozen = Instant::now();
    let status = consumer.exit();
    let seen = frozen.elapsed();
    println!("stream producer frozen: consumer exit {status:?} after {seen:?}");
    assert_eq!(status.code(), Some(7), "{:?}", consumer.stderr());
    assert!(seen < Duration::from_secs(5), "{seen:?}");
    producer.signal(Signal::SIGCONT);
    drop(input);
    producer.exit();
    poll_until(DEADLINE, || sandbox.segments().is_empty().then_some(()))
        .expect("no segment left behind");
}
