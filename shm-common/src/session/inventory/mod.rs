//! Everything one IPC namespace holds, as `ipcs` and `lsipc` show it:
//! System V segments (with what each holds and who is attached), message
//! queues and semaphore sets, POSIX message queues, and beside them the
//! POSIX shared memory files of a `/dev/shm`, which belong to a mount, not
//! to the namespace. Each object whose creator is gone and which nobody
//! uses is flagged an orphan ([`creator`]); nothing is ever removed here.
//!
//! [`collect`] reads the namespace of the calling thread: the kernel's
//! tables under `/proc/sysvipc` and the POSIX queues it opens follow the
//! thread's IPC namespace, so a thread that entered another one with
//! `setns(CLONE_NEWIPC)` collects that one, given a [`Target`] naming it,
//! the root its mounts are seen under, and the pids that may be its
//! processes. Each process's maps are read once per call.

pub mod creator;

use std::path::PathBuf;

use crate::protocol::describe::{describe, Holds};
use crate::transport::ipc_tables::{MsgEntry, SemEntry};
use crate::transport::mqueue::{self, QueueEntry, TableError};
use crate::transport::namespace::{self, Ns};
use crate::transport::posix_shm::{self, ShmFile};
use crate::transport::procs::{self, Attached, Procs};
use crate::transport::root::Root;
use crate::transport::segment::{OpenError, Segment};
use crate::transport::table::TableEntry;

pub use creator::Creator;

/// Which IPC namespace to collect, and how to reach its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Its inode: only processes of this namespace count as its own.
    pub ns: Ns,
    /// Where its `/dev/mqueue` and `/dev/shm` are seen from; `None` when
    /// no process of it is there to see them through (a namespace kept by
    /// a bind mount alone), and its POSIX objects are not listed.
    pub root: Option<Root>,
    /// The file that enters it (`nsenter --ipc=<file>`: `/proc/<pid>/ns/ipc`
    /// of one of its processes, or a bind mount of it), or `None` for the
    /// namespace this process runs in.
    pub enter_via: Option<PathBuf>,
}

impl Target {
    /// The calling thread's own IPC namespace, under this process's root.
    pub fn here() -> std::io::Result<Self> {
        Ok(Self {
            ns: Ns(namespace::thread_ipc_namespace()?),
            root: Some(Root::here()),
            enter_via: None,
        })
    }

    /// The IPC namespace of process `pid`, under its root, entered through
    /// its `/proc/<pid>/ns/ipc`.
    pub fn of_process(ns: Ns, pid: u32) -> Self {
        Self {
            ns,
            root: Some(Root::of_process(pid)),
            enter_via: Some(PathBuf::from(format!("/proc/{pid}/ns/ipc"))),
        }
    }
}

/// Why a namespace's POSIX objects are not listed.
#[derive(Debug)]
pub enum Unlisted<E> {
    /// No process of the namespace to see its mounts through
    /// ([`Target::root`] is `None`).
    NoProcess,
    /// Looking failed.
    Failed(E),
}

/// What one IPC namespace holds.
#[derive(Debug)]
pub struct Inventory {
    /// The namespace.
    pub target: Target,
    /// System V shared memory segments, by shmid.
    pub segments: Vec<SegmentRow>,
    /// System V message queues, by id.
    pub messages: Vec<MessageRow>,
    /// System V semaphore sets, by id.
    pub semaphores: Vec<SemaphoreRow>,
    /// POSIX message queues, or why they cannot be listed (no mqueue
    /// filesystem mounted at `/dev/mqueue` under the root).
    pub posix_messages: Result<Vec<QueueEntry>, Unlisted<TableError>>,
    /// The files of `/dev/shm` under the root, or why it cannot be read.
    pub posix_shm: Result<Vec<ShmFileRow>, Unlisted<std::io::Error>>,
}

/// A System V segment.
#[derive(Debug)]
pub struct SegmentRow {
    /// Its row of `/proc/sysvipc/shm`.
    pub entry: TableEntry,
    /// What it holds; `None` when this user may not read it.
    pub holds: Option<Holds>,
    /// The namespace's processes attached to it.
    pub attached: Vec<Attached>,
    /// Whether its creator still runs.
    pub creator: Creator,
    /// Leaked: nobody attached, not marked for removal, creator gone.
    pub orphan: bool,
}

/// A System V message queue.
#[derive(Debug)]
pub struct MessageRow {
    /// Its row of `/proc/sysvipc/msg`.
    pub entry: MsgEntry,
    /// Whether its creator still runs.
    pub creator: Creator,
    /// Leaked: creator gone, and never sent to nor received from.
    pub orphan: bool,
}

/// A System V semaphore set.
#[derive(Debug)]
pub struct SemaphoreRow {
    /// Its row of `/proc/sysvipc/sem`.
    pub entry: SemEntry,
    /// Whether its creator still runs.
    pub creator: Creator,
    /// Leaked: creator gone, and never operated on.
    pub orphan: bool,
}

/// A file of `/dev/shm`.
#[derive(Debug)]
pub struct ShmFileRow {
    /// The file.
    pub file: ShmFile,
    /// The namespace's processes that map it.
    pub mapped: Vec<Attached>,
}

/// The kernel's table of one kind cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct CollectError {
    /// The table's file (`/proc/sysvipc/shm`).
    pub path: &'static str,
    /// Why.
    pub source: std::io::Error,
}

/// Everything the calling thread's IPC namespace holds, `target` naming
/// it. Of `candidates` (pids as this process sees them, `procs::all_pids()`
/// for all), those in `target.ns` are its processes: attachments and
/// creators are looked for among them (pass too the pids whose namespace
/// could not be read: they may be its processes, and their creators are
/// then unknown rather than gone). Segments are attached read-only
/// for a moment to say what they hold (see
/// [`describe`]).
pub fn collect(
    target: &Target,
    candidates: impl IntoIterator<Item = u32>,
) -> Result<Inventory, CollectError> {
    let table = |path| move |source| CollectError { path, source };
    let shm = TableEntry::all().map_err(table("/proc/sysvipc/shm"))?;
    let msg = MsgEntry::all().map_err(table("/proc/sysvipc/msg"))?;
    let sem = SemEntry::all().map_err(table("/proc/sysvipc/sem"))?;
    let procs = Procs::scan(target.ns.0, candidates);
    let judge = creator::Judge::new(&procs);
    let segments = shm
        .into_iter()
        .map(|entry| {
            let creator = judge.by_pid(entry.more.cpid, entry.more.ctime);
            SegmentRow {
                orphan: entry.nattch == 0 && !entry.more.dest && creator == Creator::Gone,
                holds: look(&entry),
                attached: procs.attached(entry.shmid, entry.key),
                creator,
                entry,
            }
        })
        .collect();
    let messages = msg
        .into_iter()
        .map(|entry| {
            let creator = judge.unrecorded(entry.cuid, entry.ctime);
            MessageRow {
                orphan: creator == Creator::Gone && entry.stime == 0 && entry.rtime == 0,
                creator,
                entry,
            }
        })
        .collect();
    let semaphores = sem
        .into_iter()
        .map(|entry| {
            let creator = judge.unrecorded(entry.cuid, entry.ctime);
            SemaphoreRow {
                orphan: creator == Creator::Gone && entry.otime == 0,
                creator,
                entry,
            }
        })
        .collect();
    let posix_shm = target
        .root
        .as_ref()
        .map_or(Err(Unlisted::NoProcess), |root| {
            let files = posix_shm::files(root).map_err(Unlisted::Failed)?;
            Ok(files
                .into_iter()
                .map(|file| ShmFileRow {
                    mapped: procs.mapping(file.dev, file.ino),
                    file,
                })
                .collect())
        });
    let posix_messages = target
        .root
        .as_ref()
        .map_or(Err(Unlisted::NoProcess), |root| {
            mqueue::table_in(root).map_err(Unlisted::Failed)
        });
    Ok(Inventory {
        target: target.clone(),
        segments,
        messages,
        semaphores,
        posix_messages,
        posix_shm,
    })
}

/// Everything this process's own IPC namespace holds.
pub fn collect_here() -> Result<Inventory, CollectError> {
    let target = Target::here().map_err(|source| CollectError {
        path: "/proc/thread-self/ns/ipc",
        source,
    })?;
    collect(&target, procs::all_pids())
}

/// Attach read-only for a look; `None` when permission is refused.
pub fn look(entry: &TableEntry) -> Option<Holds> {
    match Segment::attach(entry.key, entry.shmid, true) {
        Ok(segment) => Some(describe(segment.view(), entry.more.swap)),
        Err(OpenError::PermissionDenied { .. }) => None,
        Err(e) => Some(Holds::Unknown(e.to_string())),
    }
}
