//! System calls counted with `strace -c` around the real `shm_write`: a
//! publish with no reader asleep makes none (no futex wake-up), and one
//! with an `--on-change` reader asleep does wake it. Needs `strace`
//! (`.ci/run` installs it); a missing `strace` fails the test.

use shm_tests::{bin, Proc, Sandbox};
use std::process::{Command, Stdio};

/// Publishes of the flat-out writer: far more than the system calls it may
/// make for other reasons (start, the signal check every 4096 publishes).
const PUBLISHES: u64 = 200_000;

fn require_strace() {
    let ok = Command::new("strace")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "strace is not installed: these tests count system calls with it (.ci/run installs it)"
    );
}

/// Run `script` (a shell line whose `STRACE` runs strace with a summary
/// into the sandbox's /dev/shm) and return the calls of each system call.
fn counts(sandbox: &Sandbox, script: &str) -> Vec<(String, u64)> {
    let strace = "strace -f -c -o /dev/shm/strace.txt";
    let out = sandbox.sh(&script.replace("STRACE", strace));
    assert!(out.status.success(), "{script}: {out:?}");
    parse(sandbox)
}

/// The summary strace wrote into the sandbox's /dev/shm/strace.txt.
fn parse(sandbox: &Sandbox) -> Vec<(String, u64)> {
    let table = sandbox.sh("cat /dev/shm/strace.txt");
    let text = String::from_utf8_lossy(&table.stdout).into_owned();
    text.lines()
        .filter_map(|line| {
            // "% time seconds usecs/call calls [errors] syscall"
            let cols: Vec<&str> = line.split_whitespace().collect();
            let name = cols.last()?;
            let calls = cols.get(3)?.parse().ok()?;
            (cols.len() >= 5 && *name != "total").then(|| (name.to_string(), calls))
        })
        .collect()
}

fn calls(table: &[(String, u64)], name: &str) -> u64 {
    table.iter().find(|(n, _)| n == name).map_or(0, |(_, c)| *c)
}

#[test]
fn a_flat_out_writer_with_no_reader_makes_no_futex_call() {
    require_strace();
    let sandbox = Sandbox::new();
    let writer = bin("shm_write").display().to_string();
    let table = counts(
        &sandbox,
        &format!("STRACE {writer} --interval 0 --count {PUBLISHES} 2>/dev/null"),
    );
    let total: u64 = table.iter().map(|(_, c)| c).sum();
    assert!(total > 0, "strace counted nothing: {table:?}");
    assert_eq!(calls(&table, "futex"), 0, "{table:?}");
    // Start-up and the stop-signal check every 4096th publish: nothing
    // per publish.
    assert!(total < PUBLISHES / 100, "{total} system calls: {table:?}");
}

#[test]
fn a_stdin_writer_with_no_reader_makes_no_futex_call_per_publish() {
    require_strace();
    let sandbox = Sandbox::new();
    let writer = bin("shm_write").display().to_string();
    let table = counts(
        &sandbox,
        &format!("seq 1 20000 | STRACE {writer} --stdin --exit-at-eof 2>/dev/null"),
    );
    assert!(calls(&table, "read") >= 1, "{table:?}");
    // None per publish: only the end-of-input hand-over (wake every
    // sleeper, count those asleep on the last value) calls the kernel.
    assert!(calls(&table, "futex") <= 8, "{table:?}");
}

/// The same count sees the wake-ups when a reader sleeps in `--on-change`:
/// the checks above would catch a publish that calls the kernel.
#[test]
fn a_writer_wakes_an_on_change_reader_asleep() {
    require_strace();
    let sandbox = Sandbox::new();
    let mut writer = Proc::spawn(
        sandbox
            .command("strace")
            .args(["-f", "-c", "-o", "/dev/shm/strace.txt"])
            .arg(bin("shm_write"))
            .args(["--interval", "2ms", "--count", "1000"]),
    );
    writer.wait_stderr("segment created");
    let reader = sandbox.reader(&["--on-change"]);
    reader.wait_lines(10);
    assert!(writer.exit().success(), "{:?}", writer.stderr());
    let table = parse(&sandbox);
    assert!(calls(&table, "futex") > 0, "no wake-up: {table:?}");
}
