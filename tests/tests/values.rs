//! The latest value of anything (`shm_write --value`/`--stdin`, `shm_read
//! --on-change`), against the real binaries in private IPC namespaces.

use std::io::Write;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use shm_tests::plant::cpu_over;
use shm_tests::{c_program, poll_until, Proc, Sandbox, DEADLINE};

const PI: &str = "PI is defined as: 22/7==3.14286";

/// The `"value"` string of a JSON line (our writer's values have no quotes
/// or escapes in these tests).
fn value_of(json: &str) -> &str {
    let start = json
        .find(r#""value":""#)
        .unwrap_or_else(|| panic!("no value in {json}"))
        + 9;
    let end = start + json[start..].find('"').unwrap();
    &json[start..end]
}

/// A number field of a JSON line.
fn field(json: &str, name: &str) -> u64 {
    let key = format!("\"{name}\":");
    let start = json
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in {json}"))
        + key.len();
    let digits: String = json[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap()
}

fn once(sandbox: &Sandbox, args: &[&str]) -> std::process::Output {
    sandbox
        .command(shm_tests::bin("shm_read"))
        .args(["--once"])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn the_pi_example_end_to_end_with_our_reader_and_the_c_reader() {
    let sandbox = Sandbox::new();
    let (writer, mut input) =
        Proc::spawn_piped(sandbox.command(shm_tests::bin("shm_write")).arg("--stdin"));
    let mut on_change = sandbox.reader(&["--on-change", "--format", "raw", "--count", "2"]);
    writeln!(input, "{PI}").unwrap();
    writer.wait_stderr("segment created");
    on_change.wait_stdout(|l| l == PI);

    let out = once(&sandbox, &[]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("now time: {PI}\n")
    );
    let c_reader = Proc::spawn(&mut sandbox.command(c_program("shm_read")));
    c_reader.wait_stdout(|l| l == format!("now time: {PI}"));

    writeln!(input, "goodbye").unwrap();
    c_reader.wait_stdout(|l| l == "now time: goodbye");
    assert!(on_change.exit().success(), "{:?}", on_change.stderr());
    assert_eq!(
        on_change.stdout(),
        vec![PI.to_owned(), "goodbye".to_owned()]
    );
    let json = once(&sandbox, &["--format", "json"]);
    let json = String::from_utf8_lossy(&json.stdout);
    assert_eq!(value_of(&json), "goodbye");
    assert_eq!(field(&json, "count"), 2, "{json}");
}

#[test]
fn stdin_lines_arrive_in_order_and_an_on_change_reader_misses_none() {
    let sandbox = Sandbox::new();
    let (writer, mut input) =
        Proc::spawn_piped(sandbox.command(shm_tests::bin("shm_write")).arg("--stdin"));
    writeln!(input, "line 0").unwrap();
    writer.wait_stderr("segment created");
    let mut reader = sandbox.reader(&["--on-change", "--format", "json", "--count", "30"]);
    reader.wait_lines(1);
    for i in 1..30 {
        writeln!(input, "line {i}").unwrap();
        // A slow writer: the reader must see each value once, none skipped.
        let want = format!("line {i}");
        reader.wait_stdout(|l| value_of(l) == want);
    }
    assert!(reader.exit().success(), "{:?}", reader.stderr());
    let lines = reader.stdout();
    let values: Vec<&str> = lines.iter().map(|l| value_of(l)).collect();
    let expected: Vec<String> = (0..30).map(|i| format!("line {i}")).collect();
    assert_eq!(values, expected);
    assert!(lines.iter().all(|l| field(l, "skipped") == 0), "{lines:?}");
}

#[test]
fn a_slow_on_change_reader_skips_to_the_newest_and_says_how_many() {
    let sandbox = Sandbox::new();
    let (writer, mut input) =
        Proc::spawn_piped(sandbox.command(shm_tests::bin("shm_write")).arg("--stdin"));
    writeln!(input, "first").unwrap();
    writer.wait_stderr("segment created");
    let reader = sandbox.reader(&["--on-change", "--format", "json"]);
    reader.wait_lines(1);
    // Stop the reader, publish five values, let it go on.
    reader.signal(Signal::SIGSTOP);
    input.write_all(b"v1\nv2\nv3\nv4\nlast\n").unwrap();
    poll_until(DEADLINE, || {
        let out = once(&sandbox, &["--format", "raw"]);
        (String::from_utf8_lossy(&out.stdout) == "last\n").then_some(())
    })
    .expect("the writer published the last value");
    reader.signal(Signal::SIGCONT);
    let line = reader.wait_stdout(|l| value_of(l) == "last");
    assert_eq!(field(&line, "skipped"), 4, "{line}");
    assert_eq!(reader.stdout().len(), 2, "{:?}", reader.stdout());
}

#[test]
fn a_waiting_on_change_reader_uses_next_to_no_cpu_even_at_interval_0() {
    let sandbox = Sandbox::new();
    let writer = sandbox.writer(&["--value", "still"]);
    writer.wait_stderr("segment created");
    let reader = sandbox.reader(&["--on-change", "--interval", "0"]);
    reader.wait_lines(1);
    let cores = cpu_over(reader.pid(), Duration::from_secs(3));
    assert!(cores < 0.02, "the waiting reader used {cores:.3} cores");
    assert_eq!(
        reader.stdout().len(),
        1,
        "an unchanged value was printed again"
    );
}

#[test]
fn on_change_works_for_time_segments_too() {
    let sandbox = Sandbox::new();
    let writer = sandbox.writer(&["--interval", "200ms"]);
    writer.wait_stderr("segment created");
    let mut reader = sandbox.reader(&["--on-change", "--format", "json", "--count", "6"]);
    assert!(reader.exit().success(), "{:?}", reader.stderr());
    let seqs: Vec<u64> = reader.stdout().iter().map(|l| field(l, "seq")).collect();
    assert!(
        seqs.windows(2).all(|w| w[1] > w[0]),
        "each line a new record: {seqs:?}"
    );
}

#[test]
fn a_quiet_writer_stays_live_and_a_killed_one_is_gone_within_seconds() {
    let sandbox = Sandbox::new();
    let writer = sandbox.writer(&["--value", "quiet"]);
    writer.wait_stderr("segment created");
    // Longer than the heartbeat's stale bound (3 s) without a new value.
    std::thread::sleep(Duration::from_secs(5));
    let out = once(&sandbox, &["--format", "raw"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"quiet\n");

    writer.signal(Signal::SIGKILL);
    let killed = Instant::now();
    let gone = poll_until(DEADLINE, || {
        (once(&sandbox, &[]).status.code() == Some(3)).then(|| killed.elapsed())
    })
    .expect("the killed writer still looks live");
    assert!(gone < Duration::from_secs(6), "seen gone after {gone:?}");
}

#[test]
fn an_oversized_value_is_refused_with_a_size_that_then_works() {
    let sandbox = Sandbox::new();
    let big = "x".repeat(5000);
    let out = sandbox
        .command(shm_tests::bin("shm_write"))
        .args(["--value", &big])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let size = stderr
        .split("use --size ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no size advice in {stderr}"));
    assert!(
        sandbox.segments().is_empty(),
        "a refused start left a segment"
    );

    let writer = sandbox.writer(&["--value", &big, "--size", size]);
    writer.wait_stderr("segment created");
    let out = once(&sandbox, &["--format", "raw"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim_end(), big);
}

#[test]
fn a_binary_value_round_trips_byte_for_byte() {
    let sandbox = Sandbox::new();
    let blob: Vec<u8> = (0..=255u8).chain([0, 10, 13, 0xff]).collect();
    let (writer, mut input) = Proc::spawn_piped(
        sandbox
            .command(shm_tests::bin("shm_write"))
            .args(["--stdin", "--binary"]),
    );
    input.write_all(&blob).unwrap();
    drop(input);
    writer.wait_stderr("segment created");
    std::fs::write("/tmp/shm-values-blob", &blob).unwrap();
    let expected = std::process::Command::new("base64")
        .args(["-w0", "/tmp/shm-values-blob"])
        .output()
        .unwrap();
    let _ = std::fs::remove_file("/tmp/shm-values-blob");
    let out = once(&sandbox, &["--format", "json"]);
    let json = String::from_utf8_lossy(&out.stdout);
    let encoded = String::from_utf8_lossy(&expected.stdout);
    assert!(
        json.contains(&format!(r#""value_base64":"{encoded}""#)),
        "{json} does not carry {encoded}"
    );
    assert_eq!(field(&json, "bytes"), blob.len() as u64);
}

#[test]
fn sigterm_stops_a_value_writer_cleanly_and_leaves_nothing() {
    let sandbox = Sandbox::new();
    let mut writer = sandbox.writer(&["--value", "bye"]);
    writer.wait_stderr("segment created");
    let reader = sandbox.reader(&["--interval", "100ms"]);
    reader.wait_stdout(|l| l == "now time: bye");
    writer.signal(Signal::SIGTERM);
    assert!(writer.exit().success(), "{:?}", writer.stderr());
    reader.wait_stderr("stopped cleanly");
    // Removed at once; freed when the reader, which noticed, has detached.
    poll_until(DEADLINE, || sandbox.segments().is_empty().then_some(()))
        .unwrap_or_else(|| panic!("left behind: {:?}", sandbox.segments()));
}

#[test]
fn sigterm_stops_a_stdin_writer_waiting_for_a_line() {
    let sandbox = Sandbox::new();
    // Waiting for its first line: nothing claimed yet.
    let (mut writer, _input) =
        Proc::spawn_piped(sandbox.command(shm_tests::bin("shm_write")).arg("--stdin"));
    poll_until(DEADLINE, || {
        shm_tests::plant::blocks_sigterm(writer.pid()).then_some(())
    })
    .expect("the writer reads stop signals");
    writer.signal(Signal::SIGTERM);
    assert_eq!(writer.exit().code(), Some(0), "{:?}", writer.stderr());

    // Waiting for the next line after publishing one.
    let (mut writer, mut input) =
        Proc::spawn_piped(sandbox.command(shm_tests::bin("shm_write")).arg("--stdin"));
    writeln!(input, "first").unwrap();
    writer.wait_stderr("segment created");
    writer.signal(Signal::SIGTERM);
    assert_eq!(writer.exit().code(), Some(0), "{:?}", writer.stderr());
    writer.wait_stderr("SIGTERM received: stopping");
    assert!(sandbox.segments().is_empty(), "{:?}", sandbox.segments());
}

#[test]
fn a_value_that_does_not_fit_a_segments_whole_words_is_refused_before_claiming() {
    let sandbox = Sandbox::new();
    // 265 bytes are 33 whole words: 8 bytes of value after the header, not 9.
    let out = sandbox
        .command(shm_tests::bin("shm_write"))
        .args(["--value", "123456789", "--size", "265"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("segment created"), "{stderr}");
    assert!(stderr.contains("use --size 272 or more"), "{stderr}");
    let writer = sandbox.writer(&["--value", "123456789", "--size", "272"]);
    writer.wait_stderr("segment created");
    let out = once(&sandbox, &["--format", "raw"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "123456789\n");
}

/// The advice for a segment of another size left by a killed value writer
/// is one that works: its size only when the new value fits it.
#[test]
fn a_size_mismatch_offers_the_old_size_only_when_the_value_fits_it() {
    let sandbox = Sandbox::new();
    let leave_1024 = || {
        let mut writer = sandbox.writer(&["--value", "old", "--size", "1024"]);
        writer.wait_stderr("segment created");
        writer.signal(Signal::SIGKILL);
        writer.exit();
    };
    let refused = |value: &str| {
        let out = sandbox
            .command(shm_tests::bin("shm_write"))
            .args(["--value", value])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(6), "{stderr}");
        assert!(
            stderr.contains("already exists with 1024 bytes"),
            "{stderr}"
        );
        stderr
    };
    // 2000 bytes do not fit 1024: removing it is the fix, not --size 1024.
    leave_1024();
    let big = "x".repeat(2000);
    let stderr = refused(&big);
    assert!(!stderr.contains("--size 1024"), "{stderr}");
    let key = stderr
        .split("ipcrm -M ")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .unwrap_or_else(|| panic!("no ipcrm advice in {stderr}"));
    assert!(sandbox.sh(&format!("ipcrm -M {key}")).status.success());
    let mut writer = sandbox.writer(&["--value", &big]);
    writer.wait_stderr("segment created");
    writer.signal(Signal::SIGKILL);
    writer.exit();
    assert!(sandbox.sh(&format!("ipcrm -M {key}")).status.success());

    // A short value fits: --size 1024 is offered, and taking it reuses it.
    leave_1024();
    let stderr = refused("short");
    assert!(stderr.contains("or pass --size 1024"), "{stderr}");
    let writer = sandbox.writer(&["--value", "short", "--size", "1024"]);
    writer.wait_stderr("segment reused");
}

/// A writer restarted with the same pid (PID 1 of a container restarted in
/// its pod) is a new writer to an `--on-change` reader. Each writer runs as
/// PID 1 of a pid namespace of its own (`unshare --pid --fork`), sharing the
/// sandbox's IPC namespace and `/dev/shm`, so pid, IPC namespace and count
/// are the same for all three: the first stops cleanly (the second makes a
/// new segment), the second is killed (the third adopts its segment). With
/// "new" decided from pid, namespace and count, the reader printed "first"
/// and then nothing, while `--once` read each new value.
#[test]
fn an_on_change_reader_sees_a_restarted_writer_with_the_same_pid() {
    let sandbox = Sandbox::new();
    let mut reader = sandbox.reader(&["--on-change", "--format", "json", "--count", "3"]);
    // As PID 1 of its own pid namespace; when `unshare` dies the writer
    // gets `signal` (stop: SIGTERM; crash: SIGKILL).
    let writer = |value: &str, signal: &str| {
        Proc::spawn(
            sandbox
                .command("unshare")
                .args(["--pid", "--fork", &format!("--kill-child={signal}"), "--"])
                .arg(shm_tests::bin("shm_write"))
                .args(["--value", value]),
        )
    };
    let wait_value = |value: &str| {
        reader.wait_stdout(|l| value_of(l) == value);
    };

    let first = writer("first", "SIGTERM");
    let line = first.wait_stderr("segment created");
    assert_eq!(shm_tests::startup_pid(&line), 1, "{line}");
    wait_value("first");
    first.signal(Signal::SIGKILL);
    poll_until(DEADLINE, || sandbox.segments().is_empty().then_some(()))
        .expect("the first writer, stopped, removes its segment");

    let second = writer("second", "SIGKILL");
    let line = second.wait_stderr("segment created");
    assert_eq!(shm_tests::startup_pid(&line), 1, "{line}");
    let out = once(&sandbox, &["--format", "raw"]);
    assert_eq!(out.stdout, b"second\n", "{out:?}");
    wait_value("second");
    second.signal(Signal::SIGKILL);
    poll_until(DEADLINE, || {
        sandbox
            .segments()
            .iter()
            .all(|s| s.nattch == 1)
            .then_some(())
    })
    .expect("the killed writer detaches");
    // Its successor adopts the segment once the killed writer counts as gone.
    poll_until(DEADLINE, || {
        (once(&sandbox, &[]).status.code() == Some(3)).then_some(())
    })
    .expect("the killed writer is seen gone");

    let third = writer("third", "SIGTERM");
    let line = third.wait_stderr("segment reused");
    assert_eq!(shm_tests::startup_pid(&line), 1, "{line}");
    wait_value("third");
    assert!(reader.exit().success(), "{:?}", reader.stderr());
    let values: Vec<String> = reader
        .stdout()
        .iter()
        .map(|l| value_of(l).to_owned())
        .collect();
    assert_eq!(values, ["first", "second", "third"]);
    third.signal(Signal::SIGKILL);
    poll_until(DEADLINE, || sandbox.segments().is_empty().then_some(()))
        .expect("no segment left behind");
}
