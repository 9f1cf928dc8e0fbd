//! `shm_read --list` and `--inspect` against real segments of every kind,
//! compared with `ipcs -m`, in private IPC namespaces.

use shm_tests::plant::{noise, plant, Image};
use shm_tests::{bin, c_program, poll_until, Proc, Sandbox, DEADLINE};

fn read(sandbox: &Sandbox, args: &[&str]) -> String {
    let out = sandbox
        .command(bin("shm_read"))
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "shm_read {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// `ipcs -m` rows: key, shmid, owner, perms, bytes, nattch, status.
fn ipcs(sandbox: &Sandbox) -> Vec<Vec<String>> {
    let out = sandbox.sh("ipcs -m");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("0x"))
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect()
}

/// The same columns from `--list`'s table.
fn listed(list: &str) -> Vec<Vec<String>> {
    list.lines()
        .filter(|l| l.starts_with("0x"))
        .map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            let mut row: Vec<String> = cols[..6].iter().map(|c| (*c).to_owned()).collect();
            if cols.get(6) == Some(&"dest") {
                row.push("dest".into());
            }
            row
        })
        .collect()
}

/// Checks that `json` parses, with Python's parser.
fn assert_json(sandbox: &Sandbox, json: &str) {
    let out = sandbox
        .command("python3")
        .args(["-c", "import json,sys; json.load(sys.stdin)"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(json.as_bytes())?;
            child.wait_with_output()
        })
        .expect("run python3");
    assert!(out.status.success(), "not JSON: {json}");
}

#[test]
fn list_agrees_with_ipcs_and_says_what_each_segment_holds() {
    let sandbox = Sandbox::new();
    let time = sandbox.writer(&["--key-file", "/dev/shm/time", "--interval", "100ms"]);
    let value = sandbox.writer(&["--key-file", "/dev/shm/value", "--value", "hello"]);
    time.wait_stderr("segment created");
    value.wait_stderr("segment created");
    let _c_writer = Proc::spawn(&mut sandbox.command(c_program("shm_write")));
    plant(&sandbox, "/dev/shm/foreign", 0o644, &noise(512, 7));
    plant(
        &sandbox,
        "/dev/shm/stuck",
        0o600,
        &Image {
            seq: 9,
            ..Image::record(1_700_000_000)
        }
        .bytes(),
    );
    // A segment marked for removal while a reader is attached.
    let doomed = sandbox.writer(&["--key-file", "/dev/shm/doomed", "--interval", "100ms"]);
    doomed.wait_stderr("segment created");
    poll_until(DEADLINE, || {
        let list = read(&sandbox, &["--list"]);
        (list.lines().filter(|l| l.starts_with("0x")).count() == 6).then_some(())
    })
    .unwrap_or_else(|| panic!("not six segments: {}", read(&sandbox, &["--list"])));
    let list = read(&sandbox, &["--list"]);
    for (needle, holds) in [
        ("/dev/shm/time", "time record"),
        ("/dev/shm/value", "value: 5 bytes"),
        ("/dev/shm/foreign", "unknown"),
        ("/dev/shm/stuck", "mid-update (sequence 9)"),
    ] {
        let key = key_of(&sandbox, needle);
        let row = list
            .lines()
            .find(|l| l.starts_with(&key))
            .unwrap_or_else(|| panic!("{needle} ({key}) not listed: {list}"));
        assert!(row.contains(holds), "{needle}: {row}");
    }
    assert!(list.contains("C writer's text"), "{list}");

    // Remove one segment while its writer is still attached: "dest".
    let doomed_key = key_of(&sandbox, "/dev/shm/doomed");
    assert!(sandbox
        .sh(&format!("ipcrm -M {doomed_key}"))
        .status
        .success());
    let agree = poll_until(DEADLINE, || {
        let (ours, theirs) = (listed(&read(&sandbox, &["--list"])), ipcs(&sandbox));
        (ours == theirs
            && ours
                .iter()
                .any(|r| r.last().map(String::as_str) == Some("dest")))
        .then_some(ours)
    });
    assert!(
        agree.is_some(),
        "--list and ipcs -m disagree:\n{}\n{:?}",
        read(&sandbox, &["--list"]),
        ipcs(&sandbox)
    );
    let json = read(&sandbox, &["--list", "--format", "json"]);
    assert_json(&sandbox, &json);
    assert!(
        json.contains(&format!("\"ipc_ns\":\"ipc:[{}]\"", sandbox.ipc_ns())),
        "{json}"
    );
}

/// The key `ftok(path, 8)` gives, as `0x%08x`, read from `--inspect`.
fn key_of(sandbox: &Sandbox, key_file: &str) -> String {
    let out = read(sandbox, &["--inspect", "--key-file", key_file]);
    out.split_whitespace().nth(1).unwrap().to_owned()
}

#[test]
fn list_names_the_attached_processes_in_a_shared_pid_namespace() {
    let sandbox = Sandbox::new();
    let writer = sandbox.writer(&["--interval", "100ms"]);
    let line = writer.wait_stderr("segment created");
    let pid = line
        .split_whitespace()
        .skip_while(|w| *w != "pid")
        .nth(1)
        .unwrap()
        .trim_end_matches(':')
        .to_owned();
    let reader = sandbox.reader(&["--interval", "100ms"]);
    reader.wait_lines(1);
    let list = read(&sandbox, &["--list"]);
    assert!(list.contains(&format!("pid {pid} shm_write")), "{list}");
    assert!(
        list.contains(&format!("pid {} shm_read", reader.pid())),
        "{list}"
    );
}

#[test]
fn inspect_decodes_each_kind_and_dumps_what_it_cannot() {
    let sandbox = Sandbox::new();
    let time = sandbox.writer(&["--key-file", "/dev/shm/time"]);
    let value = sandbox.writer(&["--key-file", "/dev/shm/value", "--value", "PI"]);
    time.wait_stderr("segment created");
    value.wait_stderr("segment created");
    plant(&sandbox, "/dev/shm/foreign", 0o600, &noise(304, 3));
    plant(
        &sandbox,
        "/dev/shm/stuck",
        0o600,
        &Image {
            seq: 7,
            ..Image::record(1_700_000_000)
        }
        .bytes(),
    );

    let out = read(&sandbox, &["--inspect", "--key-file", "/dev/shm/time"]);
    for field in [
        "magic",
        "layout version",
        "sequence",
        "interval",
        "writer pid",
        "creator pid",
    ] {
        assert!(out.contains(field), "time: no {field}: {out}");
    }
    assert!(out.contains("holds: time record"), "{out}");
    let out = read(&sandbox, &["--inspect", "--key-file", "/dev/shm/value"]);
    assert!(
        out.contains("heartbeat") && out.contains("length") && out.contains("\"PI\""),
        "{out}"
    );
    let out = read(&sandbox, &["--inspect", "--key-file", "/dev/shm/foreign"]);
    assert!(
        out.contains("hex dump (304 bytes)") && out.contains("00000000: "),
        "{out}"
    );
    let out = read(&sandbox, &["--inspect", "--key-file", "/dev/shm/stuck"]);
    assert!(
        out.contains("mid-update (sequence 7)") && out.contains("7 (odd: mid-update)"),
        "{out}"
    );

    let key = out.split_whitespace().nth(1).unwrap().to_owned();
    let by_key = read(&sandbox, &["--inspect", "--key", &key, "--format", "json"]);
    assert_json(&sandbox, &by_key);
    assert!(by_key.contains("\"kind\":\"mid-update\""), "{by_key}");
    let missing = sandbox
        .command(bin("shm_read"))
        .args(["--inspect", "--shmid", "9999"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(3), "{missing:?}");
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no segment with shmid 9999"));
}
