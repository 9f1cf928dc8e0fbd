//! What the tools say about POSIX message queues (`--mqueue`): a bad name,
//! the namespace diagnosis of a missing queue, the writer's start, and
//! the listing's section.

use std::fmt::Write as _;

use super::diagnosis::Diagnosis;
use crate::session::queue::QueueAbsent;
use crate::transport::mqueue::{
    Attributes, NameError, Notify, Owner, QueueEntry, QueueName, MOUNT, NAME_MAX,
};
use crate::transport::namespace::Ns;

/// How to mount the mqueue filesystem where it is missing.
pub const MOUNT_FIX: &str =
    "mount it with `mkdir -p /dev/mqueue && mount -t mqueue mqueue /dev/mqueue` (as root; every container has it mounted)";

/// A `--mqueue` argument that is not a queue name.
pub fn bad_name(e: &NameError) -> String {
    match e {
        NameError::NoSlash(text) => {
            format!("`{text}` is not a queue name: it must start with /, as in /{text}")
        }
        NameError::Empty => {
            "`/` is not a queue name: write a name after the /, as in /ch6_ipc".to_owned()
        }
        NameError::TooLong(len) => format!(
            "a queue name is at most {NAME_MAX} bytes after its / (NAME_MAX); this one has {len}"
        ),
        NameError::Inner(text) => {
            format!("`{text}` is not a queue name: only its first character may be a /")
        }
    }
}

/// The namespace diagnosis of a receiver that finds no queue, with the
/// fix that fits where it runs (`diagnosis`).
pub fn absent(a: &QueueAbsent, diagnosis: &Diagnosis) -> String {
    let mut text = format!(
        "no message queue {} in this IPC namespace ({}): either the producer has not started yet, or it runs in another container or IPC namespace (a queue has no key file: only the IPC namespace decides who sees it)",
        a.name, a.own_ns
    );
    if !a.others.is_empty() {
        let names: Vec<&str> = a.others.iter().map(QueueName::as_str).collect();
        let _ = write!(text, "; queues here: {}", names.join(", "));
    }
    text + &diagnosis.fix_line(None)
}

/// A receiver that reported an absence has found its queue.
pub fn found(name: &QueueName, attributes: &Attributes) -> String {
    format!(
        "shm_read: receiving from queue {name} ({} of at most {} messages of {} bytes waiting)",
        attributes.curmsgs, attributes.maxmsg, attributes.msgsize
    )
}

/// The writer's start-up line on stderr.
pub fn sending(
    name: &QueueName,
    created: Option<u16>,
    attributes: &Attributes,
    end: &str,
) -> String {
    let how = match created {
        Some(mode) => format!("created it with mode {mode:04o}"),
        None => "an existing queue".to_owned(),
    };
    format!(
        "shm_write: pid {}: sending each line of standard input to queue {name} ({how}: at most {} messages of {} bytes), then `{end}`",
        std::process::id(),
        attributes.maxmsg,
        attributes.msgsize
    )
}

/// A stop signal ended a queue's sender or receiver.
pub fn stopped(
    tool: &str,
    signal: impl std::fmt::Display,
    name: &QueueName,
    count: u64,
    sent: bool,
) -> String {
    let what = if sent { "sent to" } else { "received from" };
    format!("{tool}: {signal} received: stopping after {count} message(s) {what} queue {name}")
}

/// `--list` where the mqueue filesystem is not mounted.
pub fn not_mounted() -> String {
    format!("POSIX message queues: {MOUNT} is not mounted, so they cannot be listed; {MOUNT_FIX}")
}

/// `--list` with no queue in this namespace.
pub fn no_queues() -> &'static str {
    "no POSIX message queues in this IPC namespace"
}

/// The owner and mode of a queue, as errors and listings show them.
pub fn owner_text(owner: Option<Owner>) -> String {
    match owner {
        Some(o) => format!(" (owner uid {}, gid {}, mode {:04o})", o.uid, o.gid, o.mode),
        None => format!(" (its owner and mode are unknown: {MOUNT} is not mounted; {MOUNT_FIX})"),
    }
}

/// `--inspect --mqueue` found no queue.
pub fn no_queue(name: &QueueName) -> String {
    format!(
        "no message queue {name} in this IPC namespace; `shm_read --list` shows those there are"
    )
}

/// `--timeout` ran out waiting for the next message.
pub fn no_message(name: &QueueName, limit: std::time::Duration, received: u64) -> String {
    format!(
        "timed out after {limit:?} waiting for a message on queue {name} ({received} received): no producer is sending"
    )
}

/// The heading of `--list`'s message-queue section.
pub fn queues_heading(count: usize) -> String {
    format!("POSIX message queues ({MOUNT}): {count} queue(s)")
}

/// A queue's `mq_notify` registration, for `--list`.
pub fn notify_text(notify: Notify) -> String {
    match notify {
        Notify { pid: 0, .. } => "none".to_owned(),
        Notify { how: 0, signo, pid } => format!("signal {signo} to pid {pid}"),
        Notify { how: 2, pid, .. } => format!("thread in pid {pid}"),
        Notify { pid, .. } => format!("pid {pid} (no notification)"),
    }
}

/// `--inspect --mqueue`: a queue field by field. `attributes` is `None`
/// when this user may not open it, `entry` when the mqueue filesystem is
/// not mounted; `owner` is the owner's name.
pub fn inspected(
    name: &QueueName,
    ns: Ns,
    attributes: Option<Attributes>,
    entry: Option<&QueueEntry>,
    owner: &str,
) -> String {
    let mut out = format!("message queue {name} in IPC namespace {ns}\n");
    match attributes {
        Some(a) => {
            let flags = if a.flags & i64::from(nix::libc::O_NONBLOCK) != 0 {
                "O_NONBLOCK (of this look's own descriptor: the flag belongs to each open, not to the queue)"
            } else {
                "0"
            };
            let _ = writeln!(out, "  {:<10} {flags}", "flags");
            let _ = writeln!(
                out,
                "  {:<10} {} (most messages it holds)",
                "maxmsg", a.maxmsg
            );
            let _ = writeln!(
                out,
                "  {:<10} {} bytes (largest message)",
                "msgsize", a.msgsize
            );
            let _ = writeln!(
                out,
                "  {:<10} {} (messages in it now)",
                "curmsgs", a.curmsgs
            );
        }
        None => {
            let _ = writeln!(
                out,
                "  attributes unknown: this user may not open the queue to read them"
            );
        }
    }
    match entry {
        Some(e) => {
            let _ = writeln!(out, "  {:<10} {} bytes queued", "QSIZE", e.qsize);
            let _ = writeln!(
                out,
                "  {:<10} {owner} (uid {}), gid {}",
                "owner", e.owner.uid, e.owner.gid
            );
            let _ = writeln!(out, "  {:<10} {:04o}", "mode", e.owner.mode);
            let _ = writeln!(out, "  {:<10} {}", "notify", notify_text(e.notify));
        }
        None => {
            let _ = writeln!(
                out,
                "  owner and mode unknown: {MOUNT} is not mounted; {MOUNT_FIX}"
            );
        }
    }
    out
}

/// `--list` where `/dev/mqueue` belongs to another IPC namespace.
pub fn foreign_mount() -> String {
    format!(
        "POSIX message queues: {MOUNT} is the mqueue filesystem of another IPC namespace (mounted outside this one), so this namespace's queues cannot be listed; mount it again from within this namespace: `mount -t mqueue mqueue {MOUNT}`"
    )
}

/// `--list` where `/dev/mqueue` cannot be read.
pub fn unreadable_mount(e: &std::io::Error) -> String {
    format!("POSIX message queues: cannot read {MOUNT}: {e}")
}
