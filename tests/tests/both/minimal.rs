//! The `minimal` image: the two static binaries and nothing else (no libc,
//! no shell, no /etc/passwd).

use shm_tests::docker::BARE_IMAGE;
use shm_tests::engine::{output_lines, stderr_of, stdout_of, Engine};
use shm_tests::startup_key;

use super::{as_documented, start_writer, times, READER, WRITER};

pub fn static_binaries_run_in_an_image_without_libc(engine: &impl Engine) {
    let bare = engine.image(BARE_IMAGE);
    // Nothing else is in there: not even a shell.
    let shell = engine.named("bare-sh");
    let out = engine.run_foreground(&["--name", &shell.name], &bare, &["/bin/sh", "-c", "true"]);
    assert!(!out.status.success(), "the bare image has a shell: {out:?}");

    let help = engine.run_foreground(&["--rm"], &bare, &[READER, "--help"]);
    assert!(help.status.success(), "shm_read --help: {help:?}");
    assert!(stdout_of(&help).contains("Usage: shm_read"), "{help:?}");

    let once = engine.run_foreground(&["--rm"], &bare, &[WRITER, "--count", "1"]);
    assert!(once.status.success(), "shm_write --count 1: {once:?}");
    let stderr = stderr_of(&once);
    assert!(stderr.contains("segment created"), "{stderr}");
    assert!(stderr.contains("key-file /dev/shm/shm_file"), "{stderr}");
}

pub fn the_minimal_image_runs_the_writer_the_reader_and_the_listing(engine: &impl Engine) {
    let bare = engine.image(BARE_IMAGE);
    let (writer, line) = start_writer(engine, &bare, &["--ipc", "shareable"], &[]);
    let key = startup_key(&line);
    let join = format!("container:{}", writer.name);
    // The doc's --inspect from a joined container, before any reader came.
    let inspect = engine.run_foreground(&["--rm", "--ipc", &join], &bare, &[READER, "--inspect"]);
    assert!(inspect.status.success(), "{inspect:?}");
    as_documented(
        engine,
        "the_minimal_image_runs_the_writer_the_reader_and_the_listing",
        "docker run --rm --ipc container:shm-writer shm-time-minimal /bin/shm_read --inspect",
        &output_lines(&inspect.stdout),
    );
    let reader = engine.run_container(
        "min-reader",
        &["--ipc", &join],
        &bare,
        &[READER, "--count", "2", "--interval", "200ms"],
    );
    assert_eq!(reader.wait_exit(), 0, "{:?}", reader.logs());
    assert_eq!(times(&reader.logs().0).len(), 2, "{:?}", reader.logs());
    // In the writer's own container (its PID namespace): the writer is pid 1.
    let list = stdout_of(&writer.exec(&[READER, "--list"]));
    let row = list
        .lines()
        .find(|l| l.starts_with(&key))
        .unwrap_or_else(|| panic!("{key} not listed: {list}"));
    assert!(row.contains("time record: writer pid 1 running"), "{row}");
    assert!(list.contains("attached: pid 1 shm_write"), "{list}");
    // A joined container sees the same segment and namespace.
    let joined = engine.run_foreground(
        &["--rm", "--ipc", &join],
        &bare,
        &[READER, "--list", "--format", "json"],
    );
    let joined = stdout_of(&joined);
    assert!(joined.contains(&format!("\"key\":\"{key}\"")), "{joined}");
    let ns = list
        .split_whitespace()
        .nth(2)
        .unwrap()
        .trim_end_matches(':');
    assert!(
        joined.contains(&format!("\"ipc\":\"{ns}\"")),
        "{joined} vs {list}"
    );
}
