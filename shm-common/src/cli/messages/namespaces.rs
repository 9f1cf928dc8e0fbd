//! `--list --all-namespaces`: what names an IPC namespace (the containers,
//! pods or processes in it, or the host), the refusal when this process
//! may not enter other namespaces, and the finding of a namespace whose
//! objects no process holds.

use std::path::Path;

use crate::cli::shell::shell_word;
use crate::transport::census::Privilege;
use crate::transport::place::Place;
use crate::transport::procs::printable;

/// The manifest of a pod that lists every namespace of its node.
pub const INVENTORY_MANIFEST: &str = "docs/examples/inventory-pod.yaml";

/// Why every namespace cannot be listed from here, and the fix for the
/// place this process runs in.
pub fn all_namespaces_refused(have: Privilege, place: Place) -> String {
    let mut missing = Vec::new();
    if !have.root {
        missing.push("root");
    }
    if !have.sys_admin {
        missing.push("CAP_SYS_ADMIN (setns into another IPC namespace)");
    }
    if !have.host_pid {
        missing.push("the host's PID namespace (to see other containers' processes in /proc)");
    }
    let fix = match place {
        Place::Host if !have.root => "run it as root: sudo shm_read --list --all-namespaces".to_owned(),
        Place::Host if !have.sys_admin => "run it as root with CAP_SYS_ADMIN, outside whatever drops that capability (setpriv --bounding-set, capsh --drop, systemd's CapabilityBoundingSet=)".to_owned(),
        Place::Host => "run it as root from a shell in the host's PID namespace, outside any `unshare --pid` or container: sudo shm_read --list --all-namespaces".to_owned(),
        Place::Docker => "run its container with `docker run --rm --pid host --cap-add SYS_ADMIN --cap-add SYS_PTRACE --security-opt apparmor=unconfined <image> shm_read --list --all-namespaces`, or run it on the host with sudo".to_owned(),
        Place::Podman => "run its container with `podman run --rm --pid host --cap-add SYS_ADMIN,SYS_PTRACE --security-opt apparmor=unconfined <image> shm_read --list --all-namespaces` as root, or run it on the host with sudo".to_owned(),
        Place::Kubernetes => format!(
            "run it in a pod with hostPID: true and capabilities SYS_ADMIN and SYS_PTRACE, as {INVENTORY_MANIFEST} does"
        ),
    };
    format!(
        "--all-namespaces enters every IPC namespace of the machine, which needs {}; this process lacks {}: {fix}",
        "root with CAP_SYS_ADMIN in the host's PID namespace",
        missing.join(", ")
    )
}

/// The census of `/proc` failed.
pub fn no_census(e: &std::io::Error) -> String {
    format!("cannot read /proc ({e}): --all-namespaces needs /proc mounted, with the host's PID namespace")
}

/// What a container is called in a heading: its engine, then its name and
/// short id, or the id alone when its engine did not answer.
pub fn container_label(engine: &str, name: Option<&str>, short_id: &str) -> String {
    match name {
        Some(name) => format!("{engine} container {} ({short_id})", printable(name)),
        None => format!("{engine} container {short_id}"),
    }
}

/// What a Kubernetes pod is called in a heading: `namespace/name`, as far
/// as its containers show them, and its UID.
pub fn pod_label(name: Option<&str>, namespace: Option<&str>, uid: &str) -> String {
    match (namespace, name) {
        (Some(ns), Some(name)) => format!("pod {}/{} (uid {uid})", printable(ns), printable(name)),
        (None, Some(name)) => format!("pod {} (uid {uid})", printable(name)),
        _ => format!("pod uid {uid}"),
    }
}

/// What a nsfs bind mount is called in a heading.
pub fn mount_label(path: &Path) -> String {
    format!("bind mount {}", printable(&path.to_string_lossy()))
}

/// The heading of one namespace: its inode, then what runs in it.
pub fn namespace_heading(ns: &str, labels: &[String], processes: usize) -> String {
    let what = if labels.is_empty() {
        String::from("no container")
    } else {
        labels.join(", ")
    };
    format!("IPC namespace {ns}: {what}; {processes} process(es)")
}

/// The host's namespace, in a heading.
pub const HOST: &str = "host";

/// The processes of a namespace, at most `shown` of them by pid and
/// command, with how many more `--format json` lists.
pub fn processes_line(processes: &[(u32, &str)], shown: usize) -> String {
    let mut named: Vec<String> = processes
        .iter()
        .take(shown)
        .map(|(pid, command)| format!("pid {pid} {command}"))
        .collect();
    if processes.len() > shown {
        named.push(format!(
            "and {} more (--format json lists them all)",
            processes.len() - shown
        ));
    }
    format!("processes: {}", named.join(", "))
}

/// A namespace whose objects no process holds: only an infra container
/// (`infra` names it) or a bind mount keeps it, and its objects with it.
pub fn orphan_namespace(objects: usize, infra: Option<&str>, mounts: &[&Path]) -> String {
    let keeper = match (infra, mounts.first()) {
        (Some(infra), _) => format!(
            "only the pod's infra container ({}) keeps it: the containers that used them have gone, so remove the objects with the lines above or remove the pod",
            printable(infra)
        ),
        (None, Some(path)) => format!(
            "only the bind mount {} keeps it: remove the objects with the lines above, or `umount {}` to free the namespace and every object in it",
            printable(&path.to_string_lossy()),
            shell_word(&printable(&path.to_string_lossy()))
        ),
        (None, None) => "nothing visible keeps it".to_owned(),
    };
    format!("note: this namespace holds {objects} object(s) but no process: {keeper}")
}

/// Processes whose IPC namespace could not be read; `ptrace`: whether
/// this process holds `CAP_SYS_PTRACE` already.
pub fn unreadable_processes(pids: &[u32], ptrace: bool) -> String {
    let shown: Vec<String> = pids.iter().take(10).map(u32::to_string).collect();
    let more = if pids.len() > 10 { ", ..." } else { "" };
    let why = if ptrace {
        "the kernel refused even with CAP_SYS_PTRACE (a security module's rule, or a process that keeps others out), so a namespace only they are in is not listed"
    } else {
        "add CAP_SYS_PTRACE, and on AppArmor hosts run unconfined, to see namespaces only they are in"
    };
    format!(
        "note: the IPC namespace of {} process(es) could not be read (pid {}{more}): {why}",
        pids.len(),
        shown.join(", ")
    )
}

/// A namespace that could not be entered, or whose tables could not be
/// read once entered.
pub fn not_listed(ns: &str, why: &dyn std::fmt::Display) -> String {
    format!("IPC namespace {ns} could not be listed ({why}); its objects are not shown")
}
