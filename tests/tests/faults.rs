//! Faults: writers killed and restarted, frozen mid-update, readers killed
//! at random moments, and the segment removed from outside while both run.

use std::process::Command;
use std::time::Duration;

use nix::sys::signal::Signal;
use shm_tests::plant::{cpu_over, noise, plausible_now, proc_state, read_once, JsonReading};
use shm_tests::{poll_until, startup_pid, startup_shmid, Proc, Sandbox, DEADLINE};

const KEY_FILE: &str = "/dev/shm/faults";

/// Readings a JSON reader has printed, from line `from` on.
fn readings(reader: &Proc, from: usize) -> Vec<JsonReading> {
    reader
        .stdout()
        .iter()
        .skip(from)
        .map(|l| JsonReading::parse(l).unwrap_or_else(|| panic!("not a JSON reading: {l:?}")))
        .collect()
}

/// Wait until the reader prints a reading that satisfies `pred`.
fn wait_reading(reader: &Proc, from: usize, pred: impl Fn(&JsonReading) -> bool) -> JsonReading {
    poll_until(DEADLINE, || {
        readings(reader, from).into_iter().find(|r| pred(r))
    })
    .unwrap_or_else(|| {
        panic!(
            "no such reading within {DEADLINE:?}; stderr {:?}",
            reader.stderr()
        )
    })
}

/// A reader of the test's key file printing JSON every `interval`.
fn json_reader(sandbox: &Sandbox, interval: &str) -> Proc {
    sandbox.reader(&[
        "--key-file",
        KEY_FILE,
        "--interval",
        interval,
        "--format",
        "json",
    ])
}

fn assert_no_panic(proc: &Proc, who: &str) {
    let stderr = proc.stderr();
    assert!(
        !stderr.iter().any(|l| l.contains("panicked")),
        "{who} panicked: {stderr:?}"
    );
}

#[test]
fn writer_killed_100_times_leaves_one_segment_and_the_reader_follows_each_restart() {
    let sandbox = Sandbox::new();
    let mut reader = json_reader(&sandbox, "5ms");
    let mut pids = Vec::new();
    let mut seen = 0;
    for round in 0..100 {
        let mut writer = sandbox.writer(&["--key-file", KEY_FILE, "--interval", "5ms"]);
        let line = writer.wait_stderr(": segment ");
        let pid = startup_pid(&line);
        if round > 0 {
            assert!(line.contains("segment reused"), "round {round}: {line}");
        }
        let reading = wait_reading(&reader, seen, |r| r.writer_pid == Some(pid));
        assert!(plausible_now(reading.secs), "{reading:?}");
        seen = reader.stdout().len();
        let segments = sandbox.segments();
        assert_eq!(segments.len(), 1, "round {round}: {segments:?}");
        writer.signal(Signal::SIGKILL);
        writer.exit();
        pids.push(pid);
    }
    pids.dedup();
    assert_eq!(pids.len(), 100);
    assert!(
        reader.wait_exit(Duration::ZERO).is_none(),
        "the reader exited: {:?}",
        reader.stderr()
    );
    assert_no_panic(&reader, "the reader");
    // Sequences never went backwards across the 100 writers.
    let all = readings(&reader, 0);
    for pair in all.windows(2) {
        assert!(pair[0].seq <= pair[1].seq, "{pair:?}");
    }
}

/// Freeze process `pid` right after it made the sequence odd: a hardware
/// watchpoint on the writer's sequence word stops it mid-update, gdb queues
/// SIGSTOP and detaches, so the writer stays stopped exactly there.
fn freeze_mid_update(pid: u32) {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    let base = maps
        .lines()
        .find(|l| l.contains("SYSV"))
        .and_then(|l| u64::from_str_radix(l.split('-').next()?, 16).ok())
        .expect("the writer's segment in its maps");
    let seq = format!("*(unsigned long *){:#x}", base + 192);
    // Bounded: should the watchpoint never fire (no debug registers), the
    // test fails instead of hanging.
    let out = Command::new("timeout")
        .args(["60", "gdb", "-nx", "-batch", "-p", &pid.to_string()])
        .args(["-ex", &format!("watch -l {seq} if ({seq} & 1) == 1")])
        .args(["-ex", "continue"])
        .args(["-ex", &format!("shell kill -STOP {pid}")])
        .args(["-ex", "detach"])
        .output()
        .expect("run gdb (the fault tests need it to stop a writer mid-update)");
    assert!(out.status.success(), "gdb: {out:?}");
    assert!(
        poll_until(DEADLINE, || (proc_state(pid) == Some('T')).then_some(())).is_some(),
        "the writer did not stop: {out:?}"
    );
}

#[test]
fn readers_report_a_writer_stopped_mid_update_without_spinning_and_recover() {
    let sandbox = Sandbox::new();
    let writer = sandbox.writer(&["--key-file", KEY_FILE, "--interval", "1ms"]);
    writer.wait_stderr(": segment created");
    let fast = json_reader(&sandbox, "0");
    let slow = sandbox.reader(&["--key-file", KEY_FILE, "--interval", "50ms"]);
    fast.wait_lines(1);
    slow.wait_lines(1);

    freeze_mid_update(writer.pid());
    let once = sandbox
        .command(shm_tests::bin("shm_read"))
        .args(["--key-file", KEY_FILE, "--once"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&once.stderr);
    assert_eq!(once.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("stayed mid-update"), "{stderr}");
    fast.wait_stderr("stayed mid-update");
    slow.wait_stderr("stayed mid-update");
    let (fast_seen, slow_seen) = (fast.stdout().len(), slow.stdout().len());

    // A frozen writer must not make its readers burn a core.
    let fast_cpu = cpu_over(fast.pid(), Duration::from_secs(2));
    let slow_cpu = cpu_over(slow.pid(), Duration::from_secs(2));
    eprintln!("reader CPU while the writer is frozen mid-update: --interval 0: {fast_cpu:.3} cores, 50ms: {slow_cpu:.3} cores");
    assert!(
        fast_cpu < 0.2,
        "--interval 0 reader uses {fast_cpu:.2} cores"
    );
    assert!(slow_cpu < 0.1, "50ms reader uses {slow_cpu:.2} cores");
    // Nothing was printed as a time meanwhile.
    assert_eq!(fast.stdout().len(), fast_seen);
    assert_eq!(slow.stdout().len(), slow_seen);

    writer.signal(Signal::SIGCONT);
    let before = readings(&fast, 0).last().unwrap().seq.unwrap();
    let after = wait_reading(&fast, fast_seen, |r| r.seq > Some(before));
    assert!(plausible_now(after.secs));
    slow.wait_lines(slow_seen + 1);
    fast.wait_stderr("from a live writer");
    slow.wait_stderr("from a live writer");

    // Stopped between updates (sequence even): reported as stale, then resumed.
    let seen = fast.stdout().len();
    writer.signal(Signal::SIGSTOP);
    fast.wait_stderr("no update for");
    writer.signal(Signal::SIGCONT);
    wait_reading(&fast, seen, |r| r.seq > after.seq);
    for reader in [&fast, &slow] {
        assert_no_panic(reader, "a reader");
    }
}

#[test]
fn readers_killed_at_random_moments_do_not_disturb_the_writer() {
    let sandbox = Sandbox::new();
    let mut writer = sandbox.writer(&["--key-file", KEY_FILE, "--interval", "1ms"]);
    writer.wait_stderr(": segment created");
    let delays = noise(30, 0xdead);
    for (round, delay) in delays.iter().enumerate() {
        let reader = json_reader(&sandbox, "0");
        reader.wait_lines(1);
        // A random moment in the next 0..25 ms of the reader's busy loop.
        std::thread::sleep(Duration::from_micros(u64::from(*delay) * 100));
        reader.signal(Signal::SIGKILL);
        drop(reader);
        assert!(
            writer.wait_exit(Duration::ZERO).is_none(),
            "round {round}: the writer exited: {:?}",
            writer.stderr()
        );
    }
    let first = read_once(&sandbox, KEY_FILE).expect("a live writer");
    let later = poll_until(DEADLINE, || {
        read_once(&sandbox, KEY_FILE).filter(|r| r.seq > first.seq)
    });
    assert!(later.is_some(), "the writer's sequence stopped advancing");
    // The killed readers' attachments are gone; only the writer's remains.
    let single = poll_until(DEADLINE, || {
        let rows = sandbox.segments();
        (rows.len() == 1 && rows[0].nattch == 1).then_some(())
    });
    assert!(single.is_some(), "{:?}", sandbox.segments());
    assert_no_panic(&writer, "the writer");
}

#[test]
fn a_segment_removed_from_outside_is_noticed_and_replaced() {
    let sandbox = Sandbox::new();
    let writer = sandbox.writer(&["--key-file", KEY_FILE, "--interval", "20ms"]);
    let mut shmid = startup_shmid(&writer.wait_stderr(": segment created"));
    let reader = json_reader(&sandbox, "20ms");
    wait_reading(&reader, 0, |r| r.shmid == shmid);

    for round in 0..2 {
        let seen = reader.stdout().len();
        let writer_lines = writer.stderr().len();
        // Round 0 holds the writer still while the segment goes, so the
        // reader's report is certain to come before the writer replaces it;
        // round 1 removes it under both at full speed.
        if round == 0 {
            writer.signal(Signal::SIGSTOP);
        }
        let out = sandbox.sh(&format!("ipcrm -m {shmid}"));
        assert!(out.status.success(), "{out:?}");
        if round == 0 {
            reader.wait_stderr("left no segment (killed, or the segment was removed with ipcrm)");
            writer.signal(Signal::SIGCONT);
        }
        writer.wait_stderr(&format!("(shmid {shmid}) was removed from outside"));
        let line = poll_until(DEADLINE, || {
            writer.stderr()[writer_lines..]
                .iter()
                .find(|l| l.contains(": segment created"))
                .cloned()
        })
        .unwrap_or_else(|| panic!("no new segment: {:?}", writer.stderr()));
        let new_shmid = startup_shmid(&line);
        assert_ne!(new_shmid, shmid);
        let reading = wait_reading(&reader, seen, |r| r.shmid == new_shmid);
        assert!(plausible_now(reading.secs), "{reading:?}");
        let rows = sandbox.segments();
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0].shmid, new_shmid);
        shmid = new_shmid;
    }
    reader.wait_stderr("from a live writer");
    assert_no_panic(&reader, "the reader");
    assert_no_panic(&writer, "the writer");
}

/// A writer notices that its segment was removed within about a second
/// whatever its `--interval`. Before the fix it looked only when it
/// published, so a writer at `--interval 30s` left its readers without a
/// segment for up to 30 s. Here, with `--interval 30s`, the writer must
/// print its "removed from outside" line and a new start-up line within
/// 5 s of `ipcrm -m`, and a following reader must read from the new
/// segment within 10 s, well before the next publication would be due.
#[test]
fn a_removed_segment_is_noticed_within_seconds_at_a_long_interval() {
    let sandbox = Sandbox::new();
    let writer = sandbox.writer(&["--key-file", KEY_FILE, "--interval", "30s"]);
    let shmid = startup_shmid(&writer.wait_stderr(": segment created"));
    let reader = json_reader(&sandbox, "200ms");
    wait_reading(&reader, 0, |r| r.shmid == shmid);
    let (seen, writer_lines) = (reader.stdout().len(), writer.stderr().len());

    let removed = std::time::Instant::now();
    let out = sandbox.sh(&format!("ipcrm -m {shmid}"));
    assert!(out.status.success(), "{out:?}");
    let new_line = poll_until(Duration::from_secs(5), || {
        writer.stderr()[writer_lines..]
            .iter()
            .find(|l| l.contains(": segment created"))
            .cloned()
    })
    .unwrap_or_else(|| panic!("no new segment within 5 s: {:?}", writer.stderr()));
    let noticed = removed.elapsed();
    assert!(
        writer.stderr()[writer_lines..]
            .iter()
            .any(|l| l.contains(&format!("(shmid {shmid}) was removed from outside"))),
        "{:?}",
        writer.stderr()
    );
    let new_shmid = startup_shmid(&new_line);
    assert_ne!(new_shmid, shmid);
    let reading = poll_until(Duration::from_secs(10), || {
        readings(&reader, seen)
            .into_iter()
            .find(|r| r.shmid == new_shmid)
    })
    .unwrap_or_else(|| {
        panic!(
            "no reading of the new segment within 10 s: {:?}",
            reader.stderr()
        )
    });
    let followed = removed.elapsed();
    assert!(plausible_now(reading.secs), "{reading:?}");
    println!("--interval 30s: writer replaced the segment {noticed:?} after ipcrm, reader read it after {followed:?}");
    assert_no_panic(&reader, "the reader");
    assert_no_panic(&writer, "the writer");
}

/// A segment removed between a reader's `shmget` and its `IPC_STAT` or
/// `shmat` must count as absent, not as a system error. Before the fix the
/// reader reported the kernel's EINVAL ("Invalid argument") and exited 1.
/// The window is narrow, so this is probabilistic: writers are started and
/// stopped with SIGTERM over and over (each removes its segment) while
/// `shm_read --once --timeout 2s` runs again and again; no run may exit 1
/// or mention EINVAL. The counts are printed; a pass does not prove the
/// race was hit every time, but the unfixed reader failed it readily.
#[test]
fn a_segment_vanishing_under_a_reader_is_never_a_system_error() {
    let sandbox = Sandbox::new();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (mut exits, mut cycles) = (std::collections::BTreeMap::new(), 0);
    std::thread::scope(|scope| {
        let churn = scope.spawn(|| {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let mut writer = sandbox.writer(&["--key-file", KEY_FILE, "--interval", "10ms"]);
                writer.wait_stderr("shm_write: key");
                writer.signal(Signal::SIGTERM);
                writer.exit();
                assert_no_panic(&writer, "a writer");
                n += 1;
            }
            n
        });
        let end = std::time::Instant::now() + Duration::from_secs(20);
        while std::time::Instant::now() < end {
            let out = sandbox
                .command(shm_tests::bin("shm_read"))
                .args(["--key-file", KEY_FILE, "--once", "--timeout", "2s"])
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            let code = out.status.code();
            assert_ne!(code, Some(1), "system error: {stderr}");
            assert_ne!(code, None, "killed: {:?} {stderr}", out.status);
            assert!(
                !stderr.contains("EINVAL") && !stderr.contains("Invalid argument"),
                "{stderr}"
            );
            assert!(!stderr.contains("panicked"), "{stderr}");
            *exits.entry(code.unwrap()).or_insert(0) += 1;
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        cycles = churn.join().unwrap();
    });
    println!("{cycles} writer start/stop cycles; shm_read --once exits: {exits:?}");
    assert!(cycles >= 20, "only {cycles} writer cycles");
}
