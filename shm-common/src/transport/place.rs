//! Where this process runs, as far as its engine tells: the marker files
//! Docker and Podman put in every container, and the variable Kubernetes
//! sets in every pod. Facts only: what to advise in each place is the
//! messages' business.

use std::path::Path;

/// The file Docker creates in every container.
const DOCKER_MARK: &str = "/.dockerenv";
/// The file Podman (and CRI-O) creates in every container.
const PODMAN_MARK: &str = "/run/.containerenv";
/// The variable the kubelet sets in every container of a pod.
const KUBERNETES_VAR: &str = "KUBERNETES_SERVICE_HOST";

/// Where this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// A Docker container.
    Docker,
    /// A Podman container.
    Podman,
    /// A container of a Kubernetes pod, whatever its runtime.
    Kubernetes,
    /// None of these: a shell on a host (or an engine that leaves no mark).
    Host,
}

impl Place {
    /// Where this process runs. A marker counts when it is a regular file:
    /// one masked with `/dev/null` bound over it, as container runtimes
    /// mask paths, does not.
    pub fn here() -> Self {
        Self::from_marks(
            Path::new(DOCKER_MARK).is_file(),
            Path::new(PODMAN_MARK).is_file(),
            std::env::var_os(KUBERNETES_VAR).is_some_and(|v| !v.is_empty()),
        )
    }

    /// The place the marks tell. A pod is a pod whatever runs its
    /// containers; Podman's mark is checked before Docker's, which an
    /// image built by Docker may carry in its files.
    pub fn from_marks(docker: bool, podman: bool, kubernetes: bool) -> Self {
        match (docker, podman, kubernetes) {
            (_, _, true) => Place::Kubernetes,
            (_, true, false) => Place::Podman,
            (true, false, false) => Place::Docker,
            (false, false, false) => Place::Host,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marks_name_one_place() {
        assert_eq!(Place::from_marks(false, false, false), Place::Host);
        assert_eq!(Place::from_marks(true, false, false), Place::Docker);
        assert_eq!(Place::from_marks(false, true, false), Place::Podman);
        assert_eq!(Place::from_marks(true, true, false), Place::Podman);
        for docker in [false, true] {
            for podman in [false, true] {
                assert_eq!(Place::from_marks(docker, podman, true), Place::Kubernetes);
            }
        }
        // Whatever this machine is, it is one of them.
        let _ = Place::here();
    }
}
