//! The container story against real Podman: the shared tests of `both/`
//! (image, walkthrough, users, stop, streams, binaries that need no libc)
//! on Podman, and what is Podman's own: `--ipc shareable` by default, health
//! checks run by hand, a Podman pod, and `podman kube play` of
//! `docs/examples/pod.yaml` on two images, one of which holds a root-owned
//! `/dev/shm` directory.
//!
//! Each test has a private Podman (`shm_tests::podman::Podman`): its own
//! storage, run root, configuration and temp directories, removed with every
//! container and pod in them when the test ends, whether it passed or not.
//! Images come from the Docker engine (`docker save | podman load`), built
//! as the other container tests build them. Podman's health checks need
//! systemd timers, which this machine lacks: the tests run the check by hand
//! with `podman healthcheck run`. The tests fail (they do not skip) when
//! Podman or the Docker engine is missing.

use std::path::{Path, PathBuf};
use std::time::Instant;

use shm_tests::docker::{root_dev_shm_image, IMAGE};
use shm_tests::engine::{poll_engine, unique, Container, Engine, IpcHolder};
use shm_tests::namespaces::{ipc_inode, listing, namespace, IN_CONTAINER};
use shm_tests::podman::{require_podman, Podman};
use shm_tests::{poll_until, startup_key, workspace, DEADLINE};

#[macro_use]
mod both;
use both::{ls_n, one_segment_both_attached, wait_advancing, READER, WRITER};

on_engine!(Podman::new());

/// The manifest under test, and the names `podman kube play` gives its pod
/// and containers (`<pod>-<container>`).
const MANIFEST: &str = "docs/examples/pod.yaml";
const POD: &str = "shm-time";
const KUBE_WRITER: &str = "shm-time-writer";
const KUBE_READER: &str = "shm-time-reader";

/// The manifest's `image: shm-time`, as Podman resolves a short name
/// against its local images.
const KUBE_IMAGE: &str = "localhost/shm-time:latest";

// --- the walkthrough ----------------------------------------------------

#[test]
fn podman_ipc_is_shareable_by_default_and_the_healthcheck_runs_by_hand() {
    let podman = Podman::new();
    let image = podman.image(IMAGE);

    // The original walkthrough needs no --ipc with Podman: shareable is the default.
    let plain = podman.named("plain");
    podman.ok(&["create", "--network", "none", "--name", &plain.name, &image]);
    assert_eq!(plain.inspect("{{.HostConfig.IpcMode}}"), "shareable");

    let writer = podman.run_container("writer", &["--ipc", "shareable"], &image, &[]);
    writer.wait_stderr("segment created");
    let join = format!("container:{}", writer.name);
    let reader = podman.run_container("reader", &["--ipc", &join], &image, &[READER]);
    wait_advancing(&reader);

    // The image's HEALTHCHECK, run by hand (no systemd timers here): it
    // passes in the writer's container and in the reader's, which shares
    // the namespace.
    for c in [&writer, &reader] {
        let out = healthcheck_run(&podman, &c.name);
        assert!(out.status.success(), "healthcheck run {}: {out:?}", c.name);
    }
}

/// `podman healthcheck run <container>`, as no systemd timer runs it here;
/// its output. A check that only ran out of its time (the manifest's probe
/// has Kubernetes' default timeout of 1 s, which `podman exec` alone can
/// take on a busy machine) is run again until [`DEADLINE`]; any other
/// outcome is the answer.
fn healthcheck_run(podman: &Podman, container: &str) -> std::process::Output {
    let mut timeouts = 0;
    let out = poll_engine(DEADLINE, || {
        let out = podman.output(&["healthcheck", "run", container]);
        let timed_out = !out.status.success()
            && String::from_utf8_lossy(&out.stderr).contains("exceeded timeout");
        timeouts += usize::from(timed_out);
        (!timed_out).then_some(out)
    })
    .unwrap_or_else(|| panic!("{container}: the health check timed out {timeouts} times"));
    if timeouts > 0 {
        eprintln!("{container}: the health check timed out {timeouts} times before it answered");
    }
    out
}

// --- a Podman pod -------------------------------------------------------

#[test]
fn podman_pod_shares_the_ipc_namespace() {
    let podman = Podman::new();
    let image = podman.image(IMAGE);
    let pod = unique("pod");
    podman.build_infra_image();
    podman.ok(&["pod", "create", "--network", "none", "--name", &pod]);
    let infra = podman
        .ok(&["pod", "inspect", "--format", "{{.InfraContainerID}}", &pod])
        .trim()
        .to_owned();

    // No --ipc option: the pod's containers join the infra container's.
    let in_pod = format!("--pod={pod}");
    let writer = podman.named("writer");
    podman.ok(&["run", "-d", "--name", &writer.name, &in_pod, &image, WRITER]);
    writer.wait_stderr("segment created");
    let reader = podman.named("reader");
    podman.ok(&["run", "-d", "--name", &reader.name, &in_pod, &image, READER]);
    wait_advancing(&reader);

    for c in [&writer, &reader] {
        assert_eq!(
            c.inspect("{{.HostConfig.IpcMode}}"),
            format!("container:{infra}")
        );
    }
    let row = one_segment_both_attached(&writer, &reader);
    eprintln!("ipcs -m in both: {row:?}");

    podman.ok(&["pod", "stop", &pod]);
    assert_eq!(writer.wait_exit(), 0);
    writer.wait_stderr("SIGTERM received: stopping");
}

// --- podman kube play ---------------------------------------------------

/// `podman kube play --network none <manifest>`.
fn kube_play(podman: &Podman, manifest: &Path) {
    podman.ok(&[
        "kube",
        "play",
        "--network",
        "none",
        manifest.to_str().unwrap(),
    ]);
}

fn kube_down(podman: &Podman, manifest: &Path) {
    podman.ok(&["kube", "down", manifest.to_str().unwrap()]);
}

fn manifest() -> PathBuf {
    workspace().join(MANIFEST)
}

/// Play the manifest, with the loaded image as its `shm-time`, and check
/// what it promises: the reader prints live times, both containers share
/// the pod's IPC namespace and /dev/shm, and the liveness probe passes.
fn play_the_manifest(podman: &Podman) -> (Container<'_>, Container<'_>) {
    kube_play(podman, &manifest());
    let writer = podman.container(KUBE_WRITER);
    let reader = podman.container(KUBE_READER);
    let startup = writer.wait_stderr("segment created");
    eprintln!("{KUBE_WRITER}: {startup}");
    assert!(startup.contains("key-file /dev/shm/shm_file"), "{startup}");
    wait_advancing(&reader);

    let infra = podman
        .ok(&["pod", "inspect", "--format", "{{.InfraContainerID}}", POD])
        .trim()
        .to_owned();
    for c in [&writer, &reader] {
        assert_eq!(
            c.inspect("{{.HostConfig.IpcMode}}"),
            format!("container:{infra}")
        );
    }
    // The pod's /dev/shm: a tmpfs of mode 1777, the same in both, holding
    // the key file of uid 65534 (the manifest's runAsUser).
    let dir = ls_n(&writer, &["-d", "/dev/shm"]);
    assert_eq!(dir[0], "drwxrwxrwt", "{dir:?}");
    let file = ls_n(&writer, &["-i", "/dev/shm/shm_file"]);
    assert_eq!(file, ls_n(&reader, &["-i", "/dev/shm/shm_file"]));
    assert_eq!(&file[3..5], ["65534", "65534"], "{file:?}");
    let row = one_segment_both_attached(&writer, &reader);
    assert_eq!(row.key, startup_key(&startup));
    assert_eq!(row.owner, "nobody");

    // Podman turns the liveness probe into the writer's health check. No
    // systemd timers run it here, so run it by hand.
    let check = writer.inspect("{{json .Config.Healthcheck.Test}}");
    assert!(check.contains(r#""/bin/shm_read","--once""#), "{check}");
    let out = healthcheck_run(podman, KUBE_WRITER);
    assert!(out.status.success(), "the liveness probe fails: {out:?}");
    (writer, reader)
}

/// A manifest as `docs/examples/pod.yaml` once was: the writer with a
/// memory-backed emptyDir mounted at /dev/shm, as uid 65534, never restarted.
const EMPTYDIR_MANIFEST: &str = r#"apiVersion: v1
kind: Pod
metadata:
  name: shm-time-emptydir
spec:
  securityContext:
    runAsUser: 65534
    runAsGroup: 65534
    runAsNonRoot: true
  restartPolicy: Never
  containers:
    - name: writer
      image: shm-time
      command: ["/bin/shm_write"]
      volumeMounts:
        - name: dshm
          mountPath: /dev/shm
  volumes:
    - name: dshm
      emptyDir:
        medium: Memory
        sizeLimit: 1Mi
"#;

/// Play [`EMPTYDIR_MANIFEST`]; its manifest file and writer container.
fn play_emptydir_manifest(podman: &Podman) -> (PathBuf, Container<'_>) {
    let path = podman.dir.join("emptydir-pod.yaml");
    std::fs::write(&path, EMPTYDIR_MANIFEST).unwrap();
    kube_play(podman, &path);
    (path, podman.container("shm-time-emptydir-writer"))
}

fn assert_nothing_left(podman: &Podman) {
    assert_eq!(podman.ok(&["pod", "ps", "--quiet"]).trim(), "");
    assert_eq!(podman.ok(&["ps", "--all", "--quiet"]).trim(), "");
}

#[test]
fn kube_play_runs_the_pod_manifest() {
    let podman = Podman::new();
    podman.load(IMAGE, &[KUBE_IMAGE]);
    podman.build_infra_image();

    // This image has no /dev/shm directory: an emptyDir there works too.
    let (old, emptydir_writer) = play_emptydir_manifest(&podman);
    emptydir_writer.wait_stderr("segment created");
    kube_down(&podman, &old);

    let (writer, reader) = play_the_manifest(&podman);
    let holder = IpcHolder::join(&writer);
    assert_eq!(holder.segments().len(), 1, "{:?}", holder.segments());

    // podman pod stop: SIGTERM to every container of the pod.
    let started = Instant::now();
    podman.ok(&["pod", "stop", POD]);
    eprintln!(
        "podman pod stop took {:.3} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(writer.wait_exit(), 0);
    assert_eq!(reader.wait_exit(), 0);
    writer.wait_stderr("SIGTERM received: stopping");
    // The writer removed its segment: the namespace (held by the test) has none.
    poll_until(DEADLINE, || holder.segments().is_empty().then_some(()))
        .unwrap_or_else(|| panic!("segment left: {:?}", holder.segments()));

    kube_down(&podman, &manifest());
    assert_nothing_left(&podman);
}

#[test]
fn kube_play_runs_the_stream_pod_to_completion() {
    let podman = Podman::new();
    podman.load(IMAGE, &[KUBE_IMAGE]);
    podman.build_infra_image();
    let manifest = workspace().join("docs/examples/stream-pod.yaml");
    kube_play(&podman, &manifest);
    let producer = podman.container("shm-stream-producer");
    let consumer = podman.container("shm-stream-consumer");
    assert_eq!(consumer.wait_exit(), 0, "{:?}", consumer.logs());
    assert_eq!(producer.wait_exit(), 0, "{:?}", producer.logs());
    let logs = |c: &Container<'_>, prefix: &str| -> Vec<String> {
        let (out, err) = c.logs();
        out.into_iter()
            .chain(err)
            .filter_map(|l| l.split(prefix).nth(1).map(str::to_owned))
            .collect()
    };
    let produced = logs(&producer, "Produced: ");
    let consumed = logs(&consumer, "Consumed: ");
    assert_eq!(produced.len(), 500, "{:?}", producer.logs());
    assert_eq!(consumed[..500], produced[..], "every message, in order");
    assert_eq!(consumed.last().map(String::as_str), Some("done"));
    kube_down(&podman, &manifest);
    assert_nothing_left(&podman);
}

#[test]
fn kube_play_runs_the_pod_manifest_over_a_root_owned_dev_shm() {
    let podman = Podman::new();
    podman.load(root_dev_shm_image(), &[KUBE_IMAGE]);
    podman.build_infra_image();

    // Why the manifest mounts nothing at /dev/shm: Podman makes an emptyDir
    // a volume that takes the owner and mode of the image's directory
    // (root, 0755), and uid 65534 cannot create the key file in it.
    let (old, emptydir_writer) = play_emptydir_manifest(&podman);
    assert_eq!(emptydir_writer.wait_exit(), 2);
    let refusal = emptydir_writer.wait_stderr("permission denied on key file /dev/shm/shm_file");
    eprintln!("emptyDir at /dev/shm: {refusal}");
    kube_down(&podman, &old);

    // The manifest as it is works on this image as well.
    let (writer, _reader) = play_the_manifest(&podman);
    let holder = IpcHolder::join(&writer);
    assert_eq!(holder.segments().len(), 1, "{:?}", holder.segments());

    // podman kube down on its own: Podman 4.3 stops the pod's containers
    // with SIGKILL and no grace period (containers/podman#19135, fixed by
    // #22398), so the writer cannot remove its segment; it goes away with
    // the pod's IPC namespace. Either outcome is checked for what it means.
    let id = writer.inspect("{{.Id}}");
    let started = Instant::now();
    kube_down(&podman, &manifest());
    eprintln!(
        "podman kube down took {:.3} s",
        started.elapsed().as_secs_f64()
    );
    let code = poll_engine(DEADLINE, || podman.died_exit_codes(&id).last().copied())
        .expect("no died event for the writer");
    let left = holder.segments();
    eprintln!("podman kube down: writer exit code {code}, segments left {left:?}");
    match code {
        0 => assert!(left.is_empty(), "exit 0 but segment left: {left:?}"),
        137 => assert_eq!(left.len(), 1, "SIGKILL, yet no segment: {left:?}"),
        _ => panic!("writer exit code {code} after podman kube down"),
    }
    assert_nothing_left(&podman);
}

// --- the inventory pod ----------------------------------------------------

/// The inventory of every IPC namespace, as a pod and as a DaemonSet.
const INVENTORY_MANIFEST: &str = "docs/examples/inventory-pod.yaml";
const INVENTORY_DAEMONSET: &str = "docs/examples/inventory-daemonset.yaml";
const KUBE_INVENTORY: &str = "shm-inventory-inventory";

#[test]
fn kube_play_runs_the_inventory_pod() {
    let podman = Podman::new();
    let image = podman.image(IMAGE);
    podman.ok(&["tag", &image, KUBE_IMAGE]);
    podman.build_infra_image();
    // Something for it to find: a writer in a container of its own.
    let writer = podman.run_container("inventoried", &["--ipc", "shareable"], &image, &[]);
    writer.wait_stderr("segment created");
    let manifest = workspace().join(INVENTORY_MANIFEST);
    kube_play(&podman, &manifest);
    let inventory = podman.container(KUBE_INVENTORY);
    let status = poll_engine(DEADLINE, || {
        let status = inventory.inspect("{{.State.Status}}");
        (status == "exited").then_some(inventory.inspect("{{.State.ExitCode}}"))
    });

    // What the manifest asks for, as Podman ran it.
    assert_eq!(inventory.inspect("{{.HostConfig.ReadonlyRootfs}}"), "true");
    let caps = inventory.inspect("{{.EffectiveCaps}}");
    assert!(
        caps.contains("CAP_SYS_ADMIN") && caps.contains("CAP_SYS_PTRACE"),
        "{caps}"
    );
    let (stdout, stderr) = inventory.logs();
    let listing = if honours_host_pid() {
        assert_eq!(inventory.inspect("{{.HostConfig.PidMode}}"), "host");
        assert_eq!(status.as_deref(), Some("0"), "{stderr:?}");
        stdout.join("\n")
    } else {
        // Podman before 4.5 drops hostPID: the pod runs in a PID namespace
        // of its own, and says so, with the refusal's exit status.
        assert_eq!(status.as_deref(), Some("4"), "{stderr:?}");
        assert!(
            stderr[0].contains("this process lacks the host's PID namespace"),
            "{stderr:?}"
        );
        // The manifest's container by hand, with its privileges and the
        // host's PID namespace.
        let out = podman.run_foreground(
            &[
                "--rm",
                "--pid",
                "host",
                "--read-only",
                "--user",
                "0",
                "--cap-drop",
                "ALL",
                "--cap-add",
                "SYS_ADMIN,SYS_PTRACE",
                "--security-opt",
                "no-new-privileges",
            ],
            &image,
            &IN_CONTAINER,
        );
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };

    // The JSON listing, with the writer's namespace in it.
    let doc: serde_json::Value =
        serde_json::from_str(&listing).expect("the listing is one JSON document");
    let pid: u32 = writer.inspect("{{.State.Pid}}").parse().unwrap();
    let ns = namespace(&doc, ipc_inode(pid)).expect("the writer's namespace is listed");
    let id = writer.inspect("{{.Id}}");
    assert_eq!(ns["namespace"]["containers"][0]["engine"], "podman");
    assert_eq!(ns["namespace"]["containers"][0]["id"], id.as_str());
    let segment = &ns["sharedmemory"][0];
    assert_eq!(segment["kind"], "time", "{segment}");
    assert_eq!(segment["attached"][0]["container"], &id[..12]);
    kube_down(&podman, &manifest);
}

/// Whether this Podman's `kube play` honours a pod's `hostPID` (4.5 and
/// later).
fn honours_host_pid() -> bool {
    let version = require_podman();
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0)) >= (4, 5)
}

/// The DaemonSet's pod template asks for exactly the pod's privileges.
#[test]
fn the_inventory_daemonset_asks_for_the_pods_privileges() {
    let privileges = |path: &str| -> Vec<String> {
        let text = std::fs::read_to_string(workspace().join(path)).unwrap();
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        let start = lines.iter().position(|l| *l == "securityContext:").unwrap();
        let end = lines.iter().position(|l| *l == "resources:").unwrap();
        let mut privileges: Vec<String> = lines[start..end].iter().map(|l| l.to_string()).collect();
        privileges.extend(
            lines
                .iter()
                .filter(|l| l.starts_with("host"))
                .map(|l| l.to_string()),
        );
        privileges
    };
    let pod = privileges(INVENTORY_MANIFEST);
    assert!(pod.contains(&"hostPID: true".to_owned()), "{pod:?}");
    assert_eq!(privileges(INVENTORY_DAEMONSET), pod);
}

/// A pod whose only other container made a segment and was killed: the
/// infra container alone keeps the namespace, and the listing says so.
#[test]
fn all_namespaces_reports_a_pod_namespace_kept_only_by_its_infra_container() {
    let podman = Podman::new();
    let image = podman.image(IMAGE);
    let pod = unique("pod");
    podman.build_infra_image();
    podman.ok(&["pod", "create", "--network", "none", "--name", &pod]);
    let in_pod = format!("--pod={pod}");
    // A writer killed as the OOM killer would, once its segment is there.
    // (bounded: at most 200 looks).
    let killed = "/bin/shm_write & n=0; \
                  until /bin/shm_read --once >/dev/null 2>&1 || [ $n -ge 200 ]; do n=$((n+1)); sleep 0.1; done; \
                  kill -KILL $!";
    let maker = podman.named("maker");
    podman.ok(&[
        "run",
        "--name",
        &maker.name,
        &in_pod,
        &image,
        "sh",
        "-c",
        killed,
    ]);
    let infra = podman
        .ok(&["pod", "inspect", "--format", "{{.InfraContainerID}}", &pod])
        .trim()
        .to_owned();
    let pid: u32 = podman
        .ok(&["inspect", "--format", "{{.State.Pid}}", &infra])
        .trim()
        .parse()
        .unwrap();

    let doc = listing();
    let ns = namespace(&doc, ipc_inode(pid)).expect("the pod's namespace is listed");
    let commands: Vec<&str> = ns["namespace"]["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["command"].as_str().unwrap())
        .collect();
    assert_eq!(commands, ["catatonit"]);
    assert_eq!(ns["namespace"]["containers"][0]["id"], infra.as_str());
    assert_eq!(ns["sharedmemory"].as_array().unwrap().len(), 1);
    let finding = ns["namespace"]["finding"].as_str().expect("a finding");
    assert!(
        finding.contains(
            "holds 1 object(s) but no process: only the pod's infra container (catatonit) keeps it"
        ),
        "{finding}"
    );
}
