//! The kernel's segment table, `/proc/sysvipc/shm`: readable by anyone, so
//! it names a segment's owner and mode even when `IPC_STAT` is refused, and
//! lists every segment of this IPC namespace.

use super::key::Key;

/// One row of `/proc/sysvipc/shm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableEntry {
    /// The segment's key.
    pub key: Key,
    /// Its id.
    pub shmid: i32,
    /// Permission bits.
    pub mode: u16,
    /// Size in bytes.
    pub size: u64,
    /// Processes attached.
    pub nattch: u64,
    /// Owner's uid.
    pub uid: u32,
    /// The rest of the row, for listings.
    pub more: TableMore,
}

/// The columns of a row that only listings need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TableMore {
    /// `IPC_RMID` was asked; freed with the last detach (`ipcs`: "dest").
    pub dest: bool,
    /// Locked in memory with `SHM_LOCK` (`ipcs`: "locked").
    pub locked: bool,
    /// Creator's and last attacher's pids, as this pid namespace sees them.
    pub cpid: i32,
    /// See `cpid`.
    pub lpid: i32,
    /// Owner's gid.
    pub gid: u32,
    /// Creator's uid.
    pub cuid: u32,
    /// Creator's gid.
    pub cgid: u32,
    /// Unix seconds of the last attach, detach and change (0: never).
    pub atime: i64,
    /// See `atime`.
    pub dtime: i64,
    /// See `atime`.
    pub ctime: i64,
    /// Bytes of the segment resident in memory.
    pub rss: u64,
    /// Bytes of the segment swapped out: pages that are not resident but
    /// not zeros either.
    pub swap: u64,
}

/// `shm_perm.mode` bits beside the permissions (`<linux/shm.h>`).
const SHM_DEST: u32 = 0o1000;
const SHM_LOCKED: u32 = 0o2000;

impl TableEntry {
    /// The row for `key` in this IPC namespace, if any.
    pub fn find(key: Key) -> Option<Self> {
        let table = std::fs::read_to_string("/proc/sysvipc/shm").ok()?;
        let found = Self::parse_table(&table).find(|e| e.key == key);
        found
    }

    /// Every row of this IPC namespace's table, in shmid order.
    pub fn all() -> std::io::Result<Vec<Self>> {
        let table = std::fs::read_to_string("/proc/sysvipc/shm")?;
        let mut rows: Vec<Self> = Self::parse_table(&table).collect();
        rows.sort_by_key(|r| r.shmid);
        Ok(rows)
    }

    /// Rows of the table (header line skipped, malformed lines ignored).
    /// Columns: key shmid perms (octal) size cpid lpid nattch uid gid cuid
    /// cgid atime dtime ctime rss swap
    pub fn parse_table(table: &str) -> impl Iterator<Item = Self> + '_ {
        table.lines().skip(1).filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let col = |i: usize| cols.get(i).copied().unwrap_or("0");
            let perms = u32::from_str_radix(cols.get(2)?, 8).ok()?;
            Some(Self {
                key: Key(cols.first()?.parse().ok()?),
                shmid: cols.get(1)?.parse().ok()?,
                mode: (perms & 0o777) as u16,
                size: cols.get(3)?.parse().ok()?,
                nattch: cols.get(6)?.parse().ok()?,
                uid: cols.get(7)?.parse().ok()?,
                more: TableMore {
                    dest: perms & SHM_DEST != 0,
                    locked: perms & SHM_LOCKED != 0,
                    cpid: col(4).parse().unwrap_or(0),
                    lpid: col(5).parse().unwrap_or(0),
                    gid: col(8).parse().unwrap_or(0),
                    cuid: col(9).parse().unwrap_or(0),
                    cgid: col(10).parse().unwrap_or(0),
                    atime: col(11).parse().unwrap_or(0),
                    dtime: col(12).parse().unwrap_or(0),
                    ctime: col(13).parse().unwrap_or(0),
                    rss: col(14).parse().unwrap_or(0),
                    swap: col(15).parse().unwrap_or(0),
                },
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sysvipc_table() {
        let table = "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap\n 134226981          3   600                  4096   123   456      2     0     0     0     0 1700000000          0 1700000000                  4096                  8192\n";
        let rows: Vec<_> = TableEntry::parse_table(table).collect();
        assert_eq!(
            rows,
            vec![TableEntry {
                key: Key(134226981),
                shmid: 3,
                mode: 0o600,
                size: 4096,
                nattch: 2,
                uid: 0,
                more: TableMore {
                    cpid: 123,
                    lpid: 456,
                    atime: 1700000000,
                    ctime: 1700000000,
                    rss: 4096,
                    swap: 8192,
                    ..TableMore::default()
                }
            }]
        );
    }
}
