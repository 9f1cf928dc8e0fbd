//! The reader explains why it finds no writer: another IPC namespace, or a
//! segment it may not read. It creates nothing while doing so.

use std::time::{Duration, Instant};

use shm_tests::plant::{plant, Image};
use shm_tests::{bin, startup_pid, Proc, Sandbox, DEADLINE};

/// The fix a reader in a host shell is given, as it prints it.
const HOST_FIX: &str = "  fix: run this reader in the writer's IPC namespace: `nsenter --ipc=/proc/<writer pid>/ns/ipc shm_read --key-file /proc/<writer pid>/root/dev/shm/shm_file`";

/// What only a reader in a container, or `--explain`, is told.
const CONTAINER_ADVICE: [&str; 6] = [
    "docker",
    "podman",
    "--ipc container",
    "--ipc shareable",
    "Compose",
    "Kubernetes",
];

/// The lines of `err` that start a report (the others continue one).
fn reports(err: &[String]) -> Vec<&String> {
    err.iter().filter(|l| l.starts_with("shm_read: ")).collect()
}

#[test]
fn reader_in_another_namespace_times_out_with_the_fix() {
    let writer_box = Sandbox::new();
    let _writer = writer_box.writer(&[]);
    _writer.wait_stderr("segment created");
    let reader_box = Sandbox::new();

    let mut reader = reader_box.reader(&["--timeout", "1s"]);
    assert_eq!(reader.exit().code(), Some(3), "{:?}", reader.stderr());
    let err = reader.stderr().join("\n");
    assert!(err.contains("timed out after 1s"), "{err}");
    assert!(err.contains("/dev/shm/shm_file does not exist"), "{err}");
    assert!(
        err.contains(&format!("ipc:[{}]", reader_box.ipc_ns())),
        "{err}"
    );
    assert!(err.contains(HOST_FIX), "{err}");
    assert!(
        reader_box.segments().is_empty(),
        "the reader created a segment"
    );
    assert!(
        !reader_box.exists("/dev/shm/shm_file"),
        "the reader created the key file"
    );
}

#[test]
fn a_host_shell_is_told_the_host_fix_and_it_works() {
    let writer_box = Sandbox::new();
    let writer = writer_box.writer(&[]);
    let pid = startup_pid(&writer.wait_stderr("segment created"));
    let reader_box = Sandbox::new();

    let mut reader = reader_box.reader(&["--once"]);
    assert_eq!(reader.exit().code(), Some(3), "{:?}", reader.stderr());
    let err = reader.stderr();
    let [wrong, fix] = &err[..] else {
        panic!("what is wrong, then the fix: {err:#?}")
    };
    assert!(
        wrong.starts_with("shm_read: error: no live writer: key file /dev/shm/shm_file does not exist in this reader's /dev/shm"),
        "{err:#?}"
    );
    assert!(fix.starts_with(HOST_FIX), "{err:#?}");
    assert!(
        fix.ends_with("(--explain, or docs/troubleshooting.md, for more)"),
        "{err:#?}"
    );
    for advice in CONTAINER_ADVICE {
        assert!(!err.join("\n").contains(advice), "{advice}: {err:#?}");
    }

    // The fix, run from the host shell with the writer's pid, reads.
    let command = fix
        .split('`')
        .nth(1)
        .unwrap()
        .replace("<writer pid>", &pid.to_string())
        .replacen("shm_read", &bin("shm_read").display().to_string(), 1)
        + " --once";
    let words: Vec<&str> = command.split_whitespace().collect();
    let mut fixed = Proc::spawn(std::process::Command::new(words[0]).args(&words[1..]));
    assert_eq!(
        fixed.exit().code(),
        Some(0),
        "`{command}`: {:?}",
        fixed.stderr()
    );
    assert!(
        fixed.stdout()[0].starts_with("now time: "),
        "{:?}",
        fixed.stdout()
    );
}

#[test]
fn a_diagnosis_is_printed_once_before_a_timeout() {
    let sandbox = Sandbox::new();
    let mut reader = sandbox.reader(&["--timeout", "1s"]);
    assert_eq!(reader.exit().code(), Some(3), "{:?}", reader.stderr());
    let err = reader.stderr();
    assert_eq!(err.len(), 3, "the diagnosis, its fix, the end: {err:#?}");
    assert_eq!(
        err.iter().filter(|l| l.contains("does not exist")).count(),
        1,
        "{err:#?}"
    );
    assert_eq!(
        err.iter().filter(|l| l.contains("fix:")).count(),
        1,
        "{err:#?}"
    );
    assert_eq!(
        err[2],
        "shm_read: error: timed out after 1s waiting for a live writer (the reason is above)"
    );

    // A consumer too, which waits for a producer.
    let mut consumer = sandbox.reader(&["--stream", "--timeout", "1s"]);
    assert_eq!(consumer.exit().code(), Some(3), "{:?}", consumer.stderr());
    let err = consumer.stderr();
    assert_eq!(err.len(), 3, "{err:#?}");
    assert!(err[0].contains("this consumer's /dev/shm"), "{err:#?}");
    assert!(
        err[1].contains("in the producer's IPC namespace"),
        "{err:#?}"
    );
    assert_eq!(
        err[2],
        "shm_read: error: timed out after 1s waiting for a producer (the reason is above)"
    );
    assert!(!err.join("\n").contains("writer"), "{err:#?}");
}

#[test]
fn explain_gives_every_fix_once() {
    let sandbox = Sandbox::new();
    let explained = [
        "  why: a reader finds its writer's segment only in the writer's IPC namespace",
        "`docker run --ipc shareable ...`",
        "`docker run --ipc container:<writer container> ...`",
        "`podman run --ipc container:<writer container> ...`",
        "Compose: `ipc: shareable` on the writer's service, `ipc: \"service:<writer>\"` on this reader's",
        "Kubernetes: both as containers of one pod",
        "`--ipc host` for both containers",
        "a host shell: `nsenter --ipc=/proc/<writer pid>/ns/ipc shm_read",
        "restart this reader too (`docker run --restart on-failure` with `shm_read --timeout` does it)",
        "more: docs/troubleshooting.md, docs/containers.md",
    ];
    // Said in the error when nothing was said before it (--once).
    let mut once = sandbox.reader(&["--once", "--explain"]);
    assert_eq!(once.exit().code(), Some(3), "{:?}", once.stderr());
    let err = once.stderr();
    assert_eq!(reports(&err).len(), 1, "{err:#?}");
    assert!(
        err[0].starts_with("shm_read: error: no live writer: "),
        "{err:#?}"
    );
    assert!(err[1].starts_with(HOST_FIX), "{err:#?}");
    for line in explained {
        assert!(err.iter().any(|l| l.contains(line)), "{line}: {err:#?}");
    }

    // Waiting: explained with the first diagnosis only, not with the next
    // one (the key file appears), nor in the error that ends the wait.
    let mut reader = sandbox.reader(&["--timeout", "2s", "--explain"]);
    reader.wait_stderr("more: docs/troubleshooting.md");
    assert!(sandbox.sh("touch /dev/shm/shm_file").status.success());
    assert_eq!(reader.exit().code(), Some(3), "{:?}", reader.stderr());
    let err = reader.stderr();
    let reports = reports(&err);
    assert_eq!(reports.len(), 3, "{err:#?}");
    assert!(reports[0].contains("does not exist"), "{err:#?}");
    assert!(
        reports[1].contains("(without a shm_write beacon)"),
        "{err:#?}"
    );
    assert_eq!(
        reports[2],
        "shm_read: error: timed out after 2s waiting for a live writer (the reason is above)"
    );
    for line in explained {
        assert_eq!(
            err.iter().filter(|l| l.contains(line)).count(),
            1,
            "{line}: {err:#?}"
        );
    }
    assert_eq!(
        err.iter().filter(|l| l.contains("fix:")).count(),
        2,
        "{err:#?}"
    );
}

#[test]
fn explain_is_for_the_modes_that_wait() {
    for mode in ["--list", "--inspect"] {
        let out = std::process::Command::new(bin("shm_read"))
            .args([mode, "--explain"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{mode}: {out:?}");
    }
    let help = std::process::Command::new(bin("shm_read"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("--explain") && help.contains("following, --stream or --mqueue"),
        "{help}"
    );
}

#[test]
fn shared_dev_shm_but_separate_ipc_namespace_is_named() {
    // A common mistake: bind-mounting /dev/shm into both containers instead
    // of sharing the IPC namespace. The key file is visible, the segment not.
    let writer_box = Sandbox::new();
    let writer = writer_box.writer(&[]);
    writer.wait_stderr("segment created");
    let reader_box = Sandbox::new();

    let mut reader = Proc::spawn(
        std::process::Command::new("nsenter")
            .arg(format!("--mount=/proc/{}/ns/mnt", writer_box.pid()))
            .arg(format!("--ipc=/proc/{}/ns/ipc", reader_box.pid()))
            .arg("--")
            .arg(bin("shm_read"))
            .args(["--timeout", "500ms"]),
    );
    assert_eq!(reader.exit().code(), Some(3), "{:?}", reader.stderr());
    let err = reader.stderr().join("\n");
    assert!(
        err.contains(&format!("writer pid {}", writer.pid())),
        "{err}"
    );
    assert!(
        err.contains(&format!("in IPC namespace ipc:[{}]", writer_box.ipc_ns())),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "this IPC namespace (ipc:[{}])",
            reader_box.ipc_ns()
        )),
        "{err}"
    );
    assert!(err.contains(HOST_FIX), "{err}");
    assert!(
        reader_box.segments().is_empty(),
        "the reader created a segment"
    );
}

#[test]
fn once_without_a_writer_fails_at_once() {
    let sandbox = Sandbox::new();
    let mut reader = sandbox.reader(&["--once"]);
    assert_eq!(reader.exit().code(), Some(3));
    assert!(
        reader.stderr().join("\n").contains("no live writer"),
        "{:?}",
        reader.stderr()
    );
    assert!(reader.stdout().is_empty());
}

#[test]
fn permission_denied_names_owner_mode_and_fix() {
    const NOBODY: u32 = 65534;
    let sandbox = Sandbox::new();
    let mut writer = sandbox.writer(&[]);
    writer.wait_stderr("mode 0600");

    let mut denied = Proc::spawn(
        sandbox
            .command_as(NOBODY, NOBODY, bin("shm_read"))
            .arg("--once"),
    );
    assert_eq!(denied.exit().code(), Some(4), "{:?}", denied.stderr());
    let err = denied.stderr().join("\n");
    assert!(err.contains("permission denied on segment 0x"), "{err}");
    assert!(err.contains("owner uid 0, mode 0600"), "{err}");
    assert!(err.contains(&format!("runs as uid {NOBODY}")), "{err}");
    assert!(
        err.contains("--mode 0644") && err.contains("--mode 0666"),
        "{err}"
    );

    // Readers attach read-only: read permission for others is enough.
    for mode in ["0644", "0666"] {
        writer.signal(nix::sys::signal::Signal::SIGTERM);
        assert_eq!(writer.exit().code(), Some(0));
        writer = sandbox.writer(&["--mode", mode]);
        writer.wait_stderr(&format!("mode {mode}"));
        let mut allowed = Proc::spawn(
            sandbox
                .command_as(NOBODY, NOBODY, bin("shm_read"))
                .arg("--once"),
        );
        assert_eq!(
            allowed.exit().code(),
            Some(0),
            "{mode}: {:?}",
            allowed.stderr()
        );
        assert!(allowed.stdout()[0].starts_with("now time: "));
    }
}

#[test]
fn a_reader_of_another_uid_needs_only_the_key_files_inode() {
    const NOBODY: u32 = 65534;
    let sandbox = Sandbox::new();
    let key_file = "/dev/shm/shm_file";
    let mode = || {
        let out = sandbox.sh(&format!("stat -c %a {key_file}"));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let read_once = || {
        let mut reader = Proc::spawn(
            sandbox
                .command_as(NOBODY, NOBODY, bin("shm_read"))
                .arg("--once"),
        );
        (reader.exit().code(), reader.stdout(), reader.stderr())
    };

    // The writer's umask does not narrow what --mode lets others read.
    let mut writer = Proc::spawn(sandbox.command("sh").args([
        "-c",
        &format!(
            "umask 077 && exec {} --mode 0644 --interval 50ms",
            bin("shm_write").display()
        ),
    ]));
    writer.wait_stderr("segment created");
    assert_eq!(mode(), "644");
    let (code, out, err) = read_once();
    assert_eq!(code, Some(0), "{err:?}");
    assert!(out[0].starts_with("now time: "), "{out:?}");

    // A key file it may not read (an older writer's, say) still gives the
    // key: only its inode counts.
    assert!(sandbox
        .sh(&format!("chmod 600 {key_file}"))
        .status
        .success());
    let (code, out, err) = read_once();
    assert_eq!(code, Some(0), "{err:?}");
    assert!(out[0].starts_with("now time: "), "{out:?}");

    // With no writer, the beacon it may not read is said to be unreadable.
    writer.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(writer.exit().code(), Some(0), "{:?}", writer.stderr());
    let (code, out, err) = read_once();
    assert_eq!(code, Some(3), "{err:?}");
    assert!(out.is_empty(), "{out:?}");
    let err = err.join("\n");
    assert!(
        err.contains(&format!(
            "key file {key_file} exists, but this user may not read"
        )),
        "{err}"
    );
}

/// The diagnoses whose message changes from look to look, and what each
/// says; the last one's detail changes by itself (an age).
const CHANGING: [(&str, &str); 4] = [
    ("/dev/shm/text", "is not a decimal Unix time"),
    ("/dev/shm/odd", "stayed mid-update"),
    ("/dev/shm/elsewhere", "which is not this reader's"),
    ("/dev/shm/stale", "no update for"),
];

/// A C-style writer's text that is a clock, not a Unix time, as it changes.
fn clock_text(i: u32) -> Vec<u8> {
    Image::c_text(format!("12:00:{:02}", i % 60).as_bytes()).bytes()
}

/// A record caught mid-update, with a sequence that moves on.
fn odd_record(i: u32) -> Vec<u8> {
    let mut image = Image::record(0);
    image.secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    image.seq = u64::from(2 * i + 9);
    image.bytes()
}

/// A beacon of a writer in another IPC namespace, restarted as pid `pid`
/// (three digits, so the file is rewritten in place at the same length).
fn beacon(sandbox: &Sandbox, pid: u32) {
    let out = sandbox.sh(&format!(
        "printf 'pid={pid}\\nipc_ns=1\\nkey=0x08000001\\nshmid=0\\nstate=running\\n' 1<> /dev/shm/elsewhere"
    ));
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn a_diagnosis_whose_details_change_is_printed_once() {
    let sandbox = Sandbox::new();
    plant(&sandbox, CHANGING[0].0, 0o600, &clock_text(0));
    plant(&sandbox, CHANGING[1].0, 0o600, &odd_record(0));
    beacon(&sandbox, 100);
    plant(
        &sandbox,
        CHANGING[3].0,
        0o600,
        &Image::record(1_000_000_000).bytes(),
    );
    let readers: Vec<Proc> = CHANGING
        .iter()
        .map(|(key_file, _)| sandbox.reader(&["--key-file", key_file, "--interval", "50ms"]))
        .collect();
    // A detail changing every 100 ms, each seen by the readers (they look
    // every 50 ms): for 3 s and until every reader has reported (the stale
    // one only once the liveness bound has passed by its own clock, later
    // on a busy machine), then 1 s more of changes after the last first
    // report.
    let start = Instant::now();
    let mut all_reported: Option<Instant> = None;
    let mut i = 0;
    loop {
        if all_reported.is_none() && readers.iter().all(|r| !reports(&r.stderr()).is_empty()) {
            all_reported = Some(Instant::now());
        }
        let done = start.elapsed() >= Duration::from_secs(3)
            && all_reported.is_some_and(|at| at.elapsed() >= Duration::from_secs(1));
        if done || start.elapsed() > DEADLINE {
            break;
        }
        i += 1;
        plant(&sandbox, CHANGING[0].0, 0o600, &clock_text(i));
        plant(&sandbox, CHANGING[1].0, 0o600, &odd_record(i));
        beacon(&sandbox, 100 + i);
        std::thread::sleep(Duration::from_millis(100));
    }
    for (reader, (key_file, _)) in readers.iter().zip(CHANGING) {
        let lines = reports(&reader.stderr()).len();
        eprintln!("{key_file}: {lines} diagnosis report(s) over {i} changes");
    }
    for (reader, (key_file, says)) in readers.iter().zip(CHANGING) {
        let err = reader.stderr();
        let lines = reports(&err);
        assert!(
            lines.iter().all(|l| l.contains(says)),
            "{key_file}: {lines:?}"
        );
        assert_eq!(lines.len(), 1, "{key_file}: {i} changes gave {err:#?}");
    }
}
