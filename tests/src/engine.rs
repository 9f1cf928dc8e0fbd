//! One container engine for the tests: [`Engine`], implemented by
//! [`Docker`](crate::docker::Docker) and [`Podman`](crate::podman::Podman),
//! so that a container test is written once and run on both. Containers are
//! [`Container`] handles, removed on drop whatever their state; `ipcs -m`
//! output is parsed into [`IpcsRow`]s; an [`IpcHolder`] keeps a container's
//! IPC namespace after the container is gone.
//!
//! Waits poll with generous deadlines (every client call of an engine takes
//! tens of milliseconds, so the polls pause 40 ms between calls).

use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::{poll_until, DEADLINE};

/// Which engine an [`Engine`] is, for the few things that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Docker,
    Podman,
}

/// A container engine driven through its command-line client (`docker` or
/// `podman`, which take the same commands and options for what the tests do).
pub trait Engine {
    fn kind(&self) -> Kind;

    /// `<engine> <args...>` with the engine's configuration and stdin from
    /// /dev/null.
    fn command(&self, args: &[&str]) -> Command;

    /// The image to run for `image`, one of the images built into Docker
    /// ([`crate::docker::images`]): Docker runs it as it is, Podman imports
    /// it first.
    fn image(&self, image: &str) -> String;

    /// Remove the container `name` and its anonymous volumes, whatever its
    /// state; errors (as for a container already gone) are ignored.
    fn remove(&self, name: &str);

    /// Options every container this engine runs for the tests gets (Podman:
    /// `--network none`).
    fn container_options(&self) -> &[&str] {
        &[]
    }

    /// The client's name: `docker` or `podman`.
    fn name(&self) -> &'static str {
        match self.kind() {
            Kind::Docker => "docker",
            Kind::Podman => "podman",
        }
    }

    /// Run the client with `args`; its output, whatever the exit status.
    fn output(&self, args: &[&str]) -> Output {
        self.command(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.name()))
    }

    /// Run the client with `args` and fail the test unless it succeeds; its
    /// stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.output(args);
        assert!(
            out.status.success(),
            "{} {args:?} failed ({}): {}{}",
            self.name(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A handle on the container called `name` (made by the test, or by
    /// `podman kube play`); removed on drop.
    fn container(&self, name: &str) -> Container<'_>
    where
        Self: Sized,
    {
        Container {
            engine: self,
            name: name.to_owned(),
        }
    }

    /// A handle with a name no other test uses ([`unique`]), for a
    /// container the test creates itself; removed on drop.
    fn named(&self, what: &str) -> Container<'_>
    where
        Self: Sized,
    {
        self.container(&unique(what))
    }

    /// `<engine> run -d --name <unique> <container options> <options...>
    /// <image> <command...>`.
    fn run_container(
        &self,
        what: &str,
        options: &[&str],
        image: &str,
        command: &[&str],
    ) -> Container<'_>
    where
        Self: Sized,
    {
        let container = self.named(what);
        let mut args = vec!["run", "-d", "--name", &container.name];
        args.extend_from_slice(options);
        self.ok(&self.run_args(&args, image, command));
        container
    }

    /// `<engine> run <container options> <options...> <image> <command...>`
    /// in the foreground (options such as `--rm` or `--name` are the
    /// caller's); its output, whatever the exit status.
    fn run_foreground(&self, options: &[&str], image: &str, command: &[&str]) -> Output {
        let mut args = vec!["run"];
        args.extend_from_slice(options);
        self.output(&self.run_args(&args, image, command))
    }

    /// `args` (`run` and its options), then the container options, `image`
    /// and `command`.
    fn run_args<'a>(
        &'a self,
        args: &[&'a str],
        image: &'a str,
        command: &[&'a str],
    ) -> Vec<&'a str> {
        let mut all = args.to_vec();
        all.extend_from_slice(self.container_options());
        all.push(image);
        all.extend_from_slice(command);
        all
    }
}

/// A name no other test (or test process) uses: `shm-test-<pid>-<n>-<what>`.
pub fn unique(what: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("shm-test-{}-{n}-{what}", std::process::id())
}

/// Lines of a command's output.
pub fn output_lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A command's stdout, as text.
pub fn stdout_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A command's stderr, as text.
pub fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Poll `check` until it returns `Some` or `deadline` passes, pausing 40 ms
/// before each call (each runs an engine's client).
pub fn poll_engine<T>(deadline: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    poll_until(deadline, || {
        std::thread::sleep(Duration::from_millis(40));
        check()
    })
}

/// A container of an [`Engine`], by name: removed (with its anonymous
/// volumes) on drop, also one that was created but never started, as when
/// the engine refuses `--ipc`.
pub struct Container<'e> {
    engine: &'e dyn Engine,
    pub name: String,
}

impl Container<'_> {
    /// The engine that runs the container.
    pub fn engine(&self) -> &dyn Engine {
        self.engine
    }

    /// Its (stdout, stderr) lines so far (`<engine> logs`).
    pub fn logs(&self) -> (Vec<String>, Vec<String>) {
        let out = self.engine.output(&["logs", &self.name]);
        (output_lines(&out.stdout), output_lines(&out.stderr))
    }

    /// Poll `check` until it gives `Some` within `deadline`; that value.
    /// Fails the test with `what` and the container's logs otherwise.
    pub fn wait_for<T>(
        &self,
        deadline: Duration,
        what: &str,
        mut check: impl FnMut(&Self) -> Option<T>,
    ) -> T {
        poll_engine(deadline, || check(self)).unwrap_or_else(|| {
            panic!(
                "{}: {what} not within {deadline:?}; logs {:?}",
                self.name,
                self.logs()
            )
        })
    }

    /// Wait until the stdout lines of the container satisfy `done`; them.
    pub fn wait_stdout(
        &self,
        deadline: Duration,
        what: &str,
        done: impl Fn(&[String]) -> bool,
    ) -> Vec<String> {
        self.wait_for(deadline, what, |c| {
            let lines = c.logs().0;
            done(&lines).then_some(lines)
        })
    }

    /// Wait until the container printed at least `n` stdout lines.
    pub fn wait_lines(&self, n: usize, deadline: Duration) -> Vec<String> {
        self.wait_stdout(deadline, &format!("{n} stdout lines"), |l| l.len() >= n)
    }

    /// Wait until a stderr line of the container contains `text`; that line.
    pub fn wait_stderr(&self, text: &str) -> String {
        self.wait_for(DEADLINE, &format!("a stderr line with {text:?}"), |c| {
            c.logs().1.into_iter().find(|l| l.contains(text))
        })
    }

    /// `<engine> exec <container> <command...>`.
    pub fn exec(&self, command: &[&str]) -> Output {
        let mut args = vec!["exec", &self.name];
        args.extend_from_slice(command);
        self.engine.output(&args)
    }

    /// `<engine> inspect --format <format>`, trimmed.
    pub fn inspect(&self, format: &str) -> String {
        self.engine
            .ok(&["inspect", "--format", format, &self.name])
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
            stderr_of(&out)
        );
        IpcsRow::parse_table(&stdout_of(&out))
    }

    /// `<engine> stop <container>` (SIGTERM, then SIGKILL after the grace
    /// period); fails the test unless the client succeeds.
    pub fn stop(&self) {
        self.engine.ok(&["stop", &self.name]);
    }

    /// `<engine> wait <container>`: blocks until it exits; the exit code it
    /// prints.
    pub fn wait(&self) -> String {
        self.engine.ok(&["wait", &self.name]).trim().to_owned()
    }

    /// Wait until the container exited; its exit code.
    pub fn wait_exit(&self) -> i32 {
        self.wait_for(DEADLINE, "exit", |c| {
            (c.inspect("{{.State.Status}}") == "exited").then_some(())
        });
        self.inspect("{{.State.ExitCode}}").parse().unwrap()
    }

    /// The IPC namespace the running container's first process is in, seen
    /// from the host (`ipc:[<inode>]`).
    pub fn ipc_namespace(&self) -> String {
        let pid = self.inspect("{{.State.Pid}}");
        std::fs::read_link(format!("/proc/{pid}/ns/ipc"))
            .unwrap_or_else(|e| panic!("{}: pid {pid}: {e}", self.name))
            .display()
            .to_string()
    }
}

impl Drop for Container<'_> {
    fn drop(&mut self) {
        self.engine.remove(&self.name);
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

/// A process that holds the IPC namespace of a running container, so that
/// its segments can be looked at after the container is gone (the kernel
/// frees a namespace's segments only when its last process exits). Killed
/// on drop, which frees the namespace.
pub struct IpcHolder {
    proc: crate::Proc,
}

impl IpcHolder {
    pub fn join(container: &Container<'_>) -> Self {
        let pid = container.inspect("{{.State.Pid}}");
        assert!(pid != "0", "{} does not run", container.name);
        let proc = crate::Proc::spawn(
            Command::new("nsenter")
                .args(["-t", &pid, "--ipc", "--"])
                .args(["sh", "-c", "echo ready && exec sleep 100000"]),
        );
        proc.wait_stdout(|l| l == "ready");
        Self { proc }
    }

    /// The segments of the held namespace, as `ipcs -m` lists them.
    pub fn segments(&self) -> Vec<IpcsRow> {
        let out = Command::new("nsenter")
            .args(["-t", &self.proc.pid().to_string(), "--ipc", "--"])
            .args(["ipcs", "-m"])
            .stdin(Stdio::null())
            .output()
            .expect("run nsenter (util-linux)");
        assert!(out.status.success(), "nsenter ... ipcs -m: {out:?}");
        IpcsRow::parse_table(&stdout_of(&out))
    }
}
