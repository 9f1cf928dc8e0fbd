//! Harness for the integration tests: the real static binaries, private IPC
//! namespaces with their own `/dev/shm`, and child processes whose output is
//! collected while they run.
//!
//! Every test runs its processes inside a [`Sandbox`]: a fresh IPC namespace
//! plus a private tmpfs on `/dev/shm`, so tests run in parallel, never touch
//! the machine's own `/dev/shm/shm_file`, and leave no segment behind (the
//! kernel frees a namespace's segments when its last process exits).

pub mod doc_examples;
pub mod docker;
pub mod engine;
pub mod namespaces;
pub mod plant;
pub mod podman;
pub mod python;
pub mod shmtools;

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// A generous deadline for conditions that take milliseconds on a quiet
/// machine: the CI machines are small and busy.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Deterministic pseudo-random bytes (NULs and all), for data that must
/// arrive exactly.
pub fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect()
}

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Path of a statically linked release binary (`shm_write`, `shm_read`),
/// built once per test process with `scripts/build-static`, the same build
/// the container image uses.
pub fn bin(name: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let out = Command::new(workspace().join("scripts/build-static"))
            .env("CARGO", env!("CARGO"))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .output()
            .expect("run scripts/build-static");
        assert!(out.status.success(), "scripts/build-static failed");
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    })
    .join(name)
}

/// Run `cmd`, fail the test unless it succeeds (showing all it printed),
/// and return its stdout.
pub fn run_ok(mut cmd: impl std::borrow::BorrowMut<Command>) -> String {
    let cmd = cmd.borrow_mut();
    let out = cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        show_output(&out)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A command's exit status, stdout and stderr, for a failure message.
pub fn show_output(out: &Output) -> String {
    format!(
        "{}\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A directory of the test's own under the system's temporary directory,
/// removed with everything in it however the test ends.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A new, empty directory whose name says `what` it is for.
    pub fn new(what: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "shm-{what}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Set the permission bits of `path` to `mode`.
pub(crate) fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Fail loudly when the namespaces the tests need cannot be had.
pub fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "these tests create IPC and mount namespaces and switch users: run them as root (CI does)"
    );
}

/// Poll `check` every 10 ms until it returns `Some` or `deadline` passes.
pub fn poll_until<T>(deadline: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let end = Instant::now() + deadline;
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        if Instant::now() >= end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The pid a writer's start-up line names (`... pid N: segment ...`).
pub fn startup_pid(line: &str) -> u32 {
    let rest = &line[line.find(" pid ").expect("pid in start-up line") + 5..];
    rest[..rest.find(':').unwrap()].parse().unwrap()
}

/// The shmid a writer's start-up line names.
pub fn startup_shmid(line: &str) -> i32 {
    let rest = &line[line.find(" shmid ").expect("shmid in start-up line") + 7..];
    rest[..rest.find(' ').unwrap()].parse().unwrap()
}

/// The `key 0x...` a writer's start-up line names.
pub fn startup_key(line: &str) -> String {
    line.split_whitespace()
        .skip_while(|w| *w != "key")
        .nth(1)
        .unwrap_or_else(|| panic!("no key in {line:?}"))
        .to_owned()
}

/// A private IPC namespace and `/dev/shm`, held open by a sleeping process.
/// It is a host to the tools, even where the tests run in a container: the
/// marks a container engine leaves ([`ENGINE_MARKS`]) are masked in it, as
/// runtimes mask paths (`/dev/null` bound over them), and
/// `KUBERNETES_SERVICE_HOST` is not passed on.
pub struct Sandbox {
    holder: Child,
}

/// The files Docker and Podman put in every container, which tell the
/// tools they run in one.
pub const ENGINE_MARKS: [&str; 2] = ["/.dockerenv", "/run/.containerenv"];

/// The variable Kubernetes sets in every container of a pod.
const KUBERNETES_VAR: &str = "KUBERNETES_SERVICE_HOST";

impl Sandbox {
    pub fn new() -> Self {
        Self::start("")
    }

    /// A sandbox with its own mqueue filesystem mounted on `/dev/mqueue`,
    /// as in a container: listing and inspecting its POSIX message queues
    /// needs the mount (opening them does not).
    pub fn with_mqueue() -> Self {
        Self::start(" && mkdir -p /dev/mqueue && mount -t mqueue mqueue /dev/mqueue")
    }

    fn start(more: &str) -> Self {
        require_root();
        let mut holder = Command::new("unshare")
            .args(["--ipc", "--mount", "--propagation", "private", "--"])
            .args([
                "sh",
                "-c",
                &format!(
                    "mount -t tmpfs -o size=64m,mode=1777 tmpfs /dev/shm{} && for f in {}; do if [ -f \"$f\" ]; then mount --bind /dev/null \"$f\" || exit 1; fi; done && echo ready && exec sleep 100000",
                    more,
                    ENGINE_MARKS.join(" ")
                ),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run unshare (util-linux)");
        let mut line = String::new();
        BufReader::new(holder.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(
            line.trim(),
            "ready",
            "could not create an IPC namespace with a private /dev/shm (unshare --ipc --mount as root)"
        );
        Self { holder }
    }

    /// The holder's pid: `/proc/<pid>/ns/{ipc,mnt}` name the sandbox.
    pub fn pid(&self) -> u32 {
        self.holder.id()
    }

    /// Inode of the sandbox's IPC namespace.
    pub fn ipc_ns(&self) -> u64 {
        namespaces::ipc_inode(self.pid())
    }

    /// `program` run inside the sandbox as root.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg("-t")
            .arg(self.pid().to_string())
            .args(["--ipc", "--mount", "--"])
            .arg(program)
            .env_remove(KUBERNETES_VAR);
        cmd
    }

    /// `program` run inside the sandbox as `uid`/`gid`.
    pub fn command_as(&self, uid: u32, gid: u32, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg("-t")
            .arg(self.pid().to_string())
            .args(["--ipc", "--mount"])
            .arg(format!("--setuid={uid}"))
            .arg(format!("--setgid={gid}"))
            .arg("--")
            .arg(program)
            .env_remove(KUBERNETES_VAR);
        cmd
    }

    /// Run a shell snippet inside the sandbox and return its output.
    pub fn sh(&self, script: &str) -> Output {
        self.command("sh")
            .args(["-c", script])
            .output()
            .expect("run sh in sandbox")
    }

    /// `shm_read --list ARGS` in the sandbox, which must succeed: its stdout.
    pub fn list(&self, args: &[&str]) -> String {
        let out = self
            .command(bin("shm_read"))
            .arg("--list")
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    }

    /// The sandbox's segments, as `/proc/sysvipc/shm` lists them.
    pub fn segments(&self) -> Vec<ShmRow> {
        let out = self.sh("cat /proc/sysvipc/shm");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .skip(1)
            .filter_map(ShmRow::parse)
            .collect()
    }

    /// Whether `path` exists inside the sandbox (without following symlinks).
    pub fn exists(&self, path: &str) -> bool {
        self.sh(&format!("test -e '{path}' || test -L '{path}'"))
            .status
            .success()
    }

    /// Start `shm_write` with `args` in the sandbox.
    pub fn writer(&self, args: &[&str]) -> Proc {
        Proc::spawn(self.command(bin("shm_write")).args(args))
    }

    /// Start `shm_read` with `args` in the sandbox.
    pub fn reader(&self, args: &[&str]) -> Proc {
        Proc::spawn(self.command(bin("shm_read")).args(args))
    }
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

/// One row of `/proc/sysvipc/shm`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShmRow {
    pub key: u32,
    pub shmid: i32,
    pub mode: u32,
    pub size: u64,
    pub nattch: u64,
    pub uid: u32,
    /// Bytes of the segment resident in memory, and swapped out.
    pub rss: u64,
    /// See `rss`.
    pub swap: u64,
}

impl ShmRow {
    fn parse(line: &str) -> Option<Self> {
        let c: Vec<&str> = line.split_whitespace().collect();
        Some(Self {
            key: c.first()?.parse::<i32>().ok()? as u32,
            shmid: c.get(1)?.parse().ok()?,
            mode: u32::from_str_radix(c.get(2)?, 8).ok()?,
            size: c.get(3)?.parse().ok()?,
            nattch: c.get(6)?.parse().ok()?,
            uid: c.get(7)?.parse().ok()?,
            rss: c.get(14)?.parse().ok()?,
            swap: c.get(15)?.parse().ok()?,
        })
    }

    /// The key as `ipcs -m` shows it.
    pub fn key_hex(&self) -> String {
        format!("0x{:08x}", self.key)
    }
}

/// A running child whose stdout and stderr lines are collected as they come.
pub struct Proc {
    child: Child,
    stdout: Lines,
    stderr: Lines,
    /// The threads that collect the output; joined once the child exits so
    /// that its last lines are in.
    collectors: Vec<JoinHandle<()>>,
    status: Option<ExitStatus>,
}

impl Proc {
    /// Start `cmd` with stdin from /dev/null.
    pub fn spawn(cmd: &mut Command) -> Self {
        Self::start(cmd, Stdio::null())
    }

    fn start(cmd: &mut Command, stdin: Stdio) -> Self {
        Self::spawn_with(cmd, stdin, None, None)
    }

    /// Start `cmd` with stdout and stderr sent where given (`None`: piped
    /// and collected, as [`Proc::spawn`] does). `cmd` keeps its copies of
    /// the descriptors until it is dropped: pass a temporary, so that a
    /// pipe given here is held open only by the child.
    pub fn spawn_with(
        cmd: &mut Command,
        stdin: Stdio,
        stdout: Option<Stdio>,
        stderr: Option<Stdio>,
    ) -> Self {
        let mut child = cmd
            .stdin(stdin)
            .stdout(stdout.unwrap_or_else(Stdio::piped))
            .stderr(stderr.unwrap_or_else(Stdio::piped))
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
        let mut collectors = Vec::new();
        let mut lines = |pipe: Option<Box<dyn Read + Send>>| {
            pipe.map_or_else(Lines::default, |pipe| {
                let (lines, thread) = collect(pipe);
                collectors.push(thread);
                lines
            })
        };
        let stdout = lines(child.stdout.take().map(|p| Box::new(p) as _));
        let stderr = lines(child.stderr.take().map(|p| Box::new(p) as _));
        Self {
            child,
            stdout,
            stderr,
            collectors,
            status: None,
        }
    }

    /// Like [`Proc::spawn`], with a pipe to the child's stdin.
    pub fn spawn_piped(cmd: &mut Command) -> (Self, std::process::ChildStdin) {
        let mut proc = Self::start(cmd, Stdio::piped());
        let stdin = proc.child.stdin.take().expect("piped stdin");
        (proc, stdin)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stdout(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    pub fn stderr(&self) -> Vec<String> {
        self.stderr.lock().unwrap().clone()
    }

    /// Wait until some stdout line satisfies `pred`; that line.
    pub fn wait_stdout(&self, pred: impl Fn(&str) -> bool) -> String {
        poll_until(DEADLINE, || self.stdout().into_iter().find(|l| pred(l))).unwrap_or_else(|| {
            panic!(
                "no matching stdout line within {DEADLINE:?}; stdout {:?}, stderr {:?}",
                self.stdout(),
                self.stderr()
            )
        })
    }

    /// Wait until some stderr line contains `text`; that line.
    pub fn wait_stderr(&self, text: &str) -> String {
        poll_until(DEADLINE, || {
            self.stderr().into_iter().find(|l| l.contains(text))
        })
        .unwrap_or_else(|| {
            panic!(
                "no stderr line with {text:?} within {DEADLINE:?}; stderr {:?}",
                self.stderr()
            )
        })
    }

    /// Wait until at least `n` stdout lines were printed.
    pub fn wait_lines(&self, n: usize) -> Vec<String> {
        poll_until(DEADLINE, || {
            let lines = self.stdout();
            (lines.len() >= n).then_some(lines)
        })
        .unwrap_or_else(|| {
            panic!(
                "fewer than {n} stdout lines within {DEADLINE:?}; stdout {:?}, stderr {:?}",
                self.stdout(),
                self.stderr()
            )
        })
    }

    pub fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.pid() as i32), signal).expect("send signal");
    }

    /// The exit status, if the process ended within `deadline`.
    pub fn wait_exit(&mut self, deadline: Duration) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = poll_until(deadline, || self.child.try_wait().unwrap());
            if self.status.is_some() {
                self.collectors.drain(..).for_each(|t| t.join().unwrap());
            }
        }
        self.status
    }

    /// The exit status, failing the test if it does not come within [`DEADLINE`].
    pub fn exit(&mut self) -> ExitStatus {
        let status = self.wait_exit(DEADLINE);
        status.unwrap_or_else(|| panic!("process {} still runs after {DEADLINE:?}", self.pid()))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

type Lines = Arc<Mutex<Vec<String>>>;

fn collect(pipe: impl Read + Send + 'static) -> (Lines, JoinHandle<()>) {
    let lines = Lines::default();
    let sink = Arc::clone(&lines);
    let thread = std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            match line {
                Ok(line) => sink.lock().unwrap().push(line),
                Err(_) => break,
            }
        }
    });
    (lines, thread)
}

/// The text after `prefix` of each line, each line checked to carry it
/// (`Produced: <hex>`, `Consumed: <text>`).
pub fn texts_after(lines: &[String], prefix: &str) -> Vec<String> {
    lines
        .iter()
        .map(|l| {
            l.strip_prefix(prefix)
                .unwrap_or_else(|| panic!("{l:?} lacks {prefix:?}"))
                .to_owned()
        })
        .collect()
}

/// Compile one of the C originals in `tests/c/` with the system compiler
/// (`$CC`, else `cc`) into `c/` of the target directory these tests were
/// built in (`target/`, or `$CARGO_TARGET_DIR`), once per test process: one
/// file per program, replaced atomically, which `cargo clean` removes.
pub fn c_program(name: &str) -> PathBuf {
    static BUILT: Mutex<Vec<(String, PathBuf)>> = Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap();
    if let Some((_, path)) = built.iter().find(|(n, _)| n == name) {
        return path.clone();
    }
    let dir = target_dir().join("c");
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join(name);
    let fresh = dir.join(format!("{name}.{}", std::process::id()));
    let source = workspace().join(format!("tests/c/{name}.c"));
    let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .arg("-O2")
        .arg("-o")
        .arg(&fresh)
        .arg(&source)
        .status()
        .expect("run the C compiler (cc)");
    assert!(status.success(), "cc failed on {}", source.display());
    std::fs::rename(&fresh, &out).unwrap();
    built.push((name.to_owned(), out.clone()));
    out
}

/// The cargo target directory this test binary was built in.
pub fn target_dir() -> PathBuf {
    std::env::current_exe()
        .unwrap()
        .ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").exists())
        .expect("the test binary lives in cargo's target directory")
        .to_owned()
}
