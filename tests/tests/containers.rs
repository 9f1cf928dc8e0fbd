//! The container story against the real Docker engine: the shared tests of
//! `both/` (image, walkthrough, users, stop, streams, binaries that need no
//! libc) on Docker, and what is Docker's own: static linking, the
//! walkthrough as originally written, health, Compose and restart policies;
//! and a C program over libshmtools beside the tools, each in a container.
//!
//! These tests fail (they do not skip) when no Docker engine answers.

use std::time::Duration;

use shm_tests::doc_examples::{compare, shown};
use shm_tests::docker::{
    compose_command, require_engine, shmtools_image, ComposeProject, Docker, IMAGE,
};
use shm_tests::engine::{poll_engine, stderr_of, stdout_of, Container, Engine};
use shm_tests::namespaces::{ipc_inode, listing, namespace, IN_CONTAINER};
use shm_tests::{bin, texts_after, workspace, DEADLINE};

#[macro_use]
mod both;
use both::{as_documented, times, wait_advancing, READER};

on_engine!(Docker::new());

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

// --- the walkthrough ----------------------------------------------------

#[test]
fn default_private_ipc_refuses_the_join() {
    // The walkthrough as originally written: the writer without --ipc.
    let docker = Docker::new();
    let image = docker.image(IMAGE);
    let writer = docker.run_container("writer", &[], &image, &[]);
    writer.wait_stderr("segment created");
    assert_eq!(writer.inspect("{{.HostConfig.IpcMode}}"), "private");
    let reader = docker.named("reader");
    let join = format!("container:{}", writer.name);
    let out = docker.run_foreground(
        &["--name", &reader.name, "--ipc", &join],
        &image,
        &[READER, "--count", "1"],
    );
    // docker run's own failure code: the container was created, never started.
    assert_eq!(out.status.code(), Some(125), "{out:?}");
    let stderr = stderr_of(&out);
    assert!(stderr.contains("can't join IPC of container"), "{stderr}");
    assert!(stderr.contains("non-shareable IPC"), "{stderr}");
    assert!(stderr.contains("shareable"), "{stderr}");
    assert_eq!(reader.inspect("{{.State.Status}}"), "created");
}

// --- health, Compose ------------------------------------------------------

#[test]
fn healthcheck_turns_healthy_with_a_live_writer() {
    // The image's HEALTHCHECK command (shm_read --once), checked every second.
    let docker = Docker::new();
    let image = docker.image(IMAGE);
    let options = ["--ipc", "shareable", "--health-interval", "1s"];
    let writer = docker.run_container("writer", &options, &image, &[]);
    writer.wait_stderr("segment created");
    let status = poll_engine(DEADLINE, || {
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
    let out = docker.run_foreground(&["--rm"], &image, &[READER, "--once"]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
}

#[test]
fn compose_runs_writer_and_reader_in_one_ipc_namespace() {
    let docker = Docker::new();
    let image = docker.image(IMAGE);
    let (command, version) = compose_command();
    eprintln!("compose: {command:?}: {version}");
    let project = ComposeProject::new(
        &workspace().join("compose.yaml"),
        &[("SHM_TIME_IMAGE", &image)],
    );
    project.run_ok(&["up", "--detach"]);
    let ids = project.run_ok(&["ps", "--quiet", "reader"]);
    let id = ids.trim();
    assert!(!id.is_empty(), "no reader container");
    let logs = || {
        let out = docker.output(&["logs", id]);
        times(
            &stdout_of(&out)
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>(),
        )
    };
    let readings = poll_engine(DEADLINE, || {
        let t = logs();
        (t.len() >= 2 && t.last() > t.first()).then_some(t)
    })
    .unwrap_or_else(|| panic!("compose reader shows no advancing time: {:?}", logs()));
    eprintln!("compose reader: {readings:?}");
    let mode = docker.ok(&["inspect", "--format", "{{.HostConfig.IpcMode}}", id]);
    assert!(mode.trim().starts_with("container:"), "{mode:?}");
    project.run_ok(&["down", "--timeout", "5"]);
}

#[test]
fn compose_runs_the_stream_pair_to_completion() {
    let image = Docker::new().image(IMAGE);
    let project = ComposeProject::new(
        &workspace().join("docs/examples/stream-compose.yaml"),
        &[("SHM_TIME_IMAGE", &image)],
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
fn a_reader_under_restart_on_failure_follows_a_restarted_writer() {
    // `docker restart` gives the writer a new IPC namespace: the joined
    // reader says so, gives up after --timeout (exit 3), and Docker starts
    // it again, joined to the writer's new namespace.
    let docker = Docker::new();
    let image = docker.image(IMAGE);
    let writer = docker.run_container("writer", &["--ipc", "shareable"], &image, &[]);
    writer.wait_stderr("segment created");
    let join = format!("container:{}", writer.name);
    let reader = docker.run_container(
        "reader",
        &["--ipc", &join, "--restart", "on-failure"],
        &image,
        &[READER, "--timeout", "3s"],
    );
    wait_advancing(&reader);
    let before = writer.ipc_namespace();
    docker.ok(&["restart", "--time", "10", &writer.name]);
    let after = writer.ipc_namespace();
    assert_ne!(before, after, "docker restart kept the IPC namespace");
    let read_before = times(&reader.logs().0).len();
    reader.wait_for(Duration::from_secs(60), "a restart and new readings", |r| {
        let restarted = r.inspect("{{.RestartCount}}") != "0";
        (restarted && times(&r.logs().0).len() > read_before + 1).then_some(())
    });
    assert_eq!(reader.ipc_namespace(), after);
    let said = reader.logs().1.join("\n");
    assert!(
        said.contains("stopped cleanly; waiting for a new writer; if the writer's container was restarted, this reader must be restarted too (--explain, or docs/troubleshooting.md, for how)"),
        "{said}"
    );
    assert!(
        said.contains("timed out after 3s waiting for a live writer (the reason is above)"),
        "{said}"
    );
}

// --- programs over libshmtools --------------------------------------------

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_c_program_and_the_tools_in_two_containers_share_a_value_both_ways() {
    let docker = Docker::new();
    let image = shmtools_image();
    // shm_write in one container, the C reader in another that joins it.
    let writer = docker.run_container(
        "tool-writer",
        &["--ipc", "shareable"],
        image,
        &["/bin/shm_write", "--value", "from the tool"],
    );
    writer.wait_stderr("segment created");
    let joined = format!("container:{}", writer.name);
    let out = docker.run_foreground(
        &["--rm", "--ipc", &joined],
        image,
        &["/bin/shmtools_check", "value-read", "64"],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out).trim(), hex(b"from the tool"));

    // The C writer in one container (held open by its stdin), shm_read in
    // another: a value with a NUL and a byte that is not UTF-8.
    let c_writer = docker.run_container(
        "c-writer",
        &["--ipc", "shareable", "-i"],
        image,
        &["/bin/shmtools_check", "value-write", &hex(b"from C\0\xff")],
    );
    c_writer.wait_stdout(DEADLINE, "the C writer's first value", |lines| {
        lines.iter().any(|l| l == "published")
    });
    let joined = format!("container:{}", c_writer.name);
    let out = docker.run_foreground(
        &["--rm", "--ipc", &joined],
        image,
        &[READER, "--once", "--format", "json"],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    // base64 of "from C\0\xff"
    assert!(
        stdout_of(&out).contains(r#""value_base64":"ZnJvbSBDAP8=""#),
        "{}",
        stdout_of(&out)
    );
}

// --- Docker in Action's POSIX message queue (ch6_ipc) --------------------

/// The book's producer as the second edition runs it: as nobody, its IPC
/// namespace shareable.
fn book_producer(docker: &Docker) -> shm_tests::engine::Container<'_> {
    docker.run_container(
        "ch6-producer",
        &["-u", "nobody", "--ipc", "shareable"],
        shm_tests::docker::ch6_image(),
        &["/bin/ch6_ipc", "-producer"],
    )
}

/// The book's consumer as the second edition runs it: as nobody, in the
/// IPC namespace of the container named `producer`.
fn book_consumer<'e>(docker: &'e Docker, producer: &str) -> shm_tests::engine::Container<'e> {
    docker.run_container(
        "ch6-consumer",
        &["-u", "nobody", "--ipc", &format!("container:{producer}")],
        shm_tests::docker::ch6_image(),
        &["/bin/ch6_ipc", "-consumer"],
    )
}

#[test]
fn the_book_mqueue_programs_as_the_book_runs_them() {
    let docker = Docker::new();
    let producer = book_producer(&docker);
    let consumer = book_consumer(&docker, &producer.name);
    assert_eq!(consumer.wait_exit(), 0, "{:?}", consumer.logs());
    assert_eq!(producer.wait_exit(), 0, "{:?}", producer.logs());
    let produced = texts_after(&producer.logs().0, "Produced: ");
    let consumed = texts_after(&consumer.logs().0, "Consumed: ");
    assert_eq!(produced.len(), 500);
    const TEST: &str = "the_book_mqueue_programs_as_the_book_runs_them";
    as_documented(
        &docker,
        TEST,
        "docker wait ch6_ipc_consumer",
        &["0".to_owned()],
    );
    let last = consumer.logs().0[consumer.logs().0.len() - 1..].to_vec();
    as_documented(
        &docker,
        TEST,
        "docker logs ch6_ipc_consumer | tail -n 1",
        &last,
    );
    // The consumer joined late: what it got is the tail of what was sent.
    assert_eq!(consumed.last().map(String::as_str), Some("done"));
    assert!(produced.ends_with(&consumed[..consumed.len() - 1]));
}

#[test]
fn our_reader_takes_the_book_consumers_place() {
    let docker = Docker::new();
    let producer = book_producer(&docker);
    let join = format!("container:{}", producer.name);
    let reader = docker.run_container(
        "mq-reader",
        &["-u", "nobody", "--ipc", &join],
        shm_tests::docker::ch6_image(),
        &[READER, "--mqueue", "/ch6_ipc"],
    );
    assert_eq!(reader.wait_exit(), 0, "{:?}", reader.logs());
    assert_eq!(producer.wait_exit(), 0, "{:?}", producer.logs());
    let produced = texts_after(&producer.logs().0, "Produced: ");
    let consumed = texts_after(&reader.logs().0, "Consumed: ");
    assert_eq!(consumed.last().map(String::as_str), Some("done"));
    assert!(
        produced.ends_with(&consumed[..consumed.len() - 1]),
        "{consumed:?} is not the tail of {produced:?}"
    );
    let last = reader.logs().0[consumed.len() - 1..].to_vec();
    as_documented(
        &docker,
        "our_reader_takes_the_book_consumers_place",
        "docker run --rm -u nobody --ipc container:ch6_ipc_producer ch6-ipc /bin/shm_read --mqueue /ch6_ipc | tail -n 1",
        &last,
    );
}

#[test]
fn our_writer_takes_the_book_producers_place() {
    let docker = Docker::new();
    let writer = docker.run_container(
        "mq-writer",
        &["-u", "nobody", "--ipc", "shareable"],
        shm_tests::docker::ch6_image(),
        &[
            "sh",
            "-c",
            "i=1; while [ $i -le 500 ]; do echo \"line $i\"; i=$((i+1)); done | /bin/shm_write --mqueue /ch6_ipc",
        ],
    );
    writer.wait_stderr("created it with mode 0600: at most 10 messages of 1024 bytes");
    const TEST: &str = "our_writer_takes_the_book_producers_place";
    // Nobody receives yet: ten messages wait, and the writer with them.
    let inspect = writer.wait_for(DEADLINE, "a full queue", |w| {
        let out = w.exec(&[READER, "--inspect", "--mqueue", "/ch6_ipc"]);
        let text = stdout_of(&out);
        text.contains("curmsgs    10 ").then_some(text)
    });
    let lines: Vec<String> = inspect.lines().map(str::to_owned).collect();
    as_documented(
        &docker,
        TEST,
        "docker exec ch6_ipc_producer /bin/shm_read --inspect --mqueue /ch6_ipc",
        &lines,
    );
    let consumer = book_consumer(&docker, &writer.name);
    assert_eq!(consumer.wait_exit(), 0, "{:?}", consumer.logs());
    assert_eq!(writer.wait_exit(), 0, "{:?}", writer.logs());
    let consumed = texts_after(&consumer.logs().0, "Consumed: ");
    // The writer blocks on the full queue until the consumer joins: the
    // consumer gets every line, then the end marker.
    let sent: Vec<String> = (1..=500).map(|i| format!("line {i}")).collect();
    assert_eq!(consumed.len(), 501, "{consumed:?}");
    assert_eq!(consumed[..500], sent[..]);
    assert_eq!(consumed[500], "done");
    as_documented(
        &docker,
        TEST,
        "docker wait ch6_ipc_consumer",
        &["0".to_owned()],
    );
    let tail = consumer.logs().0[499..].to_vec();
    as_documented(
        &docker,
        TEST,
        "docker logs ch6_ipc_consumer | tail -n 2",
        &tail,
    );
}

#[test]
fn our_reader_without_the_producers_ipc_explains() {
    let docker = Docker::new();
    let producer = book_producer(&docker);
    let out = docker.run_foreground(
        &["--rm", "-u", "nobody"],
        shm_tests::docker::ch6_image(),
        &[READER, "--mqueue", "/ch6_ipc", "--timeout", "2s"],
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("no message queue /ch6_ipc in this IPC namespace")
            && stderr.contains("--ipc container:<writer container>"),
        "{stderr}"
    );
    as_documented(
        &docker,
        "our_reader_without_the_producers_ipc_explains",
        "docker run --rm -u nobody ch6-ipc /bin/shm_read --mqueue /ch6_ipc --timeout 2s",
        &shm_tests::engine::output_lines(&out.stderr),
    );
    drop(producer);
}

// --- every namespace ------------------------------------------------------

/// The namespace object of `container`'s IPC namespace in `doc`, and the
/// container's full id.
fn block_of<'d>(
    doc: &'d serde_json::Value,
    container: &Container<'_>,
) -> (&'d serde_json::Value, String) {
    let pid: u32 = container.inspect("{{.State.Pid}}").parse().unwrap();
    let ns = namespace(doc, ipc_inode(pid))
        .unwrap_or_else(|| panic!("{}'s IPC namespace is not listed", container.name));
    (ns, container.inspect("{{.Id}}"))
}

/// The (engine, id, name) of each container a namespace object names.
fn containers_of(ns: &serde_json::Value) -> Vec<(String, String, Option<String>)> {
    ns["namespace"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["engine"].as_str().unwrap().to_owned(),
                c["id"].as_str().unwrap().to_owned(),
                c["name"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

#[test]
fn all_namespaces_shows_containers_joined_with_ipc_container_in_one_block_by_name() {
    let docker = Docker::new();
    let image = docker.image(IMAGE);
    let writer = docker.run_container("ns-writer", &["--ipc", "shareable"], &image, &[]);
    writer.wait_stderr("segment created");
    let join = format!("container:{}", writer.name);
    let reader = docker.run_container("ns-reader", &["--ipc", &join], &image, &[READER]);
    let lone = docker.run_container("ns-lone", &[], &image, &[]);
    lone.wait_stderr("segment created");
    // Both attached: the reader has found the writer's segment.
    let doc = poll_engine(DEADLINE, || {
        let doc = listing();
        let (shared, _) = block_of(&doc, &writer);
        let attached = shared["sharedmemory"][0]["attached"].as_array()?.len();
        (attached == 2).then_some(doc)
    })
    .expect("the writer's segment with the writer and the reader attached");

    let (shared, writer_id) = block_of(&doc, &writer);
    let (same, reader_id) = block_of(&doc, &reader);
    assert_eq!(shared, same, "the writer and the reader are in one block");
    let docker_named =
        |id: &str, name: &str| ("docker".to_owned(), id.to_owned(), Some(name.to_owned()));
    let expected = vec![
        docker_named(&writer_id, &writer.name),
        docker_named(&reader_id, &reader.name),
    ];
    // The writer's container first: it made the namespace.
    assert_eq!(containers_of(shared), expected);
    let attached: Vec<&str> = shared["sharedmemory"][0]["attached"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["container"].as_str().unwrap())
        .collect();
    assert!(
        attached.contains(&&writer_id[..12]) && attached.contains(&&reader_id[..12]),
        "{attached:?}"
    );

    let (apart, lone_id) = block_of(&doc, &lone);
    assert_ne!(apart["namespace"]["inode"], shared["namespace"]["inode"]);
    assert_eq!(
        containers_of(apart),
        vec![docker_named(&lone_id, &lone.name)]
    );
    assert_eq!(apart["sharedmemory"].as_array().unwrap().len(), 1);

    // The text names both containers on the shared namespace's heading, as
    // docs/containers.md shows it (the doc's names for the test's, and the
    // containers' short ids, which differ from run to run, hidden).
    let doc_step =
        "sudo shm_read --list --all-namespaces | sed -n '/shm-writer/,/^System V message/p'";
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{} --list --all-namespaces | sed -n '/{}/,/^System V message/p'",
            bin("shm_read").display(),
            writer.name
        ))
        .output()
        .unwrap();
    let printed: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            hide_ids(
                &l.replace(&writer.name, "shm-writer")
                    .replace(&reader.name, "shm-reader"),
            )
        })
        .collect();
    let shown: Vec<String> = shown(TEST, doc_step).iter().map(|l| hide_ids(l)).collect();
    compare(&shown, &printed).unwrap_or_else(|e| panic!("docs/containers.md, `$ {doc_step}`: {e}"));
    let heading = String::from_utf8_lossy(&out.stdout);
    for (container, id) in [(&writer, &writer_id), (&reader, &reader_id)] {
        let label = format!("docker container {} ({})", container.name, &id[..12]);
        assert!(heading.contains(&label), "{label:?} not in {heading}");
    }

    // The same from a container, with the privileges the doc gives it.
    let out = docker.run_foreground(
        &[
            "--rm",
            "--pid",
            "host",
            "--cap-add",
            "SYS_ADMIN",
            "--cap-add",
            "SYS_PTRACE",
            "--security-opt",
            "apparmor=unconfined",
        ],
        &image,
        &IN_CONTAINER,
    );
    assert!(out.status.success(), "{out:?}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let (shared, _) = block_of(&doc, &writer);
    let ids = containers_of(shared);
    let unnamed =
        |(engine, id, _): &(String, String, Option<String>)| (engine.clone(), id.clone(), None);
    assert_eq!(ids, expected.iter().map(unnamed).collect::<Vec<_>>());
}

/// The test that checks docs/containers.md's `--all-namespaces` block.
const TEST: &str = "all_namespaces_shows_containers_joined_with_ipc_container_in_one_block_by_name";

/// `line` with every container short id in parentheses (`(1a6f5500fe92)`)
/// as `(<id>)`.
fn hide_ids(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find('(') {
        out += &rest[..=at];
        rest = &rest[at + 1..];
        let hex = rest.len() >= 13
            && rest.as_bytes()[12] == b')'
            && rest[..12].bytes().all(|b| b.is_ascii_hexdigit());
        if hex {
            out += "<id>";
            rest = &rest[12..];
        }
    }
    out + rest
}
