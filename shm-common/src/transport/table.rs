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
}

impl TableEntry {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sysvipc_table() {
        let table = "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap\n 134226981          3   600                  4096   123   456      2     0     0     0     0 1700000000          0 1700000000                  4096                     0\n";
        let rows: Vec<_> = TableEntry::parse_table(table).collect();
        assert_eq!(
            rows,
            vec![TableEntry {
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
