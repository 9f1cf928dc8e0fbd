//! The queues of this IPC namespace as the mqueue filesystem (mounted at
//! [`MOUNT`]) shows them: name, owner and mode, bytes queued and who is
//! notified.

use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::{Attributes, Direction, OpenError, Queue, QueueName, MOUNT};
use crate::transport::root::Root;

/// A queue's owner and mode, from its file in the mqueue filesystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    /// Owner's uid.
    pub uid: u32,
    /// Owner's gid.
    pub gid: u32,
    /// Permission bits.
    pub mode: u16,
}

/// The owner and mode of `name`; `None` when the mqueue filesystem is not
/// mounted (or the queue is not there).
pub fn owner(name: &QueueName) -> Option<Owner> {
    owner_of(&name.path())
}

fn owner_of(file: &Path) -> Option<Owner> {
    std::fs::symlink_metadata(file).ok().map(|m| Owner {
        uid: m.uid(),
        gid: m.gid(),
        mode: (m.mode() & 0o777) as u16,
    })
}

/// Whether the mqueue filesystem is mounted at [`MOUNT`] (for this
/// process's mount namespace, so listing shows this IPC namespace's queues
/// only if it was mounted from within it, as a container's is).
pub fn mounted() -> bool {
    mounted_in(&Root::here())
}

fn mounted_in(root: &Root) -> bool {
    root.fs_type_at(MOUNT).as_deref() == Some("mqueue")
}

/// One queue of this namespace, as the mqueue filesystem lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueEntry {
    /// The queue.
    pub name: QueueName,
    /// Its owner and mode.
    pub owner: Owner,
    /// Bytes queued (`QSIZE`).
    pub qsize: u64,
    /// Notification: `NOTIFY` (0 signal, 1 none, 2 thread), `SIGNO` and
    /// `NOTIFY_PID` (0: nobody registered).
    pub notify: Notify,
    /// Its attributes, when this user may open it.
    pub attributes: Option<Attributes>,
}

/// A queue's `mq_notify` registration, from its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Notify {
    /// `NOTIFY`: how (0 signal, 1 none, 2 thread).
    pub how: u32,
    /// `SIGNO`: the signal.
    pub signo: u32,
    /// `NOTIFY_PID`: the registered process, 0 for none.
    pub pid: u32,
}

/// Why the queues cannot be listed.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// No mqueue filesystem at [`MOUNT`].
    #[error("{MOUNT} is not an mqueue mount")]
    NotMounted,
    /// The mqueue filesystem at [`MOUNT`] is another IPC namespace's (it
    /// was mounted from there): a queue it shows is not the one this
    /// process opens by that name.
    #[error("{MOUNT} is the mqueue filesystem of another IPC namespace")]
    OtherNamespace,
    /// It cannot be read.
    #[error("{MOUNT}: {0}")]
    Io(#[from] std::io::Error),
}

/// The queues of this IPC namespace, by name.
pub fn table() -> Result<Vec<QueueEntry>, TableError> {
    table_in(&Root::here())
}

/// The queues of the calling thread's IPC namespace, by name, from the
/// mqueue filesystem at [`MOUNT`] under `root`: a thread that entered
/// another IPC namespace passes the root of one of its processes, and
/// each queue listed there is checked to be the one this thread opens by
/// that name.
pub fn table_in(root: &Root) -> Result<Vec<QueueEntry>, TableError> {
    if !mounted_in(root) {
        return Err(TableError::NotMounted);
    }
    let dir = root.path(MOUNT);
    let mut entries = Vec::new();
    for dirent in std::fs::read_dir(&dir)? {
        let dirent = dirent?;
        let Some(name) = dirent
            .file_name()
            .to_str()
            .and_then(|n| QueueName::parse(&format!("/{n}")).ok())
        else {
            continue;
        };
        let file = dir.join(dirent.file_name());
        if same_queue(&name, &file) == Some(false) {
            return Err(TableError::OtherNamespace);
        }
        if let Some(entry) = entry_at(&name, &file) {
            entries.push(entry);
        }
    }
    entries.sort_by(|a, b| a.name.as_str().cmp(b.name.as_str()));
    Ok(entries)
}

/// Whether `file` is the queue this thread opens by `name` (its mount is
/// this IPC namespace's); `None` when it cannot tell (no permission to
/// open it, or it went meanwhile).
fn same_queue(name: &QueueName, file: &Path) -> Option<bool> {
    let file = std::fs::symlink_metadata(file).ok()?;
    match Queue::open(name, Direction::Receive) {
        Ok(queue) => {
            let opened = nix::sys::stat::fstat(queue.as_fd()).ok()?;
            Some(opened.st_ino == file.ino() && opened.st_dev == file.dev())
        }
        // Listed there, but not in this namespace.
        Err(OpenError::NotFound { .. }) => Some(false),
        Err(_) => None,
    }
}

/// One queue's row; `None` when it went meanwhile.
pub fn entry(name: &QueueName) -> Option<QueueEntry> {
    entry_at(name, &name.path())
}

fn entry_at(name: &QueueName, file: &Path) -> Option<QueueEntry> {
    let owner = owner_of(file)?;
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let (qsize, notify) = parse_status(&text);
    let attributes = Queue::open(name, Direction::Receive)
        .ok()
        .and_then(|q| q.attributes().ok());
    Some(QueueEntry {
        name: name.clone(),
        owner,
        qsize,
        notify,
        attributes,
    })
}

/// `QSIZE:0          NOTIFY:0     SIGNO:0     NOTIFY_PID:0`.
fn parse_status(text: &str) -> (u64, Notify) {
    let field = |key: &str| -> u64 {
        text.split_whitespace()
            .find_map(|f| f.strip_prefix(key)?.strip_prefix(':')?.parse().ok())
            .unwrap_or(0)
    };
    (
        field("QSIZE"),
        Notify {
            how: field("NOTIFY") as u32,
            signo: field("SIGNO") as u32,
            pid: field("NOTIFY_PID") as u32,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_text() {
        let (qsize, notify) =
            parse_status("QSIZE:2048       NOTIFY:2     SIGNO:0     NOTIFY_PID:17\n");
        assert_eq!(qsize, 2048);
        assert_eq!(
            notify,
            Notify {
                how: 2,
                signo: 0,
                pid: 17
            }
        );
    }
}
