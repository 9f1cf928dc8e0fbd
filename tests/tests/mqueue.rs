//! POSIX message queues (`--mqueue`) against Docker in Action's own program
//! (`tests/c/ch6_ipc.c`), both ways, in private IPC namespaces.

use std::io::Write as _;
use std::time::Duration;

use nix::sys::signal::Signal;
use shm_tests::{c_program, poll_until, texts_after, Proc, Sandbox, DEADLINE};

/// The book's producer, run in `sandbox`.
fn c_producer(sandbox: &Sandbox) -> Proc {
    Proc::spawn(sandbox.command(c_program("ch6_ipc")).arg("-producer"))
}

/// The book's consumer, run in `sandbox`.
fn c_consumer(sandbox: &Sandbox) -> Proc {
    Proc::spawn(sandbox.command(c_program("ch6_ipc")).arg("-consumer"))
}

/// Wait until queue `name` exists in `sandbox` (its mqueue mount shows it).
fn wait_queue(sandbox: &Sandbox, name: &str) {
    poll_until(DEADLINE, || {
        sandbox.exists(&format!("/dev/mqueue/{name}")).then_some(())
    })
    .unwrap_or_else(|| panic!("queue /{name} never appeared"));
}

#[test]
fn our_reader_consumes_the_book_producer_line_for_line() {
    let sandbox = Sandbox::with_mqueue();
    // The reader waits for the queue: start it first, as the book starts
    // the consumer second only because its own would fail.
    let mut reader = sandbox.reader(&["--mqueue", "/ch6_ipc"]);
    let mut producer = c_producer(&sandbox);
    assert!(producer.exit().success(), "{:?}", producer.stderr());
    assert_eq!(
        reader.exit().code(),
        Some(0),
        "stderr {:?}",
        reader.stderr()
    );
    let produced = texts_after(&producer.stdout(), "Produced: ");
    assert_eq!(produced.len(), 500);
    let consumed = texts_after(&reader.stdout(), "Consumed: ");
    assert_eq!(consumed.len(), 501, "{:?}", reader.stderr());
    assert_eq!(consumed[..500], produced[..]);
    assert_eq!(consumed[500], "done");
    assert!(
        !sandbox.exists("/dev/mqueue/ch6_ipc"),
        "the producer unlinks it"
    );
}

#[test]
fn raw_and_json_formats() {
    let sandbox = Sandbox::with_mqueue();
    let mut raw = sandbox.reader(&["--mqueue", "/ch6_ipc", "--format", "raw"]);
    let mut producer = c_producer(&sandbox);
    assert!(producer.exit().success());
    assert_eq!(raw.exit().code(), Some(0), "{:?}", raw.stderr());
    // The bare texts: exactly what was sent, the end marker left out.
    assert_eq!(raw.stdout(), texts_after(&producer.stdout(), "Produced: "));

    let mut json = sandbox.reader(&["--mqueue", "/ch6_ipc", "--format", "json", "--count", "2"]);
    let mut producer = c_producer(&sandbox);
    assert_eq!(json.exit().code(), Some(0), "{:?}", json.stderr());
    // The producer prints each line after sending it: wait for the first.
    let first = producer.wait_stdout(|l| l.starts_with("Produced: "));
    let first = first.trim_start_matches("Produced: ");
    let line = &json.stdout()[0];
    assert!(
        line.starts_with(&format!(
            r#"{{"kind":"message","text":"{first}","text_bytes":{},"bytes":1024,"priority":0,"end":false}}"#,
            first.len()
        )),
        "{line}"
    );
    assert_eq!(json.stdout().len(), 2);
    // The producer, its consumer gone, blocks on a full queue: end it.
    producer.signal(Signal::SIGKILL);
    producer.exit();
}

#[test]
fn once_takes_one_message_and_end_changes_the_marker() {
    let sandbox = Sandbox::with_mqueue();
    let (mut writer, mut stdin) = Proc::spawn_piped(
        sandbox
            .command(shm_tests::bin("shm_write"))
            .args(["--mqueue", "/q", "--end", "over"]),
    );
    writer.wait_stderr("created it");
    writeln!(stdin, "one\ntwo\ndone\nthree").unwrap();
    let mut once = sandbox.reader(&["--mqueue", "/q", "--once"]);
    assert_eq!(once.exit().code(), Some(0), "{:?}", once.stderr());
    assert_eq!(once.stdout(), ["Consumed: one"]);
    let mut rest = sandbox.reader(&["--mqueue", "/q", "--end", "over"]);
    rest.wait_stdout(|l| l == "Consumed: three");
    // Only now the end of input: the writer unlinks the queue it created
    // once it has sent the end marker, as the book's producer does.
    drop(stdin);
    assert_eq!(rest.exit().code(), Some(0), "{:?}", rest.stderr());
    assert_eq!(
        rest.stdout(),
        [
            "Consumed: two",
            "Consumed: done",
            "Consumed: three",
            "Consumed: over"
        ]
    );
    assert_eq!(writer.exit().code(), Some(0), "{:?}", writer.stderr());
}

#[test]
fn unjoined_reader_diagnoses_the_namespace_and_times_out() {
    let producer_side = Sandbox::with_mqueue();
    let reader_side = Sandbox::with_mqueue();
    let mut producer = c_producer(&producer_side);
    wait_queue(&producer_side, "ch6_ipc");
    let mut reader = reader_side.reader(&["--mqueue", "/ch6_ipc", "--timeout", "1s"]);
    assert_eq!(reader.exit().code(), Some(3), "{:?}", reader.stderr());
    let stderr = reader.stderr().join("\n");
    assert!(
        stderr.contains("no message queue /ch6_ipc in this IPC namespace")
            && stderr.contains("fix: run this reader in the writer's IPC namespace: `nsenter --ipc=/proc/<writer pid>/ns/ipc")
            && stderr.contains(&format!("ipc:[{}]", reader_side.ipc_ns())),
        "{stderr}"
    );
    assert!(stderr.contains("timed out after 1s"), "{stderr}");
    producer.signal(Signal::SIGKILL);
    producer.exit();
}

#[test]
fn reader_waits_for_the_queue_then_says_it_found_it() {
    let sandbox = Sandbox::with_mqueue();
    let mut reader = sandbox.reader(&["--mqueue", "/ch6_ipc"]);
    reader.wait_stderr("no message queue /ch6_ipc");
    let mut producer = c_producer(&sandbox);
    assert!(producer.exit().success());
    assert_eq!(reader.exit().code(), Some(0), "{:?}", reader.stderr());
    reader.wait_stderr("shm_read: receiving from queue /ch6_ipc");
    assert_eq!(reader.stdout().len(), 501);
}

#[test]
fn sigterm_ends_a_waiting_reader_at_once() {
    let sandbox = Sandbox::with_mqueue();
    let mut reader = sandbox.reader(&["--mqueue", "/ch6_ipc"]);
    reader.wait_stderr("no message queue");
    reader.signal(Signal::SIGTERM);
    assert_eq!(
        reader
            .wait_exit(Duration::from_secs(2))
            .and_then(|s| s.code()),
        Some(7)
    );
    reader.wait_stderr("SIGTERM received: stopping after 0 message(s)");
}

#[test]
fn bad_queue_names_are_usage_errors() {
    let sandbox = Sandbox::new();
    let long = format!("/{}", "q".repeat(256));
    for (name, says) in [
        ("ch6_ipc", "must start with /, as in /ch6_ipc"),
        ("/", "write a name after the /"),
        ("/a/b", "only its first character may be a /"),
        (
            long.as_str(),
            "at most 255 bytes after its / (NAME_MAX); this one has 256",
        ),
    ] {
        for tool in ["shm_read", "shm_write"] {
            let mut proc = Proc::spawn(
                sandbox
                    .command(shm_tests::bin(tool))
                    .args(["--mqueue", name]),
            );
            assert_eq!(proc.exit().code(), Some(2), "{tool} {name}");
            let stderr = proc.stderr().join("\n");
            assert!(
                stderr.starts_with(&format!("{tool}: error: ")) && stderr.contains(says),
                "{tool} {name}: {stderr}"
            );
        }
    }
}

/// Our writer, with a pipe to its stdin, started in `sandbox`.
fn our_writer(sandbox: &Sandbox, args: &[&str]) -> (Proc, std::process::ChildStdin) {
    Proc::spawn_piped(sandbox.command(shm_tests::bin("shm_write")).args(args))
}

#[test]
fn the_book_consumer_consumes_our_writer_line_for_line() {
    let sandbox = Sandbox::with_mqueue();
    let (mut writer, mut stdin) = our_writer(&sandbox, &["--mqueue", "/ch6_ipc", "--mode", "0644"]);
    writer.wait_stderr("created it with mode 0644: at most 10 messages of 1024 bytes");
    // The book's consumer fails unless the queue is there: it is now.
    let mut consumer = c_consumer(&sandbox);
    let lines: Vec<String> = (0..500).map(|i| format!("{:x}", i * 7919 % 256)).collect();
    // 500 lines through a 10-message queue: the writer blocks on the full
    // queue while the consumer catches up.
    stdin.write_all(lines.join("\n").as_bytes()).unwrap();
    stdin.write_all(b"\n").unwrap();
    drop(stdin);
    assert_eq!(consumer.exit().code(), Some(0), "{:?}", consumer.stderr());
    assert_eq!(writer.exit().code(), Some(0), "{:?}", writer.stderr());
    let consumed = texts_after(&consumer.stdout(), "Consumed: ");
    assert_eq!(consumed.len(), 501);
    assert_eq!(consumed[..500], lines[..]);
    assert_eq!(consumed[500], "done");
    assert!(
        !sandbox.exists("/dev/mqueue/ch6_ipc"),
        "the writer that created it unlinks it"
    );
}

#[test]
fn writer_pads_as_the_book_and_leaves_an_existing_queue() {
    let sandbox = Sandbox::with_mqueue();
    // The book's producer makes the queue; ours adds to it and leaves it.
    let mut producer = c_producer(&sandbox);
    wait_queue(&sandbox, "ch6_ipc");
    let (mut ours, mut stdin) =
        our_writer(&sandbox, &["--mqueue", "/ch6_ipc", "--end", "ours-done"]);
    ours.wait_stderr("(an existing queue: at most 10 messages of 1024 bytes)");
    stdin.write_all(b"from-us\n").unwrap();
    drop(stdin);
    let mut json = sandbox.reader(&["--mqueue", "/ch6_ipc", "--format", "json"]);
    assert_eq!(ours.exit().code(), Some(0), "{:?}", ours.stderr());
    assert_eq!(json.exit().code(), Some(0), "{:?}", json.stderr());
    assert!(producer.exit().success());
    let ours_line = json
        .stdout()
        .into_iter()
        .find(|l| l.contains("from-us"))
        .expect("our message");
    assert!(
        ours_line.contains(r#""text_bytes":7,"bytes":1024"#),
        "{ours_line}"
    );
}

#[test]
fn a_line_too_long_is_refused_with_the_size_to_ask_for() {
    let sandbox = Sandbox::with_mqueue();
    let (mut writer, mut stdin) = our_writer(&sandbox, &["--mqueue", "/q"]);
    writer.wait_stderr("created it");
    let _ = stdin.write_all(&[b'x'; 1500]);
    drop(stdin);
    assert_eq!(writer.exit().code(), Some(2));
    let stderr = writer.stderr().join("\n");
    assert!(
        stderr.contains("does not fit a message of queue /q, whose messages are 1024 bytes")
            && stderr.contains("--size 1501 or more"),
        "{stderr}"
    );
    assert!(
        !sandbox.exists("/dev/mqueue/q"),
        "the queue it created is unlinked"
    );
    // With the size asked for, it goes through.
    let (mut writer, mut stdin) = our_writer(&sandbox, &["--mqueue", "/q", "--size", "2048"]);
    writer.wait_stderr("created it");
    stdin.write_all(&[b'x'; 1500]).unwrap();
    stdin.write_all(b"\n").unwrap();
    let mut reader = sandbox.reader(&["--mqueue", "/q", "--format", "raw"]);
    reader.wait_lines(1);
    drop(stdin);
    assert_eq!(reader.exit().code(), Some(0), "{:?}", reader.stderr());
    assert_eq!(writer.exit().code(), Some(0), "{:?}", writer.stderr());
    assert_eq!(reader.stdout(), ["x".repeat(1500)]);
}

#[test]
fn sigterm_ends_a_writer_blocked_on_a_full_queue_at_once() {
    let sandbox = Sandbox::with_mqueue();
    let (mut writer, mut stdin) = our_writer(&sandbox, &["--mqueue", "/q"]);
    writer.wait_stderr("created it");
    // Nobody receives: ten messages fill the queue, the eleventh waits.
    stdin.write_all("line\n".repeat(20).as_bytes()).unwrap();
    poll_until(DEADLINE, || {
        let out = sandbox.sh("cat /dev/mqueue/q");
        String::from_utf8_lossy(&out.stdout)
            .contains("QSIZE:10240")
            .then_some(())
    })
    .expect("the queue fills up");
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        writer.wait_exit(Duration::ZERO).is_none(),
        "it waits on the full queue"
    );
    writer.signal(Signal::SIGTERM);
    assert_eq!(
        writer
            .wait_exit(Duration::from_secs(2))
            .and_then(|s| s.code()),
        Some(7)
    );
    writer.wait_stderr("SIGTERM received: stopping after 10 message(s) sent to queue /q");
    assert!(
        !sandbox.exists("/dev/mqueue/q"),
        "the queue it created is unlinked"
    );
}

/// `shm_read --mqueue QUEUE` run to its end as nobody (uid and gid
/// 65534): its status and stderr.
fn read_as_nobody(sandbox: &Sandbox, queue: &str) -> (Option<i32>, String) {
    let mut reader = Proc::spawn(
        sandbox
            .command_as(65534, 65534, shm_tests::bin("shm_read"))
            .args(["--mqueue", queue]),
    );
    let code = reader.exit().code();
    (code, reader.stderr().join("\n"))
}

#[test]
fn permission_failures_name_the_owner_and_mode() {
    let sandbox = Sandbox::with_mqueue();
    let (writer, _stdin) = our_writer(&sandbox, &["--mqueue", "/private"]);
    writer.wait_stderr("created it with mode 0600");
    let (code, stderr) = read_as_nobody(&sandbox, "/private");
    assert_eq!(code, Some(4), "{stderr}");
    assert!(
        stderr.contains("permission denied on message queue /private (owner uid 0, gid 0, mode 0600): this process (uid 65534) may not read it")
            && stderr.contains("--mode 0644"),
        "{stderr}"
    );
    let mut other = Proc::spawn_piped(
        sandbox
            .command_as(65534, 65534, shm_tests::bin("shm_write"))
            .args(["--mqueue", "/private"]),
    )
    .0;
    assert_eq!(other.exit().code(), Some(4));
    assert!(other.stderr().join("\n").contains("may not write it"));
}

#[test]
fn without_the_mqueue_mount_the_owner_is_unknown_and_the_mount_is_named() {
    let sandbox = Sandbox::new();
    let (writer, _stdin) = our_writer(&sandbox, &["--mqueue", "/private"]);
    writer.wait_stderr("created it");
    let (code, stderr) = read_as_nobody(&sandbox, "/private");
    assert_eq!(code, Some(4), "{stderr}");
    assert!(
        stderr.contains("mount -t mqueue mqueue /dev/mqueue"),
        "{stderr}"
    );
}

#[test]
fn list_shows_the_queues_after_the_segments() {
    let sandbox = Sandbox::with_mqueue();
    let list = |args: &[&str]| sandbox.list(args);
    assert!(
        list(&[]).contains("\nno POSIX message queues in this IPC namespace\n"),
        "{}",
        list(&[])
    );
    let mut producer = c_producer(&sandbox);
    poll_until(DEADLINE, || list(&[]).contains("10/10").then_some(())).expect("a full queue");
    let text = list(&[]);
    let section = &text[text
        .find("POSIX message queues (/dev/mqueue): 1 queue(s)")
        .expect(&text)..];
    let row = section.lines().nth(2).unwrap();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cells,
        ["/ch6_ipc", "root", "644", "10240", "10/10", "1024", "none"],
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_str(&list(&["--format", "json"])).unwrap();
    assert_eq!(
        json["posix-messages"],
        serde_json::json!([{"name":"/ch6_ipc","owner":"root","uid":0,"gid":0,"perms":"0644","size":10240,"msgs":10,"maxmsg":10,"msgsize":1024,"notify":{"how":0,"signo":0,"pid":0}}]),
        "{json}"
    );

    let mut inspect = sandbox.reader(&["--inspect", "--mqueue", "/ch6_ipc"]);
    assert_eq!(inspect.exit().code(), Some(0), "{:?}", inspect.stderr());
    let shown = inspect.stdout().join("\n");
    for field in [
        "maxmsg     10 ",
        "msgsize    1024 bytes",
        "curmsgs    10 ",
        "QSIZE      10240 bytes queued",
        "owner      root (uid 0), gid 0",
        "mode       0644",
        "notify     none",
    ] {
        assert!(shown.contains(field), "{field:?} not in {shown}");
    }
    // From another IPC namespace under the same mount, the listed queue is
    // not the one that name opens: said, rather than listed as its own.
    let out = sandbox
        .command("unshare")
        .arg("--ipc")
        .arg(shm_tests::bin("shm_read"))
        .arg("--list")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("\nPOSIX message queues: /dev/mqueue is the mqueue filesystem of another IPC namespace (mounted outside this one), so this namespace's queues cannot be listed; mount it again from within this namespace: `mount -t mqueue mqueue /dev/mqueue`\n"),
        "{text}"
    );
    let mut missing = sandbox.reader(&["--inspect", "--mqueue", "/nope"]);
    assert_eq!(missing.exit().code(), Some(3));
    producer.signal(Signal::SIGKILL);
    producer.exit();

    // Without the mount: one line, with the mount command.
    let bare = Sandbox::new();
    let out = bare
        .command(shm_tests::bin("shm_read"))
        .arg("--list")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("\nPOSIX message queues: /dev/mqueue is not mounted, so they cannot be listed; mount it with `mkdir -p /dev/mqueue && mount -t mqueue mqueue /dev/mqueue` (as root; every container has it mounted)\n"),
        "{text}"
    );
}
