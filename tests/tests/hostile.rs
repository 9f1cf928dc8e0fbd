//! Hostile input: segments holding garbage or a crashed writer's leftovers,
//! key files planted by another user in a world-writable directory,
//! segments planted by another user, and bad option values. Each must be
//! refused or reported clearly, never printed as a time, never overwritten
//! silently, never a panic.

use std::time::Duration;

use shm_tests::plant::{
    self, dump, noise, plant, plant_as, plausible_now, refusal, run, run_as, unix_now, Image,
};
use shm_tests::{poll_until, Sandbox, DEADLINE};

const VICTIM: u32 = 1000;
const ATTACKER: u32 = 1001;

/// What a writer does with a segment it finds for its key.
#[derive(Debug, Clone, Copy)]
enum WriterOutcome {
    /// Refuses with exit 6 and this text, leaving the bytes alone.
    Refuses(&'static str),
    /// Takes it over, as documented for a crashed writer's leftovers.
    Reuses,
}

struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    /// `shm_read --once` exit status: 5 unreadable, 3 no live writer.
    once_exit: i32,
    /// What the reader says on stderr.
    says: &'static str,
    writer: WriterOutcome,
}

fn cases() -> Vec<Case> {
    let t = unix_now();
    let record = |f: &dyn Fn(&mut Image)| {
        let mut image = Image::record(t);
        f(&mut image);
        image.bytes()
    };
    let refuse = WriterOutcome::Refuses("holds something other than a time");
    let random = noise(4096, 0x5eed);
    assert!(
        random[128..136] != [0; 8] && random[128..136] != *plant::MAGIC,
        "the noise must not look like a header"
    );
    vec![
        Case {
            name: "random bytes",
            bytes: random,
            once_exit: 5,
            says: "neither shm_write's header nor the C writer's zeros",
            writer: refuse,
        },
        Case {
            name: "wrong magic",
            bytes: record(&|i| i.magic = Some(*b"SHMTIMF\0")),
            once_exit: 5,
            says: "neither shm_write's header nor the C writer's zeros",
            writer: refuse,
        },
        Case {
            name: "future layout version",
            bytes: record(&|i| i.version = 3),
            once_exit: 5,
            says: "layout version 3, newer than",
            writer: refuse,
        },
        Case {
            name: "sequence stuck odd",
            bytes: record(&|i| i.seq = 9),
            once_exit: 3,
            says: "stayed mid-update (sequence 9)",
            writer: WriterOutcome::Reuses,
        },
        Case {
            name: "nanoseconds out of range",
            bytes: record(&|i| i.nanos = 2_000_000_000),
            once_exit: 5,
            says: "corrupt: nanoseconds out of range",
            writer: WriterOutcome::Reuses,
        },
        Case {
            name: "unknown writer state",
            bytes: record(&|i| i.state = 7),
            once_exit: 5,
            says: "corrupt: unknown writer state",
            writer: WriterOutcome::Reuses,
        },
        Case {
            name: "record of a writer long gone",
            bytes: record(&|i| i.secs = 1_000_000_000),
            once_exit: 3,
            says: "no update for",
            writer: WriterOutcome::Reuses,
        },
        Case {
            name: "record of a stopped writer",
            bytes: record(&|i| i.state = plant::STOPPED),
            once_exit: 3,
            says: "stopped cleanly",
            writer: WriterOutcome::Reuses,
        },
        Case {
            name: "text that is not digits",
            bytes: Image::c_text(b"12:34:56").bytes(),
            once_exit: 5,
            says: "is not a decimal Unix time",
            writer: refuse,
        },
        Case {
            name: "digits beyond i64",
            bytes: Image::c_text(b"99999999999999999999999").bytes(),
            once_exit: 5,
            says: "is not a decimal Unix time",
            writer: refuse,
        },
        Case {
            name: "text without NUL",
            bytes: Image::c_text(&[b'7'; 128]).bytes(),
            once_exit: 5,
            says: "no NUL terminator",
            writer: refuse,
        },
        Case {
            name: "segment smaller than the layout",
            bytes: Image {
                size: 128,
                ..Image::c_text(t.to_string().as_bytes())
            }
            .bytes(),
            once_exit: 5,
            says: "fewer than the 256",
            writer: WriterOutcome::Refuses("already exists with 128 bytes"),
        },
    ]
}

#[test]
fn hostile_segment_contents_are_reported_and_never_printed_as_a_time() {
    let sandbox = Sandbox::new();
    for (i, case) in cases().into_iter().enumerate() {
        let key_file = format!("/dev/shm/case-{i}");
        let name = case.name;
        plant(&sandbox, &key_file, 0o600, &case.bytes);

        let out = run(&sandbox, "shm_read", &["--key-file", &key_file, "--once"]);
        let (code, stderr) = refusal(&out);
        assert_eq!(code, case.once_exit, "{name}: shm_read --once: {stderr}");
        assert!(stderr.contains(case.says), "{name}: {stderr}");
        assert!(stderr.starts_with("shm_read: "), "{name}: {stderr}");

        let writer = run(
            &sandbox,
            "shm_write",
            &["--key-file", &key_file, "--interval", "1ms", "--count", "3"],
        );
        let stderr = String::from_utf8_lossy(&writer.stderr);
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        match case.writer {
            WriterOutcome::Refuses(text) => {
                assert_eq!(writer.status.code(), Some(6), "{name}: {stderr}");
                assert!(stderr.contains(text), "{name}: {stderr}");
                assert_eq!(
                    dump(&sandbox, &key_file),
                    case.bytes,
                    "{name}: the refused segment was modified"
                );
            }
            WriterOutcome::Reuses => {
                assert!(writer.status.success(), "{name}: {stderr}");
                assert!(stderr.contains("segment reused"), "{name}: {stderr}");
            }
        }
    }
}

#[test]
fn a_following_reader_reports_garbage_keeps_going_and_recovers() {
    let sandbox = Sandbox::new();
    let key_file = "/dev/shm/garbage";
    let id = plant(&sandbox, key_file, 0o600, &noise(4096, 7));
    let mut reader = sandbox.reader(&["--key-file", key_file, "--interval", "20ms"]);
    reader.wait_stderr("neither shm_write's header");
    // Reported, not fatal: it still runs a while later and printed nothing.
    let lines_then = reader.stderr().len();
    assert!(
        reader.wait_exit(Duration::from_millis(300)).is_none(),
        "the reader exited on garbage: {:?}",
        reader.stderr()
    );
    assert_eq!(
        reader.stderr().len(),
        lines_then,
        "the same condition is not repeated every interval"
    );
    assert!(reader.stdout().is_empty(), "{:?}", reader.stdout());

    let removed = sandbox.sh(&format!("ipcrm -m {id}"));
    assert!(removed.status.success(), "{removed:?}");
    let _writer = sandbox.writer(&["--key-file", key_file, "--interval", "50ms"]);
    let line = reader.wait_stdout(|l| l.starts_with("now time: "));
    reader.wait_stderr("from a live writer");
    for line in reader.stdout() {
        let secs: i64 = line
            .strip_prefix("now time: ")
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not a time line: {line:?}"));
        assert!(plausible_now(secs), "{line}");
    }
    assert!(plausible_now(line[10..].parse().unwrap()));
}

/// A sandbox with a sticky world-writable directory, as /tmp is, and a
/// file of the victim's that an attacker's symlink points at.
fn sticky_dir() -> Sandbox {
    let sandbox = Sandbox::new();
    let out = sandbox.sh(&format!(
        "mkdir -m 1777 /dev/shm/pub && echo precious > /dev/shm/victim.txt && chown {VICTIM}:{VICTIM} /dev/shm/victim.txt"
    ));
    assert!(out.status.success(), "{out:?}");
    sandbox
}

fn attacker(sandbox: &Sandbox, script: &str) {
    let out = sandbox
        .command_as(ATTACKER, ATTACKER, "sh")
        .args(["-c", script])
        .output()
        .unwrap();
    assert!(out.status.success(), "attacker's {script:?}: {out:?}");
}

#[test]
fn planted_key_files_are_refused_and_never_written_through() {
    let key = "/dev/shm/pub/key";
    let attacks: [(&str, &str, &str); 5] = [
        (
            "symlink to the victim's file",
            "ln -s /dev/shm/victim.txt /dev/shm/pub/key",
            "is a symbolic link",
        ),
        (
            "dangling symlink",
            "ln -s /dev/shm/created-by-victim /dev/shm/pub/key",
            "is a symbolic link",
        ),
        (
            "file owned by another user",
            "echo attacker > /dev/shm/pub/key && chmod 666 /dev/shm/pub/key",
            &format!("belongs to uid {ATTACKER}"),
        ),
        (
            "FIFO",
            "mkfifo -m 666 /dev/shm/pub/key",
            "is a FIFO, not a regular file",
        ),
        (
            "directory",
            "mkdir -m 777 /dev/shm/pub/key",
            "is a directory, not a regular file",
        ),
    ];
    for (name, plant_it, says) in attacks {
        let sandbox = sticky_dir();
        attacker(&sandbox, plant_it);
        let before = sandbox.sh("ls -la --time-style=full-iso /dev/shm /dev/shm/pub; cat /dev/shm/victim.txt; [ -f /dev/shm/pub/key ] && cat /dev/shm/pub/key; ls -la /dev/shm/pub/key/ 2>/dev/null");
        let out = run_as(&sandbox, VICTIM, VICTIM, "shm_write", &["--key-file", key]);
        let (code, stderr) = refusal(&out);
        assert_eq!(code, 2, "{name}: {stderr}");
        assert!(stderr.contains(key), "{name}: names the path: {stderr}");
        assert!(stderr.contains(says), "{name}: {stderr}");
        // A reader only reads the key file, so another user's file is fine
        // for it (there is just no writer); anything else it refuses too.
        let out = run_as(
            &sandbox,
            VICTIM,
            VICTIM,
            "shm_read",
            &["--key-file", key, "--once"],
        );
        let (code, stderr) = refusal(&out);
        if says.starts_with("belongs") {
            assert_eq!(code, 3, "{name}: shm_read: {stderr}");
        } else {
            assert_eq!(code, 2, "{name}: shm_read: {stderr}");
            assert!(
                stderr.contains(key) && stderr.contains(says),
                "{name}: {stderr}"
            );
        }
        let after = sandbox.sh("ls -la --time-style=full-iso /dev/shm /dev/shm/pub; cat /dev/shm/victim.txt; [ -f /dev/shm/pub/key ] && cat /dev/shm/pub/key; ls -la /dev/shm/pub/key/ 2>/dev/null");
        assert_eq!(
            String::from_utf8_lossy(&before.stdout),
            String::from_utf8_lossy(&after.stdout),
            "{name}: something was written through the planted key file"
        );
        assert!(!sandbox.exists("/dev/shm/created-by-victim"), "{name}");
        assert!(
            sandbox.segments().is_empty(),
            "{name}: {:?}",
            sandbox.segments()
        );
    }
}

#[test]
fn segments_planted_by_others_are_refused_or_reused_as_documented() {
    let sandbox = Sandbox::new();
    let stale_text = Image::c_text(b"1000000000").bytes();

    // The victim's own key file, but another user got to the key first.
    for (mode, exit, says) in [
        (0o600, 6, &*format!("belongs to uid {ATTACKER}")),
        (0o666, 6, &*format!("belongs to uid {ATTACKER}")),
    ] {
        let key_file = format!("/dev/shm/victim-{mode:o}");
        let out = sandbox.sh(&format!(
            "touch {key_file} && chown {VICTIM}:{VICTIM} {key_file}"
        ));
        assert!(out.status.success());
        plant_as(&sandbox, ATTACKER, ATTACKER, &key_file, mode, &stale_text);
        let out = run_as(
            &sandbox,
            VICTIM,
            VICTIM,
            "shm_write",
            &["--key-file", &key_file],
        );
        let (code, stderr) = refusal(&out);
        assert_eq!(code, exit, "mode {mode:o}: {stderr}");
        assert!(stderr.contains(says), "mode {mode:o}: {stderr}");
        assert_eq!(dump(&sandbox, &key_file), stale_text, "mode {mode:o}");
    }

    // Root does not write into another user's segment either.
    let key_file = "/dev/shm/foreign";
    assert!(sandbox.sh(&format!("touch {key_file}")).status.success());
    plant_as(&sandbox, ATTACKER, ATTACKER, key_file, 0o600, &stale_text);
    let (code, stderr) = refusal(&run(&sandbox, "shm_write", &["--key-file", key_file]));
    assert_eq!(code, 6, "{stderr}");
    assert!(
        stderr.contains(&format!("belongs to uid {ATTACKER}")),
        "{stderr}"
    );
    assert_eq!(dump(&sandbox, key_file), stale_text);

    // A smaller segment: refused at the default size, reused when asked for.
    let key_file = "/dev/shm/small";
    let small = Image {
        size: 1024,
        ..Image::c_text(b"1000000000")
    }
    .bytes();
    plant(&sandbox, key_file, 0o600, &small);
    let (code, stderr) = refusal(&run(&sandbox, "shm_write", &["--key-file", key_file]));
    assert_eq!(code, 6, "{stderr}");
    assert!(
        stderr.contains("1024 bytes, not the 4096 asked"),
        "{stderr}"
    );
    assert!(stderr.contains("--size 1024"), "{stderr}");
    assert_eq!(dump(&sandbox, key_file), small);
    let out = run(
        &sandbox,
        "shm_write",
        &["--key-file", key_file, "--size", "1024", "--count", "1"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("reused (left by a C writer"), "{stderr}");

    // Our own stale segment left world-writable: reused, and the mode is
    // brought back to the one asked for.
    let key_file = "/dev/shm/open";
    let id = plant(&sandbox, key_file, 0o666, &stale_text);
    let mut writer = sandbox.writer(&["--key-file", key_file, "--interval", "50ms"]);
    let line = writer.wait_stderr("segment reused");
    assert!(line.contains("mode 0600"), "{line}");
    let row = sandbox
        .segments()
        .into_iter()
        .find(|r| r.shmid == id)
        .expect("the reused segment");
    assert_eq!(row.mode & 0o777, 0o600, "{row:?}");
    writer.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(writer.exit().success());
}

#[test]
fn bad_option_values_are_usage_errors() {
    let sandbox = Sandbox::new();
    let key = ["--key-file", "/dev/shm/cli"];
    let durations: &[&str] = &[
        "",
        " ",
        "-1s",
        "1x",
        "10",
        "s",
        ".s",
        "1..2s",
        "1e3s",
        "nan",
        "inf s",
        "99999999999999999999h",
        "18446744073709551616ns",
    ];
    let counts: &[&str] = &["", "-1", "0", "x", "1.5", "99999999999999999999999"];
    let mut cases: Vec<(&str, &str, &str)> = Vec::new();
    for tool in ["shm_write", "shm_read"] {
        cases.extend(durations.iter().map(|v| (tool, "--interval", *v)));
        cases.extend(counts.iter().map(|v| (tool, "--count", *v)));
        for v in ["", "0", "256", "-1", "x", "99999999999999999999"] {
            cases.push((tool, "--proj-id", v));
        }
    }
    cases.extend(durations.iter().map(|v| ("shm_read", "--timeout", *v)));
    for v in ["", "xml", "C ", "-1"] {
        cases.push(("shm_read", "--format", v));
    }
    for v in [
        "",
        "-1",
        "1G",
        "0x100",
        "k",
        "1.5k",
        "99999999999999999999",
        "18014398509481984k",
        "0",
        "255",
    ] {
        cases.push(("shm_write", "--size", v));
    }
    for v in ["", "-1", "0800", "1777", "rw", "0o", "0x1ff", "99999999999"] {
        cases.push(("shm_write", "--mode", v));
    }
    for (tool, option, value) in cases {
        let arg = format!("{option}={value}");
        // Should a bad value be accepted, these make the tool end quickly
        // (and fail the exit-status check) rather than run on.
        let bound: &[&str] = match (tool, option) {
            (_, "--count") => &["--interval=0"],
            ("shm_read", "--timeout") => &["--once"],
            ("shm_read", _) => &["--count=1", "--timeout=0"],
            _ => &["--count=1"],
        };
        let mut args = vec![key[0], key[1], &arg];
        args.extend_from_slice(bound);
        let out = run(&sandbox, tool, &args);
        let (code, stderr) = refusal(&out);
        assert_eq!(code, 2, "{tool} {arg:?}: {stderr}");
        assert!(
            stderr.contains(option) || stderr.contains("--size"),
            "{tool} {arg:?}: the message names the option: {stderr}"
        );
    }
    // The key file that a failed start might have created is gone again.
    assert!(
        poll_until(DEADLINE, || (!sandbox.exists("/dev/shm/cli")).then_some(())).is_some(),
        "a refused start left its key file behind"
    );
    assert!(sandbox.segments().is_empty(), "{:?}", sandbox.segments());
}

/// Root in a container gets Docker's default capabilities, which do not
/// include CAP_IPC_OWNER: the segment's mode applies to it like to anyone.
#[test]
fn root_without_cap_ipc_owner_gets_only_what_the_mode_allows() {
    let sandbox = Sandbox::new();
    let key_file = "/dev/shm/owned";
    let out = sandbox.sh(&format!(
        "touch {key_file} && chown {VICTIM}:{VICTIM} {key_file}"
    ));
    assert!(out.status.success());
    let mut writer = shm_tests::Proc::spawn(
        sandbox
            .command_as(VICTIM, VICTIM, shm_tests::bin("shm_write"))
            .args(["--key-file", key_file, "--interval", "20ms"]),
    );
    writer.wait_stderr("mode 0600");
    let without_cap = |tool: &str, extra: &[&str]| {
        sandbox
            .command("setpriv")
            .args(["--bounding-set=-ipc_owner", "--inh-caps=-ipc_owner", "--"])
            .arg(shm_tests::bin(tool))
            .args(["--key-file", key_file])
            .args(extra)
            .output()
            .unwrap()
    };
    // Plain root may read it (CAP_IPC_OWNER); without the capability, no.
    assert!(
        run(&sandbox, "shm_read", &["--key-file", key_file, "--once"])
            .status
            .success()
    );
    let (code, stderr) = refusal(&without_cap("shm_read", &["--once"]));
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains("permission denied on segment"), "{stderr}");
    assert!(
        stderr.contains(&format!("owner uid {VICTIM}, mode 0600")),
        "{stderr}"
    );
    writer.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(writer.exit().success());

    // A 0666 segment is readable by anyone, capability or not.
    let mut writer = shm_tests::Proc::spawn(
        sandbox
            .command_as(VICTIM, VICTIM, shm_tests::bin("shm_write"))
            .args([
                "--key-file",
                key_file,
                "--interval",
                "20ms",
                "--mode",
                "0666",
            ]),
    );
    writer.wait_stderr("mode 0666");
    let out = without_cap("shm_read", &["--once"]);
    assert!(out.status.success(), "{out:?}");
    writer.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(writer.exit().success());
}

/// A shared `flock` that another user takes on a readable key file (any
/// tool may take one through a read-only descriptor) must not keep writers
/// out: their lock is an fcntl write lock, which needs a writable
/// descriptor. Writers still keep each other out.
#[test]
fn a_shared_flock_by_another_user_does_not_keep_writers_out() {
    let sandbox = Sandbox::new();
    let key = "/dev/shm/shm_file";
    let once = ["--mode", "0644", "--count", "1", "--interval", "0"];
    let out = run(&sandbox, "shm_write", &once);
    assert!(out.status.success(), "{out:?}");

    let holder = shm_tests::Proc::spawn(sandbox.command_as(ATTACKER, ATTACKER, "sh").args([
        "-c",
        &format!("exec 3<{key} && flock -s -n 3 && echo locked && exec sleep 100000"),
    ]));
    holder.wait_stdout(|l| l == "locked");

    let mut writer = sandbox.writer(&["--mode", "0644", "--interval", "50ms"]);
    let line = writer.wait_stderr("shm_write: ");
    assert!(line.contains("segment created"), "{:?}", writer.stderr());

    let (code, stderr) = refusal(&run(&sandbox, "shm_write", &once));
    assert_eq!(code, 6, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "another shm_write (pid {}) already publishes through key file {key}",
            writer.pid()
        )),
        "{stderr}"
    );
    writer.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(writer.exit().success(), "{:?}", writer.stderr());
}

/// A POSIX read lock, by contrast, anyone who may read the key file can
/// take (`lockf` through a read-only descriptor), and it conflicts with the
/// writers' write lock. It keeps writers out (exit 6), and the refusal says
/// what is in the way: a read lock on the key file and the process that
/// holds it, not the stopped writer its beacon names. Once that process
/// stops, as the message advises, the writer starts.
#[test]
fn a_read_lock_by_another_user_is_named_in_the_refusal() {
    let sandbox = Sandbox::new();
    let key = "/dev/shm/shm_file";
    let once = ["--mode", "0644", "--count", "1", "--interval", "0"];
    let out = run(&sandbox, "shm_write", &once);
    assert!(out.status.success(), "{out:?}");

    let mut holder = shm_tests::Proc::spawn(
        sandbox
            .command_as(ATTACKER, ATTACKER, "python3")
            // The system's python3, which uid 1001 may run.
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .args([
                "-c",
                "import fcntl, sys, time\n\
                 f = open(sys.argv[1])\n\
                 fcntl.lockf(f, fcntl.LOCK_SH | fcntl.LOCK_NB)\n\
                 print('locked', flush=True)\n\
                 time.sleep(100000)",
                key,
            ]),
    );
    holder.wait_stdout(|l| l == "locked");

    let (code, stderr) = refusal(&run(&sandbox, "shm_write", &once));
    assert_eq!(code, 6, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "key file {key} is read-locked by process {}",
            holder.pid()
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("another shm_write"), "{stderr}");

    holder.signal(nix::sys::signal::Signal::SIGTERM);
    holder.exit();
    let out = run(&sandbox, "shm_write", &once);
    assert!(out.status.success(), "{out:?}");
}

/// A hard link to a file of the victim's that the attacker may write
/// (`protected_hardlinks` allows linking it) would have the writer truncate
/// that file and write its beacon into it: a key file with more than one
/// link is refused like a symlink, and the fix the message gives works.
#[test]
fn hard_linked_key_files_are_refused() {
    let sandbox = sticky_dir();
    let key = "/dev/shm/pub/key";
    assert!(sandbox.sh("chmod 666 /dev/shm/victim.txt").status.success());
    attacker(&sandbox, &format!("ln /dev/shm/victim.txt {key}"));
    let args = ["--key-file", key, "--count", "1", "--interval", "0"];
    let victim_txt =
        || String::from_utf8_lossy(&sandbox.sh("cat /dev/shm/victim.txt").stdout).into_owned();

    let (code, stderr) = refusal(&run_as(&sandbox, VICTIM, VICTIM, "shm_write", &args));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!("key file {key} has 2 hard links")),
        "{stderr}"
    );
    assert_eq!(victim_txt(), "precious\n");
    assert!(sandbox.segments().is_empty(), "{:?}", sandbox.segments());

    let fix = format!("rm {key}");
    assert!(stderr.contains(&fix), "{stderr}");
    let out = sandbox
        .command_as(VICTIM, VICTIM, "sh")
        .args(["-c", &fix])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let out = run_as(&sandbox, VICTIM, VICTIM, "shm_write", &args);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(victim_txt(), "precious\n");
}

/// A segment whose mode shuts out even its owner (0000, set by whatever
/// made it): the owner gets a fix that works, and following it works.
#[test]
fn an_owner_shut_out_by_its_segments_mode_is_told_a_fix_that_works() {
    let sandbox = Sandbox::new();
    let key_file = "/dev/shm/shut";
    let out = sandbox.sh(&format!(
        "touch {key_file} && chown {VICTIM}:{VICTIM} {key_file}"
    ));
    assert!(out.status.success());
    let stale = Image::record(1_000_000_000).bytes();
    let id = plant_as(&sandbox, VICTIM, VICTIM, key_file, 0o600, &stale);
    plant::set_mode_as(&sandbox, VICTIM, VICTIM, key_file, 0o000);
    let as_victim = |tool: &str, extra: &[&str]| {
        let mut args = vec!["--key-file", key_file];
        args.extend_from_slice(extra);
        run_as(&sandbox, VICTIM, VICTIM, tool, &args)
    };
    for (tool, extra) in [
        ("shm_write", &["--count", "1"][..]),
        ("shm_read", &["--once"]),
    ] {
        let (code, stderr) = refusal(&as_victim(tool, extra));
        assert_eq!(code, 4, "{tool}: {stderr}");
        assert!(
            stderr.contains(&format!("owner uid {VICTIM}, mode 0000")),
            "{tool}: {stderr}"
        );
        assert!(!stderr.contains("run it as the owner"), "{tool}: {stderr}");
        assert!(
            stderr.contains(&format!("remove it with `ipcrm -m {id}`")),
            "{tool}: {stderr}"
        );
    }
    // The advice, followed by the owner.
    let removed = sandbox
        .command_as(VICTIM, VICTIM, "ipcrm")
        .args(["-m", &id.to_string()])
        .output()
        .unwrap();
    assert!(removed.status.success(), "{removed:?}");
    let out = as_victim("shm_write", &["--count", "1"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("segment created"), "{stderr}");

    // A writer asked for such a mode is told which modes work; nothing stays.
    let (code, stderr) = refusal(&as_victim("shm_write", &["--mode", "0000", "--count", "1"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("--mode 0000 does not let this writer"),
        "{stderr}"
    );
    assert!(!stderr.contains("ipcrm") && !stderr.contains("run it as the owner"));
    assert!(sandbox.segments().is_empty(), "{:?}", sandbox.segments());
    let out = as_victim("shm_write", &["--mode", "0600", "--count", "1"]);
    assert!(out.status.success(), "{out:?}");
}

/// A C text holding a time an hour ahead of the clock, with nothing
/// updating it, is no live writer's. Before the fix any decimal text was
/// printed as the time: `shm_read --once` printed the future time and
/// exited 0. Now it must fail (exit 3, no live writer), print nothing on
/// stdout, and say the time is ahead of this clock.
#[test]
fn a_c_text_from_the_future_does_not_pass_for_a_live_writer() {
    let sandbox = Sandbox::new();
    let key_file = "/dev/shm/future";
    let ahead = unix_now() + 3600;
    plant(
        &sandbox,
        key_file,
        0o600,
        &Image::c_text(ahead.to_string().as_bytes()).bytes(),
    );
    let out = run(&sandbox, "shm_read", &["--key-file", key_file, "--once"]);
    let (code, stderr) = refusal(&out);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("ahead of this clock"), "{stderr}");
}

/// A 200-byte segment whose header says "stream" (mode 0644: any user can
/// make one) is too small for the ring's words. `--list` and `--inspect`
/// panicked on it (exit 101, index out of bounds in the view) because the
/// description read the ring's words without checking the size. Now every
/// word read is checked against the segment's real size: both exit 0 and
/// say the segment is too small for a stream.
#[test]
fn a_stream_header_on_a_tiny_segment_is_described_not_indexed_past_its_end() {
    let sandbox = Sandbox::new();
    let mut bytes = vec![0u8; 200];
    bytes[128..136].copy_from_slice(plant::MAGIC);
    bytes[136..144].copy_from_slice(&2u64.to_le_bytes());
    bytes[144..152].copy_from_slice(&2u64.to_le_bytes());
    let shmid = plant(&sandbox, "/dev/shm/tiny", 0o644, &bytes);
    let shmid = shmid.to_string();
    for args in [&["--list"][..], &["--inspect", "--shmid", &shmid]] {
        let out = run(&sandbox, "shm_read", args);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stdout}{stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(
            stdout
                .contains("unknown: the segment has 200 bytes, fewer than the 448 a stream needs"),
            "{args:?}: {stdout}"
        );
    }
}
