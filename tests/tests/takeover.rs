//! Taking over an existing segment: a writer adopts only what nobody
//! updates any more, never a live writer's segment (a C writer's, or one of
//! ours reached through another key file with the same ftok key), and what
//! it adopts leaves readers a sequence they can read.

use std::time::{Duration, Instant};

use shm_tests::plant::{dump, plant, plausible_now, read_once, refusal, run, unix_now, Image};
use shm_tests::{c_program, poll_until, startup_pid, Proc, Sandbox, ShmRow, DEADLINE};

/// What a writer that finds a live writer's segment says (exit 6).
const BUSY: &str = "is updated by another live writer";

/// Wait until the sandbox holds exactly one segment, attached once.
fn one_segment(sandbox: &Sandbox) -> ShmRow {
    poll_until(DEADLINE, || match sandbox.segments().as_slice() {
        [row] if row.nattch == 1 => Some(row.clone()),
        _ => None,
    })
    .unwrap_or_else(|| panic!("not one attached segment: {:?}", sandbox.segments()))
}

/// `shm_write --count 3 --interval 1ms` on `key_file`, to completion: a
/// writer that took the segment over would publish three times and exit 0.
fn short_writer(sandbox: &Sandbox, key_file: &str) -> (i32, String) {
    let out = run(
        sandbox,
        "shm_write",
        &["--key-file", key_file, "--interval", "1ms", "--count", "3"],
    );
    refusal(&out)
}

/// The C text at the start of the segment for `key_file`.
fn c_text(sandbox: &Sandbox, key_file: &str) -> String {
    let bytes = dump(sandbox, key_file);
    let end = bytes[..128].iter().position(|&b| b == 0).unwrap_or(128);
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// A C writer (tests/c/shm_write.c) alone on its segment, nattch 1,
/// rewriting its text once a second, is alive: our writer with the same key
/// file must leave it alone. Before the fix a segment with no shm_write
/// header and a decimal text counted as a dead C writer's leftover whatever
/// its attach count: the writer said "segment reused (left by a C writer
/// that no longer updates it)", overwrote the text and header, and exited 0
/// after `--count 3`. Now it watches the text (1.5 s) when another process
/// is attached, sees it change, and refuses with exit 6; the test also
/// checks that the C writer's bytes carry no header of ours afterwards and
/// that its text still advances.
#[test]
fn a_live_c_writer_alone_on_its_segment_is_never_taken_over() {
    let sandbox = Sandbox::new();
    let key_file = "/dev/shm/c_live";
    // The C writer unlinks and re-creates its key file: ours starts after.
    let _c_writer = Proc::spawn(sandbox.command(c_program("shm_write")).arg(key_file));
    let row = one_segment(&sandbox);
    poll_until(DEADLINE, || {
        plausible_now(c_text(&sandbox, key_file).parse().ok()?).then_some(())
    })
    .expect("the C writer wrote no time");

    let started = Instant::now();
    let (code, stderr) = short_writer(&sandbox, key_file);
    println!("refused in {:?}: {stderr}", started.elapsed());
    assert_eq!(code, 6, "{stderr}");
    assert!(stderr.contains(BUSY), "{stderr}");
    assert!(
        stderr.contains(&format!("(shmid {})", row.shmid)),
        "{stderr}"
    );

    assert_eq!(
        one_segment(&sandbox),
        row,
        "the C writer's segment changed hands"
    );
    let bytes = dump(&sandbox, key_file);
    assert!(
        bytes[128..256].iter().all(|&b| b == 0),
        "a header was written into the C writer's segment"
    );
    let before: i64 = c_text(&sandbox, key_file).parse().unwrap();
    let after = poll_until(DEADLINE, || {
        let secs: i64 = c_text(&sandbox, key_file).parse().ok()?;
        (secs > before).then_some(secs)
    })
    .unwrap_or_else(|| panic!("the C writer's text stopped at {before}"));
    assert!(plausible_now(after), "{after}");
}

/// Create `/dev/shm/<a>` and `/dev/shm/<b>` in the sandbox's tmpfs with
/// inode numbers 65 536 apart, so `ftok` (which keeps the low 16 bits of
/// the inode and the low 8 of the device) gives both the same key. tmpfs
/// numbers its inodes in order, so filling it with ~70 000 empty files
/// reaches one; the others are removed again. The inode numbers.
fn colliding_key_files(sandbox: &Sandbox, a: &str, b: &str) -> (u64, u64) {
    let script = format!(
        "set -e; cd /dev/shm; touch {a}; first=$(stat -c %i {a}); mkdir fill; cd fill; \
         seq 1 70000 | xargs touch; \
         match=$(find . -type f -exec stat -c '%i %n' {{}} + \
           | awk -v t=$first '$1 % 65536 == t % 65536 {{ print $2; exit }}'); \
         test -n \"$match\"; mv \"$match\" ../{b}; cd ..; rm -rf fill; \
         stat -c %i {a} {b}"
    );
    let out = sandbox.sh(&script);
    assert!(out.status.success(), "{out:?}");
    let inodes: Vec<u64> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(|i| i.parse().unwrap())
        .collect();
    assert_eq!(inodes.len(), 2, "{out:?}");
    (inodes[0], inodes[1])
}

/// Two key files whose inodes differ by a multiple of 65 536 on one tmpfs
/// give the same ftok key, so the key-file lock (one per file) does not
/// keep a second writer off the first one's segment. Before the fix writer
/// B, on the other file, found a record of ours with nattch 1 (A's) and
/// adopted it as left "by a shm_write that did not stop cleanly": both then
/// wrote into one segment, and B exited 0 after `--count 3`. Now B watches
/// the sequence when another process is attached, sees A publish, and is
/// refused with exit 6 naming A's segment; A's segment stays, attached
/// once, and readers of A's key file keep getting A's fresh times.
#[test]
fn a_second_writer_with_a_colliding_ftok_key_does_not_adopt_the_live_writers_segment() {
    let sandbox = Sandbox::new();
    let (file_a, file_b) = ("/dev/shm/collide-a", "/dev/shm/collide-b");
    let started = Instant::now();
    let (ino_a, ino_b) = colliding_key_files(&sandbox, "collide-a", "collide-b");
    println!(
        "inodes {ino_a} and {ino_b}, found in {:?}",
        started.elapsed()
    );
    assert!(
        ino_a != ino_b && ino_a % 65_536 == ino_b % 65_536,
        "{ino_a} {ino_b}"
    );

    let writer_a = sandbox.writer(&["--key-file", file_a, "--interval", "100ms"]);
    let pid_a = startup_pid(&writer_a.wait_stderr(": segment created"));
    let row = one_segment(&sandbox);

    let started = Instant::now();
    let (code, stderr) = short_writer(&sandbox, file_b);
    println!("B refused in {:?}: {stderr}", started.elapsed());
    assert_eq!(code, 6, "{stderr}");
    assert!(stderr.contains(BUSY), "{stderr}");
    assert!(
        stderr.contains(&format!("segment {} (shmid {})", row.key_hex(), row.shmid)),
        "B's refusal does not name A's segment: {stderr}"
    );

    assert_eq!(one_segment(&sandbox), row);
    let first = read_once(&sandbox, file_a).expect("A no longer answers");
    assert_eq!(first.writer_pid, Some(pid_a), "{first:?}");
    let later = poll_until(DEADLINE, || {
        read_once(&sandbox, file_a).filter(|r| r.seq > first.seq)
    })
    .expect("A stopped publishing");
    assert_eq!((later.writer_pid, later.shmid), (Some(pid_a), row.shmid));
    assert!(plausible_now(later.secs), "{later:?}");
    assert!(writer_a.stderr().iter().all(|l| !l.contains("panicked")));
}

/// A dead writer's record whose sequence is odd (a writer killed
/// mid-update) or at the top of the u64 range must be adopted so that
/// readers can read the new writer. Before the fix the writer continued
/// from the sequence it found: from an odd one its "stable" values were
/// odd, so readers said "stayed mid-update" for ever, and from 2^64-2 the
/// next update wrapped past 2^64-1 to 0. Here a record with seq 2^64-1
/// and one with 2^64-2 are planted (nattch 0); our writer adopts each, and
/// `shm_read --once` must then succeed with the new writer's pid and a
/// time of now, five times in a row while the writer keeps publishing
/// every 20 ms (well past any wrap).
#[test]
fn adopting_a_record_with_an_odd_or_huge_sequence_leaves_it_readable() {
    let sandbox = Sandbox::new();
    for (i, seq) in [u64::MAX, u64::MAX - 1].into_iter().enumerate() {
        let key_file = format!("/dev/shm/seq-{i}");
        let image = Image {
            seq,
            ..Image::record(unix_now() - 30)
        };
        plant(&sandbox, &key_file, 0o600, &image.bytes());
        let out = run(&sandbox, "shm_read", &["--key-file", &key_file, "--once"]);
        let (code, _) = refusal(&out);
        assert_ne!(code, 0, "seq {seq:#x}: the planted record read as live");

        let mut writer = sandbox.writer(&["--key-file", &key_file, "--interval", "20ms"]);
        let startup = writer.wait_stderr("shm_write: key");
        assert!(
            startup.contains("segment reused (left by a shm_write"),
            "seq {seq:#x}: {startup}"
        );
        let pid = startup_pid(&startup);
        for round in 0..5 {
            let reading = poll_until(Duration::from_secs(5), || read_once(&sandbox, &key_file))
                .unwrap_or_else(|| {
                    let out = run(&sandbox, "shm_read", &["--key-file", &key_file, "--once"]);
                    panic!(
                        "seq {seq:#x}, read {round}: unreadable after adoption: {}",
                        String::from_utf8_lossy(&out.stderr)
                    )
                });
            println!("planted seq {seq:#x}, read {round}: {reading:?}");
            assert_eq!(reading.writer_pid, Some(pid), "seq {seq:#x}: {reading:?}");
            assert!(plausible_now(reading.secs), "seq {seq:#x}: {reading:?}");
            assert!(
                reading.seq.is_some_and(|s| s % 2 == 0),
                "seq {seq:#x}: {reading:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        writer.signal(nix::sys::signal::Signal::SIGTERM);
        assert!(writer.exit().success(), "{:?}", writer.stderr());
    }
}
