//! `shm_read --list` and `--inspect` against real segments of every kind,
//! compared with `ipcs -m`, in private IPC namespaces.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

use shm_tests::plant::{noise, plant, plant_at, Image};
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
        json.contains(&format!("\"ipc\":\"ipc:[{}]\"", sandbox.ipc_ns())),
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

const MIB: usize = 1 << 20;

/// Address space a `shm_read` may use beside its attachment: room for the
/// static binary, its stack and buffers, never for a copy of the segment.
const HEADROOM: usize = 64 * MIB;

/// `shm_read args` in the sandbox, limited to `attached` bytes of address
/// space (the segment it attaches) plus [`HEADROOM`], and to five minutes.
fn shm_read_within(sandbox: &Sandbox, attached: usize, args: &[&str]) -> Command {
    let mut cmd = sandbox.command("timeout");
    cmd.args(["300", "prlimit"])
        .arg(format!("--as={}", attached + HEADROOM))
        .arg("--")
        .arg(bin("shm_read"))
        .args(args);
    cmd
}

fn run_within(sandbox: &Sandbox, attached: usize, args: &[&str]) -> String {
    let out: Output = shm_read_within(sandbox, attached, args).output().unwrap();
    assert!(
        out.status.success(),
        "shm_read {args:?} within {} MiB: {}; stderr {}; stdout {} bytes",
        (attached + HEADROOM) / MIB,
        out.status,
        String::from_utf8_lossy(&out.stderr),
        out.stdout.len()
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Bytes of segment `shmid` resident in memory (`/proc/sysvipc/shm`'s rss).
fn resident(sandbox: &Sandbox, shmid: i32) -> usize {
    let row = sandbox.segments().into_iter().find(|r| r.shmid == shmid);
    row.expect("the segment is listed").rss as usize
}

/// The lines of a hex dump (`00000010: 41 42 ...  AB..`): offset and bytes.
fn dump_line(line: &str) -> Option<(usize, Vec<u8>)> {
    let (offset, rest) = line.split_once(": ")?;
    if offset.len() != 8 {
        return None;
    }
    let offset = usize::from_str_radix(offset, 16).ok()?;
    let hex = rest.get(..47.min(rest.len()))?;
    let bytes = hex
        .split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    Some((offset, bytes))
}

/// `--list` and `--inspect` decide a segment is empty, and dump one,
/// without faulting in its pages: a 512 MiB segment nobody touched stays
/// unresident, charged to nobody. (Before: `--list` read every word to find
/// it all zeros, making all 512 MiB resident, and `--inspect` copied the
/// whole segment to dump it.)
#[test]
fn list_and_inspect_leave_a_large_segment_unresident() {
    let sandbox = Sandbox::new();
    let size = 512 * MIB;
    // As shmget made it.
    let empty = plant_at(&sandbox, "/dev/shm/empty", size, 0o600, 0, &[]);
    // Untouched but for one page deep inside: not empty.
    let deep = plant_at(&sandbox, "/dev/shm/deep", size, 0o600, 300 * MIB, b"deep");
    // Untouched but for a few bytes past the (empty) text area.
    let head = plant_at(&sandbox, "/dev/shm/head", size, 0o600, 200, b"head");
    for shmid in [empty, deep, head] {
        assert!(resident(&sandbox, shmid) <= 4096, "planted resident");
    }

    let unresident = |after: &str| {
        let rss: Vec<(&str, usize)> = [("empty", empty), ("deep", deep), ("head", head)]
            .into_iter()
            .map(|(name, shmid)| (name, resident(&sandbox, shmid) >> 10))
            .collect();
        assert!(
            rss.iter().all(|(_, kib)| *kib <= 4 << 10),
            "KiB resident after {after}: {rss:?}"
        );
    };

    let list = run_within(&sandbox, size, &["--list"]);
    let holds = |shmid: i32| {
        let row = list.lines().find(|l| {
            l.split_whitespace().nth(1) == Some(&shmid.to_string()) && l.starts_with("0x")
        });
        row.unwrap_or_else(|| panic!("shmid {shmid} not listed: {list}"))
            .to_owned()
    };
    assert!(holds(empty).ends_with("  empty"), "{list}");
    assert!(holds(deep).contains("unknown"), "{list}");
    assert!(holds(head).contains("unknown"), "{list}");
    let json = run_within(&sandbox, size, &["--list", "--format", "json"]);
    assert_json(&sandbox, &json);
    assert!(json.contains("\"kind\":\"empty\""), "{json}");
    unresident("--list");

    let out = run_within(
        &sandbox,
        size,
        &["--inspect", "--key-file", "/dev/shm/empty"],
    );
    assert!(
        out.contains("holds: empty") && !out.contains("hex dump"),
        "{out}"
    );
    for key_file in ["/dev/shm/head", "/dev/shm/deep"] {
        let out = run_within(&sandbox, size, &["--inspect", "--key-file", key_file]);
        assert!(out.len() < 12 << 10, "{key_file}: {} bytes", out.len());
        assert!(out.contains("hex dump (536870912 bytes)"), "{out}");
        assert!(out.contains("536868864 bytes left out"), "{out}");
    }
    let out = run_within(
        &sandbox,
        size,
        &["--inspect", "--key-file", "/dev/shm/head"],
    );
    assert!(out.contains("000000c0: ") && out.contains("head"), "{out}");

    unresident("--inspect");
}

/// `--inspect` of a 32 MiB segment of noise prints the first and last KiB
/// and says what it left out, in little memory; `--full` prints every byte
/// as it goes, in as little. (Before: the whole dump was built as one
/// String: a peak of 380 MB and 159 MB printed, and no --full.)
#[test]
fn inspect_of_a_large_segment_is_bounded_and_full_is_streamed() {
    let sandbox = Sandbox::new();
    let size = 32 * MIB;
    let bytes = noise(size, 11);
    plant(&sandbox, "/dev/shm/noise", 0o600, &bytes);
    let check = |offset: usize, line: &[u8]| {
        assert_eq!(line, &bytes[offset..offset + line.len()], "at {offset:#x}");
    };

    let out = run_within(
        &sandbox,
        size,
        &["--inspect", "--key-file", "/dev/shm/noise"],
    );
    assert!(out.len() < 12 << 10, "{} bytes printed", out.len());
    assert!(out.contains("hex dump (33554432 bytes)"), "{out}");
    let left_out = out.lines().find(|l| l.contains("left out")).unwrap_or("");
    assert!(
        left_out.contains("33552384 bytes left out") && left_out.contains("--full"),
        "{out}"
    );
    let lines: Vec<(usize, Vec<u8>)> = out.lines().filter_map(dump_line).collect();
    assert_eq!(lines.len(), 128, "{out}");
    for (offset, line) in &lines {
        check(*offset, line);
    }
    assert_eq!(lines[0].0, 0);
    assert_eq!(lines[63].0, 1024 - 16);
    assert_eq!(lines[64].0, size - 1024);
    assert_eq!(lines[127].0, size - 16);

    let json = run_within(
        &sandbox,
        size,
        &[
            "--inspect",
            "--key-file",
            "/dev/shm/noise",
            "--format",
            "json",
        ],
    );
    assert_json(&sandbox, &json);
    assert!(json.len() < 12 << 10, "{} bytes of JSON", json.len());
    let field = |name: &str| {
        let start = json
            .find(&format!("\"{name}\":"))
            .unwrap_or_else(|| panic!("{json}"));
        let rest = &json[start + name.len() + 3..];
        rest[..rest.find([',', '}']).unwrap()]
            .trim_matches('"')
            .to_owned()
    };
    let hex = |text: &str| -> Vec<u8> {
        (0..text.len() / 2)
            .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    };
    assert_eq!(hex(&field("hex")), &bytes[..1024]);
    assert_eq!(hex(&field("hex_tail")), &bytes[size - 1024..]);
    assert_eq!(field("hex_bytes"), size.to_string());

    // --full: every line, read as it comes.
    let mut child = shm_read_within(
        &sandbox,
        size,
        &["--inspect", "--full", "--key-file", "/dev/shm/noise"],
    )
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
    let (mut count, mut next) = (0, 0);
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        assert!(!line.contains("left out"), "{line}");
        if let Some((offset, bytes)) = dump_line(&line) {
            assert_eq!(offset, next, "{line}");
            check(offset, &bytes);
            next += bytes.len();
            count += 1;
        }
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "--inspect --full: {status}");
    assert_eq!((count, next), (size / 16, size));

    // --full JSON: the whole segment in `hex`, valid JSON.
    let python = "import hashlib,json,sys; d=json.load(sys.stdin); \
                  print(len(d['hex']), hashlib.sha256(bytes.fromhex(d['hex'])).hexdigest())";
    let script = format!(
        "timeout 300 prlimit --as={} -- {} --inspect --full --format json --key-file /dev/shm/noise \
         | python3 -c \"{python}\"; {} dump /dev/shm/noise | sha256sum",
        size + HEADROOM,
        bin("shm_read").display(),
        c_program("shm_plant").display()
    );
    let out = sandbox.sh(&script);
    let text = String::from_utf8_lossy(&out.stdout);
    let words: Vec<&str> = text.split_whitespace().collect();
    assert!(
        words.len() >= 3,
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(words[0], (2 * size).to_string(), "{text}");
    assert_eq!(words[1], words[2], "the JSON hex is not the segment");
}
