//! Hardening, third round: what a hostile review found, each against the
//! real binaries.

use std::process::Command;

use shm_tests::{bin, poll_until, Proc, Sandbox, DEADLINE};

/// Any process may name itself with terminal escape sequences; `--list`
/// prints them escaped, so they never reach the terminal of whoever lists
/// the segments. (Before: the name went out as it was.)
#[test]
fn list_escapes_a_process_name_made_of_terminal_escapes() {
    let sandbox = Sandbox::new();
    // A process's name is its executable's: a symbolic link named so.
    let name = "/dev/shm/\u{1b}[2J\u{1b}[31mred";
    let linked = sandbox
        .command("ln")
        .arg("-s")
        .arg(bin("shm_write"))
        .arg(name)
        .status()
        .unwrap();
    assert!(linked.success());
    let writer = Proc::spawn(sandbox.command(name).args(["--key-file", "/dev/shm/k"]));
    writer.wait_stderr("segment created");
    for format in ["c", "json"] {
        let out = sandbox
            .command(bin("shm_read"))
            .args(["--list", "--format", format])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(!text.contains('\u{1b}'), "{format}: {text:?}");
        assert!(text.contains(r"u{1b}[2J"), "{format}: {text}");
    }
}

/// A negative `--shmid` is refused with a message that names the option
/// (docs/security.md promises it). (Before: "unexpected argument '-1'".)
#[test]
fn a_negative_shmid_is_refused_naming_the_option() {
    let out = Command::new(bin("shm_read"))
        .args(["--inspect", "--shmid", "-1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--shmid"), "{stderr}");
    assert!(!stderr.contains("unexpected argument"), "{stderr}");
}

/// A bad option is reported as every other error is, after the tool's
/// name (`shm_read: error: ...`), with exit 2. (Before: clap's bare
/// "error: ...".)
#[test]
fn option_errors_name_the_tool() {
    for (tool, bad) in [("shm_read", "--bogus"), ("shm_write", "--interval=x")] {
        let out = Command::new(bin(tool)).arg(bad).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{tool}: {stderr}");
        assert!(
            stderr.starts_with(&format!("{tool}: error: ")),
            "{tool}: {stderr}"
        );
    }
}

/// Each tool's `--help` explains its exit statuses as that tool gives
/// them, never the other's options; and help that cannot be written
/// (`/dev/full`) is exit 8, not 0. (Before: both texts named both tools'
/// options, and clap ignored the failed write.)
#[test]
fn help_is_each_tools_own_and_a_failed_help_is_exit_8() {
    let help = |tool: &str| {
        let out = Command::new(bin(tool)).arg("--help").output().unwrap();
        assert!(out.status.success(), "{tool}: {out:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        text[text.find("Exit status:").expect("an exit status section")..].to_owned()
    };
    let (writer, reader) = (help("shm_write"), help("shm_read"));
    for option in ["--once", "--inspect", "consumer)"] {
        assert!(!writer.contains(option), "shm_write: {option}: {writer}");
    }
    for option in ["--exit-at-eof", "another live writer"] {
        assert!(!reader.contains(option), "shm_read: {option}: {reader}");
    }
    for tool in ["shm_write", "shm_read"] {
        let full = std::fs::File::options()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let status = Command::new(bin(tool))
            .arg("--help")
            .stdout(full)
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(8), "{tool}");
    }
}

/// The waiters word of the key file's segment, from `--inspect`'s JSON.
fn waiters(sandbox: &Sandbox) -> Option<u64> {
    let out = sandbox
        .command(bin("shm_read"))
        .args(["--inspect", "--format", "json"])
        .output()
        .unwrap();
    let json = String::from_utf8_lossy(&out.stdout);
    let raw = json.split("\"name\":\"waiters\",\"raw\":\"0x").nth(1)?;
    u64::from_str_radix(raw.get(..16)?, 16).ok()
}

/// A `--on-change` reader killed while counted as asleep leaves the
/// waiters word raised; the writer takes the count back within seconds,
/// so it stops making a wake system call per publish. (Before: the count
/// stayed for the segment's life.)
#[test]
fn a_killed_on_change_readers_count_is_taken_back() {
    for writer_args in [&["--interval", "10ms"][..], &["--value", "x"]] {
        let sandbox = Sandbox::new();
        let writer = sandbox.writer(writer_args);
        writer.wait_stderr("segment created");
        // Kill readers until one dies counted (it is asleep nearly always).
        let stale = (0..20).any(|_| {
            let mut reader = sandbox.reader(&["--on-change"]);
            reader.wait_lines(1);
            poll_until(DEADLINE, || (waiters(&sandbox) == Some(1)).then_some(()))
                .expect("the reader counts itself asleep");
            reader.signal(nix::sys::signal::Signal::SIGKILL);
            reader.exit();
            waiters(&sandbox) == Some(1)
        });
        assert!(stale, "{writer_args:?}: no reader died counted in 20 tries");
        let cleared = poll_until(DEADLINE, || (waiters(&sandbox) == Some(0)).then_some(()));
        assert!(
            cleared.is_some(),
            "{writer_args:?}: the dead reader's count stayed: {:?}",
            waiters(&sandbox)
        );
    }
}

/// A producer whose input fails says so in its beacon, and a consumer that
/// comes later is told the writer stopped on an error, not that it
/// "stopped cleanly". (Before: every end was a clean stop.)
#[test]
fn a_writer_that_failed_is_not_said_to_have_stopped_cleanly() {
    let sandbox = Sandbox::new();
    // Reading a directory fails (EISDIR) once the producer has its segment.
    let producer = sandbox
        .command("sh")
        .args([
            "-c",
            &format!("exec {} --stream < /", bin("shm_write").display()),
        ])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&producer.stderr);
    assert_eq!(producer.status.code(), Some(1), "{said}");
    assert!(said.contains("segment created"), "{said}");
    let consumer = sandbox
        .command(bin("shm_read"))
        .args(["--stream", "--timeout", "1s"])
        .output()
        .unwrap();
    let told = String::from_utf8_lossy(&consumer.stderr);
    assert_eq!(consumer.status.code(), Some(3), "{told}");
    assert!(told.contains("stopped on an error"), "{told}");
    assert!(!told.contains("stopped cleanly"), "{told}");
}

/// `--list` names as attached only processes of its own IPC namespace:
/// shmids (and keys) repeat in every namespace, so matching `/proc/*/maps`
/// by shmid alone named another namespace's writer, seen through a shared
/// PID namespace (the host, `--pid=host`). (Before: both writers listed.)
#[test]
fn list_names_only_processes_of_its_own_namespace() {
    let (ours, theirs) = (Sandbox::new(), Sandbox::new());
    let writers = [ours.writer(&[]), theirs.writer(&[])];
    let pids = writers.each_ref().map(|writer| {
        let line = writer.wait_stderr("segment created");
        assert!(line.contains("shmid 0 "), "{line}");
        shm_tests::startup_pid(&line)
    });
    let out = ours
        .command(bin("shm_read"))
        .args(["--list", "--format", "json"])
        .output()
        .unwrap();
    let json = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{json}");
    assert!(json.contains(&format!("\"pid\":{}", pids[0])), "{json}");
    assert!(!json.contains(&format!("\"pid\":{}", pids[1])), "{json}");
}

/// A consumer that finds the stream's consumer side taken by a consumer
/// that died is told so, not to stop it. The producer is frozen so that it
/// cannot end the stream meanwhile. (Before: "stop that one first (pid N)"
/// for a consumer already dead.)
#[test]
fn a_dead_consumer_is_not_called_one_to_stop() {
    use nix::sys::signal::Signal;
    let sandbox = Sandbox::new();
    let (producer, _input) = Proc::spawn_piped(sandbox.command(bin("shm_write")).args([
        "--stream",
        "--key-file",
        "/dev/shm/s",
    ]));
    producer.wait_stderr("segment created");
    let mut first = sandbox.reader(&["--stream", "--key-file", "/dev/shm/s"]);
    poll_until(DEADLINE, || {
        let inspect = sandbox
            .command(bin("shm_read"))
            .args(["--inspect", "--format", "json", "--key-file", "/dev/shm/s"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&inspect.stdout)
            .contains(r#""name":"consumer state","raw":"0x0000000000000001""#)
            .then_some(())
    })
    .expect("the first consumer attaches");
    producer.signal(Signal::SIGSTOP);
    first.signal(Signal::SIGKILL);
    first.exit();
    let second = sandbox
        .command(bin("shm_read"))
        .args(["--stream", "--key-file", "/dev/shm/s"])
        .output()
        .unwrap();
    producer.signal(Signal::SIGCONT);
    let said = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(6), "{said}");
    assert!(said.contains("stopped responding"), "{said}");
    assert!(!said.contains("stop that one first"), "{said}");
}

/// `--stdin --binary --exit-at-eof` ends once its one value is published
/// and handed over, as `--exit-at-eof` says. (Before: it never exited.)
#[test]
fn a_binary_value_with_exit_at_eof_exits() {
    let sandbox = Sandbox::new();
    let out = sandbox
        .command("sh")
        .args([
            "-c",
            &format!(
                "printf 'a\\000b' | timeout 20 {} --stdin --binary --exit-at-eof",
                bin("shm_write").display()
            ),
        ])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("segment created"), "{said}");
    assert!(sandbox.segments().is_empty(), "{:?}", sandbox.segments());
}

/// A `--stdin --binary` writer still waiting for its input stops at once on
/// SIGTERM. (Before: it read on until the input ended.)
#[test]
fn a_binary_writer_waiting_for_input_stops_on_sigterm() {
    let sandbox = Sandbox::new();
    let (mut writer, _input) = Proc::spawn_piped(
        sandbox
            .command(bin("shm_write"))
            .args(["--stdin", "--binary"]),
    );
    // Give it time to block in its first read, then stop it.
    poll_until(DEADLINE, || {
        std::fs::read_to_string(format!("/proc/{}/wchan", writer.pid()))
            .ok()
            .filter(|w| w.contains("poll") || w.contains("pipe_read"))
    })
    .expect("the writer waits for its input");
    writer.signal(nix::sys::signal::Signal::SIGTERM);
    let status = writer.wait_exit(DEADLINE).expect("it stops at once");
    assert_eq!(status.code(), Some(0), "{:?}", writer.stderr());
    assert!(sandbox.segments().is_empty(), "{:?}", sandbox.segments());
}
