//! The container story against the real Docker engine: the image, the
//! walkthrough (writer `--ipc shareable`, reader `--ipc container:<writer>`),
//! what the engine does with the walkthrough as originally written, users,
//! `docker stop`, Compose, and binaries that need no libc at all.
//!
//! These tests fail (they do not skip) when no Docker engine answers.

use std::time::{Duration, Instant};

use shm_tests::doc_examples::{compare, shown};
use shm_tests::docker::{
    compose_command, docker, docker_ok, images, output_lines, require_engine, ComposeProject,
    Container, Logs, BARE_IMAGE, IMAGE,
};
use shm_tests::{bin, poll_until, workspace, DEADLINE};

const WRITER: &str = "/bin/shm_write";
const READER: &str = "/bin/shm_read";

/// The seconds of `now time: <secs>` lines.
fn times(lines: &[String]) -> Vec<i64> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("now time: "))
        .map(|t| t.parse().unwrap_or_else(|_| panic!("bad reading {t:?}")))
        .collect()
}

/// Start a writer container (`--ipc shareable` unless `options` say
/// otherwise) and wait for its startup line; the container and that line.
fn start_writer(options: &[&str], command: &[&str]) -> (Container, String) {
    images();
    let writer = Container::run("writer", options, IMAGE, command);
    let line = writer.wait_stderr("segment created");
    (writer, line)
}

/// The `key 0x...` of a writer's startup line.
fn startup_key(line: &str) -> String {
    line.split_whitespace()
        .skip_while(|w| *w != "key")
        .nth(1)
        .unwrap_or_else(|| panic!("no key in {line:?}"))
        .to_owned()
}

/// Wait until `container` printed readings whose seconds advance: the first
/// reading within [`DEADLINE`] (container start-up on a busy machine), an
/// advancing one within 3 s of it. The readings.
fn wait_advancing(container: &Container) -> Vec<i64> {
    container.wait_lines(1, DEADLINE);
    let first = Instant::now();
    let readings = poll_until(Duration::from_secs(3), || {
        std::thread::sleep(Duration::from_millis(40));
        let t = times(&container.logs().0);
        (t.len() >= 2 && t.last() > t.first()).then_some(t)
    })
    .unwrap_or_else(|| {
        panic!(
            "{}: readings did not advance within 3 s of the first; logs {:?}",
            container.name,
            container.logs()
        )
    });
    eprintln!(
        "{}: readings advanced {:.2} s after the first: {readings:?}",
        container.name,
        first.elapsed().as_secs_f64()
    );
    assert!(
        readings.windows(2).all(|w| w[0] <= w[1]),
        "readings go backwards: {readings:?}"
    );
    readings
}

/// Compare what a command printed in a container with what the console
/// example checked by `test` shows after `command` (docs/containers.md).
fn as_documented(test: &str, command: &str, printed: &[String]) {
    compare(&shown(test, command), printed)
        .unwrap_or_else(|e| panic!("docs/containers.md, `$ {command}`: {e}"));
}

fn stdout_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

// --- static binaries ----------------------------------------------------

/// What the ELF program headers and dynamic section say about linking.
#[derive(Debug)]
struct Linking {
    interpreter: bool,
    needed: usize,
}

/// Read an ELF64 little-endian file's PT_INTERP and DT_NEEDED entries.
fn linking(path: &std::path::Path) -> Linking {
    let data = std::fs::read(path).unwrap();
    assert_eq!(&data[..4], b"\x7fELF", "{} is not ELF", path.display());
    assert_eq!(data[4], 2, "not ELF64");
    assert_eq!(data[5], 1, "not little-endian");
    let u16_at = |o: usize| u16::from_le_bytes(data[o..o + 2].try_into().unwrap()) as usize;
    let u32_at = |o: usize| u32::from_le_bytes(data[o..o + 4].try_into().unwrap());
    let u64_at = |o: usize| u64::from_le_bytes(data[o..o + 8].try_into().unwrap()) as usize;
    let (phoff, phentsize, phnum) = (u64_at(0x20), u16_at(0x36), u16_at(0x38));
    let mut result = Linking {
        interpreter: false,
        needed: 0,
    };
    for i in 0..phnum {
        let ph = phoff + i * phentsize;
        match u32_at(ph) {
            3 => result.interpreter = true, // PT_INTERP
            2 => {
                // PT_DYNAMIC: Elf64_Dyn entries (tag, value) up to DT_NULL.
                let (offset, size) = (u64_at(ph + 8), u64_at(ph + 32));
                for entry in (offset..offset + size).step_by(16) {
                    match u64_at(entry) {
                        0 => break,
                        1 => result.needed += 1, // DT_NEEDED
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    result
}

#[test]
fn binaries_are_statically_linked() {
    // The check itself can tell: the shell is dynamically linked.
    let sh = linking(&std::fs::canonicalize("/bin/sh").unwrap());
    assert!(sh.interpreter && sh.needed > 0, "/bin/sh: {sh:?}");
    for name in ["shm_write", "shm_read"] {
        let l = linking(&bin(name));
        // static-pie keeps a PT_DYNAMIC for self-relocation, but no
        // interpreter and no needed libraries.
        assert!(!l.interpreter, "{name} asks for a dynamic loader: {l:?}");
        assert_eq!(l.needed, 0, "{name} needs shared libraries: {l:?}");
    }
}

#[test]
fn static_binaries_run_in_an_image_without_libc() {
    images();
    // Nothing else is in there: not even a shell.
    let shell = Container::named("bare-sh");
    let out = docker(&[
        "run",
        "--name",
        &shell.name,
        BARE_IMAGE,
        "/bin/sh",
        "-c",
        "true",
    ]);
    assert!(!out.status.success(), "the bare image has a shell: {out:?}");

    let help = docker(&["run", "--rm", BARE_IMAGE, READER, "--help"]);
    assert!(help.status.success(), "shm_read --help: {help:?}");
    assert!(stdout_of(&help).contains("Usage: shm_read"), "{help:?}");

    let once = docker(&["run", "--rm", BARE_IMAGE, WRITER, "--count", "1"]);
    assert!(once.status.success(), "shm_write --count 1: {once:?}");
    let stderr = stderr_of(&once);
    assert!(stderr.contains("segment created"), "{stderr}");
    assert!(stderr.contains("key-file /dev/shm/shm_file"), "{stderr}");
}

#[test]
fn the_minimal_image_runs_the_writer_the_reader_and_the_listing() {
    images();
    let writer = Container::run("min-writer", &["--ipc", "shareable"], BARE_IMAGE, &[]);
    let line = writer.wait_stderr("segment created");
    let key = startup_key(&line);
    // The doc's --inspect from a joined container, before any reader came.
    let inspect = docker(&[
        "run",
        "--rm",
        "--ipc",
        &format!("container:{}", writer.name),
        BARE_IMAGE,
        READER,
        "--inspect",
    ]);
    assert!(inspect.status.success(), "{inspect:?}");
    as_documented(
        "the_minimal_image_runs_the_writer_the_reader_and_the_listing",
        "docker run --rm --ipc container:shm-writer shm-time-minimal /bin/shm_read --inspect",
        &output_lines(&inspect.stdout),
    );
    let reader = Container::run(
        "min-reader",
        &["--ipc", &format!("container:{}", writer.name)],
        BARE_IMAGE,
        &[READER, "--count", "2", "--interval", "200ms"],
    );
    assert_eq!(reader.wait_exit(), 0, "{:?}", reader.logs());
    assert_eq!(times(&reader.logs().0).len(), 2, "{:?}", reader.logs());
    // In the writer's own container (its PID namespace): the writer is pid 1.
    let list = writer.exec(&[READER, "--list"]);
    let list = stdout_of(&list);
    let row = list
        .lines()
        .find(|l| l.starts_with(&key))
        .unwrap_or_else(|| panic!("{key} not listed: {list}"));
    assert!(row.contains("time record: writer pid 1 running"), "{row}");
    assert!(list.contains("attached: pid 1 shm_write"), "{list}");
    // A joined container sees the same segment and namespace.
    let joined = docker(&[
        "run",
        "--rm",
        "--ipc",
        &format!("container:{}", writer.name),
        BARE_IMAGE,
        READER,
        "--list",
        "--format",
        "json",
    ]);
    let joined = stdout_of(&joined);
    assert!(joined.contains(&format!("\"key\":\"{key}\"")), "{joined}");
    let ns = list
        .split_whitespace()
        .nth(2)
        .unwrap()
        .trim_end_matches(':');
    assert!(
        joined.contains(&format!("\"ipc_ns\":\"{ns}\"")),
        "{joined} vs {list}"
    );
}

#[test]
fn a_value_crosses_from_a_writer_container_to_a_joined_reader() {
    images();
    let pi = "PI is defined as: 22/7==3.14286";
    let writer = Container::run(
        "value-writer",
        &["--ipc", "shareable"],
        IMAGE,
        &[WRITER, "--value", pi],
    );
    writer.wait_stderr("segment created");
    let reader = Container::run(
        "value-reader",
        &["--ipc", &format!("container:{}", writer.name)],
        IMAGE,
        &[READER, "--on-change", "--count", "1", "--format", "raw"],
    );
    assert_eq!(reader.wait_exit(), 0, "{:?}", reader.logs());
    assert_eq!(reader.logs().0, vec![pi.to_owned()]);
    // The writer's healthcheck command passes on a value, too.
    let health = writer.exec(&[READER, "--once"]);
    assert!(health.status.success(), "{health:?}");
    assert_eq!(stdout_of(&health), format!("now time: {pi}\n"));
}

/// The producer of Docker in Action's producer/consumer walkthrough, with
/// our stream: 500 pseudo-random hex messages, then `done` (the base image
/// has a shell and little else, so the generator is shell arithmetic).
const PRODUCER_SCRIPT: &str = "x=$$; i=0; { while [ $i -lt 500 ]; do x=$(( (x * 1103515245 + 12345) % 2147483648 )); m=$(printf '%x' $(( x / 65536 % 256 ))); echo \"Produced: $m\" >&2; echo $m; i=$((i + 1)); done; echo done; } | /bin/shm_write --stream";

#[test]
fn the_producer_consumer_walkthrough_with_a_stream() {
    images();
    let producer = Container::run(
        "stream-producer",
        &["--ipc", "shareable", "-u", "nobody"],
        IMAGE,
        &["/bin/sh", "-c", PRODUCER_SCRIPT],
    );
    producer.wait_stderr("segment created");
    // Unjoined, the consumer fails with the namespace diagnosis.
    let alone = docker(&[
        "run",
        "--rm",
        "-u",
        "nobody",
        IMAGE,
        READER,
        "--stream",
        "--timeout",
        "1s",
    ]);
    assert_eq!(alone.status.code(), Some(3), "{alone:?}");
    assert!(
        stderr_of(&alone).contains("--ipc container:<writer>"),
        "{alone:?}"
    );
    let consumer = Container::run(
        "stream-consumer",
        &["--ipc", &format!("container:{}", producer.name), "-u", "nobody"],
        IMAGE,
        &["/bin/sh", "-c", "/bin/shm_read --stream | while read m; do echo \"Consumed: $m\"; [ \"$m\" = done ] && break; done"],
    );
    assert_eq!(consumer.wait_exit(), 0, "{:?}", consumer.logs());
    assert_eq!(producer.wait_exit(), 0, "{:?}", producer.logs());
    let consumed: Vec<String> = consumer
        .logs()
        .0
        .iter()
        .filter_map(|l| l.strip_prefix("Consumed: "))
        .map(str::to_owned)
        .collect();
    let produced: Vec<String> = producer
        .logs()
        .1
        .iter()
        .filter_map(|l| l.split("Produced: ").nth(1))
        .map(str::to_owned)
        .collect();
    assert_eq!(produced.len(), 500, "{:?}", producer.logs());
    assert_eq!(consumed[..500], produced[..], "every message, in order");
    assert_eq!(consumed.last().map(String::as_str), Some("done"));
    assert!(
        producer
            .logs()
            .1
            .iter()
            .any(|l| l.contains("stream delivered")),
        "{:?}",
        producer.logs()
    );
}

// --- the walkthrough ----------------------------------------------------

#[test]
fn reader_joins_a_shareable_writer() {
    let (writer, startup) = start_writer(&["--ipc", "shareable"], &[]);
    let key = startup_key(&startup);
    let join = format!("container:{}", writer.name);
    let reader = Container::run("reader", &["--ipc", &join], IMAGE, &[READER]);
    let readings = wait_advancing(&reader);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(
        (now - readings.last().unwrap()).abs() <= 5,
        "readings {readings:?} are not the time ({now})"
    );

    // Both containers see one segment: same key, same shmid, both attached.
    let both = poll_until(DEADLINE, || {
        let (w, r) = (writer.ipcs(), reader.ipcs());
        (w.len() == 1 && w == r && w[0].nattch == 2).then_some(w)
    })
    .unwrap_or_else(|| {
        panic!(
            "ipcs -m differs: writer {:?}, reader {:?}",
            writer.ipcs(),
            reader.ipcs()
        )
    });
    assert_eq!(both[0].key, key, "{both:?} vs {startup}");
    assert!(
        startup.contains(&format!("shmid {} ", both[0].shmid)),
        "{both:?} vs {startup}"
    );
    assert_eq!(both[0].owner, "root");
    assert_eq!(both[0].perms, "600");
    assert_eq!(both[0].bytes, 4096);

    // What docs/containers.md's walkthrough shows, steps 1 and 3.
    const TEST: &str = "reader_joins_a_shareable_writer";
    as_documented(TEST, "docker logs shm-writer", &writer.logs().1);
    for (name, c) in [("shm-writer", &writer), ("shm-reader", &reader)] {
        let ipcs = c.exec(&["ipcs", "-m"]);
        as_documented(
            TEST,
            &format!("docker exec {name} ipcs -m"),
            &output_lines(&ipcs.stdout),
        );
        let list = c.exec(&[READER, "--list"]);
        as_documented(
            TEST,
            &format!("docker exec {name} /bin/shm_read --list"),
            &output_lines(&list.stdout),
        );
    }
    let beacon = reader.exec(&["cat", "/dev/shm/shm_file"]);
    as_documented(
        TEST,
        "docker exec shm-reader cat /dev/shm/shm_file",
        &output_lines(&beacon.stdout),
    );
    let json = reader.exec(&[READER, "--once", "--format", "json"]);
    as_documented(
        TEST,
        "docker exec shm-reader /bin/shm_read --once --format json",
        &output_lines(&json.stdout),
    );
}

#[test]
fn ipc_container_mode_shares_dev_shm() {
    let (writer, _) = start_writer(&["--ipc", "shareable"], &[]);
    let join = format!("container:{}", writer.name);
    let reader = Container::run("reader", &["--ipc", &join], IMAGE, &[READER]);
    reader.wait_lines(1, DEADLINE);

    // The key file: same inode, same beacon text.
    let ls = |c: &Container| stdout_of(&c.exec(&["ls", "-i", "/dev/shm/shm_file"]));
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

#[test]
fn default_private_ipc_refuses_the_join() {
    // The walkthrough as originally written: the writer without --ipc.
    let (writer, _) = start_writer(&[], &[]);
    assert_eq!(writer.inspect("{{.HostConfig.IpcMode}}"), "private");
    let reader = Container::named("reader");
    let join = format!("container:{}", writer.name);
    let out = docker(&[
        "run",
        "--name",
        &reader.name,
        "--ipc",
        &join,
        IMAGE,
        READER,
        "--count",
        "1",
    ]);
    // docker run's own failure code: the container was created, never started.
    assert_eq!(out.status.code(), Some(125), "{out:?}");
    let stderr = stderr_of(&out);
    assert!(stderr.contains("can't join IPC of container"), "{stderr}");
    assert!(stderr.contains("non-shareable IPC"), "{stderr}");
    assert!(stderr.contains("shareable"), "{stderr}");
    assert_eq!(reader.inspect("{{.State.Status}}"), "created");
}

#[test]
fn reader_without_ipc_explains_and_creates_nothing() {
    // A writer runs, but in its own IPC namespace and /dev/shm.
    let (writer, _) = start_writer(&["--ipc", "shareable"], &[]);
    assert_eq!(writer.ipcs().len(), 1);
    let reader = Container::named("reader");
    let started = Instant::now();
    let out = docker(&[
        "run",
        "--name",
        &reader.name,
        IMAGE,
        "sh",
        "-c",
        "/bin/shm_read --timeout 2s; rc=$?; echo segments:; ipcs -m; echo files:; ls -A /dev/shm; exit $rc",
    ]);
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(took >= Duration::from_secs(2), "gave up after {took:?}");
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("shm_read: error: timed out after 2s waiting for a live writer"),
        "{stderr}"
    );
    assert!(
        stderr.contains("does not exist in this reader's /dev/shm"),
        "{stderr}"
    );
    assert!(stderr.contains("--ipc container:"), "{stderr}");
    let stdout = stdout_of(&out);
    let (segments, files) = stdout.split_once("files:").expect("script output");
    assert!(
        shm_tests::docker::IpcsRow::parse_table(segments).is_empty(),
        "the reader created a segment: {stdout}"
    );
    assert!(
        segments.contains("Shared Memory Segments"),
        "no ipcs output: {stdout}"
    );
    assert_eq!(files.trim(), "", "the reader created files: {stdout}");
}

#[test]
fn docker_stop_is_quick_and_clean() {
    let (writer, _) = start_writer(&["--ipc", "shareable"], &[]);
    let join = format!("container:{}", writer.name);
    let reader = Container::run("reader", &["--ipc", &join], IMAGE, &[READER]);
    reader.wait_lines(1, DEADLINE);

    let started = Instant::now();
    let out = docker(&["stop", &writer.name]);
    let took = started.elapsed();
    assert!(out.status.success(), "{out:?}");
    eprintln!("docker stop took {:.3} s", took.as_secs_f64());
    assert!(took < Duration::from_secs(2), "docker stop took {took:?}");
    assert_eq!(writer.inspect("{{.State.ExitCode}}"), "0");
    assert_eq!(writer.inspect("{{.State.OOMKilled}}"), "false");
    writer.wait_stderr("SIGTERM received: stopping");
    reader.wait_stderr("stopped cleanly; waiting for a new writer");
    // The reader keeps waiting for a new writer.
    assert_eq!(reader.inspect("{{.State.Status}}"), "running");
    // What docs/containers.md's step 4 shows.
    const TEST: &str = "docker_stop_is_quick_and_clean";
    as_documented(TEST, "docker logs shm-writer", &writer.logs().1);
    let last = reader
        .logs()
        .1
        .last()
        .cloned()
        .into_iter()
        .collect::<Vec<_>>();
    as_documented(TEST, "docker logs shm-reader 2>&1 | tail -1", &last);
}

// --- users --------------------------------------------------------------

#[test]
fn both_as_nobody_share_a_segment_owned_by_nobody() {
    let (writer, _) = start_writer(&["--ipc", "shareable", "--user", "nobody"], &[]);
    let join = format!("container:{}", writer.name);
    let reader = Container::run(
        "reader",
        &["--ipc", &join, "--user", "nobody"],
        IMAGE,
        &[READER],
    );
    wait_advancing(&reader);
    let rows = reader.ipcs();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].owner, "nobody");
    let ls = reader.exec(&["ls", "-n", "/dev/shm/shm_file"]);
    let fields: Vec<String> = stdout_of(&ls)
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    assert_eq!(&fields[2..4], ["65534", "65534"], "{ls:?}");
}

#[test]
fn reader_as_nobody_is_refused_a_root_writers_segment() {
    let (writer, _) = start_writer(&["--ipc", "shareable"], &[]);
    let join = format!("container:{}", writer.name);
    let out = docker(&[
        "run",
        "--rm",
        "--ipc",
        &join,
        "--user",
        "nobody",
        IMAGE,
        READER,
        "--count",
        "1",
        "--timeout",
        "10s",
    ]);
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let stderr = stderr_of(&out);
    assert!(stderr.contains("permission denied on segment"), "{stderr}");
    assert!(stderr.contains("owner uid 0, mode 0600"), "{stderr}");
    assert!(stderr.contains("runs as uid 65534"), "{stderr}");
    assert!(stderr.contains("--mode 0666"), "{stderr}");
}

#[test]
fn writer_mode_0666_lets_nobody_read() {
    let (writer, startup) = start_writer(&["--ipc", "shareable"], &[WRITER, "--mode", "0666"]);
    assert!(startup.contains("mode 0666"), "{startup}");
    let join = format!("container:{}", writer.name);
    let out = docker(&[
        "run",
        "--rm",
        "--ipc",
        &join,
        "--user",
        "nobody",
        IMAGE,
        READER,
        "--count",
        "2",
        "--timeout",
        "10s",
    ]);
    assert!(out.status.success(), "{out:?}");
    let lines: Vec<String> = stdout_of(&out).lines().map(str::to_owned).collect();
    assert_eq!(times(&lines).len(), 2, "{out:?}");
    assert_eq!(writer.ipcs()[0].perms, "666");
}

// --- health, Compose ------------------------------------------------------

#[test]
fn healthcheck_turns_healthy_with_a_live_writer() {
    // The image's HEALTHCHECK command (shm_read --once), checked every second.
    let (writer, _) = start_writer(&["--ipc", "shareable", "--health-interval", "1s"], &[]);
    let status = poll_until(DEADLINE, || {
        std::thread::sleep(Duration::from_millis(100));
        let s = writer.inspect("{{.State.Health.Status}}");
        (s != "starting").then_some(s)
    });
    assert_eq!(
        status.as_deref(),
        Some("healthy"),
        "{}",
        writer.inspect("{{json .State.Health}}")
    );
    // Without a writer the same check fails: exit 3, no live writer.
    let out = docker(&["run", "--rm", IMAGE, READER, "--once"]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
}

#[test]
fn compose_runs_writer_and_reader_in_one_ipc_namespace() {
    images();
    let (command, version) = compose_command();
    eprintln!("compose: {command:?}: {version}");
    let project = ComposeProject::new(
        &workspace().join("compose.yaml"),
        &[("SHM_TIME_IMAGE", IMAGE)],
    );
    project.run_ok(&["up", "--detach"]);
    let ids = project.run_ok(&["ps", "--quiet", "reader"]);
    let id = ids.trim();
    assert!(!id.is_empty(), "no reader container");
    let logs = || {
        let out = docker(&["logs", id]);
        times(
            &stdout_of(&out)
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>(),
        )
    };
    let readings = poll_until(DEADLINE, || {
        std::thread::sleep(Duration::from_millis(100));
        let t = logs();
        (t.len() >= 2 && t.last() > t.first()).then_some(t)
    })
    .unwrap_or_else(|| panic!("compose reader shows no advancing time: {:?}", logs()));
    eprintln!("compose reader: {readings:?}");
    let mode = docker(&["inspect", "--format", "{{.HostConfig.IpcMode}}", id]);
    assert!(
        stdout_of(&mode).trim().starts_with("container:"),
        "{mode:?}"
    );
    project.run_ok(&["down", "--timeout", "5"]);
}

#[test]
fn compose_runs_the_stream_pair_to_completion() {
    images();
    let project = ComposeProject::new(
        &workspace().join("docs/examples/stream-compose.yaml"),
        &[("SHM_TIME_IMAGE", IMAGE)],
    );
    let out = project.run(&[
        "up",
        "--abort-on-container-exit",
        "--exit-code-from",
        "consumer",
    ]);
    let text = format!("{}{}", stdout_of(&out), stderr_of(&out));
    assert!(out.status.success(), "{text}");
    let consumed: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split("Consumed: ").nth(1))
        .collect();
    assert_eq!(consumed.len(), 501, "{text}");
    assert_eq!(consumed.last(), Some(&"done"));
    project.run_ok(&["down", "--timeout", "5"]);
}

#[test]
fn docker_engine_answers() {
    // Every test here needs the engine; without one this fails, it never skips.
    let version = require_engine();
    assert!(
        version.split('.').next().unwrap().parse::<u32>().unwrap() >= 17,
        "engine {version}"
    );
}

#[test]
fn pod_like_sandbox_keeps_the_namespace_across_writer_restarts() {
    // What a Kubernetes pod does: a sandbox container owns the IPC namespace
    // and /dev/shm, the pod's containers join it (docs/examples/pod.yaml).
    images();
    let sandbox = Container::run(
        "sandbox",
        &["--ipc", "shareable"],
        IMAGE,
        &["sleep", "100000"],
    );
    let join = format!("container:{}", sandbox.name);
    let as_pod = ["--ipc", join.as_str(), "--user", "nobody"];
    let writer = Container::run("writer", &as_pod, IMAGE, &[WRITER]);
    let first = writer.wait_stderr("segment created");
    let reader = Container::run("reader", &as_pod, IMAGE, &[READER]);
    wait_advancing(&reader);

    // The writer restarts; the namespace, key file and key stay.
    docker_ok_stop(&writer);
    reader.wait_stderr("stopped cleanly; waiting for a new writer");
    assert!(
        sandbox.ipcs().is_empty(),
        "segment left: {:?}",
        sandbox.ipcs()
    );
    let before = times(&reader.logs().0).len();
    let again = Container::run("writer-again", &as_pod, IMAGE, &[WRITER]);
    let second = again.wait_stderr("segment created");
    assert_eq!(startup_key(&first), startup_key(&second));
    reader.wait_stderr("from a live writer");
    poll_until(DEADLINE, || {
        std::thread::sleep(Duration::from_millis(40));
        (times(&reader.logs().0).len() > before).then_some(())
    })
    .unwrap_or_else(|| panic!("the reader did not resume: {:?}", reader.logs()));
}

/// The IPC namespace a running container's first process is in, seen from
/// the host.
fn ipc_namespace(container: &Container) -> String {
    let pid = container.inspect("{{.State.Pid}}");
    std::fs::read_link(format!("/proc/{pid}/ns/ipc"))
        .unwrap_or_else(|e| panic!("{}: pid {pid}: {e}", container.name))
        .display()
        .to_string()
}

#[test]
fn a_reader_under_restart_on_failure_follows_a_restarted_writer() {
    // `docker restart` gives the writer a new IPC namespace: the joined
    // reader says so, gives up after --timeout (exit 3), and Docker starts
    // it again, joined to the writer's new namespace.
    let (writer, _) = start_writer(&["--ipc", "shareable"], &[]);
    let join = format!("container:{}", writer.name);
    let reader = Container::run(
        "reader",
        &["--ipc", &join, "--restart", "on-failure"],
        IMAGE,
        &[READER, "--timeout", "3s"],
    );
    wait_advancing(&reader);
    let before = ipc_namespace(&writer);
    docker_ok(&["restart", "--time", "10", &writer.name]);
    let after = ipc_namespace(&writer);
    assert_ne!(before, after, "docker restart kept the IPC namespace");
    let read_before = times(&reader.logs().0).len();
    poll_until(Duration::from_secs(60), || {
        std::thread::sleep(Duration::from_millis(100));
        let restarted = reader.inspect("{{.RestartCount}}") != "0";
        (restarted && times(&reader.logs().0).len() > read_before + 1).then_some(())
    })
    .unwrap_or_else(|| panic!("the reader did not come back: {:?}", reader.logs()));
    assert_eq!(ipc_namespace(&reader), after);
    let said = reader.logs().1.join("\n");
    assert!(
        said.contains("stopped cleanly") && said.contains("restart the reader too"),
        "{said}"
    );
    assert!(said.contains("timed out after"), "{said}");
}

fn docker_ok_stop(container: &Container) {
    let out = docker(&["stop", &container.name]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(container.inspect("{{.State.ExitCode}}"), "0");
}
