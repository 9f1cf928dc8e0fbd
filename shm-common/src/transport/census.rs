//! Every IPC namespace of the machine, as a process with the host's PID
//! namespace sees it: one pass over `/proc` groups the processes by
//! `/proc/<pid>/ns/ipc`, and `/proc/self/mountinfo` adds the namespaces
//! that nsfs bind mounts keep alive. [`within`] runs work inside one of
//! them on a fresh thread (`setns` moves only the calling thread into an
//! IPC namespace), so the caller's namespaces never change and no thread
//! that entered one is used for anything else.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use nix::sched::{setns, CloneFlags};

use super::containers::Origin;
use super::namespace::parse_ns_link;
use super::procs::printable;

/// The inode of the initial (host's) IPC namespace (`PROC_IPC_INIT_INO`).
pub const HOST_IPC: u64 = 0xEFFF_FFFF;
/// The inode of the initial (host's) PID namespace (`PROC_PID_INIT_INO`).
const HOST_PID: u64 = 0xEFFF_FFFC;
/// `CAP_SYS_ADMIN`, which `setns` into an IPC namespace needs.
const CAP_SYS_ADMIN: u32 = 21;
/// `CAP_SYS_PTRACE`, which reading the `/proc` files of processes with
/// other uids or more capabilities needs.
const CAP_SYS_PTRACE: u32 = 19;
/// `PF_KTHREAD` in `/proc/<pid>/stat`'s flags: a kernel thread.
const PF_KTHREAD: u64 = 0x0020_0000;

/// A process in an IPC namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Its pid.
    pub pid: u32,
    /// Its command name, control characters escaped.
    pub command: String,
    /// The container it runs in, if any.
    pub origin: Option<Origin>,
}

/// One IPC namespace and what keeps it alive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpcNamespace {
    /// Its inode (`ipc:[inode]`).
    pub inode: u64,
    /// The processes in it (kernel threads aside), by pid.
    pub members: Vec<Member>,
    /// The nsfs bind mounts of it in this mount namespace.
    pub mounts: Vec<PathBuf>,
}

/// Every IPC namespace found, the host's first, then by inode.
#[derive(Debug, Clone, Default)]
pub struct Census {
    /// The namespaces.
    pub namespaces: Vec<IpcNamespace>,
    /// Processes whose namespace this process may not read.
    pub unreadable: Vec<u32>,
}

impl Census {
    /// Take the census: every process in `/proc`, and the nsfs mounts.
    pub fn take() -> std::io::Result<Self> {
        let mut by_inode: BTreeMap<u64, IpcNamespace> = BTreeMap::new();
        let mut unreadable = Vec::new();
        for entry in std::fs::read_dir("/proc")?.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let Some((command, kernel)) = stat(pid) else {
                continue;
            };
            if kernel {
                continue;
            }
            let inode = match std::fs::read_link(format!("/proc/{pid}/ns/ipc")) {
                Ok(link) => match parse_ns_link(&link.to_string_lossy()) {
                    Some(inode) => inode,
                    None => continue,
                },
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                    unreadable.push(pid);
                    continue;
                }
                Err(_) => continue,
            };
            let origin = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
                .ok()
                .and_then(|c| Origin::from_cgroup(&c));
            namespace(&mut by_inode, inode).members.push(Member {
                pid,
                command,
                origin,
            });
        }
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        for (inode, path) in nsfs_mounts(&mountinfo) {
            namespace(&mut by_inode, inode).mounts.push(path);
        }
        let mut namespaces: Vec<IpcNamespace> = by_inode.into_values().collect();
        for ns in &mut namespaces {
            ns.members.sort_by_key(|m| m.pid);
        }
        namespaces.sort_by_key(|ns| (ns.inode != HOST_IPC, ns.inode));
        unreadable.sort_unstable();
        Ok(Self {
            namespaces,
            unreadable,
        })
    }
}

fn namespace(by_inode: &mut BTreeMap<u64, IpcNamespace>, inode: u64) -> &mut IpcNamespace {
    by_inode.entry(inode).or_insert_with(|| IpcNamespace {
        inode,
        members: Vec::new(),
        mounts: Vec::new(),
    })
}

/// A process's command name (escaped) and whether it is a kernel thread,
/// from `/proc/<pid>/stat` (`pid (comm) state ppid ... flags ...`).
fn stat(pid: u32) -> Option<(String, bool)> {
    let stat = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    let open = stat.iter().position(|b| *b == b'(')?;
    let close = stat.iter().rposition(|b| *b == b')')?;
    let command = printable(&String::from_utf8_lossy(stat.get(open + 1..close)?));
    let rest = String::from_utf8_lossy(stat.get(close + 1..)?).into_owned();
    let flags: u64 = rest.split_whitespace().nth(6)?.parse().ok()?;
    Some((command, flags & PF_KTHREAD != 0))
}

/// The IPC namespaces bound on paths (nsfs mounts whose root is
/// `ipc:[N]`), from a mountinfo file, with their mount points unescaped.
fn nsfs_mounts(mountinfo: &str) -> Vec<(u64, PathBuf)> {
    mountinfo
        .lines()
        .filter_map(|line| {
            let (fields, fs) = line.split_once(" - ")?;
            if fs.split_whitespace().next()? != "nsfs" {
                return None;
            }
            let mut fields = fields.split_whitespace();
            let inode = parse_ns_link(fields.nth(3)?)?;
            Some((inode, unescape(fields.next()?)))
        })
        .collect()
}

/// A mountinfo path, whose space, tab, newline and backslash are `\ooo`.
fn unescape(field: &str) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match (bytes[i], octal) {
            (b'\\', Some(d)) => {
                out.push(d.iter().fold(0u8, |n, b| n.wrapping_mul(8) + (b - b'0')));
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    PathBuf::from(std::ffi::OsString::from_vec(out))
}

/// What listing every namespace needs and this process lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Privilege {
    /// Runs as root (effective uid 0).
    pub root: bool,
    /// Holds `CAP_SYS_ADMIN`, without which `setns` fails.
    pub sys_admin: bool,
    /// Holds `CAP_SYS_PTRACE`, without which some processes' `/proc`
    /// files may not be read (not needed, but the listing may miss them).
    pub sys_ptrace: bool,
    /// Runs in the host's PID namespace, without which other containers'
    /// processes are not in `/proc`.
    pub host_pid: bool,
}

impl Privilege {
    /// This process's.
    pub fn here() -> Self {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let effective = status
            .lines()
            .find_map(|l| l.strip_prefix("CapEff:"))
            .and_then(|caps| u64::from_str_radix(caps.trim(), 16).ok())
            .unwrap_or(0);
        let pid_ns = std::fs::metadata("/proc/self/ns/pid").map(|m| m.ino()).ok();
        Self {
            root: nix::unistd::geteuid().is_root(),
            sys_admin: effective & (1 << CAP_SYS_ADMIN) != 0,
            sys_ptrace: effective & (1 << CAP_SYS_PTRACE) != 0,
            host_pid: pid_ns == Some(HOST_PID),
        }
    }

    /// Whether every namespace can be listed.
    pub fn suffices(self) -> bool {
        self.root && self.sys_admin && self.host_pid
    }
}

/// Why a namespace could not be entered.
#[derive(Debug, thiserror::Error)]
pub enum EnterError {
    /// No process or mount of it is left to enter it by.
    #[error("no process or mount of the namespace is left")]
    Gone,
    /// `setns` refused.
    #[error("setns: {0}")]
    Refused(nix::Error),
}

/// What a namespace was entered by: a process's `/proc/<pid>/ns/ipc`, or
/// an nsfs bind mount of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// Process `pid`'s namespace link.
    Process(u32),
    /// A bind mount of the namespace.
    Mount(PathBuf),
}

impl Via {
    /// The namespace file (`nsenter --ipc=<file>`).
    pub fn file(&self) -> PathBuf {
        match self {
            Self::Process(pid) => PathBuf::from(format!("/proc/{pid}/ns/ipc")),
            Self::Mount(path) => path.clone(),
        }
    }
}

/// Run `work` on a fresh thread inside IPC namespace `ns`, entered by the
/// first of its members' `/proc/<pid>/ns/ipc` (or its mounts) that still
/// is that namespace, and return what it returns; `work` is told which.
/// The thread ends with `work`: nothing else ever runs in the namespace it
/// entered.
pub fn within<T: Send>(
    ns: &IpcNamespace,
    work: impl FnOnce(&Via) -> T + Send,
) -> Result<T, EnterError> {
    let (via, handle) = ns
        .members
        .iter()
        .map(|m| Via::Process(m.pid))
        .chain(ns.mounts.iter().cloned().map(Via::Mount))
        .filter_map(|via| File::open(via.file()).ok().map(|file| (via, file)))
        .find(|(_, file)| file.metadata().is_ok_and(|m| m.ino() == ns.inode))
        .ok_or(EnterError::Gone)?;
    std::thread::scope(|scope| {
        scope
            .spawn(move || {
                setns(&handle, CloneFlags::CLONE_NEWIPC).map_err(EnterError::Refused)?;
                Ok(work(&via))
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nsfs_mounts_and_kernel_threads() {
        let mountinfo = "22 1 0:4 ipc:[4026532301] /run/ipc\\040ns rw - nsfs nsfs rw\n\
                         23 1 0:4 net:[4026532302] /run/netns/a rw - nsfs nsfs rw\n\
                         24 1 0:22 / /dev/shm rw - tmpfs tmpfs rw\n";
        assert_eq!(
            nsfs_mounts(mountinfo),
            vec![(4026532301, PathBuf::from("/run/ipc ns"))]
        );
        assert_eq!(unescape("a\\134b\\0"), PathBuf::from("a\\b\\0"));
        assert_eq!(parse_ns_link("ipc:[4026531839]"), Some(HOST_IPC));
        let (command, kernel) = stat(std::process::id()).unwrap();
        assert!(!kernel && !command.is_empty());
    }
}
