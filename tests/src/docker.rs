//! Docker helpers for the container tests: the images (built once per test
//! process), containers and Compose projects that remove themselves on drop,
//! and `ipcs -m` parsing.
//!
//! The tests need a running Docker engine and fail loudly without one. No
//! registry is needed: the base image is assembled from local files by
//! `scripts/base-image`, the project image is built from the Dockerfile by
//! `scripts/image`, and its `minimal` stage holds nothing but the static binaries.
//! Images keep fixed tags so later runs reuse the build cache; containers,
//! networks and Compose projects get unique names and are always removed.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use crate::{poll_until, workspace, DEADLINE};

/// Local base image made by `scripts/base-image` (shell, ipcs, libc).
pub const BASE_IMAGE: &str = "shm-time-base:test";
/// The project image: the Dockerfile built on [`BASE_IMAGE`].
pub const IMAGE: &str = "shm-time:test";
/// The Dockerfile's `minimal` stage: the two static binaries and nothing
/// else (`FROM scratch`: no libc, no shell, no /etc/passwd).
pub const BARE_IMAGE: &str = "shm-time-bare:test";

/// Run `docker` with `args`; its output, whatever the exit status.
pub fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run the docker client: {e}"))
}

/// Run `docker` with `args` and fail the test unless it succeeds; its stdout.
pub fn docker_ok(args: &[&str]) -> String {
    let out = docker(args);
    assert!(
        out.status.success(),
        "docker {args:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The engine's version; fails the test loudly when no engine answers.
pub fn require_engine() -> String {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION
        .get_or_init(|| {
            let out = Command::new("docker")
                .args(["version", "--format", "{{.Server.Version}}"])
                .output();
            match out {
                Ok(out) if out.status.success() => {
                    String::from_utf8_lossy(&out.stdout).trim().to_owned()
                }
                Ok(out) => panic!(
                    "the container tests need a running Docker engine, and none answers: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
                Err(e) => panic!("the container tests need the docker client and engine: {e}"),
            }
        })
        .clone()
}

/// A name no other test (or test process) uses: `shm-test-<pid>-<n>-<what>`.
pub fn unique(what: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("shm-test-{}-{n}-{what}", std::process::id())
}

/// The images the tests use, built once per test process.
pub fn images() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        require_engine();
        // An existing base is reused, so the Dockerfile's build cache holds.
        if !docker(&["image", "inspect", BASE_IMAGE]).status.success() {
            script("scripts/base-image", &[BASE_IMAGE], &[]);
        }
        rebuild(IMAGE, || {
            script("scripts/image", &[IMAGE], &[("BASE_IMAGE", BASE_IMAGE)]);
        });
        rebuild(BARE_IMAGE, || {
            script("scripts/image", &[BARE_IMAGE], &[("TARGET", "minimal")]);
        });
    });
}

/// Build `tag` with `build`, then remove the image the tag named before if
/// it is left untagged, so repeated runs do not pile up dangling images.
pub fn rebuild(tag: &str, build: impl FnOnce()) {
    let id = |tag: &str| {
        let out = docker(&["image", "inspect", "--format", "{{.Id}}", tag]);
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let old = id(tag);
    build();
    if let Some(old) = old.filter(|old| id(tag).as_ref() != Some(old)) {
        let _ = docker(&["image", "rm", &old]);
    }
}

fn script(path: &str, args: &[&str], env: &[(&str, &str)]) {
    let mut cmd = Command::new(workspace().join(path));
    cmd.args(args).env("CARGO", env!("CARGO"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {path}: {e}"));
    assert!(
        out.status.success(),
        "{path} {args:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A named container, removed (`docker rm -f`) on drop: also one that
/// was created but never started, as when the engine refuses `--ipc`.
pub struct Container {
    pub name: String,
}

/// Lines of a command's output.
pub fn output_lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A container whose logs the tests read: Docker's or Podman's.
pub trait Logs {
    /// The container's name.
    fn name(&self) -> &str;

    /// Its (stdout, stderr) lines so far.
    fn logs(&self) -> (Vec<String>, Vec<String>);

    /// Wait until a stderr line of the container contains `text`; that line.
    fn wait_stderr(&self, text: &str) -> String {
        poll_until(DEADLINE, || {
            std::thread::sleep(Duration::from_millis(40));
            self.logs().1.into_iter().find(|l| l.contains(text))
        })
        .unwrap_or_else(|| {
            panic!(
                "{}: no stderr line with {text:?} within {DEADLINE:?}; logs {:?}",
                self.name(),
                self.logs()
            )
        })
    }
}

impl Logs for Container {
    fn name(&self) -> &str {
        &self.name
    }

    /// `docker logs`.
    fn logs(&self) -> (Vec<String>, Vec<String>) {
        let out = docker(&["logs", &self.name]);
        (output_lines(&out.stdout), output_lines(&out.stderr))
    }
}

impl Container {
    /// A name for a container that [`Container::run`] or a test's own
    /// `docker run --name` creates; removed on drop either way.
    pub fn named(what: &str) -> Self {
        Self { name: unique(what) }
    }

    /// `docker run -d --name <unique> <options...> <image> <command...>`.
    pub fn run(what: &str, options: &[&str], image: &str, command: &[&str]) -> Self {
        let container = Self::named(what);
        let mut args = vec!["run", "-d", "--name", &container.name];
        args.extend_from_slice(options);
        args.push(image);
        args.extend_from_slice(command);
        docker_ok(&args);
        container
    }

    /// Wait until the container printed at least `n` stdout lines.
    pub fn wait_lines(&self, n: usize, deadline: Duration) -> Vec<String> {
        poll_until(deadline, || {
            std::thread::sleep(Duration::from_millis(40));
            let lines = self.logs().0;
            (lines.len() >= n).then_some(lines)
        })
        .unwrap_or_else(|| {
            panic!(
                "{}: fewer than {n} stdout lines within {deadline:?}; logs {:?}",
                self.name,
                self.logs()
            )
        })
    }

    /// `docker exec <container> <command...>`.
    pub fn exec(&self, command: &[&str]) -> Output {
        let mut args = vec!["exec", &self.name];
        args.extend_from_slice(command);
        docker(&args)
    }

    /// `docker inspect --format <format>`, trimmed.
    pub fn inspect(&self, format: &str) -> String {
        docker_ok(&["inspect", "--format", format, &self.name])
            .trim()
            .to_owned()
    }

    /// `ipcs -m` inside the (running) container.
    pub fn ipcs(&self) -> Vec<IpcsRow> {
        let out = self.exec(&["ipcs", "-m"]);
        assert!(
            out.status.success(),
            "ipcs -m in {} failed: {}",
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
        IpcsRow::parse_table(&String::from_utf8_lossy(&out.stdout))
    }

    /// Wait until the container exited; its exit code.
    pub fn wait_exit(&self) -> i32 {
        poll_until(DEADLINE, || {
            std::thread::sleep(Duration::from_millis(40));
            (self.inspect("{{.State.Status}}") == "exited").then_some(())
        })
        .unwrap_or_else(|| panic!("{} still runs after {DEADLINE:?}", self.name));
        self.inspect("{{.State.ExitCode}}").parse().unwrap()
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = docker(&["rm", "-f", "-v", &self.name]);
    }
}

/// One row of `ipcs -m` (util-linux).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpcsRow {
    pub key: String,
    pub shmid: i32,
    pub owner: String,
    pub perms: String,
    pub bytes: u64,
    pub nattch: u64,
}

impl IpcsRow {
    /// The data rows of `ipcs -m` output (those starting with a 0x key).
    pub fn parse_table(text: &str) -> Vec<Self> {
        text.lines()
            .filter_map(|line| {
                let c: Vec<&str> = line.split_whitespace().collect();
                if !c.first()?.starts_with("0x") {
                    return None;
                }
                Some(Self {
                    key: c[0].to_owned(),
                    shmid: c.get(1)?.parse().ok()?,
                    owner: c.get(2)?.to_string(),
                    perms: c.get(3)?.to_string(),
                    bytes: c.get(4)?.parse().ok()?,
                    nattch: c.get(5)?.parse().ok()?,
                })
            })
            .collect()
    }
}

/// How to run Compose here: `docker-compose` (v1 or v2) or `docker compose`.
pub fn compose_command() -> (Vec<String>, String) {
    for cmd in [vec!["docker-compose"], vec!["docker", "compose"]] {
        let out = Command::new(cmd[0])
            .args(&cmd[1..])
            .arg("version")
            .stdin(Stdio::null())
            .output();
        if let Some(out) = out.ok().filter(|o| o.status.success()) {
            let version = String::from_utf8_lossy(&out.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .to_owned();
            return (cmd.into_iter().map(str::to_owned).collect(), version);
        }
    }
    panic!("the container tests need Compose: neither `docker-compose` nor `docker compose` runs");
}

/// A Compose project with a unique name, taken `down -v` on drop.
pub struct ComposeProject {
    pub name: String,
    file: std::path::PathBuf,
    command: Vec<String>,
    env: Vec<(String, String)>,
}

impl ComposeProject {
    pub fn new(file: &Path, env: &[(&str, &str)]) -> Self {
        let (command, _) = compose_command();
        Self {
            // Compose project names: lowercase letters, digits, dashes, underscores.
            name: unique("compose").replace('-', "_"),
            file: file.to_owned(),
            command,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// Run a Compose subcommand for this project.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(&self.command[0]);
        cmd.args(&self.command[1..])
            .arg("--project-name")
            .arg(&self.name)
            .arg("--file")
            .arg(&self.file)
            .args(args)
            .stdin(Stdio::null());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd.output()
            .unwrap_or_else(|e| panic!("run {:?}: {e}", self.command))
    }

    /// Run a Compose subcommand and fail the test unless it succeeds.
    pub fn run_ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "compose {args:?} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for ComposeProject {
    fn drop(&mut self) {
        let _ = self.run(&["down", "-v", "--remove-orphans", "--timeout", "5"]);
    }
}
