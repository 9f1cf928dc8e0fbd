//! Start, stop, kill and restart: the writer cleans up, the reader follows.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use shm_tests::plant::JsonReading;
use shm_tests::{poll_until, Proc, Sandbox, DEADLINE};

/// Wait until a JSON `reader` prints a reading published by `writer`.
fn wait_reading_from(reader: &Proc, writer: &Proc) {
    let pid = Some(writer.pid());
    reader.wait_stdout(|l| JsonReading::parse(l).is_some_and(|r| r.writer_pid == pid));
}

/// A writer and a JSON reader, both at 100 ms, the reader already reading it.
fn writer_and_reader(sandbox: &Sandbox) -> (Proc, Proc) {
    let writer = sandbox.writer(&["--interval", "100ms"]);
    let reader = sandbox.reader(&["--interval", "100ms", "--format", "json"]);
    wait_reading_from(&reader, &writer);
    (writer, reader)
}

#[test]
fn stop_signals_end_the_writer_fast_and_clean() {
    for signal in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP] {
        let sandbox = Sandbox::new();
        // A one-hour interval: only the signal can wake the writer.
        let mut writer = sandbox.writer(&["--interval", "1h"]);
        writer.wait_stderr("segment created");
        let reader = sandbox.reader(&["--interval", "20ms"]);
        reader.wait_lines(1);
        assert_eq!(sandbox.segments().len(), 1);

        let sent = Instant::now();
        writer.signal(signal);
        let status = writer.exit();
        let took = sent.elapsed();
        assert_eq!(status.code(), Some(0), "{signal}: {:?}", writer.stderr());
        // The promise is 100 ms; the bound leaves room for a busy CI machine.
        assert!(
            took < Duration::from_millis(500),
            "{signal}: exit took {took:?}"
        );
        eprintln!("{signal}: writer exited {took:?} after the signal");

        reader.wait_stderr("stopped cleanly");
        // Removed at once; freed when the reader detaches.
        poll_until(DEADLINE, || {
            sandbox
                .segments()
                .iter()
                .all(|s| s.nattch <= 1)
                .then_some(())
        })
        .expect("the writer stayed attached");
        let beacon = sandbox.sh("cat /dev/shm/shm_file");
        assert!(String::from_utf8_lossy(&beacon.stdout).contains("state=stopped"));
        drop(reader);
        poll_until(DEADLINE, || sandbox.segments().is_empty().then_some(()))
            .unwrap_or_else(|| panic!("{signal}: segment left behind: {:?}", sandbox.segments()));
    }
}

#[test]
fn count_publishes_then_exits_cleanly() {
    let sandbox = Sandbox::new();
    let mut writer = sandbox.writer(&["--interval", "10ms", "--count", "5"]);
    assert_eq!(writer.exit().code(), Some(0), "{:?}", writer.stderr());
    assert!(sandbox.segments().is_empty(), "{:?}", sandbox.segments());
}

#[test]
fn reader_lines_arrive_while_it_runs() {
    // The C reader's block-buffered stdout shows nothing in `docker logs`;
    // ours flushes every line, so a pipe sees each one at once.
    let sandbox = Sandbox::new();
    let _writer = sandbox.writer(&["--interval", "100ms"]);
    let reader = sandbox.reader(&["--interval", "100ms"]);
    let lines = reader.wait_lines(3);
    assert!(
        lines.iter().all(|l| l.starts_with("now time: ")),
        "{lines:?}"
    );
}

#[test]
fn killed_and_restarted_writer_twenty_times() {
    let sandbox = Sandbox::new();
    let reader = sandbox.reader(&["--interval", "20ms", "--format", "json"]);
    let mut shmids = Vec::new();
    for round in 0..20 {
        let mut writer = sandbox.writer(&["--interval", "20ms"]);
        writer.wait_stderr("shm_write: key");
        wait_reading_from(&reader, &writer);
        let rows = sandbox.segments();
        assert_eq!(rows.len(), 1, "round {round}: {rows:?}");
        shmids.push(rows[0].shmid);
        writer.signal(Signal::SIGKILL);
        writer.exit();
        assert!(
            sandbox.segments().len() <= 1,
            "round {round}: {:?}",
            sandbox.segments()
        );
    }
    // Every restart adopted the killed writer's segment instead of leaking one.
    assert!(shmids.iter().all(|&id| id == shmids[0]), "{shmids:?}");
    assert!(
        !reader.stderr().iter().any(|l| l.contains("panicked")),
        "{:?}",
        reader.stderr()
    );
}

#[test]
fn reader_notices_a_killed_writer_and_follows_the_next() {
    let sandbox = Sandbox::new();
    let (mut first, reader) = writer_and_reader(&sandbox);
    first.signal(Signal::SIGKILL);
    first.exit();
    reader.wait_stderr("no update for");

    let second = sandbox.writer(&["--interval", "100ms"]);
    wait_reading_from(&reader, &second);
    reader.wait_stderr("from a live writer");
}

#[test]
fn reader_waits_through_a_clean_stop_for_a_new_writer() {
    let sandbox = Sandbox::new();
    let (mut first, reader) = writer_and_reader(&sandbox);
    first.signal(Signal::SIGTERM);
    assert_eq!(first.exit().code(), Some(0));
    reader.wait_stderr("stopped cleanly");

    let second = sandbox.writer(&["--interval", "100ms"]);
    wait_reading_from(&reader, &second);
}

#[test]
fn torn_reads_never_happen() {
    let sandbox = Sandbox::new();
    let _writer = sandbox.writer(&["--interval", "0"]);
    let mut readers: Vec<_> = (0..4)
        .map(|_| sandbox.reader(&["--interval", "0", "--format", "json", "--count", "100000"]))
        .collect();
    let mut total_changes = 0;
    for reader in &mut readers {
        assert_eq!(reader.exit().code(), Some(0), "{:?}", reader.stderr());
        let mut last: Option<(u64, i64, u32)> = None;
        let mut distinct = 0;
        for line in reader.stdout() {
            let r = JsonReading::parse(&line).unwrap_or_else(|| panic!("not a reading: {line}"));
            let seq = r.seq.unwrap_or_else(|| panic!("no header record: {line}"));
            let record = (seq, r.secs, r.nanos);
            assert!(record.2 < 1_000_000_000, "{line}");
            if let Some(prev) = last {
                assert!(
                    record.0 >= prev.0,
                    "sequence went backwards: {prev:?} then {line}"
                );
                if record.0 == prev.0 {
                    assert_eq!(record, prev, "same sequence, different record: {line}");
                } else {
                    distinct += 1;
                    assert!(
                        (record.1, record.2) >= (prev.1, prev.2),
                        "time went backwards: {prev:?} then {line}"
                    );
                }
            }
            last = Some(record);
        }
        // Each reader saw the writer move while it read (on two busy cores
        // the writer may be descheduled for a while, so the bound is low).
        assert!(
            distinct >= 10,
            "the writer hardly advanced ({distinct} changes)"
        );
        total_changes += distinct;
    }
    eprintln!("{total_changes} sequence changes checked across 4 readers");
}
