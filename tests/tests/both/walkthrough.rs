//! The walkthrough: a writer `--ipc shareable`, a reader `--ipc
//! container:<writer>`, one segment and one `/dev/shm` between them, a
//! reader alone that explains, a quick and clean stop, and a pod-like
//! sandbox that keeps the namespace across writer restarts.

use std::time::{Duration, Instant};

use shm_tests::docker::IMAGE;
use shm_tests::engine::{output_lines, stderr_of, stdout_of, Container, Engine, IpcsRow, Kind};
use shm_tests::{startup_key, DEADLINE};

use super::{
    as_documented, ls_n, one_segment_both_attached, start_writer, times, wait_advancing, READER,
    WRITER,
};

pub fn reader_joins_a_shareable_writer(engine: &impl Engine) {
    let image = engine.image(IMAGE);
    let (writer, startup) = start_writer(engine, &image, &["--ipc", "shareable"], &[]);
    let join = format!("container:{}", writer.name);
    let reader = engine.run_container("reader", &["--ipc", &join], &image, &[READER]);
    let readings = wait_advancing(&reader);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let last: i64 = readings
        .last()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("bad reading in {readings:?}"));
    assert!(
        (now - last).abs() <= 5,
        "readings {readings:?} are not the time ({now})"
    );

    // Both containers see one segment: same key, same shmid, both attached.
    let row = one_segment_both_attached(&writer, &reader);
    eprintln!("ipcs -m in both: {row:?}");
    assert_eq!(row.key, startup_key(&startup), "{row:?} vs {startup}");
    assert!(
        startup.contains(&format!("shmid {} ", row.shmid)),
        "{row:?} vs {startup}"
    );
    assert_eq!(
        (row.owner.as_str(), row.perms.as_str(), row.bytes),
        ("root", "600", 4096)
    );
    // And one key file.
    let inode = |c: &Container<'_>| ls_n(c, &["-i", "/dev/shm/shm_file"])[0].clone();
    assert_eq!(inode(&writer), inode(&reader));

    // What docs/containers.md's walkthrough shows, steps 1 and 3: what the
    // tools print, the same on either engine.
    const TEST: &str = "reader_joins_a_shareable_writer";
    as_documented(engine, TEST, "docker logs shm-writer", &writer.logs().1);
    for (name, c) in [("shm-writer", &writer), ("shm-reader", &reader)] {
        let ipcs = c.exec(&["ipcs", "-m"]);
        as_documented(
            engine,
            TEST,
            &format!("docker exec {name} ipcs -m"),
            &output_lines(&ipcs.stdout),
        );
        let list = c.exec(&[READER, "--list"]);
        as_documented(
            engine,
            TEST,
            &format!("docker exec {name} /bin/shm_read --list"),
            &output_lines(&list.stdout),
        );
    }
    let beacon = reader.exec(&["cat", "/dev/shm/shm_file"]);
    as_documented(
        engine,
        TEST,
        "docker exec shm-reader cat /dev/shm/shm_file",
        &output_lines(&beacon.stdout),
    );
    let json = reader.exec(&[READER, "--once", "--format", "json"]);
    as_documented(
        engine,
        TEST,
        "docker exec shm-reader /bin/shm_read --once --format json",
        &output_lines(&json.stdout),
    );
}

pub fn ipc_container_mode_shares_dev_shm(engine: &impl Engine) {
    let image = engine.image(IMAGE);
    let (writer, _) = start_writer(engine, &image, &["--ipc", "shareable"], &[]);
    let join = format!("container:{}", writer.name);
    let reader = engine.run_container("reader", &["--ipc", &join], &image, &[READER]);
    reader.wait_lines(1, DEADLINE);

    // The key file: same inode, same beacon text.
    let ls = |c: &Container<'_>| stdout_of(&c.exec(&["ls", "-i", "/dev/shm/shm_file"]));
    let inode = ls(&writer);
    assert!(inode.contains("/dev/shm/shm_file"), "{inode:?}");
    assert_eq!(inode, ls(&reader));
    let beacon = stdout_of(&writer.exec(&["cat", "/dev/shm/shm_file"]));
    assert!(beacon.contains("pid=1\n"), "{beacon:?}");
    assert_eq!(
        beacon,
        stdout_of(&reader.exec(&["cat", "/dev/shm/shm_file"]))
    );

    // One mount, not two copies: a file made on one side shows on the other.
    let made = reader.exec(&["sh", "-c", "echo from-reader > /dev/shm/probe"]);
    assert!(made.status.success(), "{made:?}");
    let seen = writer.exec(&["cat", "/dev/shm/probe"]);
    assert_eq!(stdout_of(&seen), "from-reader\n", "{seen:?}");
}

pub fn reader_without_ipc_explains_and_creates_nothing(engine: &impl Engine) {
    let image = engine.image(IMAGE);
    // A writer runs, but in its own IPC namespace and /dev/shm.
    let (writer, _) = start_writer(engine, &image, &["--ipc", "shareable"], &[]);
    assert_eq!(writer.ipcs().len(), 1);
    let reader = engine.named("reader");
    let started = Instant::now();
    let out = engine.run_foreground(
        &["--name", &reader.name],
        &image,
        &[
            "sh",
            "-c",
            "/bin/shm_read --timeout 2s; rc=$?; echo segments:; ipcs -m; echo files:; ls -A /dev/shm; exit $rc",
        ],
    );
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(took >= Duration::from_secs(2), "gave up after {took:?}");
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("does not exist in this reader's /dev/shm"),
        "{stderr}"
    );
    // The fix of this engine's containers, and no other place's; said
    // once, and the error that ends the wait points at it.
    let (ours, theirs) = match engine.kind() {
        Kind::Docker => (
            "  fix: start this reader's container with `docker run --ipc container:<writer container> ...`, and the writer's with `--ipc shareable`",
            "podman",
        ),
        Kind::Podman => (
            "  fix: start this reader's container with `podman run --ipc container:<writer container> ...`",
            "docker",
        ),
    };
    assert!(stderr.contains(ours), "{stderr}");
    for other in [theirs, "nsenter", "Compose", "Kubernetes", "--ipc host"] {
        assert!(!stderr.contains(other), "{other}: {stderr}");
    }
    assert_eq!(stderr.matches("does not exist").count(), 1, "{stderr}");
    assert!(
        stderr.contains(
            "shm_read: error: timed out after 2s waiting for a live writer (the reason is above)"
        ),
        "{stderr}"
    );
    let command = match engine.kind() {
        Kind::Docker => "docker run --rm shm-time /bin/shm_read --timeout 2s",
        Kind::Podman => "podman run --rm --network none shm-time /bin/shm_read --timeout 2s",
    };
    // What the reader printed: its reports and their continuation lines,
    // without the client's own (Podman's, about health checks without
    // systemd, which the doc leaves out).
    let said: Vec<String> = output_lines(&out.stderr)
        .into_iter()
        .filter(|l| l.starts_with("shm_read: ") || l.starts_with("  "))
        .collect();
    as_documented(
        engine,
        "reader_without_ipc_explains_and_creates_nothing",
        command,
        &said,
    );
    let stdout = stdout_of(&out);
    let (segments, files) = stdout.split_once("files:").expect("script output");
    assert!(
        IpcsRow::parse_table(segments).is_empty(),
        "the reader created a segment: {stdout}"
    );
    assert!(
        segments.contains("Shared Memory Segments"),
        "no ipcs output: {stdout}"
    );
    assert_eq!(files.trim(), "", "the reader created files: {stdout}");
}

/// `<engine> stop` of the writer: SIGTERM, and the writer is gone well
/// within the 10 s grace period (Docker: 2 s; Podman, whose client does
/// more: 5 s), with exit 0; the joined reader waits for a new writer.
pub fn stop_is_quick_and_clean(engine: &impl Engine) {
    let bound = match engine.kind() {
        Kind::Docker => Duration::from_secs(2),
        Kind::Podman => Duration::from_secs(5),
    };
    let image = engine.image(IMAGE);
    let (writer, _) = start_writer(engine, &image, &["--ipc", "shareable"], &[]);
    let join = format!("container:{}", writer.name);
    let reader = engine.run_container("reader", &["--ipc", &join], &image, &[READER]);
    reader.wait_lines(1, DEADLINE);

    let started = Instant::now();
    writer.stop();
    let took = started.elapsed();
    eprintln!("{} stop took {:.3} s", engine.name(), took.as_secs_f64());
    assert!(took < bound, "{} stop took {took:?}", engine.name());
    assert_eq!(writer.wait(), "0");
    assert_eq!(writer.inspect("{{.State.ExitCode}}"), "0");
    assert_eq!(writer.inspect("{{.State.OOMKilled}}"), "false");
    writer.wait_stderr("SIGTERM received: stopping");
    reader.wait_stderr("stopped cleanly; waiting for a new writer");
    // The reader keeps waiting for a new writer.
    assert_eq!(reader.inspect("{{.State.Status}}"), "running");
    // What docs/containers.md's step 4 shows: what the tools print, the
    // same on either engine.
    const TEST: &str = "stop_is_quick_and_clean";
    as_documented(engine, TEST, "docker logs shm-writer", &writer.logs().1);
    let last = reader
        .logs()
        .1
        .last()
        .cloned()
        .into_iter()
        .collect::<Vec<_>>();
    as_documented(engine, TEST, "docker logs shm-reader 2>&1 | tail -1", &last);
}

pub fn pod_like_sandbox_keeps_the_namespace_across_writer_restarts(engine: &impl Engine) {
    // What a Kubernetes pod does: a sandbox container owns the IPC namespace
    // and /dev/shm, the pod's containers join it (docs/examples/pod.yaml).
    let image = engine.image(IMAGE);
    let sandbox = engine.run_container(
        "sandbox",
        &["--ipc", "shareable"],
        &image,
        &["sleep", "100000"],
    );
    let join = format!("container:{}", sandbox.name);
    let as_pod = ["--ipc", join.as_str(), "--user", "nobody"];
    let (writer, first) = start_writer(engine, &image, &as_pod, &[WRITER]);
    let reader = engine.run_container("reader", &as_pod, &image, &[READER]);
    wait_advancing(&reader);

    // The writer restarts; the namespace, key file and key stay.
    writer.stop();
    assert_eq!(writer.inspect("{{.State.ExitCode}}"), "0");
    reader.wait_stderr("stopped cleanly; waiting for a new writer");
    assert!(
        sandbox.ipcs().is_empty(),
        "segment left: {:?}",
        sandbox.ipcs()
    );
    let before = times(&reader.logs().0).len();
    let (_again, second) = start_writer(engine, &image, &as_pod, &[WRITER]);
    assert_eq!(startup_key(&first), startup_key(&second));
    reader.wait_stderr("from a live writer");
    reader.wait_for(DEADLINE, "a reading after the restart", |r| {
        (times(&r.logs().0).len() > before).then_some(())
    });
}
