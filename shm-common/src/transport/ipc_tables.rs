//! The kernel's message-queue and semaphore-set tables,
//! `/proc/sysvipc/msg` and `/proc/sysvipc/sem`, as [`table`](super::table)
//! reads the segments'. The kernel picks the IPC namespace of the thread
//! that opens the file (and shows pids as that thread's PID namespace
//! sees them), so a thread that entered another IPC namespace with
//! `setns` reads that namespace's tables here.

use super::key::Key;

/// One row of `/proc/sysvipc/msg`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MsgEntry {
    /// The queue's key.
    pub key: Key,
    /// Its id.
    pub msqid: i32,
    /// Permission bits.
    pub mode: u16,
    /// Bytes queued.
    pub cbytes: u64,
    /// Messages queued.
    pub qnum: u64,
    /// The last sender's and receiver's pids (0: none yet).
    pub lspid: i32,
    /// See `lspid`.
    pub lrpid: i32,
    /// Owner's uid.
    pub uid: u32,
    /// Owner's gid.
    pub gid: u32,
    /// Creator's uid.
    pub cuid: u32,
    /// Creator's gid.
    pub cgid: u32,
    /// Unix seconds of the last send, receive and change (0: never).
    pub stime: i64,
    /// See `stime`.
    pub rtime: i64,
    /// See `stime`.
    pub ctime: i64,
}

/// One row of `/proc/sysvipc/sem`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SemEntry {
    /// The set's key.
    pub key: Key,
    /// Its id.
    pub semid: i32,
    /// Permission bits.
    pub mode: u16,
    /// Semaphores in the set.
    pub nsems: u64,
    /// Owner's uid.
    pub uid: u32,
    /// Owner's gid.
    pub gid: u32,
    /// Creator's uid.
    pub cuid: u32,
    /// Creator's gid.
    pub cgid: u32,
    /// Unix seconds of the last `semop` (0: never) and change.
    pub otime: i64,
    /// See `otime`.
    pub ctime: i64,
}

impl MsgEntry {
    /// Every queue of the calling thread's IPC namespace, in id order.
    pub fn all() -> std::io::Result<Vec<Self>> {
        Ok(Self::parse_table(&std::fs::read_to_string(
            "/proc/sysvipc/msg",
        )?))
    }

    /// The rows of a table's text, in id order.
    pub fn parse_table(table: &str) -> Vec<Self> {
        let mut rows = parse(table, |c| {
            Some(Self {
                key: Key(c.int(0)?),
                msqid: c.int(1)?,
                mode: c.mode(2)?,
                cbytes: c.int(3)?,
                qnum: c.int(4)?,
                lspid: c.int(5)?,
                lrpid: c.int(6)?,
                uid: c.int(7)?,
                gid: c.int(8)?,
                cuid: c.int(9)?,
                cgid: c.int(10)?,
                stime: c.int(11)?,
                rtime: c.int(12)?,
                ctime: c.int(13)?,
            })
        });
        rows.sort_by_key(|r| r.msqid);
        rows
    }
}

impl SemEntry {
    /// Every semaphore set of the calling thread's IPC namespace, in id
    /// order.
    pub fn all() -> std::io::Result<Vec<Self>> {
        Ok(Self::parse_table(&std::fs::read_to_string(
            "/proc/sysvipc/sem",
        )?))
    }

    /// The rows of a table's text, in id order.
    pub fn parse_table(table: &str) -> Vec<Self> {
        let mut rows = parse(table, |c| {
            Some(Self {
                key: Key(c.int(0)?),
                semid: c.int(1)?,
                mode: c.mode(2)?,
                nsems: c.int(3)?,
                uid: c.int(4)?,
                gid: c.int(5)?,
                cuid: c.int(6)?,
                cgid: c.int(7)?,
                otime: c.int(8)?,
                ctime: c.int(9)?,
            })
        });
        rows.sort_by_key(|r| r.semid);
        rows
    }
}

/// The columns of one line.
struct Cols<'a>(Vec<&'a str>);

impl Cols<'_> {
    fn int<T: std::str::FromStr>(&self, i: usize) -> Option<T> {
        self.0.get(i)?.parse().ok()
    }

    /// The permission bits of an octal `perms` column.
    fn mode(&self, i: usize) -> Option<u16> {
        Some((u32::from_str_radix(self.0.get(i)?, 8).ok()? & 0o777) as u16)
    }
}

/// The rows of a table's text (header line skipped, malformed lines
/// ignored).
fn parse<T>(table: &str, row: impl Fn(&Cols<'_>) -> Option<T>) -> Vec<T> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| row(&Cols(line.split_whitespace().collect())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_msg_and_sem_tables() {
        let msg = "       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      rtime      ctime\n -1897989974          1   644          12          2   101   102     1     2     3     4 1700000001          0 1700000000\n    0    0  600  0 0 0 0 0 0 0 0 0 0 1700000000\n";
        let q = MsgEntry::parse_table(msg);
        assert_eq!(q.len(), 2);
        assert_eq!(
            q[1],
            MsgEntry {
                key: Key(-1897989974),
                msqid: 1,
                mode: 0o644,
                cbytes: 12,
                qnum: 2,
                lspid: 101,
                lrpid: 102,
                uid: 1,
                gid: 2,
                cuid: 3,
                cgid: 4,
                stime: 1700000001,
                rtime: 0,
                ctime: 1700000000,
            }
        );
        let sem = "       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n  902129059          0   1600          3     5     6     7     8          0 1700000000\nbad line\n";
        assert_eq!(
            SemEntry::parse_table(sem),
            vec![SemEntry {
                key: Key(902129059),
                semid: 0,
                mode: 0o600,
                nsems: 3,
                uid: 5,
                gid: 6,
                cuid: 7,
                cgid: 8,
                otime: 0,
                ctime: 1700000000,
            }]
        );
    }
}
