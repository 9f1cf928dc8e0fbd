//! Docker for the container tests: the [`Engine`] [`Docker`], the images
//! (built once per test process, also for Podman, which imports them), and
//! Compose projects that take themselves down on drop.
//!
//! The tests need a running Docker engine and fail loudly without one. No
//! registry is needed: the base image is assembled from local files by
//! `scripts/base-image`, the project image is built from the Dockerfile by
//! `scripts/image`, and its `minimal` stage holds nothing but the static binaries.
//! Images keep fixed tags so later runs reuse the build cache; containers,
//! networks and Compose projects get unique names and are always removed.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use crate::engine::{unique, Engine, Kind};
use crate::workspace;

/// Local base image made by `scripts/base-image` (shell, ipcs, libc).
pub const BASE_IMAGE: &str = "shm-time-base:test";
/// The project image: the Dockerfile built on [`BASE_IMAGE`].
pub const IMAGE: &str = "shm-time:test";
/// The Dockerfile's `minimal` stage: the two static binaries and nothing
/// else (`FROM scratch`: no libc, no shell, no /etc/passwd).
pub const BARE_IMAGE: &str = "shm-time-bare:test";
/// The project image with a root-owned, mode 0755 `/dev/shm` directory in
/// its file system, built on [`IMAGE`] by [`root_dev_shm_image`].
pub const ROOT_SHM_IMAGE: &str = "shm-time-rootshm:test";
/// The project image with Docker in Action's `ch6_ipc` (`tests/c/ch6_ipc.c`,
/// statically linked) as `/bin/ch6_ipc`, built on [`IMAGE`] by [`ch6_image`].
pub const CH6_IMAGE: &str = "shm-time-ch6:test";
/// [`IMAGE`] with a C program over libshmtools ([`shmtools_image`]).
pub const SHMTOOLS_IMAGE: &str = "shm-time-shmtools:test";

/// The Docker engine (the `docker` client and the engine it talks to).
pub struct Docker;

impl Docker {
    /// The engine, failing the test loudly when none answers.
    pub fn new() -> Self {
        require_engine();
        Self
    }
}

impl Default for Docker {
    fn default() -> Self {
        Self::new()
    }
}

impl Engine for Docker {
    fn kind(&self) -> Kind {
        Kind::Docker
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("docker");
        cmd.args(args).stdin(Stdio::null());
        cmd
    }

    /// The image itself, once [`images`] are built.
    fn image(&self, image: &str) -> String {
        images();
        image.to_owned()
    }

    /// `docker rm -f -v`.
    fn remove(&self, name: &str) {
        let _ = self.output(&["rm", "-f", "-v", name]);
    }
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

/// The images the tests use, built once per test process.
pub fn images() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        require_engine();
        // An existing base is reused, so the Dockerfile's build cache holds.
        if !Docker
            .output(&["image", "inspect", BASE_IMAGE])
            .status
            .success()
        {
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
        let out = Docker.output(&["image", "inspect", "--format", "{{.Id}}", tag]);
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let old = id(tag);
    build();
    if let Some(old) = old.filter(|old| id(tag).as_ref() != Some(old)) {
        let _ = Docker.output(&["image", "rm", &old]);
    }
}

/// [`IMAGE`] with a `/dev/shm` directory owned by root, mode 0755, in its
/// file system (the project image has none, so Podman has nothing to copy
/// from). Built once per test process with `docker build`.
pub fn root_dev_shm_image() -> &'static str {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        images();
        let context = workspace().join(format!("target/rootshm-image-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&context);
        std::fs::create_dir_all(context.join("shm")).unwrap();
        crate::set_mode(&context.join("shm"), 0o755);
        std::fs::write(
            context.join("Dockerfile"),
            format!("FROM {IMAGE}\nCOPY --chown=0:0 shm/ /dev/shm/\n"),
        )
        .unwrap();
        let dir = context.to_str().unwrap().to_owned();
        rebuild(ROOT_SHM_IMAGE, || {
            Docker.ok(&["build", "--quiet", "--tag", ROOT_SHM_IMAGE, &dir]);
        });
        let _ = std::fs::remove_dir_all(&context);
    });
    ROOT_SHM_IMAGE
}

/// [`IMAGE`] with the book's message-queue program as `/bin/ch6_ipc`
/// (`-producer`, `-consumer`), so one image runs the book's side and ours.
/// Built once per test process with `docker build`.
pub fn ch6_image() -> &'static str {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        images();
        let context = workspace().join(format!("target/ch6-image-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&context);
        std::fs::create_dir_all(&context).unwrap();
        let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
            .args(["-O2", "-static", "-o"])
            .arg(context.join("ch6_ipc"))
            .arg(workspace().join("tests/c/ch6_ipc.c"))
            .status()
            .expect("run the C compiler (cc)");
        assert!(status.success(), "cc -static failed on tests/c/ch6_ipc.c");
        std::fs::write(
            context.join("Dockerfile"),
            format!("FROM {IMAGE}\nCOPY ch6_ipc /bin/ch6_ipc\n"),
        )
        .unwrap();
        let dir = context.to_str().unwrap().to_owned();
        rebuild(CH6_IMAGE, || {
            Docker.ok(&["build", "--quiet", "--tag", CH6_IMAGE, &dir]);
        });
        let _ = std::fs::remove_dir_all(&context);
    });
    CH6_IMAGE
}

/// [`IMAGE`] with `tests/c/shmtools_check.c` as `/bin/shmtools_check`,
/// linked statically against `libshmtools.a` (and the C library), so that a
/// C program over the C API runs beside the tools in any container. Built
/// once per test process with `docker build`.
pub fn shmtools_image() -> &'static str {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        images();
        let prefix = crate::shmtools::prefix();
        let context = workspace().join(format!("target/shmtools-image-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&context);
        std::fs::create_dir_all(&context).unwrap();
        let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
            .args(["-O2", "-static", "-o"])
            .arg(context.join("shmtools_check"))
            .arg(workspace().join("tests/c/shmtools_check.c"))
            .arg(format!("-I{}", prefix.join("include").display()))
            .arg(prefix.join("lib/libshmtools.a"))
            .args(["-lpthread", "-ldl", "-lm", "-lrt", "-lutil"])
            .stderr(Stdio::null())
            .status()
            .expect("run the C compiler (cc)");
        assert!(
            status.success(),
            "cc -static failed on tests/c/shmtools_check.c"
        );
        std::fs::write(
            context.join("Dockerfile"),
            format!("FROM {IMAGE}\nCOPY shmtools_check /bin/shmtools_check\n"),
        )
        .unwrap();
        let dir = context.to_str().unwrap().to_owned();
        rebuild(SHMTOOLS_IMAGE, || {
            Docker.ok(&["build", "--quiet", "--tag", SHMTOOLS_IMAGE, &dir]);
        });
        let _ = std::fs::remove_dir_all(&context);
    });
    SHMTOOLS_IMAGE
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
