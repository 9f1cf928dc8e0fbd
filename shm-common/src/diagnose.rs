//! Facts for explaining why two processes do not meet: IPC namespaces, the
//! kernel's segment table, and the advice a reader gives when it waits.

use std::fmt;
use std::path::Path;

use crate::beacon::Beacon;
use crate::key::Key;

/// Inode of this process's IPC namespace, from `/proc/self/ns/ipc`
/// (`ipc:[4026531839]`); two processes share System V segments exactly when
/// these are equal.
pub fn ipc_namespace() -> std::io::Result<u64> {
    let link = std::fs::read_link("/proc/self/ns/ipc")?;
    parse_ns_link(&link.to_string_lossy()).ok_or_else(|| {
        std::io::Error::other(format!("unexpected /proc/self/ns/ipc target {link:?}"))
    })
}

fn parse_ns_link(link: &str) -> Option<u64> {
    link.strip_prefix("ipc:[")?.strip_suffix(']')?.parse().ok()
}

/// A namespace inode as the kernel shows it.
pub struct Ns(pub u64);

impl fmt::Display for Ns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ipc:[{}]", self.0)
    }
}

/// One row of `/proc/sysvipc/shm`: readable by anyone, so it names a
/// segment's owner and mode even when `IPC_STAT` is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SysvShmEntry {
    pub key: Key,
    pub shmid: i32,
    pub mode: u16,
    pub size: u64,
    pub nattch: u64,
    pub uid: u32,
}

impl SysvShmEntry {
    /// The row for `key` in this IPC namespace, if any.
    pub fn find(key: Key) -> Option<Self> {
        let table = std::fs::read_to_string("/proc/sysvipc/shm").ok()?;
        let found = Self::parse_table(&table).find(|e| e.key == key);
        found
    }

    /// Rows of the table (header line skipped, malformed lines ignored).
    /// Columns: key shmid perms (octal) size cpid lpid nattch uid ...
    pub fn parse_table(table: &str) -> impl Iterator<Item = Self> + '_ {
        table.lines().skip(1).filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            Some(Self {
                key: Key(cols.first()?.parse().ok()?),
                shmid: cols.get(1)?.parse().ok()?,
                mode: (u32::from_str_radix(cols.get(2)?, 8).ok()? & 0o777) as u16,
                size: cols.get(3)?.parse().ok()?,
                nattch: cols.get(6)?.parse().ok()?,
                uid: cols.get(7)?.parse().ok()?,
            })
        })
    }
}

/// What a reader can see while no segment answers, and the fix it implies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Absence {
    /// The key file is not there: no writer shares this `/dev/shm`.
    NoKeyFile,
    /// The key file is there but holds no beacon (a C writer's file, or a
    /// writer that has not written one yet).
    NoBeacon,
    /// The beacon names a writer in another IPC namespace.
    OtherNamespace { beacon: Beacon },
    /// The beacon names a writer in this namespace that has stopped.
    WriterStopped { beacon: Beacon },
    /// The beacon names a running writer in this namespace, but its segment
    /// is gone (it was killed, or the segment was removed with ipcrm).
    WriterGone { beacon: Beacon },
}

/// The sentence that names how to put reader and writer in one IPC namespace.
pub const JOIN_FIX: &str = "run both in one IPC namespace: `docker run --ipc container:<writer> ...` with the writer started `--ipc shareable`, Compose `ipc: \"service:<writer>\"`, both containers in one Kubernetes pod, or `--ipc host` for both";

impl Absence {
    /// Classify what a reader in namespace `own_ns` sees for `key_file`.
    pub fn classify(key_file_exists: bool, beacon: Option<Beacon>, own_ns: u64) -> Self {
        match beacon {
            _ if !key_file_exists => Absence::NoKeyFile,
            None => Absence::NoBeacon,
            Some(b) if b.ipc_ns != own_ns => Absence::OtherNamespace { beacon: b },
            Some(b) if b.stopped() => Absence::WriterStopped { beacon: b },
            Some(b) => Absence::WriterGone { beacon: b },
        }
    }

    /// A full explanation for a reader that finds no segment for `key`.
    pub fn explain(&self, key_file: &Path, key: Option<Key>, own_ns: u64) -> String {
        let key_text = key.map_or_else(|| "the writer's key".to_owned(), |k| format!("key {k}"));
        let here = Ns(own_ns);
        match self {
            Absence::NoKeyFile => format!(
                "key file {} does not exist in this reader's /dev/shm (IPC namespace {here}): either no writer has started yet, or it runs in another container or IPC namespace with its own /dev/shm; {JOIN_FIX}",
                key_file.display()
            ),
            Absence::NoBeacon => format!(
                "no segment with {key_text} in this IPC namespace ({here}), though key file {} exists (without a shm_write beacon): the writer has not created its segment yet, or it runs in another IPC namespace that shares this /dev/shm; {JOIN_FIX}",
                key_file.display()
            ),
            Absence::OtherNamespace { beacon } => format!(
                "no segment with {key_text} in this IPC namespace ({here}): key file {} says writer pid {} publishes to {} in IPC namespace {}, which is not this reader's; the /dev/shm is shared but the IPC namespace is not; {JOIN_FIX}",
                key_file.display(),
                beacon.pid,
                beacon.key,
                Ns(beacon.ipc_ns)
            ),
            Absence::WriterStopped { beacon } => format!(
                "no segment with {key_text}: writer pid {} (IPC namespace {}) stopped cleanly; waiting for a new writer",
                beacon.pid,
                Ns(beacon.ipc_ns)
            ),
            Absence::WriterGone { beacon } => format!(
                "no segment with {key_text}: writer pid {} in this IPC namespace ({here}) left no segment (killed, or the segment was removed with ipcrm); waiting for a new writer",
                beacon.pid
            ),
        }
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
    }

    #[test]
    fn parses_sysvipc_table() {
        let table = "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap\n 134226981          3   600                  4096   123   456      2     0     0     0     0 1700000000          0 1700000000                  4096                     0\n";
        let rows: Vec<_> = SysvShmEntry::parse_table(table).collect();
        assert_eq!(
            rows,
            vec![SysvShmEntry {
                key: Key(134226981),
                shmid: 3,
                mode: 0o600,
                size: 4096,
                nattch: 2,
                uid: 0
            }]
        );
    }
}
