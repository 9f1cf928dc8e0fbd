//! Why the kernel refused to create a segment. One errno stands for
//! several limits (`ENOSPC` is the namespace's total, `shmall`, or its
//! count, `shmmni`), so the advice must come from the limits themselves:
//! those of this IPC namespace in `/proc/sys/kernel/shm*`, what its
//! segments already use in `/proc/sysvipc/shm`, and the machine's memory.

use nix::errno::Errno;
use nix::unistd::{sysconf, SysconfVar};

use super::table::TableEntry;

/// What stopped `shmget(IPC_CREAT)` of a segment, as the kernel's numbers
/// tell (`newseg` in ipc/shm.c checks them in this order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// `EINVAL`: larger than one segment may be in this IPC namespace.
    Shmmax {
        /// `kernel.shmmax`, in bytes.
        max: u64,
    },
    /// `ENOSPC`: this namespace's segments would exceed their total.
    Shmall {
        /// `kernel.shmall`, in pages.
        max_pages: u64,
        /// Pages the namespace's segments already hold.
        used_pages: u64,
        /// Pages the new segment needs.
        needed_pages: u64,
        /// Bytes per page.
        page: u64,
    },
    /// `ENOSPC`: this namespace holds as many segments as it may.
    Shmmni {
        /// `kernel.shmmni`.
        max: u64,
    },
    /// `ENOMEM`: the kernel would not commit the memory.
    Memory {
        /// `MemTotal` of `/proc/meminfo`, in bytes.
        ram: u64,
        /// `SwapTotal`, in bytes.
        swap: u64,
        /// `vm.overcommit_memory` (0 heuristic, 1 always, 2 never).
        overcommit: u64,
    },
    /// None of these explains it (or `/proc` cannot be read).
    Unknown,
}

impl Limit {
    /// The limit a create of `size` bytes ran into, given its errno.
    pub fn of(errno: Errno, size: usize) -> Self {
        let size = size as u64;
        match errno {
            Errno::EINVAL => match kernel("shmmax") {
                Some(max) if size > max => Limit::Shmmax { max },
                _ => Limit::Unknown,
            },
            Errno::ENOSPC => {
                let page = sysconf(SysconfVar::PAGE_SIZE)
                    .ok()
                    .flatten()
                    .map_or(4096, |p| p as u64);
                let segments = TableEntry::all().unwrap_or_default();
                let used_pages: u64 = segments.iter().map(|s| s.size.div_ceil(page)).sum();
                let needed_pages = size.div_ceil(page);
                match (kernel("shmall"), kernel("shmmni")) {
                    (Some(max_pages), _) if used_pages.saturating_add(needed_pages) > max_pages => {
                        Limit::Shmall {
                            max_pages,
                            used_pages,
                            needed_pages,
                            page,
                        }
                    }
                    (_, Some(max)) if segments.len() as u64 >= max => Limit::Shmmni { max },
                    _ => Limit::Unknown,
                }
            }
            Errno::ENOMEM => Limit::Memory {
                ram: meminfo("MemTotal").unwrap_or(0),
                swap: meminfo("SwapTotal").unwrap_or(0),
                overcommit: read_number("/proc/sys/vm/overcommit_memory").unwrap_or(0),
            },
            _ => Limit::Unknown,
        }
    }
}

/// `/proc/sys/kernel/<name>`: this IPC namespace's value.
fn kernel(name: &str) -> Option<u64> {
    read_number(&format!("/proc/sys/kernel/{name}"))
}

fn read_number(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// A `/proc/meminfo` line, in bytes.
fn meminfo(name: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))?;
    let kib: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_namespaces_limits() {
        let max = kernel("shmmax").expect("/proc/sys/kernel/shmmax");
        if let Some(over) = max.checked_add(1) {
            assert_eq!(
                Limit::of(Errno::EINVAL, over as usize),
                Limit::Shmmax { max }
            );
        }
        assert_eq!(Limit::of(Errno::EINVAL, 1), Limit::Unknown);
        assert!(meminfo("MemTotal").is_some_and(|b| b > 0));
        assert!(matches!(
            Limit::of(Errno::ENOMEM, 1 << 50),
            Limit::Memory { ram, .. } if ram > 0
        ));
    }
}
