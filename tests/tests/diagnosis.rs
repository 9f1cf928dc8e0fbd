//! The reader explains why it finds no writer: another IPC namespace, or a
//! segment it may not read. It creates nothing while doing so.

use std::time::{Duration, Instant};

use shm_tests::plant::{plant, Image};
use shm_tests::{bin, Proc, Sandbox};

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
    assert!(
        err.contains("--ipc container:<writer>") && err.contains("--ipc shareable"),
        "{err}"
    );
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
    assert!(err.contains("--ipc container:<writer>"), "{err}");
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
    // About 3 s of a detail changing every 100 ms, each seen by the readers
    // (they look every 50 ms).
    let start = Instant::now();
    let mut i = 0;
    while start.elapsed() < Duration::from_secs(3) {
        i += 1;
        plant(&sandbox, CHANGING[0].0, 0o600, &clock_text(i));
        plant(&sandbox, CHANGING[1].0, 0o600, &odd_record(i));
        beacon(&sandbox, 100 + i);
        std::thread::sleep(Duration::from_millis(100));
    }
    for (reader, (key_file, _)) in readers.iter().zip(CHANGING) {
        let lines = reader.stderr().len();
        eprintln!("{key_file}: {lines} diagnosis line(s) over {i} changes");
    }
    for (reader, (key_file, says)) in readers.iter().zip(CHANGING) {
        let lines = reader.stderr();
        assert!(
            lines.iter().all(|l| l.contains(says)),
            "{key_file}: {lines:?}"
        );
        assert_eq!(lines.len(), 1, "{key_file}: {i} changes gave {lines:#?}");
    }
}
