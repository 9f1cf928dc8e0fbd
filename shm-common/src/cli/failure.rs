//! Why a tool ends early: each error the library returns is matched here
//! once, for both its exit status and the sentence (with the fix that
//! works) that a person reads.

use std::path::Path;

use super::console::{self, OutputError};
use super::exit::Exit;
use super::messages;
use crate::protocol::mqueue::TooLong;
use crate::session::claim::{ClaimError, StopError};
use crate::session::find::FindError;
use crate::transport::key_file::{KeyFileError, LockHolder};
use crate::transport::limits::Limit;
use crate::transport::mqueue;
use crate::transport::segment::{CreateError, OpenError};
use crate::transport::table::TableEntry;
use nix::errno::Errno;

/// What ends a run early: the status and the sentence to print.
pub type Failure = (Exit, String);

/// What a writer does when one side of a key is already taken.
const OTHER_KEY: &str = "pick another --key-file / --proj-id";

/// Report why `tool` ends early and return its status. When stderr fails
/// too, the status is all that is left to say it with. An end with no
/// sentence is a quiet one.
pub fn report(tool: &str, (exit, message): Failure) -> Exit {
    if !message.is_empty() {
        let _ = console::say(&format!("{tool}: error: {message}"));
    }
    exit
}

impl From<OutputError> for Failure {
    /// A closed stdout pipe ends the run quietly with status 0, as the
    /// end of a pipeline; any other failed write is [`Exit::Output`].
    fn from(e: OutputError) -> Self {
        if e.is_closed_pipe() {
            return (Exit::Ok, String::new());
        }
        (Exit::Output, format!("{e}: stopping"))
    }
}

impl From<KeyFileError> for Failure {
    fn from(e: KeyFileError) -> Self {
        key_file(&e)
    }
}

impl From<OpenError> for Failure {
    fn from(e: OpenError) -> Self {
        open(&e)
    }
}

impl From<FindError> for Failure {
    fn from(e: FindError) -> Self {
        match &e {
            FindError::KeyFile(e) => key_file(e),
            FindError::Segment(e) => open(e),
        }
    }
}

impl From<StopError> for Failure {
    fn from(e: StopError) -> Self {
        let message = match &e {
            StopError::Segment(e) => format!("cannot remove the segment: {}", open(e).1),
            StopError::Beacon(e) => format!(
                "segment removed, but the beacon could not be updated: {}",
                key_file(e).1
            ),
        };
        (Exit::Failure, message)
    }
}

/// A key-file error.
fn key_file(e: &KeyFileError) -> Failure {
    match e {
        KeyFileError::Missing { path } => usage(format!(
            "key file {} does not exist; start shm_write (it creates the file), or pass the writer's --key-file",
            path.display()
        )),
        KeyFileError::MissingDirectory { path, dir } => usage(format!(
            "directory {} of key file {} does not exist; create it or pass another --key-file",
            dir.display(),
            path.display()
        )),
        KeyFileError::NotADirectory {
            path,
            component,
            kind,
        } => usage(format!(
            "key file {}: {} is a {kind}, not a directory, so nothing can be under it; pass another --key-file",
            path.display(),
            component.display()
        )),
        KeyFileError::Symlink { path } => usage(format!(
            "key file {} is a symbolic link; refusing to follow it (remove it, or pass the real path with --key-file)",
            path.display()
        )),
        KeyFileError::NotRegular { path, kind } => usage(format!(
            "key file {} is a {kind}, not a regular file; remove it or pass another --key-file",
            path.display()
        )),
        KeyFileError::ForeignOwner { path, owner, euid } => usage(format!(
            "key file {} belongs to uid {owner}, not to this user (uid {euid}); refusing to use a file planted by someone else (remove it, or run as uid {owner})",
            path.display()
        )),
        KeyFileError::HardLinked { path, links } => usage(format!(
            "key file {} has {links} hard links; refusing to write into a file that also has other names (remove this name with `rm {}`: the other names keep their content; or pass another --key-file)",
            path.display(),
            path.display()
        )),
        KeyFileError::Locked { path, pid } => (
            Exit::Conflict,
            format!(
                "another shm_write{} already publishes through key file {}; stop it first, or give this writer another --key-file",
                pid.map(|p| format!(" (pid {p})")).unwrap_or_default(),
                path.display()
            ),
        ),
        KeyFileError::ReadLocked { path, holder } => (Exit::Conflict, read_locked(path, *holder)),
        KeyFileError::PermissionDenied { path } => usage(format!(
            "permission denied on key file {}; run as its owner or pass another --key-file",
            path.display()
        )),
        KeyFileError::Io { path, source } => {
            (Exit::Failure, format!("key file {}: {source}", path.display()))
        }
    }
}

fn usage(message: String) -> Failure {
    (Exit::Usage, message)
}

/// A read lock that keeps writers out, with who holds it and how to find it.
fn read_locked(path: &Path, holder: LockHolder) -> String {
    let path = path.display();
    let (who, find) = match holder {
        LockHolder::Process(pid) => (
            format!("process {pid}"),
            format!("see what it is with `ps -fp {pid}` and stop it (as its owner or root)"),
        ),
        LockHolder::OtherPidNamespace => (
            "a process in another PID namespace (the kernel gives no pid for it here)".to_owned(),
            format!("find it with `lslocks` or `fuser -v {path}` as root where its pid is visible (on the host, say) and stop it"),
        ),
        LockHolder::OpenFileDescription => (
            "an open file description (an OFD lock, for which the kernel names no process)".to_owned(),
            format!("find the processes that have the file open with `fuser -v {path}` or `lsof {path}` as root and stop the one holding the lock"),
        ),
    };
    format!(
        "key file {path} is read-locked by {who}, which keeps every writer out (a read lock conflicts with the writer's lock, and anyone who may read the file can take one); {find}, or give this writer another --key-file"
    )
}

/// An existing segment that cannot be opened.
fn open(e: &OpenError) -> Failure {
    match e {
        // Its owner, shut out by the mode: only the mode can be wrong, and
        // the owner may still remove the segment (IPC_RMID ignores it).
        OpenError::PermissionDenied {
            key,
            owner: Some(entry),
            euid,
        } if entry.uid == *euid => {
            let fix = if entry.nattch == 0 {
                format!(
                    "no process is attached, so nothing uses it: as its owner, remove it with `ipcrm -m {}` and start the writer again",
                    entry.shmid
                )
            } else {
                format!(
                    "{} process(es) are attached: stop its writer and start it again with --mode 0600 or wider; once none is attached, its owner can remove it with `ipcrm -m {}`",
                    entry.nattch, entry.shmid
                )
            };
            (
                Exit::Permission,
                format!(
                    "permission denied on segment {key}{}: this process (uid {euid}) owns it, but its mode {:04o} does not give the owner the access needed; {fix}",
                    owner_text(*entry),
                    entry.mode
                ),
            )
        }
        OpenError::PermissionDenied { key, owner, euid } => (
            Exit::Permission,
            format!(
                "permission denied on segment {key}{}; this process runs as uid {euid}: run it as the owner, or start the writer with --mode 0644 (anyone may read; readers attach read-only), --mode 0640 (the owner's group may read) or --mode 0666 (anyone may also write)",
                owner.map(owner_text).unwrap_or_default()
            ),
        ),
        other => (Exit::Failure, other.to_string()),
    }
}

fn owner_text(e: TableEntry) -> String {
    format!(
        " (shmid {}, owner uid {}, mode {:04o})",
        e.shmid, e.uid, e.mode
    )
}

/// Why a writer could not claim its key. `publishes` names what the
/// writer puts in a segment ("a time"), `room` is the smallest segment that
/// holds it (so an existing smaller one is not offered).
pub fn claim(e: &ClaimError, publishes: &str, room: usize) -> Failure {
    let conflict = |message| (Exit::Conflict, message);
    match e {
        ClaimError::KeyFile(e) => key_file(e),
        ClaimError::Open(e) | ClaimError::Create(CreateError::Open(e)) => open(e),
        ClaimError::Create(CreateError::ModeDeniesOwner { key, mode }) => usage(format!(
            "segment {key}: --mode {mode:04o} does not let this writer, which owns the segment, read and write it (the owner's digit must be 6 or 7, as in 0600, 0640, 0644, 0660 or 0666); the segment was removed again"
        )),
        ClaimError::Create(CreateError::Create {
            key,
            size,
            mode,
            source,
            limit,
        }) => (
            Exit::Failure,
            format!(
                "segment {key}: cannot create {size} bytes with mode {mode:04o}: {source}{}",
                limit_hint(*limit, *size)
            ),
        ),
        ClaimError::SizeMismatch {
            key,
            id,
            size,
            wanted,
        } => {
            let resize = if *size >= room {
                format!(" or pass --size {size}")
            } else {
                String::new()
            };
            conflict(format!("segment {key} (shmid {id}) already exists with {size} bytes, not the {wanted} asked; remove it with `ipcrm -M {key}`{resize}"))
        }
        ClaimError::ForeignOwner {
            key,
            id,
            owner,
            euid,
        } => conflict(format!(
            "segment {key} (shmid {id}) belongs to uid {owner}, not to this writer (uid {euid}); refusing to write into it: its owner or root can remove it with `ipcrm -M {key}`, or {OTHER_KEY}"
        )),
        ClaimError::Busy { key, id } => conflict(format!(
            "segment {key} (shmid {id}) is updated by another live writer; stop that writer first, or {OTHER_KEY}"
        )),
        ClaimError::Refused { key, id, reason } => conflict(format!(
            "segment {key} (shmid {id}) holds something other than {publishes} ({reason}); refusing to overwrite it: if it is stale, remove it with `ipcrm -M {key}`, or {OTHER_KEY}"
        )),
    }
}

/// The limit a failed create ran into, with its fix; nothing when the
/// limits do not explain the failure (no advice rather than a wrong one).
fn limit_hint(limit: Limit, size: usize) -> String {
    const LIST: &str =
        "remove stale segments (`shm_read --list` shows them, `ipcrm -m <shmid>` removes one)";
    match limit {
        Limit::Shmmax { max } => format!(
            ": --size {size} is more than the {max} bytes one segment may have in this IPC namespace (kernel.shmmax): ask for at most that, or raise it in the writer's namespace (`docker run --sysctl kernel.shmmax=<bytes>`)"
        ),
        Limit::Shmall {
            max_pages,
            used_pages,
            needed_pages,
            page,
        } => format!(
            ": this IPC namespace's segments hold {used_pages} pages of {page} bytes and this one needs {needed_pages} more, over the namespace's total of {max_pages} pages (kernel.shmall): {LIST}, ask for a smaller --size, or raise it (`docker run --sysctl kernel.shmall=<pages>`)"
        ),
        Limit::Shmmni { max } => format!(
            ": this IPC namespace already holds as many segments as it may, {max} (kernel.shmmni): {LIST}, or raise it (`docker run --sysctl kernel.shmmni=<count>`)"
        ),
        Limit::Memory {
            ram,
            swap,
            overcommit,
        } => format!(
            ": not enough memory: the kernel will not set aside {size} bytes on a machine with {} MiB of RAM and {} MiB of swap (vm.overcommit_memory = {overcommit}): ask for a smaller --size",
            ram >> 20,
            swap >> 20
        ),
        Limit::Unknown => String::new(),
    }
}

/// A POSIX message queue that cannot be opened or created; `sending` says
/// which side asked (the permission it needs differs).
pub fn queue(e: &mqueue::OpenError, sending: bool) -> Failure {
    use mqueue::OpenError;
    match e {
        OpenError::PermissionDenied { name, owner, euid } => {
            let (needs, modes) = if sending {
                ("write", "--mode 0622 (anyone may send) or 0666")
            } else {
                (
                    "read",
                    "--mode 0644 (anyone may receive) or 0640 (its group may)",
                )
            };
            (
                Exit::Permission,
                format!(
                    "permission denied on message queue {name}{}: this process (uid {euid}) may not {needs} it; run it as the queue's owner, or have the queue created with {modes}",
                    messages::mqueue::owner_text(*owner)
                ),
            )
        }
        OpenError::Limits {
            name,
            maxmsg,
            msgsize,
            source,
        } => {
            let limits = mqueue::limits().map_or_else(String::new, |(msg_max, msgsize_max)| {
                format!(
                    ": this IPC namespace lets an unprivileged process create at most {msg_max} messages of at most {msgsize_max} bytes (fs.mqueue.msg_max, fs.mqueue.msgsize_max): ask for a smaller --size, or raise them in the namespace (`docker run --sysctl fs.mqueue.msgsize_max=<bytes>`)"
                )
            });
            (
                Exit::Failure,
                format!("cannot create message queue {name} with {maxmsg} messages of {msgsize} bytes ({source}){limits}"),
            )
        }
        other => (Exit::Failure, format!("message {other}")),
    }
}

/// A line of standard input that does not fit one message of the queue.
pub fn queue_line_too_long(e: TooLong, name: &mqueue::QueueName, created: bool) -> Failure {
    let fix = if created {
        format!(
            "start shm_write --mqueue {name} again with --size {} or more",
            e.needed()
        )
    } else {
        format!(
            "the queue exists with that message size: once its programs are done, remove it (`rm {}`, with the mqueue filesystem mounted) and start shm_write --mqueue {name} with --size {} or more",
            name.path().display(),
            e.needed()
        )
    };
    (
        Exit::Usage,
        format!(
            "a line of {} bytes does not fit a message of queue {name}, whose messages are {} bytes (a line needs its length plus a NUL, as the C consumer reads a C string); {fix}",
            e.len, e.msgsize
        ),
    )
}

/// A queue call that failed unexpectedly.
pub fn queue_sys(name: &mqueue::QueueName, e: Errno) -> Failure {
    (Exit::Failure, format!("message queue {name}: {e}"))
}
