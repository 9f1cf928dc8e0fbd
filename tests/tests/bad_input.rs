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

#[test]
fn key_file_under_a_regular_file() {
    let sandbox = Sandbox::new();
    assert!(sandbox.sh("echo keep > /dev/shm/file").status.success());
    for path in [
        "/dev/shm/file/",
        "/dev/shm/file/key",
        "/dev/shm/file/sub/key",
    ] {
        let (code, err) = refuse(&sandbox, &["--key-file", path]);
        assert_eq!(code, 2, "{path}: {err}");
        let says = format!("key file {path}: /dev/shm/file is a regular file, not a directory");
        assert!(err.contains(&says), "{err}");
        assert!(!err.contains("does not exist"), "{err}");
        let mut reader = sandbox.reader(&["--key-file", path, "--once"]);
        assert_eq!(
            reader.exit().code(),
            Some(2),
            "{path}: {:?}",
            reader.stderr()
        );
        let err = reader.stderr().join("\n");
        assert!(
            err.contains(&says) && !err.contains("does not exist"),
            "{err}"
        );
    }
    let kept = sandbox.sh("cat /dev/shm/file");
    assert_eq!(String::from_utf8_lossy(&kept.stdout), "keep\n");
}

/// A writer asking for `--size`, in a sandbox whose limits `setup` sets
/// first: the refusal, which must name `names` and none of `not`.
fn refused_size(setup: &str, size: &str, names: &[&str], not: &[&str]) -> (Sandbox, String) {
    let sandbox = Sandbox::new();
    let out = sandbox.sh(setup);
    assert!(out.status.success(), "{setup}: {out:?}");
    let (code, err) = refuse(&sandbox, &["--size", size, "--count", "1"]);
    assert_eq!(code, 1, "{err}");
    for name in names {
        assert!(
            err.contains(name),
            "--size {size} after {setup:?}: {name:?} in {err}"
        );
    }
    for name in not {
        assert!(
            !err.contains(name),
            "--size {size} after {setup:?}: not {name:?} in {err}"
        );
    }
    (sandbox, err)
}

/// The writer with `args` starts (the advice it got was followed).
fn starts(sandbox: &Sandbox, args: &[&str]) {
    let mut writer = sandbox.writer(args);
    writer.wait_stderr("segment created");
    writer.signal(Signal::SIGTERM);
    // 0, or 7 for a stream that no consumer took.
    let code = writer.exit().code();
    assert!(
        matches!(code, Some(0 | 7)),
        "{args:?}: {code:?} {:?}",
        writer.stderr()
    );
}

#[test]
fn a_size_the_kernel_refuses_names_the_limit_it_ran_into() {
    // One segment larger than this namespace's shmmax: EINVAL.
    let (sandbox, _) = refused_size(
        "echo 1048576 > /proc/sys/kernel/shmmax",
        "2M",
        &[
            "more than the 1048576 bytes one segment may have",
            "kernel.shmmax",
        ],
        &["shmall", "shmmni", "memory"],
    );
    starts(&sandbox, &["--size", "1048576"]);

    // The namespace's total in pages (shmall): ENOSPC.
    let (sandbox, _) = refused_size(
        "echo 16 > /proc/sys/kernel/shmall",
        "128k",
        &[
            "needs 32 more, over the namespace's total of 16 pages",
            "kernel.shmall",
        ],
        &["shmmax", "shmmni", "memory"],
    );
    starts(&sandbox, &["--size", "64k"]);

    // The namespace's count of segments (shmmni): ENOSPC as well.
    let sandbox = Sandbox::new();
    assert!(sandbox
        .sh("echo 1 > /proc/sys/kernel/shmmni")
        .status
        .success());
    let id = shm_tests::plant::plant(&sandbox, "/dev/shm/other", 0o600, &[0; 4096]);
    let mut writer = sandbox.writer(&["--count", "1"]);
    let code = writer.exit().code();
    let err = writer.stderr().join("\n");
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("as many segments as it may, 1") && err.contains("kernel.shmmni"),
        "{err}"
    );
    for name in ["shmall", "shmmax", "memory"] {
        assert!(!err.contains(name), "not {name:?} in {err}");
    }
    assert!(sandbox.sh(&format!("ipcrm -m {id}")).status.success());
    starts(&sandbox, &[]);

    // More than the machine will commit: ENOMEM, unless it commits anything.
    let overcommit = std::fs::read_to_string("/proc/sys/vm/overcommit_memory").unwrap();
    if overcommit.trim() == "1" {
        eprintln!("vm.overcommit_memory = 1: the kernel commits any size, no ENOMEM to test");
        return;
    }
    refused_size(
        "true",
        &(1u64 << 50).to_string(),
        &["not enough memory", "MiB of RAM"],
        &["shmmax", "shmall", "shmmni"],
    );
}

#[test]
fn a_too_small_size_is_refused_with_one_that_then_works() {
    let sandbox = Sandbox::new();
    for mode in [&[][..], &["--value", "PI is 3.14"], &["--stream"]] {
        let mut args = vec!["--size", "100"];
        args.extend_from_slice(mode);
        let (code, err) = refuse(&sandbox, &args);
        assert_eq!(code, 2, "{mode:?}: {err}");
        let size = err
            .split("use --size ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("{mode:?}: no size advice in {err}"));
        let mut args = vec!["--size", size];
        args.extend_from_slice(mode);
        starts(&sandbox, &args);
    }
}
