//! `shm_write --stream` into `shm_read --stream`: exact bytes, either start
//! order, and every early end reported with its byte count, in private IPC
//! namespaces.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use shm_tests::{bin, noise, poll_until, Proc, Sandbox, DEADLINE};

/// A shell pipeline in the sandbox: `producer_input | shm_write --stream
/// ARGS` beside `shm_read --stream > out`, the consumer started first or
/// second; (producer status, consumer status, output).
fn round_trip(
    sandbox: &Sandbox,
    input: &[u8],
    writer_args: &[&str],
    consumer_first: bool,
) -> (i32, i32, Vec<u8>) {
    let dir =
        std::env::temp_dir().join(format!("shm-stream-{}-{}", std::process::id(), input.len()));
    std::fs::create_dir_all(&dir).unwrap();
    let (inp, out) = (dir.join("in"), dir.join("out"));
    std::fs::write(&inp, input).unwrap();
    let reader = || {
        Proc::spawn(sandbox.command("sh").args([
            "-c",
            &format!(
                "exec {} --stream > {}",
                bin("shm_read").display(),
                out.display()
            ),
        ]))
    };
    let writer = || {
        Proc::spawn(sandbox.command("sh").args([
            "-c",
            &format!(
                "exec {} --stream {} < {}",
                bin("shm_write").display(),
                writer_args.join(" "),
                inp.display()
            ),
        ]))
    };
    let (mut first, mut second) = if consumer_first {
        let r = reader();
        r.wait_stderr("shm_read: ");
        (r, writer())
    } else {
        let w = writer();
        w.wait_stderr("segment created");
        (w, reader())
    };
    let (a, b) = (first.exit().code().unwrap(), second.exit().code().unwrap());
    let (w, r) = if consumer_first { (b, a) } else { (a, b) };
    let output = std::fs::read(&out).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    (w, r, output)
}

#[test]
fn bytes_arrive_exactly_in_either_start_order() {
    let sandbox = Sandbox::new();
    let input = noise(64 << 20, 1);
    let (w, r, out) = round_trip(&sandbox, &input, &[], false);
    assert_eq!((w, r), (0, 0));
    assert!(out == input, "{} bytes out of {}", out.len(), input.len());
    let input = noise(8 << 20, 2);
    let (w, r, out) = round_trip(&sandbox, &input, &[], true);
    assert_eq!((w, r), (0, 0));
    assert!(out == input);
    assert!(sandbox.segments().is_empty(), "{:?}", sandbox.segments());
}

#[test]
fn a_tiny_ring_wraps_around_and_empty_input_is_a_clean_end() {
    let sandbox = Sandbox::new();
    let input = noise(300_001, 3);
    let (w, r, out) = round_trip(&sandbox, &input, &["--size", "453"], false);
    assert_eq!((w, r), (0, 0));
    assert!(out == input);
    let (w, r, out) = round_trip(&sandbox, &[], &[], true);
    assert_eq!((w, r, out.len()), (0, 0, 0));
    assert!(sandbox.segments().is_empty(), "{:?}", sandbox.segments());
}

/// A producer fed from a pipe the test holds, so it stops mid-stream.
fn held_producer(sandbox: &Sandbox) -> (Proc, std::process::ChildStdin) {
    let (p, stdin) = Proc::spawn_piped(sandbox.command(bin("shm_write")).arg("--stream"));
    p.wait_stderr("segment created");
    (p, stdin)
}

#[test]
fn a_killed_producer_leaves_an_exact_prefix_a_failed_consumer_and_no_segment() {
    let sandbox = Sandbox::new();
    for round in 0..5 {
        let (mut producer, mut input) = held_producer(&sandbox);
        let sent: String = (0..1000 + round * 333)
            .map(|i| format!("{i:x}\n"))
            .collect();
        input.write_all(sent.as_bytes()).unwrap();
        let mut consumer = Proc::spawn(sandbox.command(bin("shm_read")).args(["--stream"]));
        consumer.wait_stdout(|_| true);
        producer.signal(Signal::SIGKILL);
        producer.exit();
        let killed = Instant::now();
        let status = consumer.exit();
        assert!(
            killed.elapsed() < Duration::from_secs(5),
            "noticed after {:?}",
            killed.elapsed()
        );
        assert_eq!(status.code(), Some(7), "{:?}", consumer.stderr());
        let err = consumer.stderr().join("\n");
        assert!(
            err.contains(&format!("after {} bytes", sent.len()))
                && err.contains("stopped responding"),
            "{err}"
        );
        let out: String = consumer.stdout().iter().map(|l| format!("{l}\n")).collect();
        assert_eq!(out, sent, "every committed byte is written out");
        poll_until(DEADLINE, || sandbox.segments().is_empty().then_some(()))
            .unwrap_or_else(|| panic!("left behind: {:?}", sandbox.segments()));
    }
}

/// `kill -9` of one side or the other at a random moment of a fast stream,
/// round after round: the output is always an exact prefix of the input,
/// the survivor says so with status 7 within seconds (or both end with 0
/// when the kill came after delivery), and no segment is left.
#[test]
fn kill_9_of_either_side_at_random_moments_never_passes_for_a_clean_end() {
    let sandbox = Sandbox::new();
    let input = noise(64 << 20, 7);
    let dir = std::env::temp_dir().join(format!("shm-stream-kill-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (inp, out) = (dir.join("in"), dir.join("out"));
    std::fs::write(&inp, &input).unwrap();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let (mut interrupted, mut completed) = (0, 0);
    for round in 0..16 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let kill_producer = round % 2 == 0;
        let delay = Duration::from_micros(seed % 80_000);
        let mut producer = Proc::spawn(sandbox.command("sh").args([
            "-c",
            &format!(
                "exec {} --stream --size 65536 < {}",
                bin("shm_write").display(),
                inp.display()
            ),
        ]));
        producer.wait_stderr("segment created");
        let mut consumer = Proc::spawn(sandbox.command("sh").args([
            "-c",
            &format!(
                "exec {} --stream > {}",
                bin("shm_read").display(),
                out.display()
            ),
        ]));
        // Killed before it attached, a consumer would leave the producer
        // waiting for one, as a pipe's writer waits for a reader.
        poll_until(DEADLINE, || {
            let attached = sandbox.segments().iter().any(|s| s.nattch == 2);
            let ended = consumer.wait_exit(Duration::ZERO).is_some();
            (attached || ended).then_some(())
        })
        .expect("the consumer attaches");
        std::thread::sleep(delay);
        let (victim, survivor) = if kill_producer {
            (&mut producer, &mut consumer)
        } else {
            (&mut consumer, &mut producer)
        };
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(victim.pid() as i32),
            Signal::SIGKILL,
        );
        victim.exit();
        let killed = Instant::now();
        let status = survivor.exit().code();
        let noticed = killed.elapsed();
        let got = std::fs::read(&out).unwrap();
        let what = format!(
            "round {round}, {} killed after {delay:?}: survivor {status:?} after {noticed:?}, {} of {} bytes out; {:?}",
            if kill_producer { "producer" } else { "consumer" },
            got.len(),
            input.len(),
            survivor.stderr()
        );
        assert!(input.starts_with(&got), "not a prefix: {what}");
        match status {
            Some(0) => {
                assert!(got == input, "a clean end without every byte: {what}");
                completed += 1;
            }
            Some(7) => {
                assert!(noticed < Duration::from_secs(5), "noticed late: {what}");
                let err = survivor.stderr().join("\n");
                assert!(err.contains("stream interrupted after"), "{what}");
                interrupted += 1;
            }
            _ => panic!("unexpected status: {what}"),
        }
        poll_until(DEADLINE, || sandbox.segments().is_empty().then_some(()))
            .unwrap_or_else(|| panic!("left behind after {what}: {:?}", sandbox.segments()));
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        interrupted >= 4,
        "only {interrupted} rounds were cut short ({completed} completed)"
    );
}

#[test]
fn a_killed_or_stopped_consumer_fails_the_producer_with_counts() {
    let sandbox = Sandbox::new();
    for signal in [Signal::SIGKILL, Signal::SIGTERM] {
        let (mut producer, mut input) = held_producer(&sandbox);
        input.write_all(b"some bytes\n").unwrap();
        let mut consumer = Proc::spawn(sandbox.command(bin("shm_read")).args(["--stream"]));
        consumer.wait_stdout(|l| l == "some bytes");
        consumer.signal(signal);
        consumer.exit();
        let status = producer.exit();
        assert_eq!(status.code(), Some(7), "{signal}: {:?}", producer.stderr());
        let err = producer.stderr().join("\n");
        assert!(
            err.contains("11 bytes sent, 11 received"),
            "{signal}: {err}"
        );
        if signal == Signal::SIGTERM {
            let err = consumer.stderr().join("\n");
            assert!(
                err.contains("stream interrupted after 11 bytes") && err.contains("signal"),
                "{err}"
            );
        }
        assert!(sandbox.segments().is_empty(), "{:?}", sandbox.segments());
        drop(input);
    }
}

#[test]
fn sigterm_to_the_producer_stops_it_and_the_consumer_reports_it() {
    let sandbox = Sandbox::new();
    let (mut producer, mut input) = held_producer(&sandbox);
    input.write_all(b"first\n").unwrap();
    let mut consumer = Proc::spawn(sandbox.command(bin("shm_read")).args(["--stream"]));
    consumer.wait_stdout(|l| l == "first");
    producer.signal(Signal::SIGTERM);
    assert_eq!(producer.exit().code(), Some(7), "{:?}", producer.stderr());
    assert_eq!(consumer.exit().code(), Some(7), "{:?}", consumer.stderr());
    let err = consumer.stderr().join("\n");
    assert!(
        err.contains("after 6 bytes") && err.contains("stopped before the end"),
        "{err}"
    );
    poll_until(DEADLINE, || sandbox.segments().is_empty().then_some(())).expect("segment removed");
}

#[test]
fn a_second_consumer_and_the_wrong_kind_are_refused_with_what_is_there() {
    let sandbox = Sandbox::new();
    let (_producer, mut input) = held_producer(&sandbox);
    input.write_all(b"x\n").unwrap();
    let consumer = Proc::spawn(sandbox.command(bin("shm_read")).args(["--stream"]));
    consumer.wait_stdout(|l| l == "x");
    let second = sandbox
        .command(bin("shm_read"))
        .args(["--stream"])
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(6), "{second:?}");
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        err.contains(&format!("already has a consumer (pid {}", consumer.pid())),
        "{err}"
    );
    let time_reader = sandbox
        .command(bin("shm_read"))
        .args(["--once"])
        .output()
        .unwrap();
    assert_eq!(time_reader.status.code(), Some(5), "{time_reader:?}");
    assert!(String::from_utf8_lossy(&time_reader.stderr).contains("holds a stream, not a time"));
    let second_producer = sandbox
        .command(bin("shm_write"))
        .args(["--stream"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        second_producer.status.code(),
        Some(6),
        "{second_producer:?}"
    );
    assert!(String::from_utf8_lossy(&second_producer.stderr).contains("already publishes"));

    let other = Sandbox::new();
    let writer = other.writer(&["--interval", "100ms"]);
    writer.wait_stderr("segment created");
    let refused = other
        .command(bin("shm_read"))
        .args(["--stream"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(5), "{refused:?}");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("holds time record, not a stream"));
}

#[test]
fn a_consumer_in_another_namespace_explains_itself_and_times_out() {
    let sandbox = Sandbox::new();
    let out = Command::new("unshare")
        .args(["--ipc", "--"])
        .arg(bin("shm_read"))
        .args([
            "--stream",
            "--timeout",
            "1s",
            "--key-file",
            "/nonexistent-dir-for-test/key",
        ])
        .output()
        .unwrap();
    drop(sandbox);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let sandbox = Sandbox::new();
    let out = sandbox
        .command(bin("shm_read"))
        .args(["--stream", "--timeout", "1s"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("this consumer's /dev/shm")
            && err.contains("`nsenter --ipc=/proc/<producer pid>/ns/ipc shm_read --stream --key-file /proc/<producer pid>/root/dev/shm/shm_file`")
            && err.contains("timed out after 1s waiting for a producer (the reason is above)"),
        "{err}"
    );
    assert!(!err.contains("writer") && !err.contains("docker"), "{err}");
}

/// A consumer waiting for a producer sleeps (its looks back off to one a
/// second), yet notices a producer at once: the key file's creation or its
/// new beacon wakes it. Three rounds, the first with no key file, the
/// others with the one the last producer left.
#[test]
fn a_waiting_consumer_notices_a_producer_at_once() {
    let sandbox = Sandbox::new();
    for round in 0..3 {
        let mut consumer = sandbox.reader(&["--stream"]);
        consumer.wait_stderr("shm_read: ");
        // Long enough for its sleeps to have grown to the longest.
        std::thread::sleep(Duration::from_millis(2500));
        let started = Instant::now();
        let (mut producer, mut stdin) =
            Proc::spawn_piped(sandbox.command(bin("shm_write")).arg("--stream"));
        stdin.write_all(b"hello\n").unwrap();
        drop(stdin);
        assert!(consumer.exit().success(), "{:?}", consumer.stderr());
        let noticed = started.elapsed();
        assert!(producer.exit().success(), "{:?}", producer.stderr());
        assert_eq!(consumer.stdout(), ["hello"]);
        assert!(
            noticed < Duration::from_millis(400),
            "round {round}: the producer was noticed after {noticed:?}"
        );
    }
}
