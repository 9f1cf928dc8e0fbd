//! Byte-level compatibility with the C originals, both ways.

use shm_tests::plant::{unix_now, JsonReading};
use shm_tests::{c_program, Sandbox};

/// The seconds of a `now time: <secs>` line, checked to be about now.
fn secs_of(line: &str) -> i64 {
    let secs: i64 = line
        .strip_prefix("now time: ")
        .unwrap_or_else(|| panic!("not a time line: {line:?}"))
        .parse()
        .unwrap_or_else(|_| panic!("not decimal seconds: {line:?}"));
    assert!((secs - unix_now()).abs() <= 30, "{line:?} is not about now");
    secs
}

#[test]
fn our_reader_reads_the_c_writer() {
    let sandbox = Sandbox::new();
    let _c_writer = shm_tests::Proc::spawn(&mut sandbox.command(c_program("shm_write")));
    let mut reader = sandbox.reader(&["--interval", "300ms", "--count", "8"]);
    assert!(reader.exit().success(), "stderr {:?}", reader.stderr());
    let secs: Vec<i64> = reader.stdout().iter().map(|l| secs_of(l)).collect();
    assert_eq!(secs.len(), 8);
    assert!(
        secs.windows(2).all(|w| w[0] <= w[1]),
        "time went back: {secs:?}"
    );
    assert!(
        secs.last() > secs.first(),
        "the C writer's time did not advance: {secs:?}"
    );

    let mut json = sandbox.reader(&["--once", "--format", "json"]);
    assert!(json.exit().success());
    assert!(
        json.stdout()[0].contains(r#""source":"c-text""#),
        "{:?}",
        json.stdout()
    );
    assert_eq!(sandbox.segments().len(), 1, "the reader created a segment");
}

#[test]
fn the_c_reader_reads_our_writer() {
    let sandbox = Sandbox::new();
    let writer = sandbox.writer(&[]);
    let startup = writer.wait_stderr("shm_write: key 0x");
    let c_reader = shm_tests::Proc::spawn(&mut sandbox.command(c_program("shm_read")));
    let lines = c_reader.wait_lines(3);
    let secs: Vec<i64> = lines.iter().map(|l| secs_of(l)).collect();
    assert!(secs.windows(2).all(|w| w[0] <= w[1]), "{secs:?}");
    assert!(
        secs[2] > secs[0],
        "our writer's text did not advance: {secs:?}"
    );

    // The C reader attached to our segment (same ftok key), so one segment,
    // two attachments, and the key ipcs shows is the one we announced.
    let rows = sandbox.segments();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].nattch, 2);
    assert_eq!((rows[0].size, rows[0].mode), (4096, 0o600));
    assert!(
        startup.contains(&format!(
            "key {} shmid {} size 4096 mode 0600",
            rows[0].key_hex(),
            rows[0].shmid
        )),
        "{startup}"
    );
}

#[test]
fn our_writer_adopts_a_dead_c_writers_segment() {
    let sandbox = Sandbox::new();
    let mut c_writer = shm_tests::Proc::spawn(&mut sandbox.command(c_program("shm_write")));
    shm_tests::poll_until(shm_tests::DEADLINE, || {
        (!sandbox.segments().is_empty()).then_some(())
    })
    .expect("the C writer made no segment");
    c_writer.signal(nix::sys::signal::Signal::SIGKILL);
    c_writer.exit();
    let leaked = sandbox.segments();

    let writer = sandbox.writer(&["--interval", "200ms"]);
    let startup = writer.wait_stderr("shm_write: key");
    assert!(startup.contains("left by a C writer"), "{startup}");
    assert_eq!(
        sandbox.segments().len(),
        1,
        "a second segment next to {leaked:?}"
    );
    assert_eq!(sandbox.segments()[0].shmid, leaked[0].shmid);

    let mut reader = sandbox.reader(&["--once", "--format", "json"]);
    assert!(reader.exit().success(), "{:?}", reader.stderr());
    assert!(reader.stdout()[0].contains(r#""source":"header""#));
}

#[test]
fn our_reader_follows_a_restarted_c_writer_to_its_new_key() {
    // The C writer re-creates its key file on start: a new inode, so a new
    // key and a new segment, with the old one leaked.
    let sandbox = Sandbox::new();
    let mut first = shm_tests::Proc::spawn(&mut sandbox.command(c_program("shm_write")));
    let reader = sandbox.reader(&["--interval", "200ms", "--format", "json"]);
    let shmid_of = |line: &str| JsonReading::parse(line).map(|r| r.shmid);
    let old = shmid_of(&reader.wait_stdout(|l| l.contains("c-text")));
    first.signal(nix::sys::signal::Signal::SIGKILL);
    first.exit();
    let _second = shm_tests::Proc::spawn(&mut sandbox.command(c_program("shm_write")));
    reader.wait_stdout(|l| shmid_of(l).is_some_and(|id| Some(id) != old));
    assert_eq!(
        sandbox.segments().len(),
        2,
        "the C writer leaks the old segment"
    );
}

#[test]
fn the_c_reader_unjoined_fails_without_a_key_file_and_creates_a_segment_beside_one() {
    // What docs/containers.md shows for a C reader in a container of its own.
    let sandbox = Sandbox::new();
    let out = sandbox.command(c_program("shm_read")).output().unwrap();
    assert_eq!(out.status.code(), Some(255), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "create share file key id error: No such file or directory"
    );
    assert!(sandbox.segments().is_empty(), "{:?}", sandbox.segments());

    // A key file but no segment: shmget(IPC_CREAT) makes an empty one, and
    // the reader prints nothing after "now time: " for ever.
    assert!(sandbox.sh("touch /dev/shm/shm_file").status.success());
    let c_reader = shm_tests::Proc::spawn(&mut sandbox.command(c_program("shm_read")));
    let lines = c_reader.wait_lines(2);
    assert!(lines.iter().all(|l| l == "now time: "), "{lines:?}");
    let rows = sandbox.segments();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((rows[0].size, rows[0].nattch), (4096, 1));
}
