//! The reader explains why it finds no writer: another IPC namespace, or a
//! segment it may not read. It creates nothing while doing so.

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
