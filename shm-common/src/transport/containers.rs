//! Which container a process runs in, from the cgroup path its engine gave
//! it (`/proc/<pid>/cgroup`): the engine, the container's id and, in a
//! Kubernetes pod, the pod's UID; and the pod's name and namespace where
//! the container shows them (its `HOSTNAME`, its service account's
//! namespace file). Facts only, read as this process may read them.

use std::path::PathBuf;

/// The engine that made a container, as its cgroup path tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Engine {
    /// `/docker/<id>`, `docker-<id>.scope`.
    Docker,
    /// `libpod-<id>`, `libpod-<id>.scope`.
    Podman,
    /// A container of a Kubernetes pod (`kubepods`), whatever its runtime.
    Kubernetes,
    /// Another engine (`cri-containerd-<id>.scope`, `crio-<id>.scope`, ...).
    Other,
}

impl Engine {
    /// Its lower-case name (`docker`, `podman`, `kubernetes`, `other`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Docker => "docker",
            Self::Podman => "podman",
            Self::Kubernetes => "kubernetes",
            Self::Other => "other",
        }
    }
}

/// The container a process runs in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Origin {
    /// The full 64-hex-digit container id.
    pub id: String,
    /// The engine that made it.
    pub engine: Engine,
    /// The pod's UID, for a container of a Kubernetes pod.
    pub pod_uid: Option<String>,
}

impl Origin {
    /// The container a process with this cgroup file runs in: the last
    /// 64-hex-digit run in its paths (a Podman pod's cgroup holds the pod's
    /// id before the container's), or `None` outside any container.
    pub fn from_cgroup(cgroup: &str) -> Option<Self> {
        cgroup.lines().find_map(|line| {
            let path = line.splitn(3, ':').nth(2)?;
            let id = path
                .split(|c: char| !c.is_ascii_hexdigit())
                .rfind(|run| run.len() == 64)?;
            let engine = if path.contains("kubepods") {
                Engine::Kubernetes
            } else if path.contains("docker") {
                Engine::Docker
            } else if path.contains("libpod") {
                Engine::Podman
            } else {
                Engine::Other
            };
            Some(Self {
                id: id.to_owned(),
                engine,
                pod_uid: pod_uid(path),
            })
        })
    }

    /// The first 12 hex digits of the id, as `docker ps` shows it.
    pub fn short_id(&self) -> &str {
        &self.id[..12]
    }
}

/// The pod UID in a kubelet's cgroup path: `pod<uid>` with dashes
/// (cgroupfs) or underscores (systemd slices).
fn pod_uid(path: &str) -> Option<String> {
    path.match_indices("pod").find_map(|(at, _)| {
        let uid: String = path[at + 3..].chars().take(36).collect();
        let shape = uid.len() == 36
            && uid.char_indices().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => c == '-' || c == '_',
                _ => c.is_ascii_hexdigit(),
            });
        shape.then(|| uid.replace('_', "-"))
    })
}

/// The pod a container belongs to, as far as the container shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pod {
    /// The pod's name: the kubelet sets every container's `HOSTNAME` to it.
    pub name: Option<String>,
    /// The pod's Kubernetes namespace, from its service account's
    /// `namespace` file when one is mounted.
    pub namespace: Option<String>,
}

/// Where the kubelet mounts a pod's service account, below `var/run`,
/// which most images make a symlink to `/run`.
const SERVICE_ACCOUNT_NAMESPACE: &str = "secrets/kubernetes.io/serviceaccount/namespace";

impl Pod {
    /// The pod of process `pid`, read from its environment and its root.
    pub fn of(pid: u32) -> Self {
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        let name = environ
            .split(|b| *b == 0)
            .find_map(|var| var.strip_prefix(b"HOSTNAME="))
            .map(|n| String::from_utf8_lossy(n).into_owned());
        Self {
            name,
            namespace: service_account_namespace(pid),
        }
    }
}

/// The namespace file of a service account mounted in process `pid`'s
/// root. Through `/proc/<pid>/root`, an absolute symlink resolves against
/// this process's root, not the container's: so `var/run` is followed only
/// when it is a directory there, and `run` (where it points) is tried
/// first.
fn service_account_namespace(pid: u32) -> Option<String> {
    let root = PathBuf::from(format!("/proc/{pid}/root"));
    let var_run = root.join("var/run");
    let under = std::iter::once(root.join("run")).chain(
        std::fs::symlink_metadata(&var_run)
            .is_ok_and(|m| m.is_dir())
            .then_some(var_run),
    );
    under
        .filter_map(|dir| std::fs::read_to_string(dir.join(SERVICE_ACCOUNT_NAMESPACE)).ok())
        .map(|n| n.trim().to_owned())
        .find(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_engines_ids_and_pods_from_cgroups() {
        let id = "a".repeat(64);
        let pod = "b".repeat(64);
        let of = |cgroup: String| Origin::from_cgroup(&cgroup);
        let docker = of(format!("0::/system.slice/docker-{id}.scope\n")).unwrap();
        assert_eq!(
            (docker.engine, docker.short_id()),
            (Engine::Docker, "aaaaaaaaaaaa")
        );
        assert_eq!(
            of(format!("12:memory:/docker/{id}\n")).unwrap().engine,
            Engine::Docker
        );
        let podman = of(format!("0::/libpod_parent/{pod}/libpod-{id}\n")).unwrap();
        assert_eq!((podman.engine, podman.id), (Engine::Podman, id.clone()));
        let kube = of(format!(
            "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1f2e3d4c_0000_4111_8222_0123456789ab.slice/cri-containerd-{id}.scope\n"
        ))
        .unwrap();
        assert_eq!(kube.engine, Engine::Kubernetes);
        assert_eq!(
            kube.pod_uid.as_deref(),
            Some("1f2e3d4c-0000-4111-8222-0123456789ab")
        );
        let cgroupfs = of(format!(
            "4:memory:/kubepods/burstable/pod1f2e3d4c-0000-4111-8222-0123456789ab/{id}\n"
        ))
        .unwrap();
        assert_eq!(
            cgroupfs.pod_uid.as_deref(),
            Some("1f2e3d4c-0000-4111-8222-0123456789ab")
        );
        assert_eq!(
            of(format!("0::/crio-{id}.scope\n")).unwrap().engine,
            Engine::Other
        );
        assert_eq!(of("0::/user.slice\n".to_owned()), None);
        assert_eq!(pod_uid("/system.slice/podman.service"), None);
    }
}
