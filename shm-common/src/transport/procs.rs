//! Which processes are attached to a segment, and the container each runs
//! in, as far as this process can see them (a shared PID namespace, or the
//! host): `/proc/<pid>/maps` names an attached System V segment
//! `/SYSV<key>` with the shmid in the inode column (and a `/dev/shm` file
//! by device and inode), and `/proc/<pid>/cgroup` carries the container's
//! id in its path. Shmids and keys repeat in every IPC namespace (shmid 0
//! is every container's first segment), so only processes of the
//! namespace asked about count, matched by shmid and key.

use std::cell::OnceCell;
use std::collections::BTreeMap;

use super::containers::Origin;
use super::key::Key;
use super::namespace;

/// A process attached to a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attached {
    /// Its pid in this process's pid namespace.
    pub pid: u32,
    /// Its command name (`/proc/<pid>/comm`), with control characters
    /// escaped ([`printable`]).
    pub command: String,
    /// The first 12 hex digits of its container's id, if it runs in one.
    pub container: Option<String>,
}

/// The processes of one IPC namespace and what they map, from one read of
/// each one's `maps`: the System V segments by shmid and key, and the
/// files of a `/dev/shm` by device and inode.
#[derive(Debug, Default)]
pub struct Procs {
    members: Vec<u32>,
    hidden: Vec<u32>,
    segments: BTreeMap<(i32, Key), Vec<u32>>,
    files: BTreeMap<(u64, u64), Vec<u32>>,
    described: BTreeMap<u32, Attached>,
    boot: OnceCell<Option<Boot>>,
}

impl Procs {
    /// Of `candidates` (pids as this process sees them), those whose IPC
    /// namespace is `ns`, and what each maps. A process that exits meanwhile
    /// is left out; one whose namespace or maps this process may not read
    /// (another user's, for a lister that is not root) is counted
    /// [hidden](Self::hidden).
    pub fn scan(ns: u64, candidates: impl IntoIterator<Item = u32>) -> Self {
        let mut procs = Self::default();
        for pid in candidates {
            let maps = match namespace::ipc_namespace_of(&pid.to_string()) {
                Ok(its) if its == ns => std::fs::read_to_string(format!("/proc/{pid}/maps")),
                Ok(_) => continue,
                Err(e) => Err(e),
            };
            let maps = match maps {
                Ok(maps) => maps,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(_) => {
                    procs.hidden.push(pid);
                    continue;
                }
            };
            procs.members.push(pid);
            let mut mapped = false;
            for line in maps.lines() {
                let (segments, files) = (&mut procs.segments, &mut procs.files);
                let list = if let Some(segment) = sysv_segment(line) {
                    segments.entry(segment).or_default()
                } else if let Some(file) = shm_file(line) {
                    files.entry(file).or_default()
                } else {
                    continue;
                };
                if list.last() != Some(&pid) {
                    list.push(pid);
                }
                mapped = true;
            }
            if mapped {
                procs.described.insert(pid, describe(pid));
            }
        }
        procs.members.sort_unstable();
        procs.hidden.sort_unstable();
        procs
    }

    /// Whether process `pid` was a candidate this process could not look
    /// at: it may be of the namespace.
    pub fn hidden(&self, pid: u32) -> bool {
        self.hidden.binary_search(&pid).is_ok()
    }

    /// The candidates this process could not look at, in order.
    pub fn hidden_pids(&self) -> &[u32] {
        &self.hidden
    }

    /// The pids of the namespace's processes, in order.
    pub fn members(&self) -> &[u32] {
        &self.members
    }

    /// The processes attached to segment `shmid` with `key`.
    pub fn attached(&self, shmid: i32, key: Key) -> Vec<Attached> {
        self.named(self.segments.get(&(shmid, key)))
    }

    /// The processes mapping the file with device `dev` and inode `ino`.
    pub fn mapping(&self, dev: u64, ino: u64) -> Vec<Attached> {
        self.named(self.files.get(&(dev, ino)))
    }

    /// Process `pid` of the namespace, named; `None` when it is not one.
    pub fn member(&self, pid: u32) -> Option<Attached> {
        self.members.binary_search(&pid).ok()?;
        Some(
            self.described
                .get(&pid)
                .cloned()
                .unwrap_or_else(|| describe(pid)),
        )
    }

    /// When process `pid` started, in Unix seconds (to the second the
    /// kernel's boot time allows); `None` when it cannot be read.
    pub fn started(&self, pid: u32) -> Option<i64> {
        let boot = self.boot.get_or_init(Boot::read).as_ref()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        Some(boot.unix_secs(start_ticks(&stat)?))
    }

    /// The real, effective, saved and filesystem uids of process `pid`;
    /// `None` when they cannot be read.
    pub fn uids(&self, pid: u32) -> Option<[u32; 4]> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        uids_in(&status)
    }

    fn named(&self, pids: Option<&Vec<u32>>) -> Vec<Attached> {
        pids.into_iter()
            .flatten()
            .filter_map(|pid| self.described.get(pid).cloned())
            .collect()
    }
}

/// Every pid this process sees in `/proc`.
pub fn all_pids() -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect()
}

/// The command line of process `pid`, its arguments joined by spaces and
/// escaped ([`printable`]); `None` when it cannot be read or is empty (a
/// kernel thread, a zombie).
pub fn command_line(pid: u32) -> Option<String> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let args: Vec<String> = raw
        .split(|&b| b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| printable(&String::from_utf8_lossy(a)))
        .collect();
    (!args.is_empty()).then(|| args.join(" "))
}

/// Process `pid` named by its command and container.
fn describe(pid: u32) -> Attached {
    let command = std::fs::read(format!("/proc/{pid}/comm"))
        .map(|c| printable(String::from_utf8_lossy(&c).trim_end_matches('\n')))
        .unwrap_or_default();
    let container = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .ok()
        .and_then(|c| Origin::from_cgroup(&c))
        .map(|o| o.short_id().to_owned());
    Attached {
        pid,
        command,
        container,
    }
}

/// The clock that `/proc/<pid>/stat` start times count on: boot time in
/// Unix seconds, and clock ticks per second.
#[derive(Debug, Clone, Copy)]
struct Boot {
    btime: i64,
    ticks: u64,
}

impl Boot {
    fn read() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let btime = stat
            .lines()
            .find_map(|l| l.strip_prefix("btime ")?.trim().parse().ok())?;
        let ticks = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok()??;
        Some(Self {
            btime,
            ticks: u64::try_from(ticks).ok().filter(|&t| t > 0)?,
        })
    }

    fn unix_secs(&self, ticks: u64) -> i64 {
        self.btime + (ticks / self.ticks) as i64
    }
}

/// The `Uid:` line of `/proc/<pid>/status`.
fn uids_in(status: &str) -> Option<[u32; 4]> {
    let line = status.lines().find_map(|l| l.strip_prefix("Uid:"))?;
    let mut uids = line.split_whitespace().map(|u| u.parse().ok());
    Some([uids.next()??, uids.next()??, uids.next()??, uids.next()??])
}

/// Field 22 of `/proc/<pid>/stat`, the start time in clock ticks after
/// boot, counted after the command's closing parenthesis (a command may
/// hold spaces and parentheses).
fn start_ticks(stat: &str) -> Option<u64> {
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(19)?
        .parse()
        .ok()
}

/// `name` with every control character escaped (`\u{1b}`): any process
/// may name itself with terminal escape sequences, which would otherwise
/// drive the terminal of whoever lists it.
pub fn printable(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_control() {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// The shmid and key of a maps line that maps a System V segment
/// (`addr perms offset dev inode /SYSV0800abcd (deleted)`).
fn sysv_segment(line: &str) -> Option<(i32, Key)> {
    let mut cols = line.split_whitespace();
    let inode = cols.nth(4)?;
    let key = cols.next()?.strip_prefix("/SYSV")?;
    let key = Key(u32::from_str_radix(key, 16).ok()? as i32);
    Some((inode.parse().ok()?, key))
}

/// The device and inode of a maps line that maps a file of a `/dev/shm`
/// (`addr perms offset 00:1a 4711 /dev/shm/name`; the path is as the
/// mapping process sees it, the device and inode say which file).
fn shm_file(line: &str) -> Option<(u64, u64)> {
    let mut cols = line.split_whitespace();
    let dev = cols.nth(3)?;
    let inode = cols.next()?.parse().ok().filter(|&i: &u64| i != 0)?;
    cols.next()?.strip_prefix("/dev/shm/")?;
    let (major, minor) = dev.split_once(':')?;
    let dev = nix::sys::stat::makedev(
        u64::from_str_radix(major, 16).ok()?,
        u64::from_str_radix(minor, 16).ok()?,
    );
    Some((dev, inode))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_maps_stat_and_status() {
        let line = "7f1c2a000000-7f1c2a001000 r--s 00000000 00:01 32769                      /SYSV0800abcd (deleted)";
        assert_eq!(sysv_segment(line), Some((32769, Key(0x0800_abcd))));
        assert_eq!(
            sysv_segment("7f00-7f01 r--p 00000000 08:01 1234 /usr/lib/libc.so.6"),
            None
        );
        let file = "7f00-7f01 rw-s 00000000 00:1a 4711 /dev/shm/frames";
        assert_eq!(
            shm_file(file),
            Some((nix::sys::stat::makedev(0, 0x1a), 4711))
        );
        assert_eq!(shm_file(line), None);
        let stat = "42 (a) b) S 1 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 12345 0 0";
        assert_eq!(start_ticks(stat), Some(12345));
        let status = "Name:\tsh\nUid:\t1000\t0\t0\t0\nGid:\t0\t0\t0\t0\n";
        assert_eq!(uids_in(status), Some([1000, 0, 0, 0]));
        assert_eq!(printable("a\u{1b}[2Jb\u{9b}"), "a\\u{1b}[2Jb\\u{9b}");
    }
}
