//! The namespace probe: which IPC namespace this process is in. Two
//! processes share System V segments exactly when these are equal.

use std::fmt;

/// Inode of this process's IPC namespace, from `/proc/self/ns/ipc`
/// (`ipc:[4026531839]`).
pub fn ipc_namespace() -> std::io::Result<u64> {
    ipc_namespace_of("self")
}

/// Inode of the calling thread's IPC namespace
/// (`/proc/thread-self/ns/ipc`): after `setns` on one thread it differs
/// from the process's, which `/proc/self` names.
pub fn thread_ipc_namespace() -> std::io::Result<u64> {
    ipc_namespace_of("thread-self")
}

/// The inode the kernel gives the initial PID namespace
/// (`PROC_PID_INIT_INO`, fixed in `<linux/proc_ns.h>`).
const INITIAL_PID_NS: &str = "pid:[4026531836]";

/// Whether this process sees every process of the machine: it runs in the
/// initial PID namespace. Elsewhere (a container) an IPC namespace may
/// hold processes it cannot see, so their absence proves nothing.
pub fn sees_every_process() -> bool {
    std::fs::read_link("/proc/self/ns/pid")
        .is_ok_and(|link| link.to_string_lossy() == INITIAL_PID_NS)
}

/// Inode of the IPC namespace of process `pid` (`"self"`, or a number), as
/// far as this process may see it.
pub fn ipc_namespace_of(pid: &str) -> std::io::Result<u64> {
    let path = format!("/proc/{pid}/ns/ipc");
    let link = std::fs::read_link(&path)?;
    parse_ns_link(&link.to_string_lossy())
        .ok_or_else(|| std::io::Error::other(format!("unexpected {path} target {link:?}")))
}

/// The inode of an `ipc:[N]` namespace link (or nsfs mount root).
pub(crate) fn parse_ns_link(link: &str) -> Option<u64> {
    link.strip_prefix("ipc:[")?.strip_suffix(']')?.parse().ok()
}

/// An IPC namespace inode, shown as the kernel shows it (`ipc:[4026531839]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ns(pub u64);

impl fmt::Display for Ns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ipc:[{}]", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_namespace_links() {
        assert_eq!(parse_ns_link("ipc:[4026531839]"), Some(4026531839));
        assert_eq!(parse_ns_link("net:[1]"), None);
        assert!(ipc_namespace().unwrap() > 0);
        assert_eq!(thread_ipc_namespace().unwrap(), ipc_namespace().unwrap());
        assert_eq!(Ns(7).to_string(), "ipc:[7]");
    }
}
