//! The `shmtools` Python package against the real binaries, in private IPC
//! namespaces: values and streams in every direction between Python and
//! `shm_write`/`shm_read` (binary bytes, NULs and invalid UTF-8 included),
//! the exceptions, Ctrl-C in every wait, `readinto` into each kind of
//! buffer, and the type stubs against the module; and docs/python.md's
//! walkthrough, a Python producer in one container and `shm_read` in a
//! joined one (Docker: run it under `flock /tmp/engine.lock` beside other
//! container tests). The package is installed with pip from `shm-py/` into
//! a virtual environment (`shm_tests::python`).

use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::sys::signal::Signal;
use shm_tests::doc_examples::{compare, shown};
use shm_tests::docker::Docker;
use shm_tests::engine::{output_lines, stderr_of, Engine};
use shm_tests::python::doc_program;
use shm_tests::{bin, noise, poll_until, Proc, Sandbox, TempDir, DEADLINE};

/// A value of every awkward kind: NULs, invalid UTF-8, a newline.
const BLOB: &[u8] = &[0xff, 0xfe, 0, b'a', 0xc3, 0x28, b'\n', 0x80, 0];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A file named `what` holding `contents`, in a directory of its own
/// under the system's temporary directory (shared with the sandbox, which
/// has only its own `/dev/shm`), removed with the directory.
fn temp_file(what: &str, contents: &[u8]) -> (TempDir, String) {
    let dir = TempDir::new(&format!("shm-python-{what}"));
    let path = dir.0.join(what);
    std::fs::write(&path, contents).unwrap();
    (dir, path.to_str().unwrap().to_owned())
}

/// `shm_read --once --format FORMAT` in `sandbox`, bounded.
fn shm_read_once(sandbox: &Sandbox, format: &str) -> Output {
    sandbox
        .command("timeout")
        .args([
            "20",
            bin("shm_read").to_str().unwrap(),
            "--once",
            "--format",
            format,
        ])
        .output()
        .unwrap()
}

/// Wait until `proc` sleeps (state `S`): blocked in the wait under test,
/// once it has announced it is about to enter it.
fn wait_asleep(proc: &Proc) {
    let stat = format!("/proc/{}/stat", proc.pid());
    poll_until(DEADLINE, || {
        let text = std::fs::read_to_string(&stat).ok()?;
        let state = text.rsplit(") ").next()?.chars().next()?;
        (state == 'S').then_some(())
    })
    .unwrap_or_else(|| panic!("process {} never blocked", proc.pid()));
}

/// The exit status, checked to be success, and the process's stdout.
fn succeeded(proc: &mut Proc) -> Vec<String> {
    let status = proc.exit();
    assert!(
        status.success(),
        "{status}: stdout {:?}, stderr {:?}",
        proc.stdout(),
        proc.stderr()
    );
    proc.stdout()
}

#[test]
fn a_python_value_writer_is_read_by_shm_read() {
    let sandbox = Sandbox::new();
    let code = r#"
import sys, shmtools
with shmtools.ValueWriter(size=4096, mode=0o644) as writer:
    writer.publish(bytes.fromhex(sys.argv[1]))
    print("published", flush=True)
    sys.stdin.readline()
    writer.publish("grüße, a str")
    print("published", flush=True)
    sys.stdin.readline()
print("closed")
"#;
    let (mut writer, mut input) = Proc::spawn_piped(&mut sandbox.python(code, &[&hex(BLOB)]));
    writer.wait_lines(1);

    let out = shm_read_once(&sandbox, "raw");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, [BLOB, b"\n"].concat());
    let segments = sandbox.segments();
    assert_eq!(segments.len(), 1, "{segments:?}");
    assert_eq!(segments[0].mode & 0o777, 0o644);

    input.write_all(b"\n").unwrap();
    writer.wait_lines(2);
    let out = shm_read_once(&sandbox, "c");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "now time: grüße, a str\n"
    );

    input.write_all(b"\n").unwrap();
    assert_eq!(succeeded(&mut writer), ["published", "published", "closed"]);
    assert!(sandbox.segments().is_empty(), "close removes the segment");
}

#[test]
fn a_python_value_reader_reads_and_follows_shm_write() {
    let sandbox = Sandbox::new();
    let (binary, mut input) = Proc::spawn_piped(
        sandbox
            .command(bin("shm_write"))
            .args(["--stdin", "--binary"]),
    );
    input.write_all(BLOB).unwrap();
    drop(input);
    binary.wait_stderr("segment created");
    let mut reader = sandbox.python_proc(
        "import shmtools; print(shmtools.ValueReader().read().hex())",
        &[],
    );
    assert_eq!(succeeded(&mut reader), [hex(BLOB)]);
    drop(binary);

    let sandbox = Sandbox::new();
    let (lines, mut input) = Proc::spawn_piped(sandbox.command(bin("shm_write")).arg("--stdin"));
    input.write_all(b"one\n").unwrap();
    lines.wait_stderr("segment created");
    let code = r#"
import shmtools
with shmtools.ValueReader() as reader:
    print(reader.read().decode(), flush=True)
    for _ in range(2):
        print(reader.wait_change(timeout=60).decode(), flush=True)
"#;
    let mut follower = sandbox.python_proc(code, &[]);
    follower.wait_lines(1);
    for (i, value) in ["two", "three"].iter().enumerate() {
        input.write_all(format!("{value}\n").as_bytes()).unwrap();
        follower.wait_lines(i + 2);
    }
    assert_eq!(succeeded(&mut follower), ["one", "two", "three"]);
}

/// A reader that serves commands from stdin, one line printed for each:
/// `until HEX` reads until the value is HEX (NoWriter meanwhile is
/// retried, 20 s at most), `read` reads once, `wait` takes wait_change,
/// `gone` reads until NoWriter. A value is printed with whether it is a
/// new object (not the last one returned) and whether a read right after
/// returns that same object (the cached one).
const CACHE_PROBE: &str = r#"
import sys, time, shmtools
reader, last = shmtools.ValueReader(), None
def show(v):
    global last
    print(v.hex(), "new" if v is not last else "same", "cached" if reader.read() is v else "copied", flush=True)
    last = v
for line in sys.stdin:
    cmd, *arg = line.split()
    start = time.monotonic()
    if cmd == "until":
        v = None
        while v is None or v.hex() != arg[0]:
            if time.monotonic() - start > 20:
                sys.exit(f"still {v!r} after 20 s")
            try:
                v = reader.read()
            except shmtools.NoWriter:
                v = None
        show(v)
    elif cmd == "read":
        show(reader.read())
    elif cmd == "wait":
        show(reader.wait_change(timeout=20))
    elif cmd == "gone":
        try:
            while time.monotonic() - start < 20:
                reader.read()
            print("still live after 20 s", flush=True)
        except shmtools.NoWriter as e:
            print("NoWriter", round(time.monotonic() - start, 1), "stopped" in str(e) or "stood still" in str(e), flush=True)
"#;

/// [`CACHE_PROBE`] running, asked one command at a time.
struct Probe {
    proc: Proc,
    input: std::process::ChildStdin,
    answers: usize,
}

impl Probe {
    fn start(sandbox: &Sandbox) -> Self {
        let (proc, input) = Proc::spawn_piped(&mut sandbox.python(CACHE_PROBE, &[]));
        Self {
            proc,
            input,
            answers: 0,
        }
    }

    /// The line the probe prints for `command`.
    fn ask(&mut self, command: &str) -> String {
        self.input
            .write_all(format!("{command}\n").as_bytes())
            .unwrap();
        self.answers += 1;
        self.proc.wait_lines(self.answers)[self.answers - 1].clone()
    }

    /// Read until the value is `value`: check it comes as a new object,
    /// returned again by the next read.
    fn until(&mut self, value: &str) {
        let hex = hex(value.as_bytes());
        assert_eq!(
            self.ask(&format!("until {hex}")),
            format!("{hex} new cached")
        );
    }
}

/// The value's sequence, as `shm_read --once --format json` reports it.
fn seq(sandbox: &Sandbox) -> u64 {
    let out = shm_read_once(sandbox, "json");
    assert!(out.status.success(), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON line");
    json["seq"]
        .as_u64()
        .unwrap_or_else(|| panic!("no seq in {json}"))
}

#[test]
fn read_returns_the_cached_value_only_while_it_is_the_latest() {
    let sandbox = Sandbox::new();
    let (first, mut input) = Proc::spawn_piped(sandbox.command(bin("shm_write")).arg("--stdin"));
    input.write_all(b"aaaa\n").unwrap();
    first.wait_stderr("segment created");
    let mut probe = Probe::start(&sandbox);
    // Unchanged: the same object again, copied once.
    probe.until("aaaa");
    assert_eq!(probe.ask("read"), "61616161 same cached");
    // Same length, other bytes: the new value, each time.
    for value in ["bbbb", "abab", "bbbb"] {
        input.write_all(format!("{value}\n").as_bytes()).unwrap();
        probe.until(value);
    }
    // The same bytes published again are a new value: a new object.
    let before = seq(&sandbox);
    input.write_all(b"bbbb\n").unwrap();
    poll_until(DEADLINE, || (seq(&sandbox) > before).then_some(()))
        .expect("shm_write published the line");
    assert_eq!(probe.ask("read"), "62626262 new cached");
    // wait_change's value is the one the next read returns.
    input.write_all(b"cccc\n").unwrap();
    assert_eq!(probe.ask("wait"), "63636363 new cached");

    // A killed writer is NoWriter within the liveness bound, although its
    // value stays unchanged.
    first.signal(Signal::SIGKILL);
    let gone = probe.ask("gone");
    let words: Vec<&str> = gone.split(' ').collect();
    assert_eq!(
        (words[0], words.get(2)),
        ("NoWriter", Some(&"True")),
        "{gone}"
    );
    let secs: f64 = words[1].parse().unwrap();
    assert!(secs < 6.0, "{gone}");

    // A new writer takes the segment over: its value, of the same length.
    let second = sandbox.writer(&["--value", "dddd"]);
    second.wait_stderr("segment reused");
    probe.until("dddd");
    // Its segment removed (ipcrm) and a third writer: a new segment.
    second.signal(Signal::SIGKILL);
    let old = sandbox.segments();
    assert_eq!(old.len(), 1, "{old:?}");
    let removed = sandbox.sh(&format!("ipcrm -m {}", old[0].shmid));
    assert!(removed.status.success(), "{removed:?}");
    let third = sandbox.writer(&["--value", "eeee"]);
    third.wait_stderr("segment created");
    probe.until("eeee");
    drop(probe.input);
    assert!(probe.proc.exit().success(), "{:?}", probe.proc.stderr());
}

#[test]
fn wait_change_times_out_with_the_gil_released() {
    let sandbox = Sandbox::new();
    let _writer = sandbox.writer(&["--value", "steady"]);
    let code = r#"
import threading, time, shmtools
ticks = 0
def tick():
    global ticks
    while True:
        ticks += 1
        time.sleep(0.001)
threading.Thread(target=tick, daemon=True).start()
reader = shmtools.ValueReader()
assert reader.read() == b"steady"
start = time.monotonic()
try:
    reader.wait_change(timeout=0.5)
except TimeoutError as e:
    print(type(e).__name__, round(time.monotonic() - start, 1) >= 0.5, ticks > 50)
"#;
    let mut reader = Proc::spawn(&mut sandbox.python(code, &[]));
    poll_until(DEADLINE, || sandbox.segments().first().map(|_| ())).unwrap();
    assert_eq!(succeeded(&mut reader), ["TimeoutError True True"]);
}

#[test]
fn a_python_stream_reaches_shm_read_exactly() {
    let sandbox = Sandbox::new();
    let data = noise(4 * 1024 * 1024 + 17, 7);
    let (_dir, file) = temp_file("python-stream-in", &data);
    let code = r#"
import sys, shmtools
data = memoryview(open(sys.argv[1], "rb").read())
with shmtools.StreamWriter(size=65536) as stream:
    i, n = 0, 1
    while i < len(data):
        assert stream.write(data[i:i + n]) == len(data[i:i + n])
        i, n = i + n, n * 7 % 100003 + 1
    assert stream.write(bytearray(0)) == 0
print("sent", len(data))
"#;
    let mut producer = sandbox.python_proc(code, &[&file]);
    let out = sandbox
        .command("timeout")
        .args(["120", bin("shm_read").to_str().unwrap(), "--stream"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{:?}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout == data, "shm_read --stream printed other bytes");
    assert_eq!(succeeded(&mut producer), [format!("sent {}", data.len())]);
}

#[test]
fn readinto_fills_every_kind_of_buffer_from_shm_write_stream() {
    let sandbox = Sandbox::new();
    let data = noise(3 * 1024 * 1024 + 5, 11);
    let (_input_dir, input) = temp_file("readinto-in", &data);
    let (_output_dir, output) = temp_file("readinto-out", b"");
    let mut producer = Proc::spawn_with(
        sandbox
            .command(bin("shm_write"))
            .args(["--stream", "--size", "65536"]),
        Stdio::from(std::fs::File::open(&input).unwrap()),
        None,
        None,
    );
    let code = r#"
import sys, numpy as np, shmtools
out = open(sys.argv[1], "wb")
reader = shmtools.StreamReader()
for bad in (b"read-only", np.zeros((8, 8), dtype=np.uint8)[:, 1]):
    try:
        reader.readinto(bad)
    except BufferError as e:
        print("BufferError")
out.write(reader.read(10))
buffer = bytearray(1000)
n = reader.readinto(buffer)
out.write(buffer[:n])
view = memoryview(bytearray(5000))[100:4100]
n = reader.readinto(view)
out.write(view[:n])
array = np.zeros(3000, dtype=np.uint8)
n = reader.readinto(array)
out.write(array[:n].tobytes())
floats = np.zeros(512, dtype=np.float64)
n = reader.readinto(floats)
out.write(floats.view(np.uint8)[:n].tobytes())
assert reader.readinto(bytearray(0)) == 0
for _ in range(100):
    n = reader.readinto(array)
    assert n > 0
    out.write(array[:n].tobytes())
out.write(reader.read())
out.close()
print(reader.read(), reader.read(5), reader.readinto(array))
"#;
    let mut consumer = sandbox.python_proc(code, &[&output]);
    assert_eq!(
        succeeded(&mut consumer),
        ["BufferError", "BufferError", "b'' b'' 0"]
    );
    assert!(producer.exit().success(), "{:?}", producer.stderr());
    assert!(
        std::fs::read(&output).unwrap() == data,
        "readinto lost or changed bytes"
    );
}

#[test]
fn a_killed_shm_write_stream_raises_broken_stream() {
    let sandbox = Sandbox::new();
    let (producer, mut input) =
        Proc::spawn_piped(sandbox.command(bin("shm_write")).arg("--stream"));
    input.write_all(b"partial").unwrap();
    producer.wait_stderr("segment created");
    let code = r#"
import shmtools
reader = shmtools.StreamReader()
got = b""
try:
    while chunk := reader.read(100):
        got += chunk
        print("got", got.decode(), flush=True)
    print("clean end")
except shmtools.BrokenStream as e:
    print("BrokenStream", isinstance(e, shmtools.Error), got.decode(), "|", e)
"#;
    let mut consumer = sandbox.python_proc(code, &[]);
    consumer.wait_stdout(|l| l == "got partial");
    producer.signal(Signal::SIGKILL);
    let lines = succeeded(&mut consumer);
    let last = lines.last().unwrap();
    assert!(
        last.starts_with("BrokenStream True partial | "),
        "{lines:?}"
    );
}

#[test]
fn a_python_stream_cut_short_by_an_exception_is_interrupted_for_shm_read() {
    let sandbox = Sandbox::new();
    let code = r#"
import sys, shmtools
try:
    with shmtools.StreamWriter() as stream:
        stream.write(b"0123456789a")
        print("written", flush=True)
        sys.stdin.readline()
        raise RuntimeError("the producer failed")
except RuntimeError:
    print("raised")
"#;
    let (mut producer, mut input) = Proc::spawn_piped(&mut sandbox.python(code, &[]));
    producer.wait_lines(1);
    let mut consumer = sandbox.reader(&["--stream"]);
    poll_until(DEADLINE, || {
        sandbox
            .segments()
            .iter()
            .find(|s| s.nattch >= 2)
            .map(|_| ())
    })
    .expect("shm_read --stream attaches");
    input.write_all(b"\n").unwrap();
    assert_eq!(succeeded(&mut producer), ["written", "raised"]);
    assert_eq!(consumer.exit().code(), Some(7), "{:?}", consumer.stderr());
    assert_eq!(consumer.stdout(), ["0123456789a"]);
    consumer.wait_stderr("stream interrupted after 11 bytes");
}

#[test]
fn without_a_writer_each_reader_raises_no_writer_naming_the_key_file() {
    let sandbox = Sandbox::new();
    let code = r#"
import shmtools
for name in ("ValueReader", "StreamReader", "read_time"):
    try:
        getattr(shmtools, name)(key_file="/dev/shm/missing", proj_id=3)
        print(name, "no error")
    except shmtools.NoWriter as e:
        print(name, "NoWriter", "/dev/shm/missing" in str(e))
"#;
    let mut reader = sandbox.python_proc(code, &[]);
    assert_eq!(
        succeeded(&mut reader),
        [
            "ValueReader NoWriter True",
            "StreamReader NoWriter True",
            "read_time NoWriter True"
        ]
    );
    assert!(sandbox.segments().is_empty());
}

#[test]
fn read_time_reads_shm_writes_time_record() {
    let sandbox = Sandbox::new();
    let writer = sandbox.writer(&[]);
    writer.wait_stderr("segment created");
    let mut reader = sandbox.python_proc("import shmtools; print(shmtools.read_time())", &[]);
    let seconds: u64 = succeeded(&mut reader)[0].parse().unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(seconds.abs_diff(now) <= 5, "read_time {seconds}, now {now}");
}

/// Start `code` (which prints `waiting` right before a wait that never
/// ends by itself), Ctrl-C it there, and check that the wait raised
/// `KeyboardInterrupt` promptly.
fn ctrl_c_ends(sandbox: &Sandbox, code: &str) {
    let program = format!(
        "import shmtools\ntry:\n{}\nexcept KeyboardInterrupt:\n    print('KeyboardInterrupt', flush=True)\n",
        code.lines().map(|l| format!("    {l}\n")).collect::<String>()
    );
    let mut waiter = sandbox.python_proc(&program, &[]);
    waiter.wait_stdout(|l| l == "waiting");
    wait_asleep(&waiter);
    let sent = Instant::now();
    waiter.signal(Signal::SIGINT);
    let status = waiter.wait_exit(DEADLINE).expect("Ctrl-C ends the wait");
    let took = sent.elapsed();
    assert!(status.success(), "{status:?} {:?}", waiter.stderr());
    assert_eq!(waiter.stdout(), ["waiting", "KeyboardInterrupt"]);
    assert_eq!(status.signal(), None);
    assert!(
        took < Duration::from_secs(2),
        "{code}: Ctrl-C took {took:?}"
    );
}

#[test]
fn ctrl_c_interrupts_every_wait() {
    let sandbox = Sandbox::new();
    let value = sandbox.writer(&["--value", "steady"]);
    value.wait_stderr("segment created");
    ctrl_c_ends(
        &sandbox,
        "reader = shmtools.ValueReader()\nreader.read()\nprint('waiting', flush=True)\nreader.wait_change()",
    );

    let sandbox = Sandbox::new();
    let (stream, _input) = Proc::spawn_piped(sandbox.command(bin("shm_write")).arg("--stream"));
    stream.wait_stderr("segment created");
    ctrl_c_ends(
        &sandbox,
        "reader = shmtools.StreamReader()\nprint('waiting', flush=True)\nreader.read()",
    );

    // No consumer: the ring fills and the write waits for room.
    let sandbox = Sandbox::new();
    ctrl_c_ends(
        &sandbox,
        "stream = shmtools.StreamWriter(size=65536)\nprint('waiting', flush=True)\nstream.write(bytes(1 << 20))",
    );
}

#[test]
fn the_type_stubs_describe_the_module() {
    let code = r#"
import ast, inspect, pathlib, shmtools
here = pathlib.Path(shmtools.__file__).parent
assert (here / "py.typed").exists()
stubs = ast.parse((here / "__init__.pyi").read_text())
def params(node):
    return [a.arg for a in node.args.args + node.args.kwonlyargs if a.arg != "self"]
def runtime(obj):
    return [p for p in inspect.signature(obj).parameters if p != "self"]
names, shared = [], {}
for node in stubs.body:
    if isinstance(node, ast.ClassDef) and node.name.startswith("_"):
        shared[node.name] = [i.name for i in node.body if isinstance(i, ast.FunctionDef)]
    elif isinstance(node, ast.ClassDef):
        names.append(node.name)
        cls = getattr(shmtools, node.name)
        for base in node.bases:
            for method in shared.get(base.id, []):
                assert hasattr(cls, method), (node.name, method)
                print(node.name + "." + method)
        for item in node.body:
            if isinstance(item, ast.FunctionDef):
                target = cls if item.name == "__init__" else getattr(cls, item.name)
                if not item.name.startswith("__") or item.name == "__init__":
                    assert params(item) == runtime(target), (node.name, item.name, params(item), runtime(target))
                print(node.name + "." + item.name)
    elif isinstance(node, ast.FunctionDef):
        names.append(node.name)
        assert params(node) == runtime(getattr(shmtools, node.name)), node.name
assert sorted(names) == sorted(shmtools.__all__), (names, shmtools.__all__)
print(len(names), "names")
"#;
    let sandbox = Sandbox::new();
    let mut check = sandbox.python_proc(code, &[]);
    let lines = succeeded(&mut check);
    assert!(
        lines.contains(&"StreamReader.readinto".to_owned()),
        "{lines:?}"
    );
    assert_eq!(lines.last().unwrap(), "8 names");
}

#[test]
fn the_python_walkthrough_between_containers() {
    const TEST: &str = "the_python_walkthrough_between_containers";
    let docker = Docker::new();
    let image = shm_tests::python::python_image();
    let (_dir, program) = temp_file(
        "producer.py",
        doc_program("docs/python.md", "producer.py").as_bytes(),
    );
    let mount = format!("{program}:/producer.py:ro");
    let producer = docker.run_container(
        "py-producer",
        &["--ipc", "shareable", "-v", &mount],
        image,
        &["python3", "/producer.py"],
    );
    producer.wait_lines(1, DEADLINE);
    let join = format!("container:{}", producer.name);
    let out = docker.run_foreground(
        &["--rm", "--ipc", &join],
        &docker.image(shm_tests::docker::IMAGE),
        &["shm_read", "--on-change", "--count", "3"],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let lines = output_lines(&out.stdout);
    compare(
        &shown(
            TEST,
            "docker run --rm --ipc container:py-producer shm-time shm_read --on-change --count 3",
        ),
        &lines,
    )
    .unwrap_or_else(|e| panic!("docs/python.md: {e}"));
    // Three successive seconds, each published once.
    let seconds: Vec<u64> = lines
        .iter()
        .map(|l| l.strip_prefix("now time: ").unwrap().parse().unwrap())
        .collect();
    assert!(seconds.windows(2).all(|w| w[1] == w[0] + 1), "{seconds:?}");

    let started = Instant::now();
    producer.stop();
    assert_eq!(producer.wait_exit(), 0, "{:?}", producer.logs());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "SIGTERM ends it at once"
    );
    let (stdout, stderr) = producer.logs();
    compare(&shown(TEST, "docker logs py-producer"), &stdout).unwrap();
    assert!(stderr.is_empty(), "{stderr:?}");
}

#[test]
fn bad_arguments_are_refused_with_the_fix() {
    let sandbox = Sandbox::new();
    let code = r#"
import shmtools
cases = [
    lambda: shmtools.ValueWriter(proj_id=0),
    lambda: shmtools.ValueReader(proj_id=256),
    lambda: shmtools.ValueWriter(size=100),
    lambda: shmtools.ValueWriter(mode=0o7777),
    lambda: shmtools.StreamWriter(size=10),
    lambda: shmtools.ValueWriter(key_file="/dev/shm"),
]
for make in cases:
    try:
        make()
        print("no error")
    except (ValueError, shmtools.Error) as e:
        print(type(e).__name__ + ":", e)
with shmtools.ValueWriter() as writer:
    try:
        writer.publish(b"x" * 5000)
    except shmtools.Error as e:
        print("Error:", e)
    try:
        shmtools.ValueReader().wait_change(timeout=-1)
    except ValueError as e:
        print("ValueError:", e)
try:
    writer.publish(b"after close")
except shmtools.Error as e:
    print("Error:", e)
"#;
    let mut program = sandbox.python_proc(code, &[]);
    let lines = succeeded(&mut program);
    let expected = [
        "ValueError: proj_id must be 1 to 255, as the tools' --proj-id; got 0",
        "ValueError: proj_id must be 1 to 255, as the tools' --proj-id; got 256",
        "ValueError: a size of 100 bytes is too small for a value: give at least",
        "ValueError: mode 0o7777 is not a set of permission bits",
        "ValueError: a size of 10 bytes is too small for a stream",
        "Error: cannot claim /dev/shm: key file /dev/shm is a directory",
        "Error: a value of 5000 bytes does not fit",
        "ValueError: timeout must be a number of seconds, 0 or more, or None; got -1",
        "Error: the channel is closed: open a new one",
    ];
    assert_eq!(lines.len(), expected.len(), "{lines:?}");
    for (line, start) in lines.iter().zip(expected) {
        assert!(
            line.starts_with(start),
            "{line:?} should start with {start:?}"
        );
    }
    // A refused writer created nothing; the one that ran removed its segment.
    assert!(sandbox.segments().is_empty(), "{:?}", sandbox.segments());
}
