//! Every sentence the tools say to a person: errors with the fix that
//! works, the namespace diagnosis, the writer's start-up line. The library
//! below returns data; this module turns it into words, in one place.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use crate::protocol::adopt::Previous;
use crate::session::claim::{Claim, ClaimError, Origin, StopError};
use crate::session::find::{Absence, Absent, FindError};
use crate::transport::key::{Key, KeyFileError, LockHolder};
use crate::transport::limits::Limit;
use crate::transport::segment::{CreateError, OpenError, SegmentInfo};
use crate::transport::table::TableEntry;

/// How to put reader and writer in one IPC namespace.
pub const JOIN_FIX: &str = "run both in one IPC namespace: `docker run --ipc container:<writer> ...` with the writer started `--ipc shareable`, Compose `ipc: \"service:<writer>\"`, both containers in one Kubernetes pod, or `--ipc host` for both";

/// What a writer does when one side of a key is already taken, for messages.
const OTHER_KEY: &str = "pick another --key-file / --proj-id";

/// A key-file error, with its fix.
pub fn key_file(e: &KeyFileError) -> String {
    match e {
        KeyFileError::Missing { path } => format!(
            "key file {} does not exist; start shm_write (it creates the file), or pass the writer's --key-file",
            path.display()
        ),
        KeyFileError::MissingDirectory { path, dir } => format!(
            "directory {} of key file {} does not exist; create it or pass another --key-file",
            dir.display(),
            path.display()
        ),
        KeyFileError::NotADirectory {
            path,
            component,
            kind,
        } => format!(
            "key file {}: {} is a {kind}, not a directory, so nothing can be under it; pass another --key-file",
            path.display(),
            component.display()
        ),
        KeyFileError::Symlink { path } => format!(
            "key file {} is a symbolic link; refusing to follow it (remove it, or pass the real path with --key-file)",
            path.display()
        ),
        KeyFileError::NotRegular { path, kind } => format!(
            "key file {} is a {kind}, not a regular file; remove it or pass another --key-file",
            path.display()
        ),
        KeyFileError::ForeignOwner { path, owner, euid } => format!(
            "key file {} belongs to uid {owner}, not to this user (uid {euid}); refusing to use a file planted by someone else (remove it, or run as uid {owner})",
            path.display()
        ),
        KeyFileError::HardLinked { path, links } => format!(
            "key file {} has {links} hard links; refusing to write into a file that also has other names (remove this name with `rm {}`: the other names keep their content; or pass another --key-file)",
            path.display(),
            path.display()
        ),
        KeyFileError::Locked { path, pid } => format!(
            "another shm_write{} already publishes through key file {}; stop it first, or give this writer another --key-file",
            pid.map(|p| format!(" (pid {p})")).unwrap_or_default(),
            path.display()
        ),
        KeyFileError::ReadLocked { path, holder } => read_locked(path, *holder),
        KeyFileError::PermissionDenied { path } => format!(
            "permission denied on key file {}; run as its owner or pass another --key-file",
            path.display()
        ),
        KeyFileError::Io { path, source } => format!("key file {}: {source}", path.display()),
    }
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

/// An error opening an existing segment, with its fix.
pub fn open(e: &OpenError) -> String {
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
            format!(
                "permission denied on segment {key}{}: this process (uid {euid}) owns it, but its mode {:04o} does not give the owner the access needed; {fix}",
                owner_text(*entry),
                entry.mode
            )
        }
        OpenError::PermissionDenied { key, owner, euid } => format!(
            "permission denied on segment {key}{}; this process runs as uid {euid}: run it as the owner, or start the writer with --mode 0644 (anyone may read; readers attach read-only), --mode 0640 (the owner's group may read) or --mode 0666 (anyone may also write)",
            owner.map(owner_text).unwrap_or_default()
        ),
        other => other.to_string(),
    }
}

fn owner_text(e: TableEntry) -> String {
    format!(
        " (shmid {}, owner uid {}, mode {:04o})",
        e.shmid, e.uid, e.mode
    )
}

/// Why a writer could not claim its key, with the fix. `publishes` names
/// what the writer puts in a segment ("a time"), `room` is the smallest
/// segment that holds it (so an existing smaller one is not offered).
pub fn claim(e: &ClaimError, publishes: &str, room: usize) -> String {
    match e {
        ClaimError::KeyFile(e) => key_file(e),
        ClaimError::Open(e) => open(e),
        ClaimError::Create(CreateError::Open(e)) => open(e),
        ClaimError::Create(CreateError::ModeDeniesOwner { key, mode }) => format!(
            "segment {key}: --mode {mode:04o} does not let this writer, which owns the segment, read and write it (the owner's digit must be 6 or 7, as in 0600, 0640, 0644, 0660 or 0666); the segment was removed again"
        ),
        ClaimError::Create(CreateError::Create {
            key,
            size,
            mode,
            source,
            limit,
        }) => format!(
            "segment {key}: cannot create {size} bytes with mode {mode:04o}: {source}{}",
            limit_hint(*limit, *size)
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
            format!("segment {key} (shmid {id}) already exists with {size} bytes, not the {wanted} asked; remove it with `ipcrm -M {key}`{resize}")
        }
        ClaimError::ForeignOwner {
            key,
            id,
            owner,
            euid,
        } => format!(
            "segment {key} (shmid {id}) belongs to uid {owner}, not to this writer (uid {euid}); refusing to write into it: its owner or root can remove it with `ipcrm -M {key}`, or {OTHER_KEY}"
        ),
        ClaimError::Busy { key, id } => format!(
            "segment {key} (shmid {id}) is updated by another live writer; stop that writer first, or {OTHER_KEY}"
        ),
        ClaimError::Refused { key, id, reason } => format!(
            "segment {key} (shmid {id}) holds something other than {publishes} ({reason}); refusing to overwrite it: if it is stale, remove it with `ipcrm -M {key}`, or {OTHER_KEY}"
        ),
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

/// Why the writer could not clean up.
pub fn stop(e: &StopError) -> String {
    match e {
        StopError::Segment(e) => format!("cannot remove the segment: {}", open(e)),
        StopError::Beacon(e) => format!(
            "segment removed, but the beacon could not be updated: {}",
            key_file(e)
        ),
    }
}

/// Why a reader cannot go on finding its segment.
pub fn find(e: &FindError) -> String {
    match e {
        FindError::KeyFile(e) => key_file(e),
        FindError::Segment(e) => open(e),
    }
}

/// The writer's start-up line: everything needed to match the segment in `ipcs -m`.
pub fn startup(tool: &str, claim: &Claim) -> String {
    let info = claim.segment().info();
    format!(
        "{tool}: key {} shmid {} size {} mode {:04o} key-file {} ipc-ns {} pid {}: segment {}",
        claim.key(),
        info.id,
        info.size,
        info.mode,
        claim.options().key_file.display(),
        claim.beacon().ipc_ns,
        std::process::id(),
        origin(claim.origin())
    )
}

fn origin(origin: Origin) -> &'static str {
    match origin {
        Origin::Created => "created",
        Origin::Adopted(Previous::Ours) => "reused (left by a shm_write that did not stop cleanly)",
        Origin::Adopted(Previous::C) => "reused (left by a C writer that no longer updates it)",
        Origin::Adopted(Previous::Empty) => "reused (it was empty)",
    }
}

/// `--size` below what the protocol needs; `room` is the size that also
/// holds what this run publishes (a value may need more than the layout).
pub fn too_small(size: usize, min_size: usize, room: usize) -> String {
    let holds = if room > min_size {
        ", which also holds the value"
    } else {
        ""
    };
    format!("--size {size} is smaller than the {min_size} bytes the segment layout needs (128 bytes of C text and the header); use --size {room} or more{holds}")
}

/// A value larger than the segment holds.
pub fn value_too_large(len: usize, capacity: usize, size: usize) -> String {
    format!(
        "a value of {len} bytes does not fit a segment of {size} bytes (it holds {capacity} bytes of value); use --size {} or more",
        crate::protocol::value::layout::size_for(len)
    )
}

/// The writer noticed its segment was removed from outside.
pub fn removed_from_outside(tool: &str, key: Key, id: i32) -> String {
    format!(
        "{tool}: segment {key} (shmid {id}) was removed from outside (ipcrm?): creating a new one"
    )
}

/// The namespace diagnosis of a reader that finds no segment.
pub fn absent(a: &Absent) -> String {
    let key_text = a
        .key
        .map_or_else(|| "the writer's key".to_owned(), |k| format!("key {k}"));
    let (here, key_file) = (a.own_ns, a.key_file.display());
    let mut text = match &a.why {
        Absence::NoKeyFile => format!(
            "key file {key_file} does not exist in this reader's /dev/shm (IPC namespace {here}): either no writer has started yet, or it runs in another container or IPC namespace with its own /dev/shm; {JOIN_FIX}"
        ),
        Absence::NoBeacon => format!(
            "no segment with {key_text} in this IPC namespace ({here}), though key file {key_file} exists (without a shm_write beacon): the writer has not created its segment yet, or it runs in another IPC namespace that shares this /dev/shm; {JOIN_FIX}"
        ),
        Absence::BeaconUnreadable => format!(
            "no segment with {key_text} in this IPC namespace ({here}); key file {key_file} exists, but this user may not read the writer's beacon in it, so whether a writer runs elsewhere is unknown (a writer started with --mode 0644, or 0640 for its group, lets other users read it): the writer has not created its segment yet, has stopped, or runs in another IPC namespace that shares this /dev/shm; {JOIN_FIX}"
        ),
        Absence::OtherNamespace(beacon) => format!(
            "no segment with {key_text} in this IPC namespace ({here}): key file {key_file} says writer pid {} publishes to {} in IPC namespace {}, which is not this reader's; the /dev/shm is shared but the IPC namespace is not; {JOIN_FIX}",
            beacon.pid, beacon.key, beacon.ipc_ns
        ),
        Absence::WriterStopped(beacon) => format!(
            "no segment with {key_text}: writer pid {} (IPC namespace {}) stopped cleanly; waiting for a new writer",
            beacon.pid, beacon.ipc_ns
        ),
        Absence::WriterGone(beacon) => format!(
            "no segment with {key_text}: writer pid {} in this IPC namespace ({here}) left no segment (killed, or the segment was removed with ipcrm); waiting for a new writer",
            beacon.pid
        ),
    };
    if matches!(
        a.why,
        Absence::OtherNamespace(_) | Absence::WriterGone(_) | Absence::WriterStopped(_)
    ) {
        let _ = write!(text, "; {}", restart_hint());
    }
    text
}

/// A reader joined to a container's IPC namespace keeps that namespace
/// when the container restarts, and the restarted writer is in a new one.
fn restart_hint() -> &'static str {
    "if the writer's container was restarted, it now has a new IPC namespace this reader cannot join: restart the reader too (`docker run --restart on-failure` with `shm_read --timeout` does it), or join both to a long-lived sandbox container"
}

/// A reader's segment has not changed for longer than its writer promised.
pub fn stale(segment: &SegmentInfo, age: Duration) -> String {
    format!(
        "segment {} (shmid {}): no update for {:.1}s, {} process(es) attached: the writer was killed, frozen or is gone; waiting for it to resume or for a new writer",
        segment.key,
        segment.id,
        age.as_secs_f64(),
        segment.nattch
    )
}

/// A reader's segment holds a time ahead of the reader's clock.
pub fn future(segment: &SegmentInfo, ahead: Duration) -> String {
    format!(
        "segment {} (shmid {}): the time it holds is {:.1}s ahead of this clock, which no live writer publishes (a forged or torn text, or a clock set back); waiting for a plausible time",
        segment.key,
        segment.id,
        ahead.as_secs_f64()
    )
}

/// The writer said it stopped.
pub fn writer_stopped(pid: u32, segment: &SegmentInfo) -> String {
    format!(
        "writer pid {pid} of segment {} (shmid {}) stopped cleanly; waiting for a new writer",
        segment.key, segment.id
    )
}

/// The segment holds nothing this reader can read.
pub fn unreadable(segment: &SegmentInfo, error: &dyn std::fmt::Display) -> String {
    format!("segment {} (shmid {}): {error}", segment.key, segment.id)
}

/// A reader that reported a problem reads again.
pub fn resumed(segment: &SegmentInfo) -> String {
    format!(
        "shm_read: reading segment {} (shmid {}) from a live writer",
        segment.key, segment.id
    )
}

/// Stdout or stderr failed; the tool stops.
pub fn output(e: &crate::cli::console::OutputError) -> String {
    format!("{e}: stopping")
}

/// Stop signals cannot be routed to a signalfd (or its watcher set up).
pub fn signals_setup(e: impl std::fmt::Display) -> String {
    format!("cannot set up signal handling: {e}")
}

/// Waiting for stop signals failed, so none could be noticed.
pub fn signals_failed(e: impl std::fmt::Display) -> String {
    format!("waiting for signals failed: {e}")
}

/// A stop signal arrived.
pub fn stopping(tool: &str, signal: impl std::fmt::Display) -> String {
    format!("{tool}: {signal} received: stopping")
}

/// A reader gives up waiting; `message` is the last condition seen.
pub fn gave_up(limit: Duration, message: &str) -> String {
    if limit.is_zero() {
        format!("no live writer: {message}")
    } else {
        format!("timed out after {limit:?} waiting for a live writer: {message}")
    }
}

/// The kernel's segment table cannot be read (no `/proc` mounted?).
pub fn no_table(e: &std::io::Error) -> String {
    format!("cannot read /proc/sysvipc/shm ({e}): --list and --inspect need /proc mounted, as it is in every container")
}

/// `--inspect` found no segment.
pub fn no_segment(what: &str) -> String {
    format!("no segment {what} in this IPC namespace; `shm_read --list` shows those there are")
}

// --- streams ----------------------------------------------------------------

/// How a stream ended early, from one side's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEnd {
    /// The other side's heartbeat stopped: it was killed or froze.
    PeerDied,
    /// The other side said it stopped before the end.
    PeerStopped,
    /// This side received a stop signal.
    Signal,
    /// `--timeout` ran out with no progress.
    Timeout,
}

/// A producer's stream ended early: what it sent and what arrived.
pub fn stream_producer_ended(
    end: StreamEnd,
    sent: u64,
    received: u64,
    consumer_pid: u32,
) -> String {
    let why = match end {
        StreamEnd::PeerDied => {
            format!("the consumer (pid {consumer_pid}) stopped responding: killed, or frozen")
        }
        StreamEnd::PeerStopped => {
            format!("the consumer (pid {consumer_pid}) stopped before the end")
        }
        StreamEnd::Signal => "stopped by a signal".to_owned(),
        StreamEnd::Timeout => "no consumer took anything for the --timeout".to_owned(),
    };
    format!("stream interrupted after {sent} bytes sent, {received} received: {why}; the segment is removed")
}

/// The producer's stream arrived whole.
pub fn stream_delivered(tool: &str, bytes: u64) -> String {
    format!("{tool}: stream delivered: {bytes} bytes")
}

/// A consumer's stream ended early.
pub fn stream_consumer_ended(end: StreamEnd, received: u64, producer_pid: u32) -> String {
    let why = match end {
        StreamEnd::PeerDied => {
            format!("the producer (pid {producer_pid}) stopped responding: killed, or frozen")
        }
        StreamEnd::PeerStopped => {
            format!("the producer (pid {producer_pid}) stopped before the end of its input")
        }
        StreamEnd::Signal => "stopped by a signal".to_owned(),
        StreamEnd::Timeout => "timed out".to_owned(),
    };
    format!("stream interrupted after {received} bytes, all of them written out: {why}")
}

/// A consumer's stdout failed after `written` bytes of the stream.
pub fn stream_output_failed(e: &std::io::Error, written: u64) -> String {
    format!("cannot write to stdout after {written} bytes of the stream: {e}: stopping, and telling the producer the stream ended early")
}

/// A consumer that may only attach read-only.
pub fn stream_needs_write(key: Key, mode: u16, uid: u32) -> String {
    format!("segment {key} (mode {mode:04o}, owner uid {uid}) is a stream, and its consumer must write its cursor into it: run shm_read --stream as uid {uid}, or start the producer with --mode 0660 (the group) or --mode 0666 (anyone)")
}

/// What is wrong with the segment a consumer found.
pub fn stream_refused(e: &crate::protocol::stream::ring::StreamError, key: Key) -> String {
    use crate::protocol::stream::ring::StreamError;
    match e {
        StreamError::NotAStream(what) => format!("segment {key} holds {what}, not a stream; read it with shm_read without --stream, or point --key-file at the producer's"),
        StreamError::Busy { pid } => format!("segment {key}: {e}; a stream has one consumer: stop that one first (pid {pid}), or give this stream its own --key-file"),
        StreamError::NotReady => format!("segment {key} has stayed empty: no producer has set it up; start `shm_write --stream` with this --key-file, or remove the segment (`shm_read --inspect` shows who made it)"),
        other => format!("segment {key}: {other}"),
    }
}

/// Standard input went on past the `capacity` bytes of value a segment of
/// `size` bytes holds, and was not read further: `seen` bytes of one
/// `line`, or of a `--binary` value. Its full length is unknown.
pub fn input_too_large(line: bool, seen: usize, capacity: usize, size: usize) -> String {
    let (what, end) = if line {
        ("a line of standard input", "before its newline")
    } else {
        ("standard input", "without reading the rest")
    };
    format!(
        "{what} is longer than the {capacity} bytes of value a segment of {size} bytes holds (refused at {seen} bytes, {end}); use --size {} or more: 256 bytes plus its length, rounded up to a multiple of 8",
        crate::protocol::value::layout::size_for(seen)
    )
}

/// `--stdin` found its input empty: nothing was published.
pub fn empty_input(tool: &str, key_file: &Path) -> String {
    format!(
        "{tool}: standard input was empty: no value to publish, so no segment was created; readers of key file {} keep waiting for a writer",
        key_file.display()
    )
}
