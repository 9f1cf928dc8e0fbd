//! Podman for `tests/tests/podman.rs`: the [`Engine`] [`Podman`], a private
//! Podman whose state lives in one temporary directory of the test's own,
//! with images moved over from Docker with `docker save | podman load`.
//!
//! A [`Podman`] writes its own `storage.conf` (graph root, run root),
//! `containers.conf` (temp dir, file locks, events file, network config dir,
//! cgroupfs, ulimits) and `registries.conf` (no search registries, so a short
//! name never goes to the network), points `CONTAINERS_STORAGE_CONF`,
//! `CONTAINERS_CONF`, `CONTAINERS_REGISTRIES_CONF`, `TMPDIR` and the XDG
//! directories of every `podman` it runs there, and never reads or writes a
//! user's Podman state. On drop it removes every pod and container, runs
//! `podman system reset --force` with the same configuration, unmounts what
//! is still mounted below its directory and deletes it.
//!
//! What the sandbox needs from that configuration:
//! - `default_ulimits`: Podman raises a container's `nofile` and `nproc` to
//!   1048576 by default, which needs CAP_SYS_RESOURCE (runc fails with
//!   "error setting rlimit type 7: operation not permitted"). The limits set
//!   here are at most the test process's hard limits (`ulimit -Hn`, `-Hu`),
//!   read at run time, and `nproc` stays below the 32768 to which `podman`
//!   lowers its own RLIMIT_NPROC at start-up (seen with strace on 4.3.1).
//! - `cgroup_manager = "cgroupfs"` and `events_logger = "file"`: no systemd.
//! - Health checks: Podman runs them from systemd timers, and there is no
//!   systemd here. Creating a container with a health check logs "unable to
//!   get systemd connection to add healthchecks" and goes on; the tests run
//!   the check by hand with `podman healthcheck run`.
//! - The tests pass `--network none`: they need no network, and so no
//!   netavark or CNI set-up.
//! - Image copies (`podman load`, and the build of the pod infra image from
//!   catatonit) write root's blob-info cache to /var/lib/containers/cache,
//!   which no setting of Podman 4.3 moves: they run in a mount namespace of
//!   their own with a tmpfs over /var/lib ([`Podman::load`],
//!   [`Podman::build_infra_image`]).
//!
//! - Podman 4.3 with cgroupfs leaves the empty cgroup of a removed pod in
//!   some hierarchies (`/sys/fs/cgroup/*/libpod_parent/<pod id>`); the drop
//!   removes those of the pods this instance made.
//!
//! Left outside the directory: runc keeps the state of running containers
//! in `/run/runc` (removed with the containers), and rootful Podman creates
//! the empty directory `/run/containers/networks` (its IPAM database, unused
//! with `--network none`) and the parent cgroups `libpod_parent` and
//! `libpod_parent/conmon`, shared by every Podman on the machine.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};

use crate::docker::images;
use crate::engine::{unique, Engine, Kind};
use crate::set_mode;

/// Podman's version (`podman --version`, which reads no configuration and
/// touches no state); fails the test loudly when Podman is missing or older
/// than 4.
pub fn require_podman() -> String {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION
        .get_or_init(|| {
            let out = Command::new("podman")
                .arg("--version")
                .stdin(Stdio::null())
                .output()
                .unwrap_or_else(|e| {
                    panic!("the Podman tests need podman (apt-get install podman catatonit): {e}")
                });
            assert!(
                out.status.success(),
                "podman version failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let text = String::from_utf8_lossy(&out.stdout);
            let version = text.trim().trim_start_matches("podman version ").to_owned();
            let major: u32 = version
                .split('.')
                .next()
                .and_then(|m| m.parse().ok())
                .unwrap_or(0);
            assert!(
                major >= 4,
                "the Podman tests need Podman 4 or later, not {version}"
            );
            version
        })
        .clone()
}

/// The hard limit of `resource` ("Max open files", "Max processes") as
/// `/proc/self/limits` gives it; `u64::MAX` for unlimited.
fn hard_limit(resource: &str) -> u64 {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with(resource))
        .unwrap_or_else(|| panic!("no {resource:?} in /proc/self/limits"));
    let hard = line[resource.len()..].split_whitespace().nth(1).unwrap();
    if hard == "unlimited" {
        u64::MAX
    } else {
        hard.parse().unwrap()
    }
}

/// A Podman whose whole state lives in a temporary directory; everything in
/// it is removed on drop.
pub struct Podman {
    pub dir: PathBuf,
    env: Vec<(&'static str, PathBuf)>,
    /// The images loaded by [`Engine::image`]: (Docker's name, Podman's).
    loaded: Mutex<Vec<(String, String)>>,
}

impl Podman {
    pub fn new() -> Self {
        crate::require_root();
        require_podman();
        let dir = std::env::temp_dir().join(unique("podman"));
        let _ = std::fs::remove_dir_all(&dir);
        for sub in [
            "root", "runroot", "tmp", "networks", "config", "data", "run",
        ] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        set_mode(&dir.join("run"), 0o700);
        let path = |sub: &str| dir.join(sub).to_str().unwrap().to_owned();
        let nofile = hard_limit("Max open files").min(65536);
        let nproc = hard_limit("Max processes").min(4096);
        std::fs::write(
            dir.join("storage.conf"),
            format!(
                "[storage]\ndriver = \"overlay\"\ngraphroot = \"{}\"\nrunroot = \"{}\"\n",
                path("root"),
                path("runroot")
            ),
        )
        .unwrap();
        std::fs::write(
            dir.join("containers.conf"),
            format!(
                "[containers]\n\
                 default_ulimits = [\"nofile={nofile}:{nofile}\", \"nproc={nproc}:{nproc}\"]\n\
                 [engine]\n\
                 cgroup_manager = \"cgroupfs\"\n\
                 events_logger = \"file\"\n\
                 lock_type = \"file\"\n\
                 tmp_dir = \"{tmp}\"\n\
                 image_copy_tmp_dir = \"{tmp}\"\n\
                 [network]\n\
                 network_config_dir = \"{networks}\"\n",
                tmp = path("tmp"),
                networks = path("networks"),
            ),
        )
        .unwrap();
        std::fs::write(
            dir.join("registries.conf"),
            "unqualified-search-registries = []\nshort-name-mode = \"enforcing\"\n",
        )
        .unwrap();
        let env = vec![
            ("CONTAINERS_STORAGE_CONF", dir.join("storage.conf")),
            ("CONTAINERS_CONF", dir.join("containers.conf")),
            ("CONTAINERS_REGISTRIES_CONF", dir.join("registries.conf")),
            ("TMPDIR", dir.join("tmp")),
            ("XDG_CONFIG_HOME", dir.join("config")),
            ("XDG_DATA_HOME", dir.join("data")),
            ("XDG_RUNTIME_DIR", dir.join("run")),
        ];
        let podman = Self {
            dir,
            env,
            loaded: Mutex::default(),
        };
        // The store answers, and it is this one.
        let root = podman.ok(&["info", "--format", "{{.Store.GraphRoot}}"]);
        assert_eq!(Path::new(root.trim()), podman.dir.join("root"));
        podman
    }

    /// `docker save <image> | podman load`, then `podman tag` with each of
    /// `tags`; the name Podman gives the loaded image (`localhost/...`).
    pub fn load(&self, image: &str, tags: &[&str]) -> String {
        let mut save = Command::new("docker")
            .args(["save", image])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run docker save");
        let out = self.isolated("exec podman load", save.stdout.take().unwrap().into());
        assert!(save.wait().unwrap().success(), "docker save {image} failed");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "podman load failed: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let name = stdout
            .lines()
            .find_map(|l| l.strip_prefix("Loaded image: "))
            .or_else(|| {
                stdout
                    .lines()
                    .find_map(|l| l.strip_prefix("Loaded image(s): "))
            })
            .unwrap_or_else(|| panic!("no image name in podman load's output: {stdout}"))
            .trim()
            .to_owned();
        for tag in tags {
            self.ok(&["tag", &name, tag]);
        }
        name
    }

    /// `sh -c <script>` with this instance's configuration, in a mount
    /// namespace of its own with a tmpfs over /var/lib, for the commands that
    /// copy images. containers/image keeps root's blob-info cache in
    /// /var/lib/containers/cache, and no setting of Podman 4.3 moves it.
    /// Nothing started here may outlive the script (its mounts would be
    /// invisible to other podman commands).
    fn isolated(&self, script: &str, stdin: Stdio) -> Output {
        Command::new("unshare")
            .args(["--mount", "--propagation", "private", "--", "sh", "-c"])
            .arg(format!(
                "mount -t tmpfs -o size=16m,mode=0755 tmpfs /var/lib && {script}"
            ))
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(stdin)
            .output()
            .expect("run unshare (util-linux)")
    }

    /// Build the pod infra image (from catatonit) that `podman pod create`
    /// and `podman kube play` otherwise build on first use, outside the
    /// test's mount namespace: by creating and removing a pod in
    /// [`Podman::isolated`].
    pub fn build_infra_image(&self) {
        let out = self.isolated(
            "podman pod create --network none --name infra-image-build \
             && podman pod rm infra-image-build",
            Stdio::null(),
        );
        assert!(
            out.status.success(),
            "building the pod infra image failed (is catatonit installed?): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The exit codes that `died` events report for `container` (best its
    /// full id), oldest first; from the events file, so also for removed
    /// containers.
    pub fn died_exit_codes(&self, container: &str) -> Vec<i32> {
        let filter = format!("container={container}");
        self.ok(&[
            "events",
            "--stream=false",
            "--filter",
            &filter,
            "--filter",
            "event=died",
            "--format",
            "{{.ContainerExitCode}}",
        ])
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect()
    }

    fn cleanup(&self) {
        // Every pod this instance made, from its events file (which the
        // reset removes), including those already gone.
        let pods = self.output(&[
            "events",
            "--stream=false",
            "--filter",
            "type=pod",
            "--format",
            "{{.ID}}",
        ]);
        let _ = self.output(&["pod", "rm", "--all", "--force", "--time", "0"]);
        let _ = self.output(&["rm", "--all", "--force", "--time", "0"]);
        let _ = self.output(&["system", "reset", "--force"]);
        // Podman 4.3 with cgroupfs leaves a removed pod's cgroup behind, empty,
        // in some hierarchies (here the named systemd one and cgroup2's).
        let mut pods: Vec<String> = String::from_utf8_lossy(&pods.stdout)
            .lines()
            .map(str::trim)
            .filter(|id| id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(str::to_owned)
            .collect();
        pods.sort();
        pods.dedup();
        for hierarchy in std::fs::read_dir("/sys/fs/cgroup").into_iter().flatten() {
            let parent = hierarchy.unwrap().path().join("libpod_parent");
            for pod in &pods {
                remove_empty_cgroup(&parent.join(pod));
            }
        }
        // Whatever Podman left mounted below the directory (overlay layers,
        // /dev/shm of containers, volumes): deepest first.
        let mut mounts: Vec<String> = std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .map(unescape_mount_path)
            .filter(|m| Path::new(m).starts_with(&self.dir))
            .collect();
        mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for mount in mounts {
            let _ = Command::new("umount").arg("-l").arg(&mount).status();
        }
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            if e.kind() != std::io::ErrorKind::NotFound {
                eprintln!("podman: could not remove {}: {e}", self.dir.display());
            }
        }
    }
}

impl Engine for Podman {
    fn kind(&self) -> Kind {
        Kind::Podman
    }

    /// `podman <args...>` with this instance's configuration.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("podman");
        cmd.args(args)
            .stdin(Stdio::null())
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// The image loaded from Docker ([`Podman::load`]), once per instance.
    fn image(&self, image: &str) -> String {
        let mut loaded = self.loaded.lock().unwrap();
        if let Some((_, name)) = loaded.iter().find(|(docker, _)| docker == image) {
            return name.clone();
        }
        images();
        let name = self.load(image, &[]);
        loaded.push((image.to_owned(), name.clone()));
        name
    }

    /// `podman rm --force --volumes --time 0`.
    fn remove(&self, name: &str) {
        let _ = self.output(&["rm", "--force", "--volumes", "--time", "0", name]);
    }

    /// The tests need no network, and so no netavark or CNI set-up.
    fn container_options(&self) -> &[&str] {
        &["--network", "none"]
    }
}

impl Default for Podman {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        self.cleanup();
    }
}

/// Remove the cgroup at `path` and its children, deepest first; cgroups
/// that still hold processes stay (rmdir fails on them).
fn remove_empty_cgroup(path: &Path) {
    let Ok(entries) = std::fs::read_dir(path) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove_empty_cgroup(&entry.path());
        }
    }
    let _ = std::fs::remove_dir(path);
}

/// `/proc/self/mountinfo` escapes space, tab, newline and backslash as
/// three-digit octal.
fn unescape_mount_path(field: &str) -> String {
    let mut out = Vec::new();
    let bytes = field.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 4 <= bytes.len() {
            let digits = std::str::from_utf8(&bytes[i + 1..i + 4]).unwrap_or("");
            if let Ok(b) = u8::from_str_radix(digits, 8) {
                out.push(b);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
