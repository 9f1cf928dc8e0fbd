//! `shm_read --list` as the map of an IPC namespace: every kind of object
//! `ipcs` and `lsipc` show, POSIX queues and `/dev/shm` files beside them,
//! leaks flagged with the `ipcrm` line that removes them (run here, in the
//! namespace, to see it work), and JSON under `lsipc --json`'s names.

use serde_json::Value;
use shm_tests::{bin, c_program, poll_until, Proc, Sandbox, DEADLINE};

/// An unprivileged uid with no process in a fresh sandbox (whose holder
/// runs as root).
const USER: u32 = 1000;

fn list_json(sandbox: &Sandbox) -> Value {
    serde_json::from_str(&sandbox.list(&["--format", "json"])).unwrap()
}

/// `ipc_make args` run to its end as `uid`: the id of the object it left.
fn make(sandbox: &Sandbox, uid: u32, args: &[&str]) -> i32 {
    let out = sandbox
        .command_as(uid, uid, c_program("ipc_make"))
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "ipc_make {args:?}: {out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// `ipc_make args hold` as root, still running, and the id it made.
fn make_held(sandbox: &Sandbox, args: &[&str]) -> (Proc, i32) {
    let maker = Proc::spawn(sandbox.command(c_program("ipc_make")).args(args));
    let id = maker.wait_lines(1)[0].parse().unwrap();
    (maker, id)
}

/// The lines under the row of `id` in the block that starts with the line
/// `block` starts (the indented ones: attached processes, orphan).
fn under(text: &str, block: &str, id: i32) -> Vec<String> {
    let mut lines = text.lines().skip_while(|l| !l.starts_with(block)).skip(1);
    let id = id.to_string();
    lines
        .by_ref()
        .take_while(|l| !l.is_empty())
        .find(|l| l.starts_with("0x") && l.split_whitespace().nth(1) == Some(&id))
        .unwrap_or_else(|| panic!("no row {id} under {block:?}: {text}"));
    lines
        .take_while(|l| l.starts_with(' '))
        .map(str::to_owned)
        .collect()
}

/// The `ipcrm` command of an orphan line, checked to be one.
fn remove_line(sub: &[String]) -> Option<String> {
    sub.iter()
        .find(|l| l.trim_start().starts_with("orphan: "))
        .map(|l| l.split_once("remove with: ").expect(l).1.to_owned())
}

/// The ids of `/proc/sysvipc/{table}` in the sandbox.
fn ids(sandbox: &Sandbox, table: &str) -> Vec<i32> {
    let out = sandbox.sh(&format!("cat /proc/sysvipc/{table}"));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(1)?.parse().ok())
        .collect()
}

fn row<'a>(json: &'a Value, table: &str, id: i32) -> &'a Value {
    json[table]
        .as_array()
        .unwrap_or_else(|| panic!("no {table}: {json}"))
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no {table} {id}: {json}"))
}

const SEGMENTS: &str = "IPC namespace ";
const QUEUES: &str = "System V message queues: ";
const SETS: &str = "System V semaphore sets: ";

/// One namespace holding every kind: each listed, only the leaked ones
/// flagged, and each flagged one's `ipcrm` line removes it and nothing
/// else. A segment whose creator still runs is not flagged until its
/// creator is killed.
#[test]
fn list_shows_every_kind_and_flags_only_what_leaked() {
    let sandbox = Sandbox::with_mqueue();
    let writer = sandbox.writer(&["--interval", "100ms"]);
    let written = shm_tests::startup_shmid(&writer.wait_stderr("segment created"));
    let (mut holder, held) = make_held(&sandbox, &["shm", "4096", "hold"]);
    let leaked = make(&sandbox, 0, &["shm", "65536"]);
    let lost_queue = make(&sandbox, USER, &["msg"]);
    let used_queue = make(&sandbox, USER, &["msg-sent"]);
    let root_queue = make(&sandbox, 0, &["msg"]);
    let lost_set = make(&sandbox, USER, &["sem", "2"]);
    assert!(sandbox.sh("touch /dev/mqueue/jobs").status.success());
    // A file named with terminal escapes is listed escaped.
    assert!(sandbox
        .sh("touch \"/dev/shm/$(printf 'a\\033[2Jb')\"")
        .status
        .success());
    let (mapper, _) = make_held(&sandbox, &["map", "/frames", "8192"]);

    let text = sandbox.list(&[]);
    assert!(text.starts_with(&format!(
        "IPC namespace ipc:[{}]: 3 segment(s)\n",
        sandbox.ipc_ns()
    )));
    for (block, count) in [(QUEUES, 3), (SETS, 1)] {
        assert!(text.contains(&format!("\n{block}{count}\n")), "{text}");
    }
    for (block, id) in [
        (SEGMENTS, written),
        (SEGMENTS, held),
        (QUEUES, used_queue),
        (QUEUES, root_queue),
    ] {
        assert_eq!(
            remove_line(&under(&text, block, id)),
            None,
            "{block}{id}: {text}"
        );
    }
    let lines = [
        (
            SEGMENTS,
            leaked,
            "65536 bytes",
            format!("ipcrm -m {leaked}"),
        ),
        (
            QUEUES,
            lost_queue,
            "0 bytes",
            format!("ipcrm -q {lost_queue}"),
        ),
        (
            SETS,
            lost_set,
            "2 semaphore(s)",
            format!("ipcrm -s {lost_set}"),
        ),
    ];
    for (block, id, what, command) in &lines {
        let sub = under(&text, block, *id);
        assert!(
            sub.iter()
                .any(|l| l.contains(&format!("orphan: {what}, made "))),
            "{sub:?}"
        );
        assert_eq!(remove_line(&sub).as_ref(), Some(command), "{text}");
    }
    assert!(
        text.contains("\nPOSIX message queues (/dev/mqueue): 1 queue(s)\n"),
        "{text}"
    );
    assert!(text.lines().any(|l| l.starts_with("/jobs ")), "{text}");
    let frames = text
        .lines()
        .find(|l| l.starts_with("frames "))
        .expect(&text);
    assert!(
        frames.ends_with(&format!("pid {} ipc_make", mapper.pid())),
        "{frames}"
    );
    assert!(text.contains("they belong to that mount, not to the IPC namespace"));
    assert!(!text.contains('\u{1b}'), "{text:?}");
    assert!(text.contains("\na\\u{1b}[2Jb "), "{text}");

    let json = list_json(&sandbox);
    assert_eq!(row(&json, "sharedmemory", written)["creator"], "running");
    let held_row = row(&json, "sharedmemory", held);
    assert_eq!(
        (
            &held_row["creator"],
            &held_row["orphan"],
            &held_row["nattch"]
        ),
        (
            &Value::from("running"),
            &Value::from(false),
            &Value::from(0)
        )
    );
    assert!(
        held_row["command"]
            .as_str()
            .is_some_and(|c| c.ends_with("ipc_make shm 4096 hold")),
        "{held_row}"
    );
    assert_eq!(row(&json, "messages", root_queue)["creator"], "unknown");
    assert_eq!(row(&json, "messages", used_queue)["orphan"], false);
    for (table, (_, id, _, command)) in ["sharedmemory", "messages", "semaphores"]
        .iter()
        .zip(&lines)
    {
        let r = row(&json, table, *id);
        assert_eq!(
            (&r["orphan"], &r["creator"]),
            (&Value::from(true), &Value::from("gone")),
            "{r}"
        );
        assert_eq!(r["ipcrm"], command.as_str(), "{r}");
    }
    assert_eq!(json["posix-messages"][0]["name"], "/jobs", "{json}");
    let file = json["posix-sharedmemory"]
        .as_array()
        .and_then(|files| files.iter().find(|f| f["name"] == "frames"))
        .unwrap_or_else(|| panic!("no frames: {json}"));
    assert_eq!(
        (&file["name"], &file["size"]),
        (&Value::from("frames"), &Value::from(8192))
    );
    assert_eq!(file["mapped"][0]["pid"], mapper.pid(), "{json}");

    // The segment whose creator still runs becomes an orphan once it dies.
    holder.signal(nix::sys::signal::Signal::SIGKILL);
    holder.exit();
    let now = poll_until(DEADLINE, || {
        remove_line(&under(&sandbox.list(&[]), SEGMENTS, held))
    });
    assert_eq!(now, Some(format!("ipcrm -m {held}")));

    // Each printed line, run in the namespace, removes its object only.
    for (_, _, _, command) in &lines {
        let out = sandbox.sh(command);
        assert!(out.status.success(), "{command}: {out:?}");
    }
    assert_eq!(ids(&sandbox, "shm"), {
        let mut left = vec![written, held];
        left.sort_unstable();
        left
    });
    assert_eq!(ids(&sandbox, "msg"), vec![used_queue, root_queue]);
    assert_eq!(ids(&sandbox, "sem"), Vec::<i32>::new());
    let text = sandbox.list(&[]);
    assert_eq!(text.matches("orphan: ").count(), 1, "{text}");
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// `2026-12-04T20:40:11+00:00` (`lsipc --time-format=iso` under `TZ=UTC`)
/// as Unix seconds.
fn iso_secs(iso: &str) -> i64 {
    let n = |r: std::ops::Range<usize>| iso[r].parse::<i64>().unwrap();
    assert!(iso.ends_with("+00:00"), "{iso}");
    days_from_civil(n(0..4), n(5..7), n(8..10)) * 86400
        + n(11..13) * 3600
        + n(14..16) * 60
        + n(17..19)
}

/// `0600` as `lsipc` prints permissions: `rw-------`.
fn symbolic(octal: &str) -> String {
    let mode = u32::from_str_radix(octal, 8).unwrap();
    (0..9)
        .map(|i| {
            let on = mode & (0o400 >> i) != 0;
            match (on, i % 3) {
                (false, _) => '-',
                (true, 0) => 'r',
                (true, 1) => 'w',
                (true, _) => 'x',
            }
        })
        .collect()
}

/// `lsipc --json`'s value of a column, and ours, made comparable.
fn same(column: &str, theirs: &Value, ours: &Value) -> bool {
    match (theirs, ours) {
        (Value::Null, Value::Null) => true,
        (Value::String(t), Value::String(o)) if column == "perms" => *t == symbolic(o),
        (Value::String(t), Value::Number(o))
            if column.ends_with("time")
                || ["attach", "detach", "send", "recv"].contains(&column) =>
        {
            iso_secs(t) == o.as_i64().unwrap()
        }
        (Value::String(t), Value::Number(o)) => *t == o.to_string(),
        (Value::String(t), Value::String(o)) => t == o,
        _ => false,
    }
}

/// For the same objects, our JSON has `lsipc --json`'s table names and,
/// for every column `lsipc` shows, the same name and the same value
/// (ours a number where it is one). `lsipc` runs first: our look attaches
/// each segment, which changes its last attach time and pid.
#[test]
fn json_has_lsipcs_tables_columns_and_values() {
    let sandbox = Sandbox::with_mqueue();
    let writer = sandbox.writer(&["--interval", "100ms"]);
    let written = shm_tests::startup_shmid(&writer.wait_stderr("segment created"));
    let reader = sandbox.reader(&["--interval", "100ms"]);
    reader.wait_lines(1);
    make(&sandbox, USER, &["shm", "12288"]);
    make(&sandbox, USER, &["msg-sent"]);
    make(&sandbox, 0, &["msg"]);
    make(&sandbox, USER, &["sem", "3"]);

    let tables = [
        ("-m", "sharedmemory", "KEY,ID,PERMS,OWNER,CUID,CGID,UID,GID,SIZE,NATTCH,STATUS,CTIME,ATTACH,DETACH,CPID,LPID,COMMAND"),
        ("-q", "messages", "KEY,ID,PERMS,OWNER,CUID,CGID,UID,GID,USEDBYTES,MSGS,SEND,RECV,LSPID,LRPID,CTIME"),
        ("-s", "semaphores", "KEY,ID,PERMS,OWNER,CUID,CGID,UID,GID,NSEMS,OTIME,CTIME"),
    ];
    let theirs: Vec<Value> = tables
        .iter()
        .map(|(kind, _, columns)| {
            let out = sandbox
                .command("lsipc")
                .args([
                    kind,
                    "--json",
                    "--bytes",
                    "--time-format=iso",
                    "-o",
                    columns,
                ])
                .env("TZ", "UTC")
                .output()
                .unwrap();
            assert!(out.status.success(), "lsipc {kind}: {out:?}");
            serde_json::from_slice(&out.stdout).unwrap()
        })
        .collect();
    let ours = list_json(&sandbox);
    for ((_, table, _), theirs) in tables.iter().zip(&theirs) {
        let rows = theirs[table]
            .as_array()
            .unwrap_or_else(|| panic!("{theirs}"));
        assert_eq!(
            rows.len(),
            ours[table].as_array().unwrap().len(),
            "{table}: {theirs} {ours}"
        );
        assert!(!rows.is_empty(), "{table}");
        for theirs in rows {
            let id: i32 = theirs["id"].as_str().unwrap().parse().unwrap();
            let ours = row(&ours, table, id);
            for (column, value) in theirs.as_object().unwrap() {
                assert!(
                    same(column, value, &ours[column]),
                    "{table} {id} {column}: lsipc {value}, ours {}",
                    ours[column]
                );
            }
        }
    }
    let shared = row(&ours, "sharedmemory", written);
    assert_eq!(shared["nattch"], 2, "{shared}");
    assert!(
        shared["size"].is_number() && shared["ctime"].is_number(),
        "{shared}"
    );
}

/// `--list` says how long a value is without copying it: a 128 MiB value
/// is listed by a reader whose address space has room for the segment and
/// 64 MiB more, not for a copy of the value. (Before: `--list` copied the
/// whole payload to count its bytes.)
#[test]
fn list_counts_a_large_value_without_copying_it() {
    const MIB: usize = 1 << 20;
    let (size, len) = (130 * MIB, 128 * MIB);
    let sandbox = Sandbox::new();
    let (writer, mut stdin) = Proc::spawn_piped(sandbox.command(bin("shm_write")).args([
        "--stdin",
        "--binary",
        "--size",
        &size.to_string(),
    ]));
    let chunk = vec![b'v'; MIB];
    for _ in 0..len / MIB {
        std::io::Write::write_all(&mut stdin, &chunk).unwrap();
    }
    drop(stdin);
    writer.wait_stderr("segment created");
    let listed = format!("value: {len} bytes");
    poll_until(DEADLINE, || {
        sandbox.list(&[]).contains(&listed).then_some(())
    })
    .unwrap_or_else(|| panic!("no {listed}: {}", sandbox.list(&[])));
    let out = sandbox
        .command("prlimit")
        .arg(format!("--as={}", size + 64 * MIB))
        .arg("--")
        .arg(bin("shm_read"))
        .arg("--list")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(text.contains(&listed), "{text}");
}

/// A lister that may not look at every process (here one that is not
/// root, which may not read other users' `/proc/<pid>/maps` or namespace)
/// flags nothing it cannot prove: root's live creator is out of its sight,
/// and so are root's processes, one of which might have made root's queue.
/// (Whether it may judge its own uid's queue depends on the machine: a
/// process that switched to that uid, as `nsenter --setuid` makes them, is
/// hidden from it too.) Root flags that queue.
#[test]
fn a_lister_that_cannot_see_every_process_flags_nothing_it_cannot_prove() {
    let sandbox = Sandbox::new();
    let (_creator, held) = make_held(&sandbox, &["shm", "4096", "hold"]);
    let own_queue = make(&sandbox, USER, &["msg"]);
    let root_queue = make(&sandbox, 0, &["msg"]);
    let out = sandbox
        .command_as(USER, USER, bin("shm_read"))
        .args(["--list", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let theirs: Value = serde_json::from_slice(&out.stdout).unwrap();
    for (table, id) in [("sharedmemory", held), ("messages", root_queue)] {
        let r = row(&theirs, table, id);
        let verdict = (&r["creator"], &r["orphan"]);
        assert_eq!(
            verdict,
            (&Value::from("unknown"), &Value::from(false)),
            "{r}"
        );
    }
    let ours = list_json(&sandbox);
    assert_eq!(row(&ours, "sharedmemory", held)["creator"], "running");
    assert_eq!(row(&ours, "messages", own_queue)["orphan"], true);
}
