//! What the tools say about POSIX message queues (`--mqueue`): a bad name,
//! the namespace diagnosis of a missing queue, the writer's start, and
//! the listing's section.

use std::fmt::Write as _;

use super::diagnosis::JOIN_FIX;
use crate::session::queue::QueueAbsent;
use crate::transport::mqueue::{Attributes, NameError, Owner, QueueName, MOUNT, NAME_MAX};

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

/// The namespace diagnosis of a receiver that finds no queue.
pub fn absent(a: &QueueAbsent) -> String {
    let mut text = format!(
        "no message queue {} in this IPC namespace ({}): either the producer has not started yet, or it runs in another container or IPC namespace (a queue has no key file: only the IPC namespace decides who sees it); {JOIN_FIX}",
        a.name, a.own_ns
    );
    if !a.others.is_empty() {
        let names: Vec<&str> = a.others.iter().map(QueueName::as_str).collect();
        let _ = write!(text, "; queues here: {}", names.join(", "));
    }
    text
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
    format!("message queues: {MOUNT} is not mounted, so they cannot be listed; {MOUNT_FIX}")
}

/// `--list` with no queue in this namespace.
pub fn no_queues() -> &'static str {
    "no message queues in this IPC namespace"
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
