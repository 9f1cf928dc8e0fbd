//! Bad input: a clear error naming the thing, a non-zero exit, and nothing
//! created or left behind.

use nix::sys::signal::Signal;
use shm_tests::Sandbox;

/// Run the writer with `args`; its exit code and stderr.
fn refuse(sandbox: &Sandbox, args: &[&str]) -> (i32, String) {
    let mut writer = sandbox.writer(args);
    let code = writer.exit().code().expect("killed by a signal");
    let err = writer.stderr().join("\n");
    assert!(!err.contains("panicked"), "{err}");
    assert_ne!(code, 0, "{args:?} accepted: {err}");
    assert!(
        sandbox.segments().is_empty(),
        "{args:?} left {:?}",
        sandbox.segments()
    );
    (code, err)
}

#[test]
fn proj_id_out_of_range() {
    let sandbox = Sandbox::new();
    for id in ["0", "256", "-1", "x"] {
        let (code, err) = refuse(&sandbox, &["--proj-id", id]);
        assert_eq!(code, 2);
        assert!(err.contains("--proj-id"), "{err}");
    }
    assert!(!sandbox.exists("/dev/shm/shm_file"));
}

#[test]
fn size_smaller_than_the_header() {
    let sandbox = Sandbox::new();
    let (code, err) = refuse(&sandbox, &["--size", "100"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--size 100 is smaller than the 256 bytes"),
        "{err}"
    );
    assert!(!sandbox.exists("/dev/shm/shm_file"));
}

#[test]
fn key_file_that_is_not_a_regular_file() {
    let sandbox = Sandbox::new();
    let setup = sandbox.sh(
        "mkdir /dev/shm/dir && echo keep > /dev/shm/target && ln -s /dev/shm/target /dev/shm/link && mkfifo /dev/shm/fifo",
    );
    assert!(setup.status.success());
    for (path, what) in [
        ("/dev/shm/dir", "is a directory"),
        ("/dev/shm/link", "is a symbolic link"),
        ("/dev/shm/fifo", "is a FIFO"),
    ] {
        let (code, err) = refuse(&sandbox, &["--key-file", path]);
        assert_eq!(code, 2, "{path}");
        assert!(err.contains(&format!("key file {path} {what}")), "{err}");
    }
    let target = sandbox.sh("cat /dev/shm/target");
    assert_eq!(
        String::from_utf8_lossy(&target.stdout),
        "keep\n",
        "wrote through the symlink"
    );
}

#[test]
fn key_file_in_a_missing_directory() {
    let sandbox = Sandbox::new();
    let (code, err) = refuse(&sandbox, &["--key-file", "/dev/shm/missing/key"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("directory /dev/shm/missing of key file /dev/shm/missing/key does not exist"),
        "{err}"
    );
    assert!(!sandbox.exists("/dev/shm/missing"));
}

#[test]
fn existing_segment_of_another_size() {
    let sandbox = Sandbox::new();
    let mut small = sandbox.writer(&["--size", "1024"]);
    small.wait_stderr("size 1024");
    small.signal(Signal::SIGKILL);
    small.exit();
    let before = sandbox.segments();
    assert_eq!(before.len(), 1);

    let mut writer = sandbox.writer(&[]);
    assert_eq!(writer.exit().code(), Some(6));
    let err = writer.stderr().join("\n");
    let key = before[0].key_hex();
    assert!(
        err.contains(&format!(
            "segment {key} (shmid {}) already exists with 1024 bytes, not the 4096 asked",
            before[0].shmid
        )),
        "{err}"
    );
    assert!(err.contains(&format!("ipcrm -M {key}")), "{err}");
    assert_eq!(
        sandbox.segments(),
        before,
        "the refused writer changed the segments"
    );
}

#[test]
fn second_writer_on_the_same_key_file() {
    let sandbox = Sandbox::new();
    let first = sandbox.writer(&[]);
    first.wait_stderr("segment created");
    let mut second = sandbox.writer(&[]);
    assert_eq!(second.exit().code(), Some(6));
    let err = second.stderr().join("\n");
    assert!(
        err.contains(&format!(
            "another shm_write (pid {}) already publishes through key file /dev/shm/shm_file",
            first.pid()
        )),
        "{err}"
    );
    assert_eq!(sandbox.segments().len(), 1);
}

#[test]
fn reader_bad_options_are_usage_errors() {
    let sandbox = Sandbox::new();
    for args in [
        &["--interval", ""][..],
        &["--interval", "-1s"],
        &["--interval", "10"],
        &["--timeout", "5parsecs"],
        &["--count", "0"],
        &["--format", "xml"],
        &["--once", "--count", "2"],
    ] {
        let mut reader = sandbox.reader(args);
        assert_eq!(reader.exit().code(), Some(2), "{args:?}");
        let err = reader.stderr().join("\n");
        assert!(
            err.contains("error:") && !err.contains("panicked"),
            "{args:?}: {err}"
        );
    }
    assert!(sandbox.segments().is_empty());
}

/// A start that fails at the segment (here every size is above the
/// namespace's shmmax) removes the key file it created, in every mode, and
/// leaves a key file that was already there as it was.
#[test]
fn a_failed_start_leaves_no_key_file_it_created() {
    let sandbox = Sandbox::new();
    // shmmax belongs to the IPC namespace: the machine's is untouched.
    let out = sandbox.sh("echo 256 > /proc/sys/kernel/shmmax");
    assert!(out.status.success(), "{out:?}");
    for mode in [&[][..], &["--value", "x"], &["--stream"]] {
        let args = [mode, &["--size", "4096"]].concat();
        let (code, err) = refuse(&sandbox, &args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(err.contains("shmmax"), "{args:?}: {err}");
        assert!(!sandbox.exists("/dev/shm/shm_file"), "{args:?}: {err}");
    }

    let kept = "/dev/shm/kept";
    let look = format!("stat -c '%i %a %s' {kept} && cat {kept}");
    let out = sandbox.sh(&format!("echo kept > {kept} && chmod 640 {kept}"));
    assert!(out.status.success(), "{out:?}");
    let before = sandbox.sh(&look);
    let (code, err) = refuse(&sandbox, &["--key-file", kept, "--mode", "0644"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(sandbox.sh(&look).stdout, before.stdout, "{err}");
}
