//! A stdout or stderr that fails (a full disk, a stderr pipe whose reader
//! has gone): both tools stop with exit 8 instead of panicking, and a writer
//! still removes its segment. A reader's stdout pipe that closes is the
//! normal end of a pipeline: status 0, quietly. A stdout that blocks (a full pipe nobody
//! reads) does not keep a reader from stopping at SIGTERM.

use std::fs::File;
use std::io::{PipeReader, Read, Write};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use shm_tests::{bin, poll_until, Proc, Sandbox, DEADLINE};

/// `Exit::Output`.
const OUTPUT_FAILED: i32 = 8;

fn dev_full() -> Stdio {
    File::options()
        .write(true)
        .open("/dev/full")
        .unwrap()
        .into()
}

/// A pipe whose reader is gone before anything is written to it.
fn closed_pipe() -> Stdio {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    writer.into()
}

/// Read one byte from `pipe` (within [`DEADLINE`]), then close it, as
/// `| head -c1` does.
fn close_after_one_byte(pipe: PipeReader) {
    let (done, read) = mpsc::channel();
    std::thread::spawn(move || {
        let mut pipe = pipe;
        let mut byte = [0u8];
        let _ = done.send(pipe.read_exact(&mut byte).map(|()| pipe));
    });
    let pipe = read
        .recv_timeout(DEADLINE)
        .expect("nothing written within the deadline")
        .expect("read one byte");
    drop(pipe);
}

/// The checks every tool that lost its output must pass.
fn stopped_on_output(proc: &mut Proc, what: &str) {
    let status = proc.exit();
    let stderr = proc.stderr().join("\n");
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    assert_eq!(status.code(), Some(OUTPUT_FAILED), "{what}: {stderr}");
}

/// The checks a reader whose pipe's reader has gone must pass: that is
/// the normal end of a pipeline, so status 0 and nothing on stderr.
fn ended_quietly(proc: &mut Proc, what: &str) {
    let status = proc.exit();
    let stderr = proc.stderr().join("\n");
    assert_eq!(status.code(), Some(0), "{what}: {stderr}");
    assert!(stderr.is_empty(), "{what}: {stderr}");
}

#[test]
fn readers_stop_with_exit_8_when_stdout_fails_and_quietly_when_the_pipe_closes() {
    let sandbox = Sandbox::new();
    let writer = sandbox.writer(&["--interval", "10ms"]);
    writer.wait_stderr("segment created");
    let reader = |args: &[&str], stdout: Stdio| {
        Proc::spawn_with(
            sandbox.command(bin("shm_read")).args(args),
            Stdio::null(),
            Some(stdout),
            None,
        )
    };
    let modes: [&[&str]; 4] = [
        &["--once"],
        &["--interval", "10ms"],
        &["--on-change"],
        &["--list"],
    ];
    for args in modes {
        let mut proc = reader(args, dev_full());
        stopped_on_output(&mut proc, &format!("{args:?} into /dev/full"));
        proc.wait_stderr("cannot write to stdout");
        let mut proc = reader(args, closed_pipe());
        ended_quietly(&mut proc, &format!("{args:?} into a closed pipe"));
    }
    // `shm_read | head -c1`: the first line goes through, the next finds
    // the pipe closed.
    for args in [&["--interval", "10ms"][..], &["--on-change"]] {
        let (pipe, stdout) = std::io::pipe().unwrap();
        let mut proc = reader(args, stdout.into());
        close_after_one_byte(pipe);
        ended_quietly(&mut proc, &format!("{args:?} | head -c1"));
    }
}

#[test]
fn a_stream_consumer_stops_with_exit_8_when_stdout_fails() {
    let sandbox = Sandbox::new();
    let mut producer = Proc::spawn(sandbox.command("sh").args([
        "-c",
        &format!(
            "head -c 100000 /dev/zero | exec {} --stream",
            bin("shm_write").display()
        ),
    ]));
    let mut consumer = Proc::spawn_with(
        sandbox.command(bin("shm_read")).arg("--stream"),
        Stdio::null(),
        Some(dev_full()),
        None,
    );
    stopped_on_output(&mut consumer, "--stream into /dev/full");
    consumer.wait_stderr("cannot write to stdout after 0 bytes");
    // The producer learns that the stream ended early, and clears up.
    assert_eq!(producer.exit().code(), Some(7), "{:?}", producer.stderr());
    assert!(sandbox.segments().is_empty(), "{:?}", sandbox.segments());
}

/// The writer's modes, and what each needs on stdin.
const WRITERS: [(&str, &[&str], &[u8]); 3] = [
    ("time", &["--interval", "10ms"], b""),
    ("--value", &["--value", "PI is 3.14"], b""),
    ("--stdin", &["--stdin"], b"first line\n"),
];

/// Start a writer of `mode` on `key_file` with stderr sent to `stderr`;
/// its stdin stays open (returned) so that `--stdin` keeps running.
fn writer(
    sandbox: &Sandbox,
    key_file: &str,
    (_, args, input): (&str, &[&str], &[u8]),
    stderr: Stdio,
) -> (Proc, std::io::PipeWriter) {
    let (stdin, mut feed) = std::io::pipe().unwrap();
    feed.write_all(input).unwrap();
    let proc = Proc::spawn_with(
        sandbox
            .command(bin("shm_write"))
            .args(["--key-file", key_file])
            .args(args),
        stdin.into(),
        None,
        Some(stderr),
    );
    (proc, feed)
}

#[test]
fn writers_into_a_full_stderr_remove_their_segment_and_exit_8() {
    let sandbox = Sandbox::new();
    for (i, mode) in WRITERS.into_iter().enumerate() {
        let key_file = format!("/dev/shm/full-{i}");
        // The start-up line fails: the segment just created goes again.
        let (mut proc, _feed) = writer(&sandbox, &key_file, mode, dev_full());
        stopped_on_output(&mut proc, mode.0);
        assert!(
            sandbox.segments().is_empty(),
            "{}: {:?}",
            mode.0,
            sandbox.segments()
        );
    }
}

#[test]
fn writers_whose_stderr_closes_still_stop_cleanly_on_sigterm() {
    let sandbox = Sandbox::new();
    // The stderr pipe is made and read by a shell, never by this process,
    // whose other tests' children could hold its read end open a moment.
    // `head` takes the start-up line and goes; "closed" says nothing reads
    // the pipe any more.
    let script = r#""$0" "$@" 2>&1 >/dev/null | { head -n1; exec 0<&-; echo closed; }
        echo "writer exit ${PIPESTATUS[0]}""#;
    for (i, (mode, args, input)) in WRITERS.into_iter().enumerate() {
        let key_file = format!("/dev/shm/closed-{i}");
        let (mut shell, mut feed) = Proc::spawn_piped(
            sandbox
                .command("bash")
                .args(["-c", script])
                .arg(bin("shm_write"))
                .args(["--key-file", &key_file])
                .args(args),
        );
        feed.write_all(input).unwrap();
        shell.wait_stdout(|l| l == "closed");
        let startup = shell.stdout()[0].clone();
        assert!(startup.contains("segment created"), "{mode}: {startup}");
        assert_eq!(sandbox.segments().len(), 1, "{mode}");
        let pid: i32 = startup
            .split(" pid ")
            .nth(1)
            .and_then(|rest| rest.split(':').next())
            .and_then(|pid| pid.parse().ok())
            .unwrap_or_else(|| panic!("{mode}: no pid in {startup}"));
        // "SIGTERM received" now fails with EPIPE.
        kill(Pid::from_raw(pid), Signal::SIGTERM).unwrap();
        let status = shell.wait_stdout(|l| l.starts_with("writer exit"));
        assert_eq!(
            status,
            format!("writer exit {OUTPUT_FAILED}"),
            "{mode}: {:?}",
            shell.stderr()
        );
        assert!(shell.exit().success());
        assert!(
            sandbox.segments().is_empty(),
            "{mode}: {:?}",
            sandbox.segments()
        );
    }
}

/// Whether process `pid` sleeps in `write(2)` to a full pipe.
fn blocked_on_a_pipe(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/wchan"))
        .is_ok_and(|wchan| wchan.contains("pipe_write"))
}

/// Start `shm_read ARGS` with stdout into a pipe that nobody reads, wait
/// until it blocks on it, send SIGTERM; its exit status and how long it
/// took.
fn stop_while_blocked(sandbox: &Sandbox, args: &[&str]) -> (Option<i32>, Duration) {
    let (unread, stdout) = std::io::pipe().unwrap();
    let mut reader = Proc::spawn_with(
        sandbox.command(bin("shm_read")).args(args),
        Stdio::null(),
        Some(stdout.into()),
        None,
    );
    poll_until(DEADLINE, || blocked_on_a_pipe(reader.pid()).then_some(())).unwrap_or_else(|| {
        panic!(
            "{args:?} never blocked on its stdout; stderr {:?}",
            reader.stderr()
        )
    });
    let sent = Instant::now();
    reader.signal(Signal::SIGTERM);
    let status = reader.wait_exit(Duration::from_secs(5));
    let took = sent.elapsed();
    assert!(
        status.is_some(),
        "{args:?} still runs 5 s after SIGTERM; stderr {:?}",
        reader.stderr()
    );
    assert!(!reader.stderr().join("\n").contains("panicked"));
    drop(unread);
    eprintln!("{args:?}: exited {took:?} after SIGTERM, blocked on a full pipe");
    (status.and_then(|s| s.code()), took)
}

#[test]
fn sigterm_stops_a_reader_blocked_on_a_full_pipe() {
    let sandbox = Sandbox::new();
    let writer = sandbox.writer(&["--interval", "0"]);
    writer.wait_stderr("segment created");
    for args in [&["--interval", "0"][..], &["--on-change"]] {
        let (code, took) = stop_while_blocked(&sandbox, args);
        assert_eq!(code, Some(0), "{args:?}");
        assert!(took < Duration::from_secs(1), "{args:?}: took {took:?}");
    }

    // The stream consumer, whose heartbeat comes from the same thread.
    let mut producer = Proc::spawn(sandbox.command("sh").args([
        "-c",
        &format!(
            "head -c 1000000 /dev/zero | exec {} --stream --key-file /dev/shm/stream",
            bin("shm_write").display()
        ),
    ]));
    let (code, took) = stop_while_blocked(&sandbox, &["--stream", "--key-file", "/dev/shm/stream"]);
    assert_eq!(code, Some(7));
    assert!(took < Duration::from_secs(1), "--stream: took {took:?}");
    assert_eq!(producer.exit().code(), Some(7), "{:?}", producer.stderr());
}

/// The `waiters` word of the segment, as `shm_read --inspect` shows it.
fn waiters(sandbox: &Sandbox) -> String {
    let out = sandbox
        .command(bin("shm_read"))
        .arg("--inspect")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let row = text
        .lines()
        .find(|l| l.contains(" waiters "))
        .unwrap_or_else(|| panic!("{text}"));
    row.split_whitespace().last().unwrap().to_owned()
}

#[test]
fn sigterm_to_a_sleeping_on_change_reader_leaves_no_waiter_counted() {
    let sandbox = Sandbox::new();
    let writer = sandbox.writer(&["--value", "still"]);
    writer.wait_stderr("segment created");
    for round in 0..5 {
        let mut reader = sandbox.reader(&["--on-change"]);
        reader.wait_lines(1);
        poll_until(DEADLINE, || (waiters(&sandbox) == "1").then_some(()))
            .expect("the reader sleeps counted");
        reader.signal(Signal::SIGTERM);
        assert_eq!(reader.exit().code(), Some(0), "round {round}");
        // An exit in the middle of the sleep would leave it counted for good,
        // and the writer making a wake-up call on every publish.
        assert_eq!(waiters(&sandbox), "0", "round {round}");
    }
}
