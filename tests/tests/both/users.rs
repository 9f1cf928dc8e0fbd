//! Users: both sides as nobody, a reader as nobody refused a root writer's
//! segment, and `--mode 0666` letting it read.

use shm_tests::docker::IMAGE;
use shm_tests::engine::{stderr_of, stdout_of, Engine};

use super::{ls_n, start_writer, times, wait_advancing, READER, WRITER};

pub fn both_as_nobody_share_a_segment_owned_by_nobody(engine: &impl Engine) {
    let image = engine.image(IMAGE);
    let (writer, _) = start_writer(
        engine,
        &image,
        &["--ipc", "shareable", "--user", "nobody"],
        &[],
    );
    let join = format!("container:{}", writer.name);
    let reader = engine.run_container(
        "reader",
        &["--ipc", &join, "--user", "nobody"],
        &image,
        &[READER],
    );
    wait_advancing(&reader);
    let rows = reader.ipcs();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].owner, "nobody");
    let fields = ls_n(&reader, &["/dev/shm/shm_file"]);
    assert_eq!(&fields[2..4], ["65534", "65534"], "{fields:?}");
}

pub fn reader_as_nobody_is_refused_a_root_writers_segment(engine: &impl Engine) {
    let image = engine.image(IMAGE);
    let (writer, _) = start_writer(engine, &image, &["--ipc", "shareable"], &[]);
    let join = format!("container:{}", writer.name);
    let out = engine.run_foreground(
        &["--rm", "--ipc", &join, "--user", "nobody"],
        &image,
        &[READER, "--count", "1", "--timeout", "10s"],
    );
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let stderr = stderr_of(&out);
    assert!(stderr.contains("permission denied on segment"), "{stderr}");
    assert!(stderr.contains("owner uid 0, mode 0600"), "{stderr}");
    assert!(stderr.contains("runs as uid 65534"), "{stderr}");
    assert!(stderr.contains("--mode 0666"), "{stderr}");
}

pub fn writer_mode_0666_lets_nobody_read(engine: &impl Engine) {
    let image = engine.image(IMAGE);
    let (writer, startup) = start_writer(
        engine,
        &image,
        &["--ipc", "shareable"],
        &[WRITER, "--mode", "0666"],
    );
    assert!(startup.contains("mode 0666"), "{startup}");
    let join = format!("container:{}", writer.name);
    let out = engine.run_foreground(
        &["--rm", "--ipc", &join, "--user", "nobody"],
        &image,
        &[READER, "--count", "2", "--timeout", "10s"],
    );
    assert!(out.status.success(), "{out:?}");
    let lines: Vec<String> = stdout_of(&out).lines().map(str::to_owned).collect();
    assert_eq!(times(&lines).len(), 2, "{out:?}");
    assert_eq!(writer.ipcs()[0].perms, "666");
}
