//! Which processes are attached to a segment, and the container each runs
//! in, as far as this process can see them (a shared PID namespace, or the
//! host): `/proc/<pid>/maps` names an attached System V segment
//! `/SYSV<key>` with the shmid in the inode column, and `/proc/<pid>/cgroup`
//! carries the container's id in its path. Shmids and keys repeat in every
//! IPC namespace (shmid 0 is every container's first segment), so only
//! processes of this process's IPC namespace count, matched by shmid and key.

use std::collections::{BTreeMap, HashMap};

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

/// The attached processes of every segment of this IPC namespace, by
/// shmid and key.
pub fn attached() -> BTreeMap<(i32, Key), Vec<Attached>> {
    let Ok(own) = namespace::ipc_namespace() else {
        return BTreeMap::new();
    };
    attached_by_namespace().remove(&own).unwrap_or_default()
}

/// The attached processes of every segment of every IPC namespace this
/// process may see, by namespace inode, then shmid and key: one pass over
/// `/proc`, however many namespaces there are.
pub fn attached_by_namespace() -> HashMap<u64, BTreeMap<(i32, Key), Vec<Attached>>> {
    let mut by_namespace: HashMap<u64, BTreeMap<(i32, Key), Vec<Attached>>> = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return by_namespace;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(maps) = std::fs::read_to_string(format!("/proc/{pid}/maps")) else {
            continue;
        };
        let mut segments: Vec<(i32, Key)> = maps.lines().filter_map(sysv_segment).collect();
        segments.sort_unstable();
        segments.dedup();
        if segments.is_empty() {
            continue;
        }
        let Ok(ns) = namespace::ipc_namespace_of(&pid.to_string()) else {
            continue;
        };
        let command = std::fs::read(format!("/proc/{pid}/comm"))
            .map(|c| printable(String::from_utf8_lossy(&c).trim_end_matches('\n')))
            .unwrap_or_default();
        let container = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
            .ok()
            .and_then(|c| Origin::from_cgroup(&c))
            .map(|o| o.short_id().to_owned());
        let by_segment = by_namespace.entry(ns).or_default();
        for segment in segments {
            by_segment.entry(segment).or_default().push(Attached {
                pid,
                command: command.clone(),
                container: container.clone(),
            });
        }
    }
    by_namespace
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_maps_and_escapes_names() {
        let line = "7f1c2a000000-7f1c2a001000 r--s 00000000 00:01 32769                      /SYSV0800abcd (deleted)";
        assert_eq!(sysv_segment(line), Some((32769, Key(0x0800_abcd))));
        assert_eq!(
            sysv_segment("7f00-7f01 r--p 00000000 08:01 1234 /usr/lib/libc.so.6"),
            None
        );
        assert_eq!(printable("a\u{1b}[2Jb\u{9b}"), "a\\u{1b}[2Jb\\u{9b}");
    }
}
