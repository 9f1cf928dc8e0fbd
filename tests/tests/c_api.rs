//! libshmtools (the C binding) against the real binaries, in private IPC
//! namespaces: values, streams and the time record in every direction,
//! binary bytes (NUL, invalid UTF-8) kept exactly, and each failure told
//! through errno and shm_last_error(). The C program is
//! `tests/c/shmtools_check.c`, built with pkg-config against the library
//! `scripts/build-c` installs, linked dynamically and statically.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use shm_tests::shmtools::{self, check_program, Link};
use shm_tests::{bin, noise, poll_until, Proc, Sandbox, TempDir, DEADLINE};

/// A value with a NUL, bytes that are not UTF-8, and a newline.
const BINARY: &[u8] = b"a\0b\xff\xfec\n";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The C program, linked as `link`, with `args`, in the sandbox.
fn c_check(sandbox: &Sandbox, link: Link, args: &[&str]) -> Command {
    let mut cmd = shmtools::command(sandbox, &check_program(link));
    cmd.args(args);
    cmd
}

/// `shm_read ARGS` in the sandbox, run to its end.
fn shm_read(sandbox: &Sandbox, args: &[&str]) -> Output {
    sandbox
        .command(bin("shm_read"))
        .args(args)
        .output()
        .unwrap()
}

/// Every segment of the sandbox is gone (removed by its writer or reader).
fn no_segment_left(sandbox: &Sandbox) {
    poll_until(DEADLINE, || sandbox.segments().is_empty().then_some(()))
        .unwrap_or_else(|| panic!("left behind: {:?}", sandbox.segments()));
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn the_static_build_needs_no_shared_library_and_the_dynamic_one_does() {
    let needed = |link| {
        let out = Command::new("readelf")
            .arg("-d")
            .arg(check_program(link))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).contains("libshmtools.so")
    };
    assert!(needed(Link::Dynamic));
    assert!(!needed(Link::Static));
}

#[test]
fn a_binary_value_from_shm_write_reaches_the_c_reader_whole_or_asks_for_room() {
    let sandbox = Sandbox::new();
    let (writer, mut input) = Proc::spawn_piped(
        sandbox
            .command(bin("shm_write"))
            .args(["--stdin", "--binary"]),
    );
    input.write_all(BINARY).unwrap();
    drop(input);
    writer.wait_stderr("segment created");
    for link in [Link::Dynamic, Link::Static] {
        let out = c_check(&sandbox, link, &["value-read", "64"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{link:?}: {}", stderr(&out));
        assert_eq!(String::from_utf8_lossy(&out.stdout), hex(BINARY) + "\n");
        // One byte short: an error that names the size, never a truncation.
        let out = c_check(&sandbox, link, &["value-read", "6"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3), "{link:?}: {}", stderr(&out));
        assert!(out.stdout.is_empty());
        let err = stderr(&out);
        assert!(
            err.contains("needed=7\n")
                && err.contains("errno=90:")
                && err.contains("pass a buffer of at least 7 bytes"),
            "{err}"
        );
    }
}

#[test]
fn a_c_writer_is_read_by_shm_read_byte_for_byte_and_removes_its_segment_on_close() {
    let sandbox = Sandbox::new();
    let (mut writer, input) = Proc::spawn_piped(&mut c_check(
        &sandbox,
        Link::Static,
        &["value-write", &hex(BINARY)],
    ));
    writer.wait_stdout(|l| l == "published");
    let raw = shm_read(&sandbox, &["--once", "--format", "raw"]);
    assert!(raw.status.success(), "{}", stderr(&raw));
    assert_eq!(raw.stdout, [BINARY, b"\n"].concat());
    let json = shm_read(&sandbox, &["--once", "--format", "json"]);
    let json = String::from_utf8_lossy(&json.stdout);
    // base64 of a\0b\xff\xfec\n, and marked binary (not valid UTF-8).
    assert!(json.contains(r#""value_base64":"YQBi//5jCg==""#), "{json}");
    // Its heartbeat thread keeps it live while the program does nothing:
    // idle for longer than a reader's 3 s bound, it is still read as live.
    std::thread::sleep(Duration::from_millis(3500));
    let idle = shm_read(&sandbox, &["--once", "--format", "raw"]);
    assert!(idle.status.success(), "{}", stderr(&idle));
    drop(input);
    assert!(writer.exit().success(), "{:?}", writer.stderr());
    no_segment_left(&sandbox);
}

#[test]
fn a_c_writer_whose_segment_is_removed_with_ipcrm_makes_a_new_one_with_its_value() {
    let sandbox = Sandbox::new();
    let (mut writer, input) = Proc::spawn_piped(&mut c_check(
        &sandbox,
        Link::Static,
        &["value-write", &hex(b"still here")],
    ));
    writer.wait_stdout(|l| l == "published");
    let segments = sandbox.segments();
    let [first] = &segments[..] else {
        panic!("{segments:?}")
    };
    assert!(sandbox
        .sh(&format!("ipcrm -m {}", first.shmid))
        .status
        .success());
    // Its heartbeat thread notices within a beat and makes a new segment
    // holding the same value.
    let second = poll_until(DEADLINE, || {
        let segments = sandbox.segments();
        match segments[..] {
            [ref s] if s.shmid != first.shmid => Some(s.shmid),
            _ => None,
        }
    })
    .expect("a new segment");
    let raw = shm_read(&sandbox, &["--once", "--format", "raw"]);
    assert!(raw.status.success(), "{}", stderr(&raw));
    assert_eq!(raw.stdout, b"still here\n");
    drop(input);
    assert!(writer.exit().success(), "{:?}", writer.stderr());
    assert_ne!(second, first.shmid);
    no_segment_left(&sandbox);
}

#[test]
fn a_c_writer_closing_at_once_hands_its_last_value_to_an_on_change_reader() {
    let sandbox = Sandbox::new();
    for round in 0..5 {
        let last = format!("last {round}");
        let (mut writer, input) = Proc::spawn_piped(&mut c_check(
            &sandbox,
            Link::Dynamic,
            &["value-write", &hex(b"first"), &hex(last.as_bytes())],
        ));
        writer.wait_stdout(|l| l == "published");
        let mut reader = sandbox.reader(&["--on-change", "--format", "raw", "--count", "2"]);
        // Asleep on the first value, the reader must get the last, published
        // right before the writer closes, and print it.
        reader.wait_stdout(|l| l == "first");
        drop(input);
        assert!(writer.exit().success(), "{:?}", writer.stderr());
        assert!(reader.exit().success(), "{:?}", reader.stderr());
        assert_eq!(reader.stdout(), ["first", last.as_str()]);
        no_segment_left(&sandbox);
    }
}

#[test]
fn a_c_reader_waits_for_each_change_and_a_timeout_is_etimedout() {
    let sandbox = Sandbox::new();
    let (writer, mut input) = Proc::spawn_piped(sandbox.command(bin("shm_write")).arg("--stdin"));
    input.write_all(b"one\n").unwrap();
    writer.wait_stderr("segment created");
    let waiter = Proc::spawn(&mut c_check(
        &sandbox,
        Link::Dynamic,
        &["value-wait", "2", "20000"],
    ));
    waiter.wait_stdout(|l| l == hex(b"one"));
    input.write_all(b"two\n").unwrap();
    waiter.wait_stdout(|l| l == hex(b"two"));
    // The latest is returned at once, then nothing changes for 300 ms.
    let started = Instant::now();
    let out = c_check(&sandbox, Link::Dynamic, &["value-wait", "2", "300"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(String::from_utf8_lossy(&out.stdout), hex(b"two") + "\n");
    let err = stderr(&out);
    assert!(
        err.contains("errno=110:") && err.contains("within the timeout"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn a_stream_goes_from_shm_write_to_c_and_from_c_to_shm_read_exactly() {
    let sandbox = Sandbox::new();
    let dir = TempDir::new("c-stream");
    let input = dir.0.join("input");
    let sent = noise(3 << 20, 7);
    std::fs::write(&input, &sent).unwrap();

    let file = |path| Stdio::from(std::fs::File::open(path).unwrap());
    let mut producer = Proc::spawn_with(
        sandbox.command(bin("shm_write")).arg("--stream"),
        file(&input),
        None,
        None,
    );
    let out = c_check(&sandbox, Link::Static, &["stream-read"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        out.stdout == sent,
        "the C consumer got {} other bytes: {}",
        out.stdout.len(),
        stderr(&out)
    );
    assert!(producer.exit().success(), "{:?}", producer.stderr());

    // A 4 KiB ring: the C producer wraps it hundreds of times.
    let mut c_producer = Proc::spawn_with(
        &mut c_check(&sandbox, Link::Dynamic, &["stream-write", "4096"]),
        file(&input),
        None,
        None,
    );
    // shm_read waits for the producer (up to its --timeout).
    let got = shm_read(&sandbox, &["--stream", "--timeout", "20s"]);
    assert!(got.status.success(), "{}", stderr(&got));
    assert!(got.stdout == sent, "shm_read got other bytes");
    assert!(c_producer.exit().success(), "{:?}", c_producer.stderr());
    no_segment_left(&sandbox);
}

#[test]
fn a_producer_stopped_mid_stream_is_a_broken_stream_to_the_c_reader_after_an_exact_prefix() {
    let sandbox = Sandbox::new();
    let (producer, mut input) =
        Proc::spawn_piped(sandbox.command(bin("shm_write")).arg("--stream"));
    producer.wait_stderr("segment created");
    let sent: String = (0..2000).map(|i| format!("{i:x}\n")).collect();
    input.write_all(sent.as_bytes()).unwrap();
    let mut consumer = Proc::spawn(&mut c_check(&sandbox, Link::Static, &["stream-read"]));
    consumer.wait_stdout(|l| l == "7cf");
    producer.signal(Signal::SIGTERM);
    assert_eq!(consumer.exit().code(), Some(3));
    let err = consumer.stderr().join("\n");
    assert!(
        err.contains("errno=32:") && err.contains("the producer stopped before the end"),
        "{err}"
    );
    let out: String = consumer.stdout().iter().map(|l| format!("{l}\n")).collect();
    assert_eq!(out, sent, "every committed byte arrives before the error");
}

#[test]
fn a_consumer_killed_mid_stream_is_a_broken_stream_to_the_c_producer() {
    let sandbox = Sandbox::new();
    // A 4 KiB ring, fed from a pipe the test holds: the producer blocks on
    // the full ring once the consumer is gone.
    let (mut producer, mut input) = Proc::spawn_piped(&mut c_check(
        &sandbox,
        Link::Dynamic,
        &["stream-write", "4096"],
    ));
    let mut consumer = sandbox.reader(&["--stream"]);
    input.write_all(b"before\n").unwrap();
    consumer.wait_stdout(|l| l == "before");
    consumer.signal(Signal::SIGKILL);
    consumer.exit();
    let more = noise(1 << 20, 9);
    // The producer fails while this is still unread; its pipe then closes.
    let _ = input.write_all(&more);
    drop(input);
    assert_eq!(producer.exit().code(), Some(3), "{:?}", producer.stderr());
    let err = producer.stderr().join("\n");
    assert!(
        err.contains("errno=32:")
            && err.contains("the consumer stopped responding (killed, or frozen)"),
        "{err}"
    );
    no_segment_left(&sandbox);
}

#[test]
fn a_c_producer_waits_for_delivery_in_slices_that_lose_nothing() {
    let sandbox = Sandbox::new();
    let mut producer = Proc::spawn(&mut c_check(
        &sandbox,
        Link::Static,
        &["stream-finish", &hex(BINARY)],
    ));
    // No consumer yet: the first 300 ms slice times out (ETIMEDOUT), and a
    // write after the end is refused (EBADF).
    producer.wait_stdout(|l| l == "timed out");
    let got = shm_read(&sandbox, &["--stream", "--timeout", "20s"]);
    assert!(got.status.success(), "{}", stderr(&got));
    assert_eq!(got.stdout, BINARY);
    assert!(producer.exit().success(), "{:?}", producer.stderr());
    assert_eq!(producer.stdout(), ["timed out", "delivered"]);
    no_segment_left(&sandbox);
}

#[test]
fn the_c_time_read_gives_shm_writes_seconds() {
    let sandbox = Sandbox::new();
    let writer = sandbox.writer(&[]);
    writer.wait_stderr("segment created");
    let out = c_check(&sandbox, Link::Dynamic, &["time-read"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let secs: i64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((now - secs).abs() <= 5, "{secs} vs {now}");
}

#[test]
fn without_a_writer_each_side_says_so_with_errno_and_the_fix() {
    let sandbox = Sandbox::new();
    for args in [&["value-read", "16"][..], &["time-read"]] {
        let out = c_check(&sandbox, Link::Dynamic, args).output().unwrap();
        assert_eq!(out.status.code(), Some(3), "{args:?}");
        let err = stderr(&out);
        assert!(
            err.contains("errno=2:")
                && err
                    .contains("no live writer for /dev/shm/shm_file (the key file does not exist)")
                && err.contains("start a writer on this key_file and proj_id"),
            "{err}"
        );
    }
    // A segment its writer has created and not yet set up: no live writer
    // yet (open again), not a segment of another kind.
    let shmid = shm_tests::plant::plant(&sandbox, "/dev/shm/shm_file", 0o600, &[0; 4096]);
    let out = c_check(&sandbox, Link::Dynamic, &["value-read", "16"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = stderr(&out);
    assert!(
        err.contains("errno=2:") && err.contains("blank: its writer has not set it up yet"),
        "{err}"
    );
    let removed = sandbox
        .command("ipcrm")
        .args(["-m", &shmid.to_string()])
        .status()
        .unwrap();
    assert!(removed.success());
    // A stopped writer is no live writer either.
    let mut writer = sandbox.writer(&["--value", "x"]);
    writer.wait_stderr("segment created");
    writer.signal(Signal::SIGTERM);
    writer.exit();
    let out = c_check(&sandbox, Link::Static, &["value-read", "16"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("errno=2:"), "{}", stderr(&out));
    // A stream writer's key is busy for a value writer: EBUSY.
    let (producer, _input) = Proc::spawn_piped(sandbox.command(bin("shm_write")).arg("--stream"));
    producer.wait_stderr("segment created");
    let out = c_check(&sandbox, Link::Static, &["value-write", "41"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = stderr(&out);
    assert!(
        err.contains("errno=16:") && err.contains("cannot claim /dev/shm/shm_file"),
        "{err}"
    );
}

/// The ```` ```c ```` block of docs/programs.md that starts with
/// `/* NAME: `, written to `dir/NAME`.
fn doc_program(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    let doc = std::fs::read_to_string(shm_tests::workspace().join("docs/programs.md")).unwrap();
    let block = doc
        .split("```c\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap())
        .find(|block| block.starts_with(&format!("/* {name}: ")))
        .unwrap_or_else(|| panic!("no C block for {name} in docs/programs.md"));
    let path = dir.join(name);
    std::fs::write(&path, block).unwrap();
    path
}

#[test]
fn the_c_examples_of_docs_programs_md_build_with_pkg_config_and_run_beside_shm_read() {
    let sandbox = Sandbox::new();
    let dir = TempDir::new("c-docs");
    let dir = &dir.0;
    let [sensor, follow] =
        [("sensor.c", Link::Dynamic), ("follow.c", Link::Static)].map(|(name, link)| {
            let out = dir.join(name.trim_end_matches(".c"));
            shmtools::compile(&doc_program(dir, name), &out, link);
            out
        });
    // The reader first: it waits for the writer.
    let mut follower = Proc::spawn(&mut shmtools::command(&sandbox, &follow));
    let mut on_change = sandbox.reader(&["--on-change", "--format", "raw", "--timeout", "20s"]);
    let mut writer = Proc::spawn(&mut shmtools::command(&sandbox, &sensor));
    assert!(writer.exit().success(), "{:?}", writer.stderr());
    assert!(follower.exit().success(), "{:?}", follower.stderr());
    let readings = ["temperature=21.5", "temperature=22.5", "temperature=23.5"];
    // Each reading once, in order; opened within the microseconds between
    // the writer's open and its first publish, a reader sees the empty
    // value first (programs.md says so).
    let seen: Vec<String> = follower
        .stdout()
        .into_iter()
        .skip_while(String::is_empty)
        .collect();
    assert_eq!(seen, readings, "{:?}", follower.stderr());
    assert!(
        follower.stderr().join("\n").contains("its writer (pid"),
        "{:?}",
        follower.stderr()
    );
    on_change.wait_stdout(|l| l == readings[2]);
    on_change.signal(Signal::SIGTERM);
    on_change.exit();
    let lines: Vec<String> = on_change
        .stdout()
        .into_iter()
        .skip_while(String::is_empty)
        .collect();
    assert_eq!(lines, readings);
    no_segment_left(&sandbox);
}
