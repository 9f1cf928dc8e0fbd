//! What names each IPC namespace of `--list --all-namespaces`: the Docker
//! and Podman containers in it (by name when their engine's API socket
//! answers), the Kubernetes pods, the nsfs bind mounts that keep it, or
//! the host; and whether only an infra container keeps it.

use std::collections::{BTreeMap, HashMap};

use shm_common::cli::messages::namespaces as words;
use shm_common::transport::census::{IpcNamespace, Member, HOST_IPC};
use shm_common::transport::containers::{Engine, Origin, Pod};
use shm_common::transport::engine_api::{EngineApi, DOCKER_SOCKET, PODMAN_SOCKET};

/// The commands of pod infra containers, which hold a pod's namespaces
/// and nothing else: Kubernetes' `/pause`, Podman's catatonit.
const INFRA: [&str; 2] = ["pause", "catatonit"];

/// Container names, asked of each engine once per container.
pub struct Names {
    docker: Option<EngineApi>,
    podman: Option<EngineApi>,
    known: HashMap<String, Option<String>>,
}

/// A container in a namespace, named.
pub struct Container {
    pub origin: Origin,
    /// Its engine's name for it, when the engine answered.
    pub name: Option<String>,
    /// Its pod, for a Kubernetes container.
    pub pod: Option<Pod>,
}

impl Names {
    /// The engines whose sockets are here.
    pub fn new() -> Self {
        Self {
            docker: EngineApi::at(DOCKER_SOCKET),
            podman: EngineApi::at(PODMAN_SOCKET),
            known: HashMap::new(),
        }
    }

    /// The distinct containers of `ns`'s processes, named, in the order of
    /// their lowest pids (the container that made the namespace first).
    pub fn containers(&mut self, ns: &IpcNamespace) -> Vec<Container> {
        let mut first: BTreeMap<&Origin, &Member> = BTreeMap::new();
        for member in &ns.members {
            if let Some(origin) = &member.origin {
                first.entry(origin).or_insert(member);
            }
        }
        let mut containers: Vec<(u32, Container)> = first
            .into_iter()
            .map(|(origin, member)| {
                let container = Container {
                    name: self.name(origin),
                    pod: (origin.engine == Engine::Kubernetes).then(|| pod_of(ns, origin, member)),
                    origin: origin.clone(),
                };
                (member.pid, container)
            })
            .collect();
        containers.sort_by_key(|(pid, _)| *pid);
        containers.into_iter().map(|(_, c)| c).collect()
    }

    /// The name of a Docker or Podman container, asked once; an engine
    /// that does not answer is not asked again (each try may cost its
    /// timeout).
    fn name(&mut self, origin: &Origin) -> Option<String> {
        if let Some(known) = self.known.get(&origin.id) {
            return known.clone();
        }
        let api = match origin.engine {
            Engine::Docker => &mut self.docker,
            Engine::Podman => &mut self.podman,
            Engine::Kubernetes | Engine::Other => return None,
        };
        let name = match api.as_ref()?.container_name(&origin.id) {
            Ok(name) => name,
            Err(_) => {
                *api = None;
                None
            }
        };
        self.known.insert(origin.id.clone(), name.clone());
        name
    }
}

/// The pod of a Kubernetes container, from the first of the pod's
/// processes in `ns` that shows a name (the infra container shows none).
fn pod_of(ns: &IpcNamespace, origin: &Origin, first: &Member) -> Pod {
    let same_pod = ns.members.iter().filter(|m| {
        m.origin
            .as_ref()
            .is_some_and(|o| o.pod_uid == origin.pod_uid)
    });
    std::iter::once(first)
        .chain(same_pod)
        .map(|m| Pod::of(m.pid))
        .find(|pod| pod.name.is_some())
        .unwrap_or_default()
}

/// The labels of a namespace's heading: `host`, each pod, each other
/// container, each bind mount.
pub fn labels(ns: &IpcNamespace, containers: &[Container]) -> Vec<String> {
    let mut labels = Vec::new();
    if ns.inode == HOST_IPC {
        labels.push(words::HOST.to_owned());
    }
    let mut pods: Vec<&str> = Vec::new();
    for c in containers {
        match (&c.origin.pod_uid, &c.pod) {
            (Some(uid), Some(pod)) => {
                if !pods.contains(&uid.as_str()) {
                    pods.push(uid);
                    labels.push(words::pod_label(
                        pod.name.as_deref(),
                        pod.namespace.as_deref(),
                        uid,
                    ));
                }
            }
            _ => labels.push(words::container_label(
                c.origin.engine.name(),
                c.name.as_deref(),
                c.origin.short_id(),
            )),
        }
    }
    labels.extend(ns.mounts.iter().map(|m| words::mount_label(m)));
    labels
}

/// When no process but a pod's infra container is in `ns`: its command
/// (`Some("")` when no process at all is); `None` when another process is.
pub fn keeper(ns: &IpcNamespace) -> Option<&str> {
    match ns
        .members
        .iter()
        .find(|m| !INFRA.contains(&m.command.as_str()))
    {
        Some(_) => None,
        None => Some(ns.members.first().map_or("", |m| m.command.as_str())),
    }
}
